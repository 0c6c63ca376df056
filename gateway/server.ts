import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { FastifyInstance } from 'fastify';
import { CLIENT_OPERATIONS_DIR, playgroundTabs } from '../schema/operations/client/playground-tabs';
import { createCacheStore } from '../shared/cache-store';
import { maskErrors, mountGraphQL } from '../shared/graphql-http';
import { createHttpApp } from '../shared/http-app';
import { useReadiness } from '../shared/readiness';
import type { GatewayConfig } from './config';
import { createContext, type GatewayContext } from './context';
import { createDocumentReader } from './graphql-documents';
import { PlanExecutingGateway } from './execution/executor';
import { createGatewayMetrics, queryPlanCounts } from './metrics';
import { useErrorStatus } from './plugins/error-status';
import { useJwtAuth, userOf, verifiedUser } from './plugins/jwt-auth';
import { useLoadBalancing } from './plugins/load-balancing';
import { knownOperationTypesRule, operationLimitRules, useOperationLimits } from './plugins/operation-limits';
import { usePlayground } from './plugins/playground';
import { useRateLimit } from './plugins/rate-limit';
import { ResponseCache, useResponseCache } from './plugins/response-cache';
import { bridgeRoutes, useRestBridge } from './plugins/rest-bridge';
import { useRestCacheFront } from './plugins/rest-cache-front';
import { useGraphQLCacheFront } from './plugins/graphql-cache-front';
import { useRequestDeduplication } from './plugins/request-deduplication';
import { restRoutes } from './rest/routes';
import { clientContract, restContract } from './supergraph/contract';
import { useSupergraphHotReload, type SupergraphStatus } from './supergraph/hot-reload';
import { supergraphOrigin } from './supergraph/origin';

const GRAPHQL_ROUTE = '/graphql';

/** `/ready`'s account of the supergraph: the live one's hash, and a refused offer's hash and reason (the problems go to the log only). */
function supergraphReport({ hash, refused }: SupergraphStatus) {
  return { live: hash, ...(refused ? { refused: { hash: refused.hash, reason: refused.reason } } : {}) };
}
/** Introspection's root fields; open without a token when introspection is on, for the IDE's docs. */
const INTROSPECTION_FIELDS = ['Query.__schema', 'Query.__type'];

