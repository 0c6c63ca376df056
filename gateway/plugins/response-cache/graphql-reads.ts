import { operationOf, type ClientDocument, type GraphQLBody } from '../../graphql-documents';
import type { CachedEntry, Lookup, ResponseCache } from './cache';

/** A cached GraphQL query's lookup, and the operation it is of (the metrics' label). */
export interface QueryLookup {
  operationName: string | undefined;
  found: Lookup | Promise<Lookup>;
}

/**
 * The cache entry of a plain GraphQL request of `userId`, as Apollo's side of the cache keys it
 * (same text hash, operation name, variables and user); undefined for anything but one query of a
 * document the reader accepts. Both fronts look up here: the fast path and the Fastify `preHandler`.
 */
export function lookUpQuery(cache: ResponseCache, readDocument: (query: string) => ClientDocument, body: GraphQLBody, userId: string): QueryLookup | undefined {
  const document = readDocument(body.query);
  const operation = operationOf(document, body.operationName);
  if (operation?.operation !== 'query') return undefined;
  const operationName = body.operationName ?? null;
  const variables = body.variables ?? {};
  const identity = () => ({ queryHash: document.queryHash, operationName, variables, userId, operation });
  const fingerprint = `${document.queryHash}\n${operationName ?? ''}\n${JSON.stringify(variables)}\n${userId}`;
  return { operationName: operation.name?.value, found: cache.lookUp(identity, fingerprint) };
}

// Bytes, not text: every hit writes the same answer, and Node 20 writes one large string again
// and again at a cost a Buffer does not have (bench/README.md#node-20-writes). An entry never
// changes once stored, so it is rendered on its first hit, whichever front answers it.
const rendered = new WeakMap<CachedEntry, Buffer>();

/** The GraphQL answer of a cached entry. */
export function graphqlBodyOf(hit: CachedEntry): Buffer {
  let body = rendered.get(hit);
  if (body === undefined) rendered.set(hit, (body = Buffer.from(JSON.stringify({ data: hit.data }))));
  return body;
}

/** The headers of a hit besides its length and `Age`: Apollo marks a response it did not execute `no-store`. */
export const GRAPHQL_HIT_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'x-cache': 'HIT', 'cache-control': 'no-store' } as const;
