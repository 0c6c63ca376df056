import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions, type ServiceEndpointDefinition } from '@apollo/gateway';
import type { FastifyBaseLogger } from 'fastify';
import { createBalancedFetch, type BalancedFetch, type HealthCheckOptions } from '../../shared/balanced-fetch';
import { AppError } from '../../shared/errors';
import { PROOF_HEADER, signProof, type SubgraphProofSettings } from '../../shared/subgraph-proof';
import { SpanAttribute, annotateSpan } from '../../shared/tracing/span';
import { subgraphKey } from '../config';
import { SubgraphQueriesInFlight, useDeduplication } from './deduplication';
import type { GatewayContext } from '../context';

type Fetcher = NonNullable<ConstructorParameters<typeof RemoteGraphQLDataSource>[0]>['fetcher'];

export interface LoadBalancingOptions {
  /** Instance URLs per subgraph key; subgraphs not listed use their supergraph routing URL. */
  subgraphUrls: Readonly<Record<string, readonly string[]>>;
  upstreamTimeoutMs: number;
  /** Extra attempts for queries (never mutations) that failed on an instance. */
  readRetries: number;
  healthChecks: HealthCheckOptions;
  /** Merge identical in-flight subgraph queries (gateway/plugins/deduplication.ts). */
  deduplicate: boolean;
  /** Signs the proof every subgraph requires. */
  proof: SubgraphProofSettings;
  log: FastifyBaseLogger;
}

/**
 * Only queries are sent twice: a mutation that timed out may have been applied. The gateway's
 * subgraph fetches carry one operation each, printed by the query planner with its keyword (or as
 * the `{ … }` shorthand for a query), so the first token tells.
 */
export function isQueryRequest(init: RequestInit): boolean {
  if (typeof init.body !== 'string') return false;
  try {
    const query = (JSON.parse(init.body) as { query?: unknown }).query;
    return typeof query === 'string' && /^\s*(query\b|\{)/.test(query);
  } catch {
    return false;
  }
}

/**
 * Calls one subgraph: round-robin over its instances (skipping any that refuses connections),
 * passes the verified user on inside the gateway's signed proof, and reports the answering
 * product instance's `Server-Port`.
 */
class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    options: ConstructorParameters<typeof RemoteGraphQLDataSource<GatewayContext>>[0],
    private readonly proof: SubgraphProofSettings,
  ) {
    super(options);
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    // Signed even without a user: the anonymous sign-in must still prove it came through the gateway.
    const userId = (context as Partial<GatewayContext>).userId;
    request.http?.headers.set(PROOF_HEADER, signProof(this.proof, userId, request.query ?? ''));
  }

  override didReceiveResponse({ response, context }: Parameters<NonNullable<RemoteGraphQLDataSource<GatewayContext>['didReceiveResponse']>>[0]) {
    const port = response.http?.headers.get('server-port');
    const upstream = (context as Partial<GatewayContext>).upstream;
    if (port && upstream) upstream.serverPort = port;
    // The active span is Apollo's gateway.fetch for this subgraph call.
    if (port) annotateSpan({ [SpanAttribute.serverPort]: port });
    return response;
  }
}

/** The gateway's `buildService`: one balanced data source per subgraph. */
export function useLoadBalancing({ subgraphUrls, upstreamTimeoutMs, readRetries, healthChecks, deduplicate, proof, log }: LoadBalancingOptions) {
  const known = new Set<string>();
  const fetches = new Map<string, BalancedFetch>();
  const inFlight = new SubgraphQueriesInFlight();
  const buildService = ({ name, url }: ServiceEndpointDefinition) => {
    known.add(subgraphKey(name));
    const urls = subgraphUrls[subgraphKey(name)] ?? (url ? [url] : []);
    fetches.get(name)?.close();
    const balanced = createBalancedFetch({
      name,
      urls,
      timeoutMs: upstreamTimeoutMs,
      retries: readRetries,
      isIdempotent: isQueryRequest,
      healthChecks,
      onHealthChange: (instance, healthy) =>
        healthy ? log.info({ subgraph: name, instance }, 'subgraph instance is back') : log.warn({ subgraph: name, instance }, 'subgraph instance is down: out of rotation'),
    });
    fetches.set(name, balanced);
    log.info({ subgraph: name, urls }, 'subgraph instances');
    const fetcher = useDeduplication(
      name,
      async (target: string, init?: RequestInit) => {
        try {
          return await balanced(target, init);
        } catch (error) {
          // The gateway reports a GraphQLError from a fetch as it is, code included.
          throw error instanceof AppError ? error.toGraphQLError() : error;
        }
      },
      { enabled: deduplicate, inFlight },
    );
    return new SubgraphDataSource({ url: urls[0], fetcher: fetcher as unknown as Fetcher }, proof);
  };
  /** Warns about `SUBGRAPH_<NAME>_URLS` settings that name no subgraph of the supergraph. */
  const reportUnused = () => {
    for (const key of Object.keys(subgraphUrls)) if (!known.has(key)) log.warn({ subgraph: key }, 'instance URLs configured for a subgraph the supergraph does not have');
  };
  /** Readiness: every subgraph has at least one healthy instance. */
  const subgraphsAvailable = async () => {
    const answers = await Promise.all([...fetches.values()].map((balanced) => balanced.available()));
    return answers.every(Boolean);
  };
  /** Healthy instances per subgraph, for `/ready`. */
  const healthyInstances = () => Object.fromEntries([...fetches].map(([name, balanced]) => [name, balanced.healthyUrls()]));
  const close = () => {
    for (const balanced of fetches.values()) balanced.close();
  };
  return { buildService, reportUnused, subgraphsAvailable, healthyInstances, close };
}
