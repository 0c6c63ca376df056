import type { ServiceEndpointDefinition } from '@apollo/gateway';
import type { FastifyBaseLogger } from 'fastify';
import { createBalancedFetch, type BalancedFetch, type HealthCheckOptions } from '../../shared/balanced-fetch';
import { AppError } from '../../shared/errors';
import type { SubgraphProofSettings } from '../../shared/subgraph-proof';
import { subgraphKey } from '../config';
import type { GatewayMetrics } from '../metrics';
import { SubgraphQueriesInFlight, useDeduplication } from './deduplication';
import { SubgraphDataSource } from '../subgraph-data-source';

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
  /** Counts every attempt on an instance and every merged query. */
  metrics?: GatewayMetrics;
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

/** The gateway's `buildService`: one balanced data source per subgraph. */
export function useLoadBalancing({ subgraphUrls, upstreamTimeoutMs, readRetries, healthChecks, deduplicate, proof, log, metrics }: LoadBalancingOptions) {
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
      onAttempt: metrics?.subgraphFetch(name),
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
      { enabled: deduplicate, inFlight, onMerged: metrics && (() => metrics.subgraphDeduplicated(name)) },
    );
    return new SubgraphDataSource(urls[0], fetcher, proof);
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
  /** Every instance of every subgraph, in rotation or not, for metrics. */
  const instances = () => [...fetches].flatMap(([subgraph, balanced]) => {
    const healthy = new Set(balanced.healthyUrls());
    return balanced.urls.map((instance) => ({ subgraph, instance, healthy: healthy.has(instance) }));
  });
  const close = () => {
    for (const balanced of fetches.values()) balanced.close();
  };
  return { buildService, reportUnused, subgraphsAvailable, healthyInstances, instances, close };
}
