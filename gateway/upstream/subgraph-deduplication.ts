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

/** One subgraph call in flight, and whether another caller joined it. */
interface InFlightCall {
  answer: Promise<AnswerResponse>;
  joined: boolean;
}

/**
 * The subgraph queries in flight, of every subgraph of one gateway, by subgraph, headers and body.
 * After a write is answered they take no newcomers (gateway/plugins/response-cache/after-write.ts).
 */
export class SubgraphQueriesInFlight {
  private readonly calls = new Map<string, InFlightCall>();

  /** The answer of the call in flight under `key`, as a response of the joining caller's own; undefined when there is none. */
  join(key: string): Promise<AnswerResponse> | undefined {
    const call = this.calls.get(key);
    if (!call) return undefined;
    call.joined = true;
    return call.answer.then((response) => response.clone(true));
  }

  /**
   * Remembers `answer` under `key` until it is answered, or a write closes it first, and gives
   * the leading caller its response. That response is marked shared when anyone joined: it is
   * made once the answer is in, after the entry is gone, so nobody joins later.
   */
  lead(key: string, answer: Promise<AnswerResponse>): Promise<AnswerResponse> {
    const call: InFlightCall = { answer, joined: false };
    this.calls.set(key, call);
    const forget = () => {
      if (this.calls.get(key) === call) this.calls.delete(key);
    };
    answer.then(forget, forget);
    return answer.then((response) => response.clone(call.joined));
  }

  writeAnswered(): void {
    this.calls.clear();
  }
}

/**
 * Merges identical subgraph queries in flight: while one is on its way, a second one with the
 * same subgraph, headers and body (so the same user, operation and variables) waits for the
 * first's answer instead of being sent. A burst of one popular query costs one subgraph call.
 * Each caller gets a response object of its own over the one answer: its body is parsed per
 * caller (`json`), or, for a caller that never changes it (`readOnlyJson`, as our plan executor,
 * gateway/execution/result-tree.ts), once for all of them, frozen. The entry is gone as soon as
 * the answer is in: nothing is cached, a later request is always sent.
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
    const joined = inFlight.join(key);
    if (joined) {
      onMerged?.();
      return joined;
    }
    return inFlight.lead(key, fetcher(url, init));
  };
}
