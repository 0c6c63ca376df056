import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { SpanAttribute, annotateSpan } from '../../../shared/tracing/span';
import type { GatewayContext } from '../../context';
import { ageOf, type CachedEntry, type ResponseCache } from './cache';

/**
 * The Apollo side of the cache: look up before execution, store after it. What a mutation's answer
 * does to the cache (its tags bumped) is in after-write.ts.
 */
export function responseCacheApolloPlugin(cache: ResponseCache): ApolloServerPlugin<GatewayContext> {
  return {
    async serverWillStart() {
      return {
        schemaDidLoadOrUpdate({ apiSchema, coreSupergraphSdl }) {
          // Always set for a gateway; only a server with a local schema has none.
          cache.useSchema(apiSchema, coreSupergraphSdl ?? '');
        },
      };
    },

    async requestDidStart() {
      let entryKey: string | undefined;
      let hit: CachedEntry | undefined;
      return {
        async responseForOperation({ operation, contextValue, request, queryHash }) {
          if (operation.operation !== 'query' || contextValue.userId === undefined || queryHash === undefined) return null;
          // The REST bridge already looked this exact request up and missed: only storing is left.
          if (contextValue.cacheKey !== undefined) {
            entryKey = contextValue.cacheKey;
            return null;
          }
          const identity = { queryHash, operationName: request.operationName ?? null, variables: request.variables ?? {}, userId: contextValue.userId, operation };
          entryKey = await cache.keyOf(identity);
          hit = entryKey === undefined ? undefined : await cache.get(entryKey);
          if (!hit) return null;
          return { body: { kind: 'single', singleResult: { data: hit.data } }, http: { status: undefined, headers: new HeaderMap() } };
        },

        async willSendResponse({ response, operation, overallCachePolicy }) {
          if (!operation || response.body.kind !== 'single') return;
          if (operation.operation !== 'query' || entryKey === undefined) return;
          const { data, errors } = response.body.singleResult;
          annotateSpan({ [SpanAttribute.cache]: hit ? 'HIT' : 'MISS' });
          if (hit) {
            response.http.headers.set('x-cache', 'HIT');
            response.http.headers.set('age', ageOf(hit));
            return;
          }
          response.http.headers.set('x-cache', 'MISS');
          const policy = overallCachePolicy.policyIfCacheable();
          // A null root field is a "not found" (a 404 on REST): like errors, never cached.
          if (data && !errors?.length && policy && !Object.values(data).includes(null)) await cache.save(entryKey, data, policy.maxAge);
        },
      };
    },
  };
}
