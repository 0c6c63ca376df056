import { Transform } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Kind, type OperationDefinitionNode } from 'graphql';
import { AppError } from '../../shared/errors';
import { bearerToken } from '../../shared/jwt';
import { SpanAttribute, annotateSpan, failSpan } from '../../shared/tracing/span';
import { operationOf, type ClientDocument } from '../graphql-documents';
import type { TokenVerifier } from '../token-verifier';

export interface JwtAuthOptions {
  tokens: TokenVerifier;
  /** Route patterns open without a token (the JWKS route is added to them). @default ["/health"] */
  publicRoutes: readonly string[];
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

/**
 * Verifies `Authorization: Bearer <JWT>` on every route but the public ones, before the body is
 * read. A missing or bad token is answered 401 here, so no subgraph is ever called for it; on
 * the GraphQL route an anonymous request is let through only if it selects nothing but public
 * root fields (sign-in).
 */
export function useJwtAuth(app: FastifyInstance, options: JwtAuthOptions): void {
  const publicRoutes = new Set(options.publicRoutes);
  if (options.tokens.servesAuthJwks) {
    publicRoutes.add(JWKS_ROUTE);
    app.get(JWKS_ROUTE, async (_request, reply) => {
      const jwks = await options.tokens.authJwks();
      if (jwks === undefined) throw new AppError('SIGNING_KEYS_UNAVAILABLE');
      return reply.header('cache-control', 'public, max-age=60').type('application/json').send(jwks);
    });
  }
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
      return refuse(request, reply, error as AppError, options.graphqlRoute);
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
      return refuse(request, reply, new AppError('UNAUTHENTICATED', 'Missing Authorization header'), options.graphqlRoute);
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

function refuse(request: FastifyRequest, reply: FastifyReply, error: AppError, graphqlRoute: string) {
  failSpan('UNAUTHENTICATED');
  reply.code(401).header('www-authenticate', 'Bearer');
  if (request.routeOptions.url === graphqlRoute) {
    return reply.send({ errors: [{ message: error.message, extensions: { code: 'UNAUTHENTICATED' } }] });
  }
  return reply.send({ error: { code: 'UNAUTHENTICATED', message: error.message } });
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
