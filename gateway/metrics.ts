import type { ApolloGateway } from '@apollo/gateway';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Kind, type DocumentNode } from 'graphql';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { FetchOutcome } from '../shared/balanced-fetch';
import { FastCounter, FastHistogram } from '../shared/fast-metrics';
import { DURATION_BUCKETS, requestHistogram, routeLabel, type RequestObserver, useMetrics } from '../shared/metrics';
import { PlanExecutingGateway } from './execution/executor';
import { operationOf, type ClientDocument } from './graphql-documents';
import type { SupergraphStatus } from './supergraph/hot-reload';
import { REFUSAL_REASONS } from './supergraph/hot-reload';

/** The operation label of GraphQL requests whose operation is not one of ours (or has no name): bounded cardinality. */
export const OTHER_OPERATION = 'other';
/** The operation label of requests that run no GraphQL (`/health`, `/ready`, the playground page). */
export const NO_OPERATION = 'none';

/** What the gateway's metrics read at scrape time, as they are set up (`watch`). */
export interface GatewayMetricSources {
  /** Every subgraph instance, and whether it is in rotation. */
  instances(): { subgraph: string; instance: string; healthy: boolean }[];
  supergraph(): Readonly<SupergraphStatus>;
  /** Entries of the query-plan caches, by cache ("apollo": Apollo Gateway's plan store; "own": our executor's). */
  queryPlans(): Record<string, number>;
}

/** Records one attempt of a subgraph call on one instance. */
export type FetchObserver = (instanceUrl: string, outcome: FetchOutcome, seconds: number) => void;

/**
 * The gateway's series (docs/operations.md#metrics). Every label is bounded: route patterns (never
 * URLs), our own operation names (others count as `other`), subgraph and instance names from the
 * configuration, entity type names from the schema; no ids, no users.
 */
export class GatewayMetrics {
  /** For answers given before Fastify routes a request (the REST cache front). */
  readonly observeRequest: RequestObserver;
  private readonly cacheResults: FastCounter;
  private readonly cacheStores: FastCounter;
  private readonly invalidations: FastCounter;
  private readonly clientFollowers: FastCounter;
  private readonly subgraphFollowers: FastCounter;
  private readonly rateLimited: FastCounter;
  private readonly fetches: FastHistogram;

  constructor(
    private readonly registry: Registry,
    /** Names of the REST bridge's and the client's operations: the only operation label values but `other` and `none`. */
    private readonly knownOperations: ReadonlySet<string>,
  ) {
    this.observeRequest = requestHistogram(registry, 'gateway', true);
    this.cacheResults = new FastCounter('gateway_response_cache_requests_total', 'Responses the response cache could serve, by route and result (hit or miss)', ['route', 'result'], registry);
    this.cacheStores = new FastCounter('gateway_response_cache_stores_total', 'Responses stored in the response cache', [], registry);
    this.invalidations = new FastCounter('gateway_response_cache_invalidations_total', 'Cache tags a mutation bumped, by entity type', ['type'], registry);
    this.clientFollowers = new FastCounter('gateway_client_deduplicated_total', 'Client requests answered by an identical execution in flight, by entry (graphql or rest)', ['via'], registry);
    this.subgraphFollowers = new FastCounter('gateway_subgraph_deduplicated_total', 'Subgraph queries not sent because an identical one was in flight, by subgraph', ['subgraph'], registry);
    this.rateLimited = new FastCounter('gateway_rate_limited_total', 'Requests refused 429 by the rate limits, by route', ['route'], registry);
    this.fetches = new FastHistogram(
      'gateway_subgraph_fetch_duration_seconds',
      'Attempts of subgraph calls, by subgraph, instance and outcome (ok, refused, closing, timeout, failed), in seconds',
      ['subgraph', 'subgraph_instance', 'outcome'],
      DURATION_BUCKETS,
      registry,
    );
    // Exported at 0 from the start (a child exists once asked for), so a rate over them is 0 rather than no data.
    this.cacheStores.labels();
    this.clientFollowers.labels('graphql');
    this.clientFollowers.labels('rest');
  }

  /** Observes every request Fastify answers, with its cache result and rate-limit refusal. */
  useRequestHooks(app: FastifyInstance, readDocument: (query: string) => ClientDocument, restOperations: ReadonlyMap<string, string>): void {
    app.addHook('onResponse', (request, reply, done) => {
      const route = routeLabel(request.routeOptions.url);
      const operation = route === 'graphql' ? this.graphqlOperation(request, readDocument) : (restOperations.get(`${request.method} ${route}`) ?? NO_OPERATION);
      this.observeRequest(request.method, route, operation, reply.statusCode, reply.elapsedTime / 1000);
      this.afterResponse(route, reply);
      done();
    });
  }

  private afterResponse(route: string, reply: FastifyReply): void {
    if (reply.statusCode === 429) this.rateLimited.labels(route).inc();
    const cache = reply.getHeader('x-cache');
    if (cache === 'HIT' || cache === 'MISS') this.cacheLookup(route, cache === 'HIT');
  }

