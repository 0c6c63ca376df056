import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApolloServer } from '@apollo/server';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Kind, parse, type GraphQLFormattedError, type OperationDefinitionNode } from 'graphql';
import { sendError } from '../../shared/error-response';
import { AppError, isErrorCode } from '../../shared/errors';
import { SpanAttribute, annotateSpan } from '../../shared/tracing/span';
import { createContext, type GatewayContext } from '../context';
import type { GatewayPlugin } from '../pipeline';
import type { RestInput, RestRoute } from '../rest/routes';
import { userOf } from './jwt-auth';
import type { ClientDeduplication, RestExecution } from './client-deduplication';
import { ageOf, type ResponseCache } from './response-cache/cache';
import { isCachedRead, lookUp } from './response-cache/rest-reads';

export interface RestBridgeOptions {
  /** The routes and their operations; those open without a token (sign-in) are this stage's public routes. */
  routes: readonly BridgedRoute[];
  /** When set, cached query responses are answered before any GraphQL runs. */
  cache?: ResponseCache;
  /** When set, identical reads in flight share one execution (`CLIENT_DEDUPLICATION`). */
  deduplication?: ClientDeduplication;
}

/** A stored operation, prepared once. */
interface PreparedOperation {
  text: string;
  /** As Apollo computes it, so both paths share cache entries. */
  queryHash: string;
  definition: OperationDefinitionNode;
}

/**
 * Reads every stored operation once, at start, parsing it to fail early on a broken file. The
 * text is what gets executed: Apollo keys its parsed-and-validated document cache on the text,
 * whereas a DocumentNode would be printed back to text on every request.
 */
export function loadOperations(dir: string): Map<string, PreparedOperation> {
  const operations = new Map<string, PreparedOperation>();
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.graphql'))) {
    const text = readFileSync(join(dir, file), 'utf8');
    const definition = parse(text).definitions.find((node): node is OperationDefinitionNode => node.kind === Kind.OPERATION_DEFINITION);
    if (!definition) throw new Error(`${file} holds no operation`);
    operations.set(file.replace(/\.graphql$/, ''), { text, queryHash: createHash('sha256').update(text).digest('hex'), definition });
  }
  return operations;
}

/** A legacy route with the stored operation that serves it. */
export interface BridgedRoute {
  route: RestRoute;
  operation: PreparedOperation;
}

/** Pairs every route with its operation (`loadOperations` of `operationsDir`); a missing file stops the gateway at start. */
export function bridgeRoutes(routes: readonly RestRoute[], operations: ReadonlyMap<string, PreparedOperation>, operationsDir: string): BridgedRoute[] {
  return routes.map((route) => {
    const operation = operations.get(route.operation);
    if (!operation) throw new Error(`REST route ${route.method} ${route.url}: no operation file ${route.operation}.graphql in ${operationsDir}`);
    return { route, operation };
  });
}

/**
 * Serves each legacy REST route by running its stored GraphQL operation through the same Apollo
 * pipeline as `/graphql` (same auth, load balancing, error masking), then reshaping the result
 * into the legacy JSON. Errors are answered once, from the catalogue: code → status.
 */
export function useRestBridge(options: RestBridgeOptions): GatewayPlugin {
  return {
    name: 'REST bridge',
    publicRoutes: options.routes.filter(({ route }) => route.public).map(({ route }) => route.url),
    fastify: ({ app, apollo }) => bridge(app, apollo, options),
  };
}

function bridge(app: FastifyInstance, apollo: ApolloServer<GatewayContext>, { routes, cache, deduplication }: RestBridgeOptions): void {
  for (const bridged of routes) {
    const { route, operation: prepared } = bridged;
    // Only reads: a mutation route's every request must run (and sign-in, a GET, is a mutation).
    const shared = deduplication && route.method === 'GET' && isCachedRead(bridged) ? deduplication : undefined;
    app.route({
      method: route.method,
      url: route.url,
      schema: route.schema,
      handler: async (request, reply) => {
        const variables = route.variables(request as unknown as RestInput);
        const context = createContext(userOf(request));
        if (cache && context.userId !== undefined && isCachedRead(bridged)) {
          // A cached read skips the whole GraphQL pipeline.
          const { key, hit } = await lookUp(cache, bridged, variables, context.userId);
          if (hit) {
            annotateSpan({ [SpanAttribute.cache]: 'HIT' });
            return reply.header('x-cache', 'HIT').header('age', ageOf(hit)).send(route.respond(hit.data));
          }
          context.cacheKey = key;
        }
        const execute = async (): Promise<RestExecution> => ({
          response: await apollo.executeOperation({ query: prepared.text, operationName: route.operation, variables }, { contextValue: context }),
          context,
        });
        // A follower answers with the leader's response and context: same data, headers and Server-Port.
        const { response, context: executed } = await (shared ? shared.rest(route.url, context.userId, variables, execute) : execute());
        if (executed.upstream.serverPort) reply.header('server-port', executed.upstream.serverPort);
        // Cache-Control, Age and X-Cache as Apollo set them; the body is ours to shape.
        for (const [name, value] of response.http.headers) if (name !== 'content-type') reply.header(name, value);
        if (response.body.kind !== 'single') throw new Error(`${route.operation} returned an incremental response`);
        const { data, errors } = response.body.singleResult;
        if (errors?.length) return sendGraphQLError(reply, errors[0]!);
        const body = route.respond(data);
        if (body == null) throw new AppError(route.notFound ?? 'INTERNAL_SERVER_ERROR');
        if (route.location) reply.header('location', route.location(body));
        return body;
      },
    });
  }
}

/** The first GraphQL error as a REST error: its code picks the status; its details become snake_case fields. */
function sendGraphQLError(reply: FastifyReply, error: GraphQLFormattedError) {
  const { code, serviceName: _service, ...details } = error.extensions ?? {};
  if (!isErrorCode(code)) return sendError(reply, 'INTERNAL_SERVER_ERROR');
  const snake = Object.fromEntries(Object.entries(details).map(([key, value]) => [key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), value]));
  return sendError(reply, code, error.message, snake);
}
