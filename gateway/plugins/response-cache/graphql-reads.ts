import type { OperationDefinitionNode } from 'graphql';
import { operationOf, type ClientDocument, type GraphQLBody } from '../../graphql-documents';
import type { CachedEntry, Lookup, ResponseCache } from './cache';

/** A GraphQL query as read: its document and the one operation a plain request runs. */
export interface ReadQuery {
  body: GraphQLBody;
  document: ClientDocument;
  operation: OperationDefinitionNode;
}

/** A cached GraphQL query's lookup, and the operation it is of (the metrics' label). */
export interface QueryLookup {
  operationName: string | undefined;
  found: Lookup | Promise<Lookup>;
}

/** The query a plain request runs; undefined for anything but one query of a document the reader accepts. */
export function readQuery(readDocument: (query: string) => ClientDocument, body: GraphQLBody): ReadQuery | undefined {
  const document = readDocument(body.query);
  const operation = operationOf(document, body.operationName);
  return operation?.operation === 'query' ? { body, document, operation } : undefined;
}

/**
 * The cache entry of `read` for `userId`, as Apollo's side of the cache keys it (same text hash,
 * operation name, variables and user). `fingerprint`, a string that determines all four, is the
 * GraphQL front's unless the caller has a cheaper one (ResponseCache.peek). Both fronts look up
 * here: the fast path and the Fastify `preHandler`.
 */
export function lookUpRead({ body, document, operation }: ReadQuery, cache: ResponseCache, userId: string, fingerprint?: string): QueryLookup {
  const operationName = body.operationName ?? null;
  const variables = body.variables ?? {};
  const identity = () => ({ queryHash: document.queryHash, operationName, variables, userId, operation });
  const key = fingerprint ?? `${document.queryHash}\n${operationName ?? ''}\n${JSON.stringify(variables)}\n${userId}`;
  return { operationName: operation.name?.value, found: cache.lookUp(identity, key) };
}

/** `readQuery` then `lookUpRead`: undefined for anything but a query. */
export function lookUpQuery(cache: ResponseCache, readDocument: (query: string) => ClientDocument, body: GraphQLBody, userId: string): QueryLookup | undefined {
  const read = readQuery(readDocument, body);
  return read && lookUpRead(read, cache, userId);
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

/**
 * All the headers of a hit, as one object literal: on Node 20 spreading GRAPHQL_HIT_HEADERS into
 * a new object took some 1.4 µs a hit (V8 11.3's slow path for it), against 0.01 for the literal.
 */
export function graphqlHitHeaders(length: number, age: string) {
  return {
    'content-type': GRAPHQL_HIT_HEADERS['content-type'],
    'x-cache': GRAPHQL_HIT_HEADERS['x-cache'],
    'cache-control': GRAPHQL_HIT_HEADERS['cache-control'],
    'content-length': length,
    age,
  };
}
