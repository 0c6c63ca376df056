import type { BridgedRoute } from '../rest-bridge';
import type { Lookup, QueryIdentity, ResponseCache } from './cache';

/** True for routes whose reads the response cache may answer. */
export function isCachedRead({ operation }: BridgedRoute): boolean {
  return operation.definition.operation === 'query';
}

/**
 * The cache key of a read and the entry stored under it: at once from the in-memory store (no
 * promise on the hot path), or as a promise from Redis. `variables` may be computed lazily, and
 * `fingerprint` is a string that determines them (see ResponseCache.peek).
 */
export function lookUp(
  cache: ResponseCache,
  { route, operation }: BridgedRoute,
  variables: Record<string, unknown> | (() => Record<string, unknown>),
  userId: string,
  fingerprint?: string,
): Lookup | Promise<Lookup> {
  const identity = (): QueryIdentity => ({
    queryHash: operation.queryHash,
    operationName: route.operation,
    variables: typeof variables === 'function' ? variables() : variables,
    userId,
    operation: operation.definition,
  });
  return cache.lookUp(identity, fingerprint);
}
