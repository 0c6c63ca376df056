import type { AnswerResponse } from '../../shared/http-client';
import type { FetchLike } from '../../shared/balanced-fetch';

export interface DeduplicationOptions {
  /** Merge identical in-flight subgraph queries. `SUBGRAPH_DEDUPLICATION`, @default "on" */
  enabled: boolean;
}

/**
 * Apollo's subgraph requests are `{"query":"<operation>", …}`; only those whose operation is a
 * query (`query …` or the `{ … }` shorthand) may be merged. Mutations, and any body of another
 * shape, are always sent as they are.
 */
const QUERY_BODY = /^\{"query":"(?:query\b|\{)/;

/**
 * Merges identical subgraph queries in flight: while one is on its way, a second one with the
 * same subgraph, headers and body (so the same user, operation and variables) waits for the
 * first's answer instead of being sent. A burst of one popular query costs one subgraph call.
 * Each waiter gets its own copy of the response (the body is parsed per caller, so no execution
 * shares objects with another), and the entry is gone as soon as the answer is in: nothing is
 * cached, a later request is always sent.
 */
export function useDeduplication(name: string, fetcher: FetchLike, { enabled }: DeduplicationOptions): FetchLike {
  if (!enabled) return fetcher;
  const inFlight = new Map<string, Promise<AnswerResponse>>();
  return (url, init = {}) => {
    const body = init.body;
    if (typeof body !== 'string' || !QUERY_BODY.test(body)) return fetcher(url, init);
    const key = `${name}\n${JSON.stringify(init.headers ?? {})}\n${body}`;
    const pending = inFlight.get(key);
    if (pending) return pending.then((response) => response.clone());
    const sent = fetcher(url, init).finally(() => inFlight.delete(key));
    inFlight.set(key, sent);
    return sent.then((response) => response.clone());
  };
}
