import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { mountGraphQL } from '../../shared/graphql-http';
import { createContext } from '../context';
import { useErrorStatus } from '../graphql-error-status';
import type { GatewayPlugin } from '../pipeline';
import type { ClientDeduplication } from './client-deduplication';
import { userOf } from './jwt-auth';

export interface GraphQLEndpointOptions {
  graphqlRoute: string;
  /** When set, identical queries in flight share one execution (`CLIENT_DEDUPLICATION`). */
  deduplication?: ClientDeduplication;
}

/**
 * The last stage: `POST`/`GET /graphql` runs Apollo Server, which has Apollo Gateway plan the
 * operation and call the subgraphs (gateway/upstream/). Answers say which product instance served
 * them (`Server-Port`), and a request that got no data for a client error gets that error's status.
 */
export function useGraphQLEndpoint({ graphqlRoute, deduplication }: GraphQLEndpointOptions): GatewayPlugin {
  return {
    name: 'GraphQL endpoint',
    // Apollo's own landing page stays off: the playground stage answers browsers before Apollo runs.
    apollo: [ApolloServerPluginLandingPageDisabled(), useErrorStatus()],
    fastify: ({ app, apollo }) =>
      mountGraphQL(app, apollo, {
        path: graphqlRoute,
        context: async (request) => createContext(userOf(request)),
        onResponse: (context, reply) => {
          if (context.upstream.serverPort) reply.header('server-port', context.upstream.serverPort);
        },
        execution: deduplication?.graphql,
      }),
  };
}
