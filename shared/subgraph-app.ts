import { ApolloServer, type BaseContext } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { DocumentNode } from 'graphql';
import { createHttpApp, type HttpAppOptions } from './http-app';
import { maskErrors, mountGraphQL } from './graphql-http';

/**
 * The header in which the gateway passes the verified token subject to subgraphs. The gateway
 * always overwrites it, so a client cannot choose its own identity through the gateway.
 */
export const USER_HEADER = 'x-user-id';

export function userIdOf(request: FastifyRequest): string | undefined {
  const value = request.headers[USER_HEADER];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export interface SubgraphAppOptions<TContext extends BaseContext> extends HttpAppOptions {
  typeDefs: DocumentNode;
  resolvers: GraphQLResolverMap<TContext>;
  context: (request: FastifyRequest) => Promise<TContext>;
}

/** A Fastify app serving one federation subgraph on `/graphql` (not listening yet). */
export async function createSubgraphApp<TContext extends BaseContext>(options: SubgraphAppOptions<TContext>): Promise<FastifyInstance> {
  const app = createHttpApp(options);
  const apollo = new ApolloServer<TContext>({
    schema: buildSubgraphSchema({ typeDefs: options.typeDefs, resolvers: options.resolvers as GraphQLResolverMap<unknown> }),
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
  mountGraphQL(app, apollo, { context: (request) => options.context(request) });
  app.addHook('onClose', () => apollo.stop());
  return app;
}
