import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApolloServer } from '@apollo/server';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { parse, type DocumentNode, type GraphQLFormattedError } from 'graphql';
import { AppError, errorCatalogue, isErrorCode, restErrorBody, statusOf } from '../../shared/errors';
import { createContext, type GatewayContext } from '../context';
import type { RestInput, RestRoute } from '../rest/routes';
import { userOf } from './jwt-auth';

export interface RestBridgeOptions {
  routes: readonly RestRoute[];
  /** Folder of `<OperationName>.graphql` files. */
  operationsDir: string;
}

/** Reads every stored operation once, at start; a route naming a missing file fails the start. */
export function loadOperations(dir: string): Map<string, DocumentNode> {
  const operations = new Map<string, DocumentNode>();
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.graphql'))) {
    operations.set(file.replace(/\.graphql$/, ''), parse(readFileSync(join(dir, file), 'utf8')));
  }
  return operations;
}

/**
 * Serves each legacy REST route by running its stored GraphQL operation through the same Apollo
 * pipeline as `/graphql` (same auth, load balancing, error masking), then reshaping the result
 * into the legacy JSON. Errors are answered once, from the catalogue: code → status.
 */
export function useRestBridge(app: FastifyInstance, apollo: ApolloServer<GatewayContext>, { routes, operationsDir }: RestBridgeOptions): void {
  const operations = loadOperations(operationsDir);
  for (const route of routes) {
    const document = operations.get(route.operation);
    if (!document) throw new Error(`REST route ${route.method} ${route.url}: no operation file ${route.operation}.graphql in ${operationsDir}`);
    app.route({
      method: route.method,
      url: route.url,
      schema: route.schema,
      handler: async (request, reply) => {
        const variables = route.variables(request as unknown as RestInput);
        const context = createContext(userOf(request));
        const response = await apollo.executeOperation({ query: document, operationName: route.operation, variables }, { contextValue: context });
        if (context.upstream.serverPort) reply.header('server-port', context.upstream.serverPort);
        // Cache-Control, Age and X-Cache as Apollo set them; the body is ours to shape.
        for (const [name, value] of response.http.headers) if (name !== 'content-type') reply.header(name, value);
        if (response.body.kind !== 'single') throw new Error(`${route.operation} returned an incremental response`);
        const { data, errors } = response.body.singleResult;
        if (errors?.length) return sendGraphQLError(reply, errors[0]!);
        const body = route.respond(data);
        if (body == null) throw new AppError(route.notFound ?? 'INTERNAL_SERVER_ERROR');
        if (route.created) reply.code(201).header('location', route.created(body));
        return body;
      },
    });
  }
}

/** The first GraphQL error as a REST error: its code picks the status; its details become snake_case fields. */
function sendGraphQLError(reply: FastifyReply, error: GraphQLFormattedError) {
  const { code, serviceName: _service, ...details } = error.extensions ?? {};
  if (!isErrorCode(code)) {
    return reply.code(500).send(restErrorBody('INTERNAL_SERVER_ERROR', errorCatalogue.INTERNAL_SERVER_ERROR.message));
  }
  const snake = Object.fromEntries(Object.entries(details).map(([key, value]) => [key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), value]));
  return reply.code(statusOf(code)).send(restErrorBody(code, error.message, snake));
}