  /** The operation of a `/graphql` request: its name when it is one of ours, else `other`. */
  private graphqlOperation(request: FastifyRequest, readDocument: (query: string) => ClientDocument): string {
    const source = (request.method === 'GET' ? request.query : request.body) as { query?: unknown; operationName?: unknown } | undefined;
    if (!source || typeof source !== 'object' || Array.isArray(source)) return OTHER_OPERATION;
    let name = source.operationName;
    // Read from the reader's cache: authentication and the limits read this text before.
    if (name == null && typeof source.query === 'string') name = operationOf(readDocument(source.query), undefined)?.name?.value;
    return this.operationLabel(name);
  }

  /** A `/graphql` operation's label: its name when it is one of ours, else `other`. */
  operationLabel(name: unknown): string {
    return typeof name === 'string' && this.knownOperations.has(name) ? name : OTHER_OPERATION;
  }

  /** A cached read the fast path answered on `route`: its request and its hit, with their series looked up once. */
  fastPathHit(method: 'GET' | 'POST', route: string, operation: string): (seconds: number) => void {
    const request = this.observeRequest.child(method, route, operation, 200);
    const hit = this.cacheResults.labels(route, 'hit');
    return (seconds) => {
      request.observe(seconds);
      hit.inc();
    };
  }

  cacheLookup(route: string, hit: boolean): void {
    this.cacheResults.labels(route, hit ? 'hit' : 'miss').inc();
  }

  cacheStored(): void {
    this.cacheStores.labels().inc();
  }

  /** `tags` as response-cache/tags.ts writes them, `Type:id`: counted by type, the id dropped. */
  cacheInvalidated(tags: readonly string[]): void {
    for (const tag of tags) this.invalidations.labels(tag.slice(0, tag.indexOf(':'))).inc();
  }

  clientDeduplicated(via: 'graphql' | 'rest'): void {
    this.clientFollowers.labels(via).inc();
  }

  subgraphDeduplicated(subgraph: string): void {
    this.subgraphFollowers.labels(subgraph).inc();
  }

  /**
   * The observer of one subgraph's calls; instances are labelled `subgraph_instance="host:port"`
   * (not `instance`, which Prometheus sets to the scraped target).
   */
  subgraphFetch(subgraph: string): FetchObserver {
    this.subgraphFollowers.labels(subgraph);
    const hosts = new Map<string, string>();
    return (url, outcome, seconds) => {
      let host = hosts.get(url);
      if (host === undefined) hosts.set(url, (host = new URL(url).host));
      this.fetches.labels(subgraph, host, outcome).observe(seconds);
    };
  }

  /** The series read at scrape time: instance health, the live supergraph and its refusals, the query-plan caches. */
  watch(sources: GatewayMetricSources): void {
    const registers = [this.registry];
    new Gauge({
      name: 'gateway_subgraph_instance_up',
      help: 'Subgraph instances in rotation (1) or ejected by health checks or refused connections (0); across cluster workers, the lowest',
      labelNames: ['subgraph', 'subgraph_instance'],
      aggregator: 'min',
      registers,
      collect() {
        this.reset();
        for (const { subgraph, instance, healthy } of sources.instances()) this.set({ subgraph, subgraph_instance: new URL(instance).host }, healthy ? 1 : 0);
      },
    });
    new Gauge({
      name: 'gateway_supergraph_info',
      help: 'The live supergraph, by the sha256 of its text (1); across cluster workers, how many serve it',
      labelNames: ['hash'],
      registers,
      collect() {
        this.reset();
        this.set({ hash: sources.supergraph().hash }, 1);
      },
    });
    new Counter({
      name: 'gateway_supergraph_reloads_total',
      help: 'Supergraphs swapped in since start, without a restart',
      registers,
      collect() {
        this.reset();
        this.inc(sources.supergraph().reloads);
      },
    });
    new Counter({
      name: 'gateway_supergraph_refusals_total',
      help: 'Candidate supergraphs refused (the live one kept serving), by reason',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        const { refusals } = sources.supergraph();
        for (const reason of REFUSAL_REASONS) this.inc({ reason }, refusals[reason]);
      },
    });
    new Gauge({
      name: 'gateway_query_plan_cache_entries',
      help: 'Operations kept planned, by cache (apollo: Apollo Gateway\'s plan store; own: the query-plan executor\'s)',
      labelNames: ['cache'],
      registers,
      collect() {
        for (const [cache, entries] of Object.entries(sources.queryPlans())) this.set({ cache }, entries);
      },
    });
  }
}

/** The gateway's metrics on the app's registry. */
export function createGatewayMetrics(app: FastifyInstance, operationDocuments: readonly DocumentNode[]): GatewayMetrics {
  const names = operationDocuments.flatMap((document) =>
    document.definitions.flatMap((definition) => (definition.kind === Kind.OPERATION_DEFINITION && definition.name ? [definition.name.value] : [])),
  );
  return new GatewayMetrics(useMetrics(app, 'gateway'), new Set(names));
}

/**
 * Entries of the gateway's query-plan caches: Apollo Gateway's plan store (private: read as its
 * InMemoryLRUCache, at scrape time only) and, with QUERY_PLAN_EXECUTOR=own, our executor's.
 */
export function queryPlanCounts(gateway: ApolloGateway): Record<string, number> {
  const store = (gateway as unknown as { queryPlanStore?: { keys?(): string[] } }).queryPlanStore;
  const counts: Record<string, number> = {};
  if (typeof store?.keys === 'function') counts.apollo = store.keys().length;
  if (gateway instanceof PlanExecutingGateway) counts.own = gateway.preparedOperations;
  return counts;
}
