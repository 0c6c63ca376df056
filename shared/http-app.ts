import { isUtf8 } from 'node:buffer';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { endSocketWithError, sendError, writeError } from './error-response';
import { AppError, type ErrorCode } from './errors';
import { tracingEnabled } from './tracing';
import { nameSpanAfterRoute, traceIdsForLog } from './tracing/span';

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
  /** Set once the app is closing: every new request is then answered 503 SHUTTING_DOWN. */
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
      // Fastify's own `return503OnClosing` would answer its own body.
      if (slot.closing) return writeError(response, 'SHUTTING_DOWN');
      if (!slot.handle) return fastify(request, response);
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

/** Node's HTTP parser errors, by their code; any other is a malformed request. */
const CLIENT_ERROR_CODES: Readonly<Record<string, ErrorCode>> = {
  HPE_HEADER_OVERFLOW: 'HEADERS_TOO_LARGE',
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
};

/**
 * Answers what Node's HTTP server refuses before any route runs (headers or URL over its 16 KiB,
 * a request that does not parse as HTTP, one that took too long to arrive) from the catalogue,
 * where Fastify and Node would answer their own bodies. The connection cannot be used further.
 */
function answerClientError(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const code = CLIENT_ERROR_CODES[error.code ?? ''] ?? 'MALFORMED_REQUEST';
  this.log.debug({ err: error, code }, 'client error');
  if (!socket.writable) return void socket.destroy();
  // Node hands over what it had received of the request, which names its path (so the answer's shape).
  endSocketWithError(socket, code, (error as { rawPacket?: Buffer }).rawPacket);
}

/** True when every percent-escape of a query string decodes, as UTF-8. */
function decodes(query: string): boolean {
  if (!query.includes('%')) return true;
  try {
    decodeURIComponent(query);
    return true;
  } catch {
    return false;
  }
}

/**
 * JSON bodies, decoded strictly: bytes that are not UTF-8 make the body invalid JSON (as RFC 8259
 * says it must be UTF-8), where the default parser would turn them into U+FFFD and store that.
 * Fastify's own parser does the rest, with its body limit and prototype-poisoning checks.
 */
function useStrictJson(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    if (!isUtf8(bytes)) return done(new AppError('INVALID_JSON', 'The request body is not valid UTF-8'), undefined);
    parseJson(request, bytes.toString('utf8'), done);
  });
}

/**
 * A Fastify app with the project's HTTP conventions: strict JSON validation (no type coercion,
 * so `"1000"` is not a price), every error answered through shared/error-response.ts (the
 * catalogue's status, `{"error": {"code", "message"}}` or, on `/graphql`, the GraphQL shape), and
 * `/health` for liveness.
 */
export function createHttpApp({ logLevel, bodyLimitBytes }: HttpAppOptions, { ownRequestLog = false }: { ownRequestLog?: boolean } = {}): FastifyInstance {
  const slot: FastPathSlot = {};
  const app = Fastify({
    // The gateway logs its requests and names their spans itself, the fast path's too (gateway/plugins/request-log.ts).
    // (Through a LogController: Fastify 5.12 deprecates the top-level disableRequestLogging.)
    ...(ownRequestLog ? { logController: new LogController({ disableRequestLogging: true }) } : {}),
    serverFactory: serverWithFastPath(slot),
    // With tracing on, every log line carries trace_id and span_id, so it can be found in Zipkin.
    logger: { level: logLevel, ...(tracingEnabled() ? { mixin: traceIdsForLog } : {}) },
    bodyLimit: bodyLimitBytes,
    // Union types (`["array", "object"]`): a legacy route takes either shape of body.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, allowUnionTypes: true } },
    // Answered by the server factory instead, from the catalogue (see answerWith).
    return503OnClosing: false,
    clientErrorHandler: answerClientError,
    // Errors the router raises before any route runs: a malformed percent-encoding, a path parameter
    // over maxParamLength (100). Neither can name anything, so both are the client's bad input.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const message = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path parameter is too long' : 'The URL is malformed';
      request.log.info({ url: request.url, code: error.code }, 'bad URL');
      return sendError(reply, 'BAD_USER_INPUT', message);
    },
  });
  // Only JSON bodies are part of any contract here; text/plain would otherwise be accepted as a string.
  app.removeContentTypeParser('text/plain');
  useStrictJson(app);
  // The router leaves an undecodable escape in a query string as it is (`?user_id=%FF` reads "%FF"): refused instead.
  app.addHook('onRequest', (request, _reply, done) => {
    const start = request.url.indexOf('?');
    if (start === -1 || decodes(request.url.slice(start + 1))) return done();
    done(new AppError('BAD_USER_INPUT', 'The query string is not valid percent-encoded UTF-8'));
  });
  if (tracingEnabled() && !ownRequestLog) {
    app.addHook('onRequest', (request, _reply, done) => {
      nameSpanAfterRoute(request.method, request.routeOptions.url);
      done();
    });
  }
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { code, message, details } = describeError(error);
    if (code === 'INTERNAL_SERVER_ERROR') request.log.error({ err: error }, 'request failed');
    return sendError(reply, code, message, details);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, 'ROUTE_NOT_FOUND', `No route for ${request.method} ${request.url.split('?')[0]}`));
  app.get('/health', async () => ({ status: 'ok' }));
  closeConnectionsWhenClosing(app, slot);
  fastPaths.set(app, slot);
  return app;
}

/**
 * Graceful close: Node closes the connections idle when the server stops listening, but a
 * keep-alive connection busy at that moment would stay open once its request is answered, and the
 * process would wait on it until the grace period kills it. So every answer sent while closing
 * says `Connection: close`, and Node ends the connection after it; a request that arrives on it
 * meanwhile is answered 503 SHUTTING_DOWN by the server factory, never run.
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

/**
 * Maps Fastify's own errors (body parsing, validation) onto catalogue codes; without a message of
 * its own, an error says its code's catalogue message.
 */
export function describeError(error: FastifyError): { code: ErrorCode; message?: string; details?: Record<string, unknown> } {
  if (error instanceof AppError) return { code: error.code, message: error.message, details: error.details };
  if (error.validation) return { code: 'BAD_USER_INPUT', message: validationMessage(error) };
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: 'UNSUPPORTED_MEDIA_TYPE' };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'PAYLOAD_TOO_LARGE' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: 'INVALID_JSON', message: 'The request body is empty' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { code: 'INVALID_JSON' };
  }
  if (error instanceof SyntaxError) return { code: 'INVALID_JSON' };
  // A 4xx of a plugin that does not know the catalogue: the client's mistake, in its words.
  if (isClientStatus(error.statusCode)) return { code: 'BAD_USER_INPUT', message: error.message };
  return { code: 'INTERNAL_SERVER_ERROR' };
}

function isClientStatus(status: number | undefined): boolean {
  return typeof status === 'number' && status >= 400 && status < 500;
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
