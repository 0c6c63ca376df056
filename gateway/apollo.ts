import { ApolloGateway, type ServiceEndpointDefinition } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import type { GraphQLDataSource } from '@apollo/gateway';
import type { FastifyBaseLogger } from 'fastify';
import { CLIENT_OPERATIONS_DIR } from '../schema/operations/client/playground-tabs';
import { maskErrors } from '../shared/graphql-http';
import type { GatewayConfig } from './config';
import type { GatewayContext } from './context';
import { PlanExecutingGateway } from './execution/executor';
import { knownOperationTypesRule, operationLimitRules } from './plugins/operation-limits';
import { restRoutes } from './rest/routes';
import { clientContract, restContract } from './supergraph/contract';
import { useSupergraphHotReload } from './supergraph/hot-reload';
import { supergraphOrigin } from './supergraph/origin';

/** The operations the gateway serves for its own clients (REST bridge and client documents), which every supergraph must answer. */
export function gatewayContract(config: GatewayConfig) {
  return [...restContract(restRoutes, config.restOperationsDir), ...clientContract(CLIENT_OPERATIONS_DIR)];
}

/**
 * Apollo Gateway on the hot-reloaded supergraph, and the Apollo Server the pipeline builds around
 * it with the stages' Apollo sides (`apolloServer`).
 */
export function createApolloGateway(
  config: GatewayConfig,
  buildService: (endpoint: ServiceEndpointDefinition) => GraphQLDataSource,
  log: FastifyBaseLogger,
  contract = gatewayContract(config),
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
      plugins,
      formatError: maskErrors(log),
      includeStacktraceInErrorResponses: false,
    });
  return { supergraph, gateway, apolloServer };
}
