import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { AppError, restErrorBody, statusOf, type ErrorCode } from './errors';
import { tracingEnabled } from './tracing';
import { failSpan, nameSpanAfterRoute, traceIdsForLog } from './tracing/span';

export interface HttpAppOptions {
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  logLevel: string;
  /** Largest accepted request body, in bytes. */
  bodyLimitBytes: number;
}

/**
 * Sees a request before Fastify does and answers it itself (true), or leaves it untouched (false)
 * for Fastify's routing, hooks and error handling; a promise when it has to wait to decide.
 */
export type FastPath = (request: IncomingMessage, response: ServerResponse) => boolean | Promise<boolean>;

interface FastPathSlot {
  handle?: FastPath;
  /** Set once the app is closing: everything then goes through Fastify, which answers 503. */
  closing?: boolean;
}

const fastPaths = new WeakMap<FastifyInstance, FastPathSlot>();

/**
 * Puts `fastPath` in front of the app's routes: for the few hot requests that can be answered
 * with no per-request machinery (a cached read), Fastify's routing, hooks and reply pipeline cost
 * more than the answer itself. Anything it declines or fails on goes to Fastify as usual.
 */
export function setFastPath(app: FastifyInstance, fastPath: FastPath): void {
  const slot = fastPaths.get(app);
  if (!slot) throw new Error('setFastPath: the app was not made by createHttpApp');
  slot.handle = fastPath;
}

/** Fastify's own server, plus the fast-path slot. */
function serverWithFastPath(slot: FastPathSlot) {
  return (fastify: (request: IncomingMessage, response: ServerResponse) => void, options: FastifyServerOptions) => {
    const server = createServer((request, response) => {
      if (!slot.handle || slot.closing) return fastify(request, response);
      let answered: boolean | Promise<boolean>;
      try {
        answered = slot.handle(request, response);
      } catch {
        return fastify(request, response);
      }
      if (answered === false) return fastify(request, response);
      if (answered !== true) {
        answered.then(
          (done) => done || fastify(request, response),
          () => fastify(request, response),
        );
      }
    });
    // What Fastify sets on the servers it makes itself.
    server.keepAliveTimeout = options.keepAliveTimeout ?? 72_000;
    server.requestTimeout = options.requestTimeout ?? 0;
    server.setTimeout(options.connectionTimeout ?? 0);
    return server;
  };
}

/**
 * A Fastify app with the project's HTTP conventions: strict JSON validation (no type coercion,
 * so `"1000"` is not a price), every error answered as `{"error": {"code", "message"}}` with the
 * catalogue's status, and `/health` for liveness.
 */
export function createHttpApp({ logLevel, bodyLimitBytes }: HttpAppOptions): FastifyInstance {
  const slot: FastPathSlot = {};
  const app = Fastify({
    serverFactory: serverWithFastPath(slot),
    // With tracing on, every log line carries trace_id and span_id, so it can be found in Zipkin.
    logger: { level: logLevel, ...(tracingEnabled() ? { mixin: traceIdsForLog } : {}) },
    bodyLimit: bodyLimitBytes,
    // Union types (`["array", "object"]`): a legacy route takes either shape of body.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, allowUnionTypes: true } },
    return503OnClosing: true,
    // Errors the router raises before any route runs: a malformed percent-encoding, a path parameter
    // over maxParamLength (100). Neither can name anything, so both are the client's bad input.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const message = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path parameter is too long' : 'The URL is malformed';
      failSpan('BAD_USER_INPUT');
      request.log.info({ url: request.url, code: error.code }, 'bad URL');
      return reply.code(400).send(restErrorBody('BAD_USER_INPUT', message));
    },
  });
  // Only JSON bodies are part of any contract here; text/plain would otherwise be accepted as a string.
  app.removeContentTypeParser('text/plain');
  if (tracingEnabled()) {
    app.addHook('onRequest', (request, _reply, done) => {
      nameSpanAfterRoute(request.method, request.routeOptions.url);
      done();
    });
  }
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { code, message, details } = describeError(error);
    if (code === 'INTERNAL_SERVER_ERROR') request.log.error({ err: error }, 'request failed');
    failSpan(code);
    return reply.code(statusOf(code)).send(restErrorBody(code, message, details));
  });
  app.setNotFoundHandler((request, reply) => {
    failSpan('ROUTE_NOT_FOUND');
    return reply.code(404).send(restErrorBody('ROUTE_NOT_FOUND', `No route for ${request.method} ${request.url.split('?')[0]}`));
  });
  app.get('/health', async () => ({ status: 'ok' }));
  closeConnectionsWhenClosing(app, slot);
  fastPaths.set(app, slot);
  return app;
}

/**
 * Graceful close: Node closes the connections idle when the server stops listening, but a
 * keep-alive connection busy at that moment would stay open once its request is answered, and the
 * process would wait on it until the grace period kills it. So every answer sent while closing
 * says `Connection: close`, and Node ends the connection after it.
 */
function closeConnectionsWhenClosing(app: FastifyInstance, slot: FastPathSlot): void {
  app.addHook('preClose', (done) => {
    slot.closing = true;
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (slot.closing) reply.header('connection', 'close');
    done(null, payload);
  });
}

/** Maps Fastify's own errors (body parsing, validation) onto catalogue codes. */
export function describeError(error: FastifyError): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
  if (error instanceof AppError) return { code: error.code, message: error.message, details: error.details };
  if (error.validation) return { code: 'BAD_USER_INPUT', message: validationMessage(error) };
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'The request body must be application/json' };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'PAYLOAD_TOO_LARGE', message: 'The request body is too large' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: 'INVALID_JSON', message: 'The request body is empty' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { code: 'INVALID_JSON', message: 'The request body is not valid JSON' };
  }
  if (error instanceof SyntaxError) return { code: 'INVALID_JSON', message: 'The request body is not valid JSON' };
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return { code: 'BAD_USER_INPUT', message: error.message };
  }
  return { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' };
}

/** "body.supply_price must be integer" reads better as "supply_price must be an integer". */
function validationMessage(error: FastifyError): string {
  const [first] = error.validation ?? [];
  if (!first) return error.message;
  const where = `${error.validationContext ?? 'body'}${first.instancePath.replace(/\//g, '.')}`;
  if (first.keyword === 'required') return `${where}.${String(first.params.missingProperty)} is required`;
  if (first.keyword === 'additionalProperties') return `${where}.${String(first.params.additionalProperty)} is not a known field`;
  // A union type reads "must be array,object" in Ajv's words.
  if (first.keyword === 'type' && Array.isArray(first.params.type)) return `${where} must be ${first.params.type.join(' or ')}`;
  return `${where} ${first.message ?? 'is not valid'}`;
}
