import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { annotateSpan, SpanAttribute } from '../../../shared/tracing/span';
import { operationOf, plainBody, type ClientDocument } from '../../graphql-documents';
import { userOf } from '../jwt-auth';
import { ageOf, type CachedEntry, type Lookup, type ResponseCache } from './cache';

export interface GraphQLCacheFrontOptions {
  graphqlRoute: string;
  cache: ResponseCache;
  /** The gateway's document reader: a text it has read is not parsed again. */
  readDocument: (query: string) => ClientDocument;
}

/**
 * Answers cached GraphQL queries on `POST /graphql` once the request is authenticated and its body
 * parsed (a `preHandler`, after the JWT and rate-limit hooks), before Apollo's request pipeline.
 * A hit implies that the same text, operation name and variables were parsed, validated and run
 * by Apollo for the same user, and that their entities' tags have not moved since, so the answer
 * is the one Apollo would give from the cache: same key, body and headers (`X-Cache: HIT`, `Age`,
 * and `Cache-Control: no-store`, as Apollo marks a response it did not execute). Anything else —
 * anonymous requests, mutations, batches, misses — goes on to Apollo untouched.
 */
export function answerCachedQueries(app: FastifyInstance, { graphqlRoute, cache, readDocument }: GraphQLCacheFrontOptions): void {
  // Bytes, not text: every hit writes the same answer, and Node 20 writes one large string again
  // and again at a cost a Buffer does not have (bench/README.md#node-20-writes).
  const rendered = new WeakMap<CachedEntry, Buffer>();

  const answer = (reply: FastifyReply, { hit }: Lookup) => {
    if (!hit) return undefined;
    let body = rendered.get(hit);
    if (body === undefined) rendered.set(hit, (body = Buffer.from(JSON.stringify({ data: hit.data }))));
    annotateSpan({ [SpanAttribute.cache]: 'HIT' });
    return reply.header('x-cache', 'HIT').header('age', ageOf(hit)).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(body);
  };

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method !== 'POST' || request.routeOptions.url !== graphqlRoute) return;
    const userId = userOf(request);
    const body = plainBody(request.body);
    if (userId === undefined || !body) return;
    const document = readDocument(body.query);
    const operation = operationOf(document, body.operationName);
    if (operation?.operation !== 'query') return;
    const operationName = body.operationName ?? null;
    const variables = body.variables ?? {};
    const identity = () => ({ queryHash: document.queryHash, operationName, variables, userId, operation });
    const fingerprint = `${document.queryHash}\n${operationName ?? ''}\n${JSON.stringify(variables)}\n${userId}`;
    const found = cache.lookUp(identity, fingerprint);
    return answer(reply, found instanceof Promise ? await found : found);
  });
}
