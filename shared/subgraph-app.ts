import { ApolloServer, type BaseContext } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { DocumentNode } from 'graphql';
import { createHttpApp, type HttpAppOptions } from './http-app';
import { maskErrors, mountGraphQL } from './graphql-http';
import { GRAPHQL_PATH, sendError } from './error-response';
import { AppError } from './errors';
import { useSubgraphMetrics } from './subgraph-metrics';
import { PROOF_HEADER, ProofVerifier, type SubgraphProofSettings } from './subgraph-proof';

const GRAPHQL_ROUTE = GRAPHQL_PATH;
const users = new WeakMap<FastifyRequest, string>();

/** The user the gateway's proof names; undefined for the anonymous sign-in. */
export function userIdOf(request: FastifyRequest): string | undefined {
  return users.get(request);
}

export interface SubgraphAppOptions<TContext extends BaseContext> extends HttpAppOptions {
  /** The subgraph's name, as its metrics' `service` label. */
  name: string;
  /** The metrics listener's port from HttpSettings; undefined (off) counts nothing. */
  metricsPort: number | undefined;
  typeDefs: DocumentNode;
  resolvers: GraphQLResolverMap<TContext>;
  context: (request: FastifyRequest) => Promise<TContext>;
  /** The key that checks the gateway's proof on `/graphql`. */
  proof: SubgraphProofSettings;
}

/** A Fastify app serving one federation subgraph on `/graphql` (not listening yet). */
export async function createSubgraphApp<TContext extends BaseContext>(options: SubgraphAppOptions<TContext>): Promise<FastifyInstance> {
  const app = createHttpApp(options);
  const resolvers = options.metricsPort === undefined ? options.resolvers : useSubgraphMetrics(app, options.name, options.resolvers);
  const apollo = new ApolloServer<TContext>({
    schema: buildSubgraphSchema({ typeDefs: options.typeDefs, resolvers: resolvers as GraphQLResolverMap<unknown> }),
    // No inline traces (ftv1): nothing reports them, and building them costs on every request.
    plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginInlineTraceDisabled()],
    // runServer owns SIGTERM/SIGINT: Apollo's own handler would stop it mid-drain and re-raise the signal.
    stopOnTerminationSignals: false,
    formatError: maskErrors(app.log),
    includeStacktraceInErrorResponses: false,
    // The gateway is the only client; browsers never call a subgraph directly.
    csrfPrevention: true,
  });
  await apollo.start();
  requireGatewayProof(app, options.proof);
  mountGraphQL(app, apollo, { path: GRAPHQL_ROUTE, context: (request) => options.context(request) });
  app.addHook('onClose', () => apollo.stop());
  return app;
}

/**
 * Refuses, before anything executes, every GraphQL request without a valid proof from the gateway
 * (or from the order subgraph): the subgraph ports are not the front door. Health and readiness
 * routes stay open to probes. Runs once the body is parsed, because the proof covers the
 * operation text.
 */
function requireGatewayProof(app: FastifyInstance, proof: SubgraphProofSettings): void {
  const verifier = new ProofVerifier(proof);
  app.addHook('preHandler', async (request, reply) => {
    if (request.routeOptions.url !== GRAPHQL_ROUTE) return;
    const header = request.headers[PROOF_HEADER];
    try {
      const { userId } = verifier.verify(typeof header === 'string' ? header : undefined, operationText(request));
      if (userId !== undefined) users.set(request, userId);
    } catch (error) {
      return error instanceof AppError ? sendError(reply, error.code, error.message) : sendError(reply, 'GATEWAY_PROOF_REQUIRED');
    }
  });
}

function operationText(request: FastifyRequest): string {
  const source = request.method === 'GET' ? request.query : request.body;
  const query = source && typeof source === 'object' ? (source as { query?: unknown }).query : undefined;
  return typeof query === 'string' ? query : '';
}
