import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import { AppError } from '../../shared/errors';
import { bearerToken, verifyAccessToken, type JwtSettings } from '../../shared/jwt';
import { SpanAttribute, annotateSpan, failSpan } from '../../shared/tracing/span';

export interface JwtAuthOptions {
  jwt: JwtSettings;
  /** Route patterns open without a token. @default ["/health"] */
  publicRoutes: readonly string[];
  /** The GraphQL route, where an anonymous request may run only the public root fields. */
  graphqlRoute: string;
  /** Root fields anonymous GraphQL requests may select, as "Mutation.signIn". */
  publicRootFields: readonly string[];
}

const users = new WeakMap<FastifyRequest, string>();

/** The verified token subject of a request that passed `useJwtAuth`, if it carried a token. */
export function userOf(request: FastifyRequest): string | undefined {
  return users.get(request);
}

/** The verified user of an `Authorization` header; undefined when it is missing or not valid. */
export function verifiedUser(jwt: JwtSettings, header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  try {
    return verifyAccessToken(jwt, bearerToken(header));
  } catch {
    return undefined;
  }
}

/**
 * Verifies `Authorization: Bearer <JWT>` on every route but the public ones, before the body is
 * read. A missing or bad token is answered 401 here, so no subgraph is ever called for it; on
 * the GraphQL route an anonymous request is let through only if it selects nothing but public
 * root fields (sign-in).
 */
export function useJwtAuth(app: FastifyInstance, options: JwtAuthOptions): void {
  const publicRoutes = new Set(options.publicRoutes);
  const publicFields = new Set(options.publicRootFields);

  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route !== undefined && publicRoutes.has(route)) return;
    const header = request.headers.authorization;
    if (header === undefined && route === options.graphqlRoute) return; // decided once the body is parsed
    try {
      const userId = verifyAccessToken(options.jwt, bearerToken(header));
      users.set(request, userId);
      annotateSpan({ [SpanAttribute.userId]: userId });
    } catch (error) {
      return refuse(request, reply, error as AppError, options.graphqlRoute);
    }
  });

  app.addHook('preHandler', async (request, reply) => {
    if (request.routeOptions.url !== options.graphqlRoute || users.has(request)) return;
    if (!selectsOnlyPublicFields(graphqlParams(request), publicFields)) {
      return refuse(request, reply, new AppError('UNAUTHENTICATED', 'Missing Authorization header'), options.graphqlRoute);
    }
  });
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
export function selectsOnlyPublicFields({ query, operationName }: { query?: unknown; operationName?: unknown }, publicFields: ReadonlySet<string>): boolean {
  if (typeof query !== 'string') return false;
  let operations: OperationDefinitionNode[];
  try {
    operations = parse(query).definitions.filter((node): node is OperationDefinitionNode => node.kind === Kind.OPERATION_DEFINITION);
  } catch {
    return false;
  }
  const operation =
    typeof operationName === 'string' ? operations.find((node) => node.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
  if (!operation) return false;
  const rootType = operation.operation === 'query' ? 'Query' : operation.operation === 'mutation' ? 'Mutation' : 'Subscription';
  return operation.selectionSet.selections.every(
    (selection) =>
      selection.kind === Kind.FIELD && (selection.name.value === '__typename' || publicFields.has(`${rootType}.${selection.name.value}`)),
  );
}
