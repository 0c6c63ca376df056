import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { annotateSpan, SpanAttribute } from '../../../shared/tracing/span';
import { plainBody, type ClientDocument } from '../../graphql-documents';
import { userOf } from '../jwt-auth';
import { ageOf, type Lookup, type ResponseCache } from './cache';
import { graphqlBodyOf, GRAPHQL_HIT_HEADERS, lookUpQuery } from './graphql-reads';

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
 * anonymous requests, mutations, batches, misses — goes on to Apollo untouched. Most hits of a
 * signed-in client never get here: the fast path answers them before Fastify (graphql-fast-path.ts);
 * this front answers the rest (a token not yet verified, a body the fast path does not read).
 */
export function answerCachedQueries(app: FastifyInstance, { graphqlRoute, cache, readDocument }: GraphQLCacheFrontOptions): void {
  const answer = (reply: FastifyReply, { hit }: Lookup) => {
    if (!hit) return undefined;
    annotateSpan({ [SpanAttribute.cache]: 'HIT' });
    return reply.headers(GRAPHQL_HIT_HEADERS).header('age', ageOf(hit)).send(graphqlBodyOf(hit));
  };

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method !== 'POST' || request.routeOptions.url !== graphqlRoute) return;
    const userId = userOf(request);
    const body = plainBody(request.body);
    if (userId === undefined || !body) return;
    const lookup = lookUpQuery(cache, readDocument, body, userId);
    if (!lookup) return;
    return answer(reply, lookup.found instanceof Promise ? await lookup.found : lookup.found);
  });
}
