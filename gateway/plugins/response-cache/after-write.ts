import type { GraphQLRequestListener } from '@apollo/server';
import type { GatewayContext } from '../../context';
import type { GatewayPlugin } from '../../pipeline';
import type { SubgraphQueriesInFlight } from '../../upstream/subgraph-deduplication';
import type { ClientDeduplication } from '../client-deduplication';
import type { ResponseCache } from './cache';

export interface AfterWriteOptions {
  /** The response cache, when on (`RESPONSE_CACHE`). */
  cache?: ResponseCache;
  /** The client executions in flight, when merged (`CLIENT_DEDUPLICATION`). */
  clientDeduplication?: ClientDeduplication;
  /** The subgraph queries in flight, of every subgraph (`SUBGRAPH_DEDUPLICATION`; empty when off). */
  subgraphQueries: SubgraphQueriesInFlight;
}

/** The after-a-write stage: its Apollo side hears the gateway's mutations, `subgraphAnswered` the subgraphs'. */
export interface AfterWrite extends GatewayPlugin {
  /** A subgraph answered a mutation call, success or not (a failed one may still have written). */
  subgraphAnswered(): void;
}

/**
 * Everything that happens after a write, in one place. A read that starts after a write was
 * answered must see it (read your writes), whoever wrote (products are everyone's):
 *
 * 1. **Tag bumps.** The entities the mutation returned get new tag versions before its answer is
 *    sent, so the next read of them misses the response cache, on every gateway sharing the store.
 * 2. **Client deduplication stops following.** No request follows a client execution that started
 *    before the mutation was answered.
 * 3. **Subgraph deduplication stops following.** One level down: once any subgraph answers a
 *    mutation call, no query joins a subgraph call that started before (an order's products live
 *    in another subgraph than the order).
 *
 * Executions and calls already in flight still finish for the requests that made them.
 */
export function useAfterWrite({ cache, clientDeduplication, subgraphQueries }: AfterWriteOptions): AfterWrite {
  // One listener object for all requests: it keeps no per-request state.
  const listener: GraphQLRequestListener<GatewayContext> = {
    async willSendResponse({ operation, response }) {
      if (operation?.operation !== 'mutation') return;
      clientDeduplication?.forgetAll();
      if (!cache || response.body.kind !== 'single') return;
      const { data } = response.body.singleResult;
      if (data) await cache.invalidate(operation, data);
    },
  };
  return {
    name: 'after a write',
    apollo: [{ requestDidStart: async () => listener }],
    subgraphAnswered: () => subgraphQueries.writeAnswered(),
  };
}
