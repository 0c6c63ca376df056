import type { ClientDocument } from '../graphql-documents';
import type { GatewayMetrics } from '../metrics';
import type { GatewayPlugin } from '../pipeline';
import type { RestRoute } from '../rest/routes';

export interface RequestMetricsOptions {
  /** The document reader the stages share: a `/graphql` request's operation is read from its cache. */
  readDocument(query: string): ClientDocument;
  /** The REST bridge's routes: each one's stored operation is its requests' operation label. */
  restRoutes: readonly Pick<RestRoute, 'method' | 'url' | 'operation'>[];
}

/**
 * Counts every request Fastify answers (rate, errors and duration by route pattern, operation and
 * status; response-cache hits and misses from `X-Cache`; 429s of the rate limits) on the gateway's
 * metrics (docs/operations.md#metrics). The fast path counts its own hits with the same series,
 * looked up once at start (`GatewayMetrics.fastPathHit`). Only when METRICS_PORT is on.
 */
export function useRequestMetrics(metrics: GatewayMetrics, { readDocument, restRoutes }: RequestMetricsOptions): GatewayPlugin {
  const restOperations = new Map(restRoutes.map((route) => [`${route.method} ${route.url}`, route.operation]));
  return {
    name: 'request metrics',
    fastify: ({ app }) => metrics.useRequestHooks(app, readDocument, restOperations),
  };
}
