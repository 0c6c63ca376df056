import type { GatewayPlugin } from '../../pipeline';
import { responseCacheApolloPlugin } from './apollo-plugin';
import type { ResponseCache } from './cache';
import { answerCachedQueries, type GraphQLCacheFrontOptions } from './graphql-front';

export { useAfterWrite } from './after-write';
export { ResponseCache } from './cache';
export { useCachedReadFastPath } from './rest-front';

/**
 * The response cache's stage: the GraphQL front answers cached queries once authenticated and
 * parsed (a `preHandler`), Apollo's side looks up, stores and marks `X-Cache`. The REST reads have
 * their own stage in front (`useCachedReadFastPath`) and the REST bridge looks its reads up itself;
 * what a write does to the cache is the after-a-write stage's (after-write.ts).
 */
export function useResponseCache(cache: ResponseCache, front: Omit<GraphQLCacheFrontOptions, 'cache'>): GatewayPlugin {
  return {
    name: 'response cache',
    fastify: ({ app }) => answerCachedQueries(app, { ...front, cache }),
    apollo: [responseCacheApolloPlugin(cache)],
  };
}
