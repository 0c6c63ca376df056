import type { AnswerResponse } from '../../shared/http-client';
import type { FetchLike } from '../../shared/balanced-fetch';
import { isQueryBody } from './subgraph-query';

export interface SubgraphDeduplicationOptions {
  /** Merge identical in-flight subgraph queries. `SUBGRAPH_DEDUPLICATION`, @default "on" */
  enabled: boolean;
  /** The queries in flight to every subgraph of the gateway (one `SubgraphQueriesInFlight` for all). */
  inFlight: SubgraphQueriesInFlight;
  /** Told when a mutation call was answered (gateway/plugins/response-cache/after-write.ts). */
  writeAnswered(): void;
  /** Told of each query that joined one in flight instead of being sent (metrics). */
  onMerged?: () => void;
}

/**
 * The subgraph queries in flight, of every subgraph of one gateway, by subgraph, headers and body.
 * After a write is answered they take no newcomers (gateway/plugins/response-cache/after-write.ts).
 */
export class SubgraphQueriesInFlight {
  private readonly calls = new Map<string, Promise<AnswerResponse>>();

  join(key: string): Promise<AnswerResponse> | undefined {
    return this.calls.get(key);
  }

  /** Remembers `call` under `key` until it is answered, or a write closes it first. */
  lead(key: string, call: Promise<AnswerResponse>): void {
    this.calls.set(key, call);
    const forget = () => {
      if (this.calls.get(key) === call) this.calls.delete(key);
    };
    call.then(forget, forget);
  }

  writeAnswered(): void {
    this.calls.clear();
  }
}

/**
 * Merges identical subgraph queries in flight: while one is on its way, a second one with the
 * same subgraph, headers and body (so the same user, operation and variables) waits for the
 * first's answer instead of being sent. A burst of one popular query costs one subgraph call.
 * Each waiter gets its own copy of the response (the body is parsed per caller, so no execution
 * shares objects with another), and the entry is gone as soon as the answer is in: nothing is
 * cached, a later request is always sent.
 */
export function withSubgraphDeduplication(name: string, fetcher: FetchLike, { enabled, inFlight, writeAnswered, onMerged }: SubgraphDeduplicationOptions): FetchLike {
  if (!enabled) return fetcher;
  return (url, init = {}) => {
    const body = init.body;
    // Only queries are merged; mutations, and any body of another shape, are always sent as they are.
    if (!isQueryBody(body)) {
      // Closed once answered, success or not: a failed answer may still have written.
      const written = () => writeAnswered();
      const sent = fetcher(url, init);
      sent.then(written, written);
      return sent;
    }
    const key = `${name}\n${JSON.stringify(init.headers ?? {})}\n${body as string}`;
    const pending = inFlight.join(key);
    if (pending) {
      onMerged?.();
      return pending.then((response) => response.clone());
    }
    const sent = fetcher(url, init);
    inFlight.lead(key, sent);
    return sent.then((response) => response.clone());
  };
}
