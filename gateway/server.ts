import type { FastifyInstance } from 'fastify';
import { CLIENT_OPERATIONS_DIR, playgroundTabs } from '../schema/operations/client/playground-tabs';
import { createCacheStore } from '../shared/cache-store';
import { GRAPHQL_PATH } from '../shared/error-response';
import { createHttpApp } from '../shared/http-app';
import { createApolloGateway, gatewayContract } from './apollo';
import type { GatewayConfig } from './config';
import { createDocumentReader } from './graphql-documents';
import { createGatewayMetrics, queryPlanCounts } from './metrics';
import { loadTrustedDocuments } from './persisted-documents';
import { usePipeline } from './pipeline';
import { useClientDeduplication } from './plugins/client-deduplication';
import { useGraphQLEndpoint } from './plugins/graphql-endpoint';
import { useHealth } from './plugins/health';
import { useJwtAuth } from './plugins/jwt-auth';
import { createLoadBalancing } from './upstream/load-balancing';
import { useOperationLimits } from './plugins/operation-limits';
import { usePlayground } from './plugins/playground';
import { useRateLimit } from './plugins/rate-limit';
import { useRequestLog } from './plugins/request-log';
import { useRequestMetrics } from './plugins/request-metrics';
import { ResponseCache, useAfterWrite, useCachedReadFastPath, useResponseCache } from './plugins/response-cache';
import { bridgeRoutes, loadOperations, useRestBridge } from './plugins/rest-bridge';
import { ONLY_MODE_NOTICE, useTrustedDocuments } from './plugins/trusted-documents';
import { restRoutes } from './rest/routes';
import type { SupergraphStatus } from './supergraph/hot-reload';
import { createTokenVerifier } from './token-verifier';
import { subgraphServices } from './upstream/subgraph-data-source';
import { SubgraphQueriesInFlight } from './upstream/subgraph-deduplication';

const GRAPHQL_ROUTE = GRAPHQL_PATH;
/** Introspection's root fields; open without a token when introspection is on, for the IDE's docs. */
const INTROSPECTION_FIELDS = ['Query.__schema', 'Query.__type'];

/** `/ready`'s account of the supergraph: the live one's hash, and a refused offer's hash and reason (the problems go to the log only). */
function supergraphReport({ hash, refused }: SupergraphStatus) {
  return { live: hash, ...(refused ? { refused: { hash: refused.hash, reason: refused.reason } } : {}) };
}

/**
 * The composition root: builds what the stages share (the cache store, the document reader, the
 * subgraph calls, Apollo Gateway), then runs the gateway's stages in the order a request meets
 * them (gateway/pipeline.ts). Builds the app; does not listen.
 */
