import { Transform } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Kind, type OperationDefinitionNode } from 'graphql';
import { sendError } from '../../shared/error-response';
import { AppError } from '../../shared/errors';
import { bearerToken } from '../../shared/jwt';
import { SpanAttribute, annotateSpan } from '../../shared/tracing/span';
import { operationOf, type ClientDocument } from '../graphql-documents';
import type { GatewayPlugin } from '../pipeline';
import type { TokenVerifier } from '../token-verifier';

export interface JwtAuthOptions {
  /** Checks bearer tokens (shared secret or JWKS), and holds the auth subgraph's JWKS the gateway serves again. */
  tokens: TokenVerifier;
  /** The GraphQL route, where an anonymous request may run only the public root fields. */
  graphqlRoute: string;
  /** Root fields anonymous GraphQL requests may select, as "Mutation.signIn". */
  publicRootFields: readonly string[];
  /** Reads an anonymous request's document, within the limits, to see which root fields it selects. */
  readDocument: (query: string) => ClientDocument;
  /**
   * Largest body read from a request without a verified token (an anonymous GraphQL request):
   * sign-in and introspection are small, and nobody should make the gateway read a megabyte
   * before it knows who they are. `ANONYMOUS_BODY_LIMIT_BYTES`, @default 16384
   */
  anonymousBodyLimitBytes: number;
}

const users = new WeakMap<FastifyRequest, string>();

/** The verified token subject of a request that passed `useJwtAuth`, if it carried a token. */
export function userOf(request: FastifyRequest): string | undefined {
  return users.get(request);
}

/** The auth subgraph's public keys, served again by the gateway for clients and other resource servers. */
const JWKS_ROUTE = '/.well-known/jwks.json';

/** The authentication stage, with its token checks for the stages that see a request before it (rate limit, fast path). */
export interface JwtAuth extends GatewayPlugin {
  /** The verified user of an `Authorization` header; undefined when it is missing or not valid. Waits for the issuer's keys when it must. */
  verifiedUser(header: string | undefined): Promise<string | undefined>;
  /**
   * The user of a header whose token was verified before (or checks synchronously, with a shared
   * secret); undefined otherwise. For the fast path, which must not wait: it leaves unknown tokens
   * to the stages, which verify them.
   */
  knownUser(header: string | undefined): string | undefined;
}

/**
 * Verifies `Authorization: Bearer <JWT>` on every route but the public ones (every stage's
 * `publicRoutes`), before the body is read. A missing or bad token is answered 401 here, so no
 * subgraph is ever called for it; on the GraphQL route an anonymous request is let through only if
 * it selects nothing but public root fields (sign-in).
 */
export function useJwtAuth(options: JwtAuthOptions): JwtAuth {
  const { tokens } = options;
  return {
    name: 'authentication',
    publicRoutes: tokens.servesAuthJwks ? [JWKS_ROUTE] : [],
    verifiedUser: tokens.user,
    knownUser: tokens.knownUser,
    fastify: ({ app, publicRoutes }) => {
      if (tokens.servesAuthJwks) serveAuthJwks(app, tokens);
      requireTokens(app, publicRoutes, options);
    },
  };
}

/** The auth subgraph's JWKS as last fetched; 503 SIGNING_KEYS_UNAVAILABLE until a fetch has succeeded. */
function serveAuthJwks(app: FastifyInstance, tokens: TokenVerifier): void {
  app.get(JWKS_ROUTE, async (_request, reply) => {
    const jwks = await tokens.authJwks();
    if (jwks === undefined) return sendError(reply, 'SIGNING_KEYS_UNAVAILABLE');
    return reply.header('cache-control', 'public, max-age=60').type('application/json').send(jwks);
  });
}

function requireTokens(app: FastifyInstance, publicRoutes: ReadonlySet<string>, options: JwtAuthOptions): void {
  const publicFields = new Set(options.publicRootFields);

  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route !== undefined && publicRoutes.has(route)) return;
    const header = request.headers.authorization;
    if (header === undefined && route === options.graphqlRoute) return; // decided once the body is parsed
    try {
      const userId = await options.tokens.verify(bearerToken(header));
      users.set(request, userId);
      annotateSpan({ [SpanAttribute.userId]: userId });
    } catch (error) {
      return refuse(reply, error);
    }
  });

  app.addHook('preParsing', async (request, _reply, payload) => {
    if (users.has(request)) return payload;
    return limitBody(request, payload, options.anonymousBodyLimitBytes);
  });

  app.addHook('preHandler', async (request, reply) => {
    if (request.routeOptions.url !== options.graphqlRoute || users.has(request)) return;
    const { query, operationName } = graphqlParams(request);
    const operations = typeof query === 'string' ? options.readDocument(query).operations : [];
    if (!selectsOnlyPublicFields(operationOf({ operations }, typeof operationName === 'string' ? operationName : undefined), publicFields)) {
      return refuse(reply, new AppError('UNAUTHENTICATED', 'Missing Authorization header'));
    }
  });
}

/** `payload`, failing with PAYLOAD_TOO_LARGE as soon as it is known to exceed `limit` bytes. */
function limitBody(request: FastifyRequest, payload: NodeJS.ReadableStream, limit: number): NodeJS.ReadableStream {
  const tooLarge = () => new AppError('PAYLOAD_TOO_LARGE', `A request without a token may send at most ${limit} bytes`);
  if (Number(request.headers['content-length']) > limit) throw tooLarge();
  let received = 0;
  return payload.pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        received += chunk.length;
        done(received > limit ? tooLarge() : null, chunk);
      },
    }),
  );
}

/** 401 with the reason the token was refused (its checks' messages are written for clients). */
function refuse(reply: FastifyReply, error: unknown) {
  return sendError(reply.header('www-authenticate', 'Bearer'), 'UNAUTHENTICATED', error instanceof AppError ? error.message : undefined);
}

function graphqlParams(request: FastifyRequest): { query?: unknown; operationName?: unknown } {
  const source = request.method === 'GET' ? request.query : request.body;
  return source && typeof source === 'object' ? (source as Record<string, unknown>) : {};
}

/** True when the operation that would run selects only public root fields (and `__typename`). */
function selectsOnlyPublicFields(operation: OperationDefinitionNode | undefined, publicFields: ReadonlySet<string>): boolean {
  if (!operation) return false;
  const rootType = operation.operation === 'query' ? 'Query' : operation.operation === 'mutation' ? 'Mutation' : 'Subscription';
  return operation.selectionSet.selections.every(
    (selection) =>
      selection.kind === Kind.FIELD && (selection.name.value === '__typename' || publicFields.has(`${rootType}.${selection.name.value}`)),
  );
}
