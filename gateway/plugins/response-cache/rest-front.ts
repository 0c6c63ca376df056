import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayMetrics } from '../../metrics';
import type { GatewayPlugin } from '../../pipeline';
import { withinRateLimit, type UserRateCheck } from '../rate-limit';
import type { RequestLog } from '../request-log';
import type { BridgedRoute } from '../rest-bridge';
import { ageOf, type CachedEntry, type Lookup, type ResponseCache } from './cache';
import { graphqlFastPath, type GraphQLFastPathOptions } from './graphql-fast-path';
import { isCachedRead, lookUp } from './rest-reads';

export interface CachedReadFastPathOptions {
  /** The REST bridge's routes; only the GET routes of queries are looked at. */
  routes: readonly BridgedRoute[];
  cache: ResponseCache;
  /**
   * The authentication stage's check that does not wait: the user of an `Authorization` header whose
   * token is already known good, or undefined (then the stages verify it, and answer the 401 if due).
   */
  authenticate(header: string | undefined): string | undefined;
  /** The rate-limit stage's counter for a user; over the limit, that stage answers (the 429). */
  rateCheck?: UserRateCheck;
  /** The request-log stage: span naming and the "request completed" line. */
  requestLog: RequestLog;
  /** Counts the requests answered here, which Fastify never sees; undefined (METRICS_PORT off) counts nothing. */
  metrics?: GatewayMetrics;
  /** Cached GraphQL queries on `POST /graphql` too (graphql-fast-path.ts); undefined answers REST reads only. */
  graphql?: GraphQLFastPathOptions;
}

/**
 * The Authorization header straight from the raw headers: reading `request.headers` would build
 * the whole header object, which no one else needs when the front answers.
 */
function authorizationOf(request: IncomingMessage): string | undefined {
  const raw = request.rawHeaders;
  for (let index = 0; index < raw.length; index += 2) {
    const name = raw[index]!;
    if (name.length === 13 && name.toLowerCase() === 'authorization') return raw[index + 1];
  }
  return undefined;
}

interface FrontRoute {
  bridged: BridgedRoute;
  pattern: RegExp;
  params: string[];
  /** Counts a hit answered here, with its route's series looked up once (metrics on). */
  counted?: (seconds: number) => void;
}

/** `/order/:orderId` → a RegExp with one group per parameter, which never matches a `/` or a query string. */
function compile(bridged: BridgedRoute): FrontRoute {
  const params: string[] = [];
  const source = bridged.route.url
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      params.push(segment.slice(1));
      return '([^/?#%]+)';
    })
    .join('/');
  return { bridged, pattern: new RegExp(`^${source}$`), params };
}

/**
 * The cached-read fast path: answers cached REST reads (`GET /order/{id}`, `GET /products/{id}`),
 * and cached GraphQL queries of signed-in clients (graphql-fast-path.ts), before Fastify sees
 * them: a hit needs only the token check, the rate-limit count, the cache lookup and one write,
 * and Fastify's per-request work cost more than all of these together. It
 * uses the other stages' code for each (authentication, rate limit, request log) and answers only
 * hits: a bad or missing token, a query string, an encoded path, a miss or any failure goes on to
 * the stages behind it unchanged, which then give the usual answer (401, 400, a fresh read). Same
 * keys, body and headers as the REST bridge's own cached answers.
 */
export function useCachedReadFastPath({ routes, cache, authenticate, rateCheck, requestLog, metrics, graphql }: CachedReadFastPathOptions): GatewayPlugin {
  const queries = graphql && graphqlFastPath(graphql, { cache, authenticate, rateCheck, requestLog, metrics });
  const front = routes
    .filter((bridged) => bridged.route.method === 'GET' && !bridged.route.public && isCachedRead(bridged))
    .map((bridged) => ({ ...compile(bridged), counted: metrics?.fastPathHit('GET', bridged.route.url, bridged.route.operation) }));

  /** The REST body of an entry, rendered on its first hit: an entry never changes once stored. */
  const rendered = new WeakMap<CachedEntry, Buffer>();
  const answer = (response: ServerResponse, { bridged, counted }: FrontRoute, { hit }: Lookup, userId: string, started: number): boolean => {
    if (!hit) return false;
    let body = rendered.get(hit);
    if (!body) rendered.set(hit, (body = Buffer.from(JSON.stringify(bridged.route.respond(hit.data)))));
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length, 'x-cache': 'HIT', age: ageOf(hit) });
    response.end(body);
    requestLog.nameSpan('GET', bridged.route.url, userId, 'HIT');
    requestLog.completed('GET', response.req.url, 200, userId, 'HIT');
    counted?.((performance.now() - started) / 1000);
    return true;
  };

  /**
   * Only hits are counted here: a miss goes on to Fastify, which counts it once. A hit over the
   * limit goes on too, and Fastify's rate limiter answers its 429.
   */
  const answerWithin = (response: ServerResponse, route: FrontRoute, lookup: Lookup, userId: string, started: number): boolean | Promise<boolean> =>
    lookup.hit ? withinRateLimit(rateCheck, userId, () => answer(response, route, lookup, userId, started)) : false;

  /** Looks the read up: with the in-memory store the answer is written in this same tick; Redis makes it wait. */
  const serve = (request: IncomingMessage, response: ServerResponse, route: FrontRoute, match: RegExpExecArray, userId: string, started: number) => {
    const variables = () => {
      const params: Record<string, string> = {};
      route.params.forEach((name, index) => (params[name] = match[index + 1]!));
      return route.bridged.route.variables({ params, query: {}, body: undefined });
    };
    // The path determines the variables, so the path and the user name the cached read.
    const found = lookUp(cache, route.bridged, variables, userId, `${route.bridged.route.url}\n${request.url}\n${userId}`);
    return found instanceof Promise ? found.then((lookup) => answerWithin(response, route, lookup, userId, started)) : answerWithin(response, route, found, userId, started);
  };

  return {
    name: 'cached-read fast path',
    fastify: ({ app }) => queries?.replayBodies(app),
    fastPath(request: IncomingMessage, response: ServerResponse) {
      if (request.method === 'POST') return queries ? queries.fastPath(request, response) : false;
      if (request.method !== 'GET') return false;
      // A number, not an object: with metrics off the clock is not read.
      const started = metrics ? performance.now() : 0;
      const url = request.url ?? '';
      for (const route of front) {
        const match = route.pattern.exec(url);
        if (!match) continue;
        const userId = authenticate(authorizationOf(request));
        if (userId === undefined) return false;
        return serve(request, response, route, match, userId, started);
      }
      return false;
    },
  };
}