export async function createGatewayServer(config: GatewayConfig): Promise<FastifyInstance> {
  // Read before anything starts: a broken manifest stops the gateway with nothing to close.
  const restOperations = loadOperations(config.restOperationsDir);
  const trustedDocuments = loadTrustedDocuments(config.persistedDocuments.manifests, [...restOperations.values()].map(({ text }) => text));
  const app = createHttpApp(config.http, { ownRequestLog: true });
  const { log } = app;
  const contract = gatewayContract(config, trustedDocuments);
  // With METRICS_PORT off nothing is counted.
  const metrics = config.http.metricsPort === undefined ? undefined : createGatewayMetrics(app, contract.map(({ document }) => document));
  const cacheStore = createCacheStore(config.cache, log, 'gateway');
  app.addHook('onClose', () => cacheStore.close());
  const cache = config.responseCache ? new ResponseCache({ store: cacheStore, maxTtlSeconds: config.responseCacheMaxTtlSeconds, log, metrics }) : undefined;
  // Every look into a client's document before Apollo's goes through it, within the limits.
  const readDocument = createDocumentReader(config.operationLimits);
  const deduplication = config.clientDeduplication ? useClientDeduplication(readDocument, metrics) : undefined;
  const subgraphQueries = new SubgraphQueriesInFlight();
  const afterWrite = useAfterWrite({ cache, clientDeduplication: deduplication, subgraphQueries });
  const { subgraphUrls, upstreamTimeoutMs, upstreamReadRetries: readRetries, healthChecks } = config;
  const balancing = createLoadBalancing({ subgraphUrls, upstreamTimeoutMs, readRetries, healthChecks, log, metrics });
  app.addHook('onClose', async () => balancing.close());
  const services = { fetchOf: balancing.fetchOf, deduplicate: config.subgraphDeduplication, proof: config.subgraphProof };
  const buildService = subgraphServices({ ...services, inFlight: subgraphQueries, writeAnswered: afterWrite.subgraphAnswered, metrics });
  const { supergraph, gateway, apolloServer } = createApolloGateway(config, buildService, log, contract);
  const routes = bridgeRoutes(restRoutes, restOperations, config.restOperationsDir);
  const publicRootFields = ['Mutation.signIn', ...(config.introspection ? INTROSPECTION_FIELDS : [])];
  // Fetches the issuers' JWKS in the background from here on: the gateway starts without waiting for them.
  const tokens = createTokenVerifier(config.jwt, log);
  app.addHook('onClose', async () => tokens.close());
  const auth = useJwtAuth({ tokens, graphqlRoute: GRAPHQL_ROUTE, publicRootFields, readDocument, anonymousBodyLimitBytes: config.anonymousBodyLimitBytes });
  const rateLimit = useRateLimit({ settings: config.rateLimit, cache: config.cache, authenticate: auth.verifiedUser, exemptRoutes: ['/health'], log });
  const requestLog = useRequestLog(log);
  const checks = {
    subgraphs: { required: true, check: balancing.subgraphsAvailable },
    cache: { required: false, check: () => cacheStore.ping() },
  };
  const health = useHealth(checks, () => ({ healthyInstances: balancing.healthyInstances(), supergraph: supergraphReport(supergraph.status()) }));
  const { mode, registrationTtlSeconds } = config.persistedDocuments;
  const trusted = useTrustedDocuments({
    graphqlRoute: GRAPHQL_ROUTE,
    mode,
    documents: trustedDocuments,
    store: cacheStore,
    registrationTtlSeconds,
    readDocument,
    maxBatch: config.operationLimits.maxBatch,
  });
  // Small bodies only: a cached query's is some hundred bytes; a longer one is left to Fastify unread.
  const fastBodyBytes = Math.min(config.http.bodyLimitBytes, 16 * 1024);
  const queryFastPath = { graphqlRoute: GRAPHQL_ROUTE, readDocument, plainRequest: trusted.plainRequest, maxBodyBytes: fastBodyBytes };
  const notice = mode === 'only' ? ONLY_MODE_NOTICE : undefined;
  const tabs = { graphqlRoute: GRAPHQL_ROUTE, operationsDir: CLIENT_OPERATIONS_DIR, tabs: playgroundTabs, introspection: config.introspection, notice };

  // The stages, in the order a request meets them (docs/architecture.md#the-gateway-pipeline).
  await usePipeline(
    app,
    [
      requestLog,
      metrics && useRequestMetrics(metrics, { readDocument, restRoutes }),
      cache && useCachedReadFastPath({ routes, cache, authenticate: auth.knownUser, rateCheck: rateLimit?.checkUser, requestLog, metrics, graphql: queryFastPath }),
      health,
      rateLimit, // before authentication: bad tokens count against their IP
      config.graphqlIde && usePlayground(tabs), // before authentication: a browser gets the page without a token
      auth,
      trusted, // once the body is parsed, before the limits, the cache and deduplication see its text
      useOperationLimits({ graphqlRoute: GRAPHQL_ROUTE, maxBatch: config.operationLimits.maxBatch, readDocument }),
      cache && useResponseCache(cache, { graphqlRoute: GRAPHQL_ROUTE, readDocument }),
      afterWrite,
      deduplication,
      useRestBridge({ routes, cache, deduplication }),
      useGraphQLEndpoint({ graphqlRoute: GRAPHQL_ROUTE, deduplication }),
    ],
    { apollo: apolloServer },
  );
  balancing.reportUnused();
  metrics?.watch({ instances: balancing.instances, supergraph: supergraph.status, queryPlans: () => queryPlanCounts(gateway) });
  return app;
}
