import { ApolloGateway, type ServiceEndpointDefinition } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import type { GraphQLDataSource } from '@apollo/gateway';
import type { FastifyBaseLogger } from 'fastify';
import { CLIENT_OPERATIONS_DIR } from '../schema/operations/client/playground-tabs';
import { maskErrors } from '../shared/graphql-http';
import type { GatewayConfig } from './config';
import type { GatewayContext } from './context';
import { PlanExecutingGateway } from './execution/executor';
import { CLIENT_MANIFEST_FILE, type TrustedDocuments } from './persisted-documents';
import { knownOperationTypesRule, operationLimitRules } from './plugins/operation-limits';
import { restRoutes } from './rest/routes';
import { clientContract, manifestContract, restContract } from './supergraph/contract';
import { useSupergraphHotReload } from './supergraph/hot-reload';
import { supergraphOrigin } from './supergraph/origin';

/**
 * The operations the gateway serves for its clients, which every supergraph must answer: the REST
 * bridge's, the typed client's, and the other clients' `trusted` documents.
 */
export function gatewayContract(config: GatewayConfig, trusted: TrustedDocuments) {
  return [
    ...restContract(restRoutes, config.restOperationsDir),
    ...clientContract(CLIENT_OPERATIONS_DIR),
    ...manifestContract(trusted.entries(), CLIENT_MANIFEST_FILE),
  ];
}

/**
 * Apollo Gateway on the hot-reloaded supergraph, and the Apollo Server the pipeline builds around
 * it with the stages' Apollo sides (`apolloServer`). A new supergraph must keep serving the
 * `contract` (`gatewayContract`).
 */
export function createApolloGateway(
  config: GatewayConfig,
  buildService: (endpoint: ServiceEndpointDefinition) => GraphQLDataSource,
  log: FastifyBaseLogger,
  contract: ReturnType<typeof gatewayContract>,
) {
  // Apollo Gateway reads this switch from the environment only, when it is constructed.
  process.env.APOLLO_TELEMETRY_DISABLED = config.apolloTelemetry ? 'false' : 'true';
  const validationRules = [knownOperationTypesRule, ...operationLimitRules(config.operationLimits)];
  const supergraph = useSupergraphHotReload({
    origin: supergraphOrigin(config.supergraph, log),
    contract,
    validationRules,
    log,
  });
  const Gateway = config.queryPlanExecutor === 'own' ? PlanExecutingGateway : ApolloGateway;
  const gateway = new Gateway({ supergraphSdl: supergraph.manager, buildService });
  const apolloServer = (plugins: ApolloServerPlugin<GatewayContext>[]) =>
    new ApolloServer<GatewayContext>({
      gateway,
      introspection: config.introspection,
      // Stated, not left to defaults: both guard the gateway (docs/hardening.md#operation-limits).
      csrfPrevention: true,
      allowBatchedHttpRequests: config.operationLimits.maxBatch > 0,
      validationRules,
      // Apollo parses each new text itself too: within the same token limit.
      parseOptions: { maxTokens: config.operationLimits.maxTokens },
      // runServer owns SIGTERM/SIGINT: Apollo's own handler would stop it mid-drain and re-raise the signal.
      stopOnTerminationSignals: false,
      // APQ is the trusted-documents stage's, through the gateway's cache store.
      persistedQueries: false,
      plugins,
      formatError: maskErrors(log),
      includeStacktraceInErrorResponses: false,
    });
  return { supergraph, gateway, apolloServer };
}
