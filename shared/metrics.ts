import cluster from 'node:cluster';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AggregatorRegistry, collectDefaultMetrics, Registry, type PrometheusContentType } from 'prom-client';
import { writeError } from './error-response';
import { FastHistogram, type HistogramChild } from './fast-metrics';

/**
 * Prometheus metrics of one process (docs/operations.md#metrics): a registry per app, served on a
 * listener of its own (`METRICS_PORT`) rather than a route of the app, so the public port never
 * answers `/metrics` and a scrape takes nothing from the app's pipeline (no auth, no rate limit).
 */

/** Buckets of request and call durations, in seconds: from a cached hit (well under 1 ms) to the 10 s upstream timeout. */
export const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const registries = new WeakMap<FastifyInstance, Registry>();

/** Gives the app a registry, whose every series carries `service` (gateway, auth, product, order). */
export function useMetrics(app: FastifyInstance, service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  registries.set(app, registry);
  return registry;
}

/** The app's registry; undefined when it counts nothing (`METRICS_PORT=off`). */
export function metricsOf(app: FastifyInstance): Registry | undefined {
  return registries.get(app);
}

/**
 * Records one answered request: its method, route pattern, operation label and status, and how
 * long it took. `child` is the histogram of one such label set, for a caller that knows it ahead.
 */
export type RequestObserver = ((method: string, route: string, operation: string, status: number, seconds: number) => void) & {
  child(method: string, route: string, operation: string, status: number): HistogramChild;
};

/** The route label of a request: its pattern (never its URL, which carries ids), `graphql`, or `unmatched`. */
export function routeLabel(url: string | undefined): string {
  if (url === undefined) return 'unmatched';
  return url === '/graphql' ? 'graphql' : url;
}

/**
 * `<prefix>_http_request_duration_seconds{method, route, status[, operation]}`, whose `_count` is
 * the request count; returns the observer for answers given outside Fastify (the fast path).
 */
export function requestHistogram(registry: Registry, prefix: string, withOperation: boolean): RequestObserver {
  const labelNames = withOperation ? ['method', 'route', 'operation', 'status'] : ['method', 'route', 'status'];
  const help = `Requests answered by the ${prefix}, by method, route pattern${withOperation ? ', GraphQL operation' : ''} and status, in seconds`;
  const histogram = new FastHistogram(`${prefix}_http_request_duration_seconds`, help, labelNames, DURATION_BUCKETS, registry);
  const child = withOperation
    ? (method: string, route: string, operation: string, status: number) => histogram.labels(method, route, operation, statusText(status))
    : (method: string, route: string, _operation: string, status: number) => histogram.labels(method, route, statusText(status));
  const observe = (method: string, route: string, operation: string, status: number, seconds: number) => child(method, route, operation, status).observe(seconds);
  return Object.assign(observe, { child });
}

const STATUS_TEXT = new Map<number, string>();
function statusText(status: number): string {
  let text = STATUS_TEXT.get(status);
  if (text === undefined) STATUS_TEXT.set(status, (text = String(status)));
  return text;
}

/** Observes every request Fastify answers; `operation` labels it (`none` without). */
export function useRequestMetrics(app: FastifyInstance, observe: RequestObserver, operation: (request: FastifyRequest) => string = () => 'none'): void {
  app.addHook('onResponse', (request, reply, done) => {
    observe(request.method, routeLabel(request.routeOptions.url), operation(request), reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}

/** Where a process serves its metrics: `HOST` and `METRICS_PORT` (undefined: none). */
export interface MetricsListenerSettings {
  host: string;
  metricsPort: number | undefined;
}

let aggregator: AggregatorRegistry<PrometheusContentType> | undefined;

/**
 * Serves the app's registry on its own listener, with Node's process metrics, and closes it with
 * the app; call before the app listens. A cluster worker serves nothing: it hands its registry to
 * the primary's aggregation (`serveClusterMetrics`), which answers for all workers. Resolves with
 * the port, or undefined when none is served.
 */
export async function serveMetrics(app: FastifyInstance, settings: MetricsListenerSettings): Promise<number | undefined> {
  const registry = registries.get(app);
  if (!registry || settings.metricsPort === undefined) return undefined;
  collectDefaultMetrics({ register: registry });
  if (cluster.isWorker) {
    // Constructing it installs the worker's answer to the primary's requests (prom-client's cluster module).
    aggregator ??= new AggregatorRegistry();
    AggregatorRegistry.setRegistries([registry]);
    return undefined;
  }
  const server = await listen(metricsServer(() => registry.metrics(), registry.contentType), settings.host, settings.metricsPort);
  app.addHook('onClose', () => closeServer(server));
  return (server.address() as AddressInfo).port;
}

/**
 * The primary of a cluster (shared/cluster.ts): serves on `METRICS_PORT` the sum of every worker's
 * series (gauges as each declares: see gateway/metrics.ts), asked over the cluster's IPC at each
 * scrape. Resolves with the server, or undefined when none is served.
 */
export async function serveClusterMetrics(settings: MetricsListenerSettings): Promise<Server | undefined> {
  if (settings.metricsPort === undefined) return undefined;
  const registry = (aggregator ??= new AggregatorRegistry());
  return listen(metricsServer(() => registry.clusterMetrics(), registry.contentType), settings.host, settings.metricsPort);
}

function metricsServer(render: () => Promise<string>, contentType: string): Server {
  return createServer((request, response) => {
    const path = request.url?.split('?')[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) return writeError(response, 'ROUTE_NOT_FOUND', `No route for ${request.method} ${path}: metrics are at GET /metrics`);
    render().then(
      (text) => {
        response.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      () => writeError(response, 'INTERNAL_SERVER_ERROR'),
    );
  });
}

function listen(server: Server, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', (error) => reject(new Error(`metrics listener on ${host}:${port}: ${error.message}`)));
    server.listen(port, host, () => resolve(server));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
