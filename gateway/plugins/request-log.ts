import type { FastifyBaseLogger } from 'fastify';
import { tracingEnabled } from '../../shared/tracing';
import { annotateSpan, nameSpanAfterRoute, SpanAttribute } from '../../shared/tracing/span';
import type { GatewayPlugin } from '../pipeline';
import { userOf } from './jwt-auth';

/**
 * Span naming and the request log, as every stage (the fast path included) uses them. Positional
 * arguments, not an object: the fast path calls both on every hit, and with tracing off or the
 * log level above info they must cost no allocation.
 */
export interface RequestLog extends GatewayPlugin {
  /** Names the request's trace span after its route (`GET /order/:orderId`), with the user and the cache outcome when known. */
  nameSpan(method: string, route: string | undefined, userId?: string, cache?: string): void;
  /** Writes the request's "request completed" line (method, URL, status, user, cache, ms taken), when the log level shows it. */
  completed(method: string, url: string | undefined, statusCode: number, userId?: string, cache?: string, responseTime?: number, log?: FastifyBaseLogger): void;
}

/**
 * The first stage: names each request's span after its route, and writes one "request completed"
 * line per request, on every path: Fastify's requests by its hooks, the fast path's by calling
 * `nameSpan` and `completed` itself. The HTTP app leaves both to this stage
 * (`createHttpApp(…, { ownRequestLog: true })`).
 */
export function useRequestLog(log: FastifyBaseLogger): RequestLog {
  const traced = tracingEnabled();
  const logs = () => log.level === 'info' || log.level === 'debug' || log.level === 'trace';
  const nameSpan: RequestLog['nameSpan'] = (method, route, userId, cache) => {
    if (!traced) return;
    nameSpanAfterRoute(method, route);
    if (userId !== undefined) annotateSpan({ [SpanAttribute.userId]: userId });
    if (cache !== undefined) annotateSpan({ [SpanAttribute.cache]: cache });
  };
  const completed: RequestLog['completed'] = (method, url, statusCode, userId, cache, responseTime, requestLog = log) => {
    if (logs()) requestLog.info({ method, url, statusCode, userId, cache, responseTime }, 'request completed');
  };
  return {
    name: 'request log',
    nameSpan,
    completed,
    fastify({ app }) {
      if (traced) {
        app.addHook('onRequest', (request, _reply, done) => {
          nameSpan(request.method, request.routeOptions.url);
          done();
        });
      }
      app.addHook('onResponse', (request, reply, done) => {
        const cache = reply.getHeader('x-cache');
        completed(request.method, request.url, reply.statusCode, userOf(request), typeof cache === 'string' ? cache : undefined, reply.elapsedTime, request.log);
        done();
      });
    },
  };
}
