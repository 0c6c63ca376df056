import { Readable } from 'node:stream';
import { HeaderMap, type ApolloServer, type BaseContext, type HTTPGraphQLResponse } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { installApolloServerHelpers } from './apollo-server-helpers';
import { isDatabaseUnavailable } from './database/failures';
import { formattedGraphQLError } from './error-response';
import { AppError, isErrorCode } from './errors';

/** Codes Apollo Server itself produces for client mistakes; safe to pass through as they are. */
const APOLLO_CLIENT_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

/**
 * Apollo `formatError`: AppErrors and Apollo's own client errors keep their code and message; a
 * database that cannot be used right now (see `isDatabaseUnavailable`) is DATABASE_UNAVAILABLE;
 * anything else is logged and replaced by a bare INTERNAL_SERVER_ERROR, so no stack trace or SQL
 * text ever reaches a client.
 */
export function maskErrors(log: FastifyBaseLogger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const unwrapped = unwrapResolverError(error);
    // Validation rules report AppErrors inside the GraphQLError Apollo re-codes as GRAPHQL_VALIDATION_FAILED.
    const original = unwrapped instanceof GraphQLError && unwrapped.originalError instanceof AppError ? unwrapped.originalError : unwrapped;
    const { locations, path } = formatted;
    if (original instanceof AppError) return formattedGraphQLError(original.code, { locations, path }, original.message, original.details);
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR' && (isErrorCode(code) || APOLLO_CLIENT_CODES.has(code))) {
      const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
      return { message: formatted.message, locations, path, extensions };
    }
    if (isDatabaseUnavailable(original)) {
      log.warn({ err: original }, 'database unavailable');
      return formattedGraphQLError('DATABASE_UNAVAILABLE', { path });
    }
    log.error({ err: original }, 'unexpected GraphQL error');
    return formattedGraphQLError('INTERNAL_SERVER_ERROR', { path });
  };
}

/** One run of Apollo's pipeline for an HTTP request. */
export interface GraphQLExecution<TContext extends BaseContext> {
  response: HTTPGraphQLResponse;
  /** The context it ran with; undefined when Apollo answered before building one. */
  context: TContext | undefined;
}

export interface GraphQLRouteOptions<TContext extends BaseContext> {
  path?: string;
  /** Builds the per-request context; may throw an AppError (e.g. UNAUTHENTICATED) to refuse the request. */
  context: (request: FastifyRequest, reply: FastifyReply) => Promise<TContext>;
  /** Runs after execution, before the response is sent (e.g. to copy upstream headers). */
  onResponse?: (context: TContext, reply: FastifyReply) => void;
  /**
   * Runs `execute` for the request, or answers it with another execution's result (the gateway
   * shares one among identical requests in flight); by default each request runs its own.
   */
  execution?: (request: FastifyRequest, execute: () => Promise<GraphQLExecution<TContext>>) => Promise<GraphQLExecution<TContext>>;
}

/** Serves a started ApolloServer over GET and POST on `path` (default `/graphql`). */
export function mountGraphQL<TContext extends BaseContext>(
  app: FastifyInstance,
  apollo: ApolloServer<TContext>,
  { path = '/graphql', context, onResponse, execution }: GraphQLRouteOptions<TContext>,
): void {
  installApolloServerHelpers();
  app.route({
    method: ['GET', 'POST'],
    url: path,
    // Body errors (not JSON, too large, wrong content type) go to the app's error handler, which answers them in the GraphQL shape here.
    handler: async (request, reply) => {
      const execute = async (): Promise<GraphQLExecution<TContext>> => {
        let built: TContext | undefined;
        const response = await apollo.executeHTTPGraphQLRequest({
          httpGraphQLRequest: {
            method: request.method.toUpperCase(),
            headers: toHeaderMap(request.headers),
            search: searchOf(request.url),
            body: request.body,
          },
          context: async () => (built = await context(request, reply)),
        });
        return { response, context: built };
      };
      const { response, context: built } = await (execution ? execution(request, execute) : execute());
      if (built && onResponse) onResponse(built, reply);
      for (const [name, value] of response.headers) reply.header(name, value);
      reply.code(response.status ?? 200);
      if (response.body.kind === 'complete') return reply.send(payloadOf(response, response.body.string));
      return reply.send(Readable.from(response.body.asyncIterator));
    },
  });
}

/**
 * Node before 24 writes a large JS string to a socket at a cost far above encoding it into a
 * Buffer once and writing that (measured on Node 20: bench/README.md#node-20-writes); Node 24 writes a
 * string for less than allocating a Buffer costs.
 */
const WRITES_STRINGS_SLOWLY = Number(process.versions.node.split('.')[0]) < 24;

/** Answers already sent: null when sent once as text, else the bytes every further sending writes. */
const sent = new WeakMap<HTTPGraphQLResponse, Buffer | null>();

/**
 * What to write for `response`. Its UTF-8 bytes, encoded once, whenever the same answer is sent
 * again (client deduplication answers every request of a burst with one response, and writing the
 * same text anew to each socket cost more than the execution on Node 20); the first time, its
 * text on Node 24, as any server answering with a freshly serialised answer writes it.
 */
function payloadOf(response: HTTPGraphQLResponse, text: string): string | Buffer {
  const bytes = sent.get(response);
  if (bytes) return bytes;
  if (bytes === undefined && !WRITES_STRINGS_SLOWLY) {
    sent.set(response, null);
    return text;
  }
  const encoded = utf8Bytes(text);
  sent.set(response, encoded);
  return encoded;
}

/**
 * `text` in UTF-8. Node 20 encodes UTF-8 at a fraction of the speed it copies Latin-1 (about
 * 0.4 ms for an 87.6 KB answer, where Node 24 takes a tenth of that), and a text of ASCII only,
 * which is what JSON answers usually are, is the same bytes in both: that is copied, not encoded.
 */
function utf8Bytes(text: string): Buffer {
  return Buffer.byteLength(text) === text.length ? Buffer.from(text, 'latin1') : Buffer.from(text);
}

function toHeaderMap(headers: FastifyRequest['headers']): HeaderMap {
  const map = new HeaderMap();
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) map.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return map;
}

function searchOf(url: string): string {
  const index = url.indexOf('?');
  return index === -1 ? '' : url.slice(index);
}