/** The composition root: turns config into the gateway's plugins. Builds the app; does not listen. */
export async function createGatewayServer(config: GatewayConfig): Promise<FastifyInstance> {
  const app = createHttpApp(config.http);
  const contract = [...restContract(restRoutes, config.restOperationsDir), ...clientContract(CLIENT_OPERATIONS_DIR)];
  // With METRICS_PORT off nothing is counted.
  const metrics = config.http.metricsPort === undefined ? undefined : createGatewayMetrics(app, contract.map(({ document }) => document));
  const balancing = useLoadBalancing({
    subgraphUrls: config.subgraphUrls,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    readRetries: config.upstreamReadRetries,
    healthChecks: config.healthChecks,
    deduplicate: config.subgraphDeduplication,
    proof: config.subgraphProof,
    log: app.log,
    metrics,
  });
  app.addHook('onClose', async () => balancing.close());
  const cacheStore = createCacheStore(config.cache, app.log, 'gateway');
  app.addHook('onClose', () => cacheStore.close());
  const responseCache = config.responseCache
    ? new ResponseCache({ store: cacheStore, maxTtlSeconds: config.responseCacheMaxTtlSeconds, log: app.log, metrics })
    : undefined;
  // Every look into a client's document before Apollo's goes through it, within the limits.
  const readDocument = createDocumentReader(config.operationLimits);
  // Shares executions in the route handlers (below), so every check before them still runs for each request.
  const deduplication = config.clientDeduplication ? useRequestDeduplication(readDocument, metrics) : undefined;
  // Apollo Gateway reads this switch from the environment only, when it is constructed.
  process.env.APOLLO_TELEMETRY_DISABLED = config.apolloTelemetry ? 'false' : 'true';
  const validationRules = [knownOperationTypesRule, ...operationLimitRules(config.operationLimits)];
  const supergraph = useSupergraphHotReload({
    origin: supergraphOrigin(config.supergraph, app.log),
    contract,
    validationRules,
    log: app.log,
  });
  const Gateway = config.queryPlanExecutor === 'own' ? PlanExecutingGateway : ApolloGateway;
  const gateway = new Gateway({ supergraphSdl: supergraph.manager, buildService: balancing.buildService });
  const apollo = new ApolloServer<GatewayContext>({
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
    plugins: [
      // Apollo's own landing page stays off: the playground plugin answers browsers before Apollo runs.
      ApolloServerPluginLandingPageDisabled(),
      useErrorStatus(),
      ...(responseCache ? [useResponseCache(responseCache)] : []),
      ...(deduplication ? [deduplication.plugin] : []),
    ],
    formatError: maskErrors(app.log),
    includeStacktraceInErrorResponses: false,
  });
  await apollo.start();
  balancing.reportUnused();
  metrics?.watch({ instances: balancing.instances, supergraph: supergraph.status, queryPlans: () => queryPlanCounts(gateway) });
  metrics?.useRequestHooks(app, readDocument, new Map(restRoutes.map((route) => [`${route.method} ${route.url}`, route.operation])));
  useReadiness(
    app,
    {
      subgraphs: { required: true, check: balancing.subgraphsAvailable },
      cache: { required: false, check: () => cacheStore.ping() },
    },
    () => ({ healthyInstances: balancing.healthyInstances(), supergraph: supergraphReport(supergraph.status()) }),
  );
  app.addHook('onClose', () => apollo.stop());

  const authenticate = (header: string | undefined) => verifiedUser(config.jwt, header);
  // Before the JWT plugin's hooks, so requests with bad tokens count against their IP.
  const rateCheck = await useRateLimit(app, {
    settings: config.rateLimit,
    cache: config.cache,
    authenticate,
    graphqlRoute: GRAPHQL_ROUTE,
    exemptRoutes: ['/health'],
    log: app.log,
  });
  // Registered before the JWT plugin, whose hooks would otherwise refuse the page to a browser.
  const playground = config.graphqlIde
    ? usePlayground(app, { graphqlRoute: GRAPHQL_ROUTE, operationsDir: CLIENT_OPERATIONS_DIR, tabs: playgroundTabs, introspection: config.introspection })
    : undefined;
  useJwtAuth(app, {
    jwt: config.jwt,
    publicRoutes: ['/health', '/ready', ...restRoutes.filter((route) => route.public).map((route) => route.url), ...(playground?.publicRoutes ?? [])],
    graphqlRoute: GRAPHQL_ROUTE,
    publicRootFields: ['Mutation.signIn', ...(config.introspection ? INTROSPECTION_FIELDS : [])],
    readDocument,
    anonymousBodyLimitBytes: config.anonymousBodyLimitBytes,
  });
  useOperationLimits(app, { graphqlRoute: GRAPHQL_ROUTE, maxBatch: config.operationLimits.maxBatch, readDocument });
  // After authentication and the limits: a cached query is answered before Apollo's pipeline.
  if (responseCache) useGraphQLCacheFront(app, { graphqlRoute: GRAPHQL_ROUTE, cache: responseCache, readDocument });
  mountGraphQL(app, apollo, {
    path: GRAPHQL_ROUTE,
    context: async (request) => createContext(userOf(request)),
    onResponse: (context, reply) => {
      if (context.upstream.serverPort) reply.header('server-port', context.upstream.serverPort);
    },
    execution: deduplication?.graphql,
  });
  const bridged = bridgeRoutes(restRoutes, config.restOperationsDir);
  useRestBridge(app, apollo, { routes: bridged, cache: responseCache, deduplication });
  if (responseCache) {
    useRestCacheFront(app, { routes: bridged, cache: responseCache, authenticate, rateCheck, log: app.log, metrics });
  }
  return app;
}
