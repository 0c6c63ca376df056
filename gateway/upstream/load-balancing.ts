import type { ServiceEndpointDefinition } from '@apollo/gateway';
import type { FastifyBaseLogger } from 'fastify';
import { createBalancedFetch, type BalancedFetch, type FetchLike, type HealthCheckOptions } from '../../shared/balanced-fetch';
import { subgraphKey } from '../config';
import type { GatewayMetrics } from '../metrics';
import { isQueryRequest } from './subgraph-query';

export interface LoadBalancingOptions {
  /** Instance URLs per subgraph key; subgraphs not listed use their supergraph routing URL. */
  subgraphUrls: Readonly<Record<string, readonly string[]>>;
  upstreamTimeoutMs: number;
  /** Extra attempts for queries (never mutations) that failed on an instance. */
  readRetries: number;
  healthChecks: HealthCheckOptions;
  log: FastifyBaseLogger;
  /** Counts every attempt on an instance, by outcome, and reads instance health at scrape time. */
  metrics?: GatewayMetrics;
}

/** One subgraph's balanced fetch, and the first of its instance URLs. */
export interface BalancedSubgraph {
  url: string | undefined;
  fetch: FetchLike;
}

/**
 * Round-robin over each subgraph's healthy instances, with health checks, timeouts and retries of
 * queries (only queries are sent twice: a mutation that timed out may have been applied).
 */
export function createLoadBalancing({ subgraphUrls, upstreamTimeoutMs, readRetries, healthChecks, log, metrics }: LoadBalancingOptions) {
  const known = new Set<string>();
  const fetches = new Map<string, BalancedFetch>();
  /** The balanced fetch of a subgraph of the supergraph; one loaded again replaces its earlier one. */
  const fetchOf = ({ name, url }: ServiceEndpointDefinition): BalancedSubgraph => {
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
    return { url: urls[0], fetch: balanced };
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
  return { fetchOf, reportUnused, subgraphsAvailable, healthyInstances, instances, close };
}
