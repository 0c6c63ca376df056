import { createHash, randomUUID } from 'node:crypto';
import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import type { FastifyBaseLogger } from 'fastify';
import type { GraphQLSchema, OperationDefinitionNode } from 'graphql';
import type { CacheStore } from '../../shared/cache-store';
import { readTags, writeTags } from './cache-tags';
import type { GatewayContext } from '../context';

export interface ResponseCacheOptions {
  store: CacheStore;
  /** No entry lives longer than this, whatever the schema's hints say, in seconds. */
  maxTtlSeconds: number;
  log: FastifyBaseLogger;
}

/** Tag versions outlive every entry, so an expired version can never resurrect a stale entry. */
const TAG_TTL_SECONDS = 24 * 3600;

interface Entry {
  data: Record<string, unknown>;
  storedAt: number;
}

/**
 * Whole-response cache for queries, driven by the subgraphs' cache hints (the gateway's overall
 * cache policy): a query is stored only when every subgraph answered with a cacheable
 * Cache-Control, no error occurred and no root field is null (not found). Entries are always keyed by the signed-in user, so no user
 * is ever served another's response.
 *
 * Invalidation uses versioned tags. A query reads tags derived from its root fields before it
 * runs (`Order:5` for `order(id: 5)`, `Product:list` for `products`, and `Order:*` for either);
 * their current versions are part of the key. A mutation that returns entities bumps `Type:id`
 * and `Type:list` for each (or `Type:*` when it did not select `id`) before its response is sent,
 * so the next read misses: on every instance when the store is Redis. Nested entities (an
 * order's products) are not tagged. If a bump cannot be written, reads bypass the cache for
 * `maxTtlSeconds`, the longest any stale entry could live.
 */
export function useResponseCache({ store, maxTtlSeconds, log }: ResponseCacheOptions): ApolloServerPlugin<GatewayContext> {
  let bypassUntil = 0;
  const key = (parts: unknown[]) => `resp:${createHash('sha256').update(JSON.stringify(parts)).digest('base64url')}`;

  return {
    async requestDidStart() {
      let entryKey: string | undefined;
      let hit: Entry | undefined;
      return {
        async responseForOperation(requestContext) {
          const { operation, contextValue, schema, request } = requestContext;
          if (operation.operation !== 'query' || contextValue.userId === undefined || Date.now() < bypassUntil) return null;
          const tags = readTags(schema, operation, request.variables ?? {});
          if (tags === undefined) return null;
          const versions = await Promise.all(tags.map((tag) => store.get(`tag:${tag}`)));
          entryKey = key([requestContext.queryHash, request.operationName ?? null, request.variables ?? {}, contextValue.userId, tags, versions]);
          const stored = await store.get(entryKey);
          if (stored === undefined) return null;
          hit = JSON.parse(stored) as Entry;
          return { body: { kind: 'single', singleResult: { data: hit.data } }, http: { status: undefined, headers: new HeaderMap() } };
        },

        async willSendResponse(requestContext) {
          const { response, operation } = requestContext;
          if (!operation || response.body.kind !== 'single') return;
          if (operation.operation === 'mutation') {
            const data = response.body.singleResult.data;
            if (data && !(await invalidate(requestContext.schema, operation, data))) bypassUntil = Date.now() + maxTtlSeconds * 1000;
            return;
          }
          if (entryKey === undefined) return;
          if (hit) {
            response.http.headers.set('x-cache', 'HIT');
            response.http.headers.set('age', String(Math.max(0, Math.floor((Date.now() - hit.storedAt) / 1000))));
            return;
          }
          response.http.headers.set('x-cache', 'MISS');
          const { data, errors } = response.body.singleResult;
          const policy = requestContext.overallCachePolicy.policyIfCacheable();
          // A null root field is a "not found" (a 404 on REST): like errors, never cached.
          if (data && !errors?.length && policy && !Object.values(data).includes(null)) {
            const entry: Entry = { data, storedAt: Date.now() };
            await store.set(entryKey, JSON.stringify(entry), Math.min(policy.maxAge, maxTtlSeconds));
          }
        },
      };
    },
  };

  async function invalidate(schema: GraphQLSchema, operation: OperationDefinitionNode, data: Record<string, unknown>): Promise<boolean> {
    const tags = writeTags(schema, operation, data);
    const written = await Promise.all(tags.map((tag) => store.set(`tag:${tag}`, randomUUID(), TAG_TTL_SECONDS)));
    if (written.every(Boolean)) return true;
    log.warn({ tags }, 'could not invalidate cached responses: reading around the cache until they expire');
    return false;
  }
}
