import { join, resolve } from 'node:path';
import type { HealthCheckOptions } from '../shared/balanced-fetch';
import { readCacheSettings, type CacheSettings } from '../shared/cache-store';
import { EnvReader, isHttpUrl, readHttpSettings, type Env, type HttpSettings } from '../shared/config';
import { readDataDir } from '../shared/database/config';
import { readSubgraphProofSettings, type SubgraphProofSettings } from '../shared/subgraph-proof';
import { readWorkerCount } from '../shared/worker-count';
import { SUPERGRAPH_FILE, ROOT } from '../schema/subgraphs';
import type { OperationLimits } from './plugins/operation-limits';
import { readTokenVerificationSettings, type TokenVerificationSettings } from './token-settings';
import type { RateLimitSettings } from './plugins/rate-limit';
import type { PersistedDocumentsSettings } from './plugins/trusted-documents';
import { CLIENT_MANIFEST_FILE } from './persisted-documents';

export interface GatewayConfig {
  /** `HOST` @default "0.0.0.0" (the gateway is the public entry point); `PORT` @default 19091; `METRICS_PORT` @default 19191 */
  http: HttpSettings;
  /** Where the supergraph comes from, and how a new one is picked up without a restart (docs/architecture.md#supergraph-hot-reload). */
  supergraph: SupergraphSettings;
  /**
   * Instance URLs per subgraph name, replacing the supergraph's routing URL; several URLs are
   * balanced round-robin. `SUBGRAPH_<NAME>_URLS` (name upper-cased, `-` as `_`), comma-separated.
   * @default { product: ["http://127.0.0.1:19093/graphql", "http://127.0.0.1:19094/graphql"] }
   */
  subgraphUrls: Record<string, string[]>;
  /** Per-attempt timeout of a subgraph call, in ms. `UPSTREAM_TIMEOUT_MS`, @default 10000 */
  upstreamTimeoutMs: number;
  /**
   * Further attempts, on the next instance, for a subgraph query that timed out or lost its
   * connection; mutations are never retried. `UPSTREAM_READ_RETRIES`, @default 1
   */
  upstreamReadRetries: number;
  /**
   * Active checks of every subgraph instance's `/health`: `intervalMs` between checks of a healthy
   * instance, and each check's timeout, at least 1 s (`HEALTH_CHECK_INTERVAL_MS`, @default 2000),
   * doubling after each failed check of a down one up to `maxBackoffMs`
   * (`HEALTH_CHECK_MAX_BACKOFF_MS`, @default 30000).
   */
  healthChecks: HealthCheckOptions;
  /** Merge identical subgraph queries in flight into one call. `SUBGRAPH_DEDUPLICATION`, @default "on" */
  subgraphDeduplication: boolean;
  /**
   * Answer identical client queries in flight (same user, operation, variables, and on
   * `/graphql` the same query text and `Accept`) with one execution, on `POST /graphql` and the
   * REST bridge's reads; mutations always run, and a mutation's answer ends following for the
   * reads in flight. `CLIENT_DEDUPLICATION`, @default "on"
   */
  clientDeduplication: boolean;
  /**
   * Who executes Apollo Gateway's query plans. "own": the gateway's executor (gateway/execution/),
   * which runs the plan Apollo's query planner made, through the same data sources, and answers
   * as Apollo's executor does, at a lower cost per request; operations it does not take
   * (introspection, @defer, subscriptions) still go to Apollo's. "apollo": Apollo Gateway's own
   * executor for every operation. `QUERY_PLAN_EXECUTOR`, @default "own"
   */
  queryPlanExecutor: 'own' | 'apollo';
  /**
   * Apollo Gateway's own usage telemetry to Apollo's servers (its OpenTelemetry metrics SDK with
   * cloud detectors, started with the gateway). Off unless asked for: a gateway must not call out
   * of its users' network on its own; off, those packages are not even loaded
   * (gateway/deferred-modules.ts). `APOLLO_TELEMETRY`, @default "off"
   */
  apolloTelemetry: boolean;
  /**
   * How bearer tokens are verified: against JWKS (the auth subgraph's, external issuers') or, in
   * hs256 mode, a shared secret that must match the auth subgraph's (docs/authentication.md).
   */
  jwt: TokenVerificationSettings;
  /** The key that signs the proof on every subgraph call; the same as the subgraphs' (docs/hardening.md#subgraph-trust). */
  subgraphProof: SubgraphProofSettings;
  /** The response cache's store: `REDIS_URL`, `CACHE_TIMEOUT_MS`, `CACHE_MEMORY_BYTES`. */
  cache: CacheSettings;
  /** Whole-response caching of queries by their cache hints. `RESPONSE_CACHE`, @default "on" */
  responseCache: boolean;
  /** Upper bound on a cached response's lifetime, in seconds. `RESPONSE_CACHE_MAX_TTL_SECONDS`, @default 300 */
  responseCacheMaxTtlSeconds: number;
  /** Where the REST bridge's operations are. Not configurable: they are part of the REST contract. */
  restOperationsDir: string;
  /**
   * Serve the GraphiQL playground to browsers on `GET /graphql`. `GRAPHQL_IDE`,
   * @default "on", or "off" when `NODE_ENV` is "production"
   */
  graphqlIde: boolean;
  /**
   * Answer introspection queries, anonymous ones included (the playground's docs and
   * autocompletion need them). `GRAPHQL_INTROSPECTION`, @default "on", or "off" when `NODE_ENV` is "production"
   */
  introspection: boolean;
  /**
   * Per-operation limits: `GRAPHQL_MAX_DEPTH` @default 8, `GRAPHQL_MAX_COST` @default 10000,
   * `GRAPHQL_MAX_ALIASES` @default 15, `GRAPHQL_MAX_BATCH` @default 0 (batched requests refused);
   * and per document, checked before validation: `GRAPHQL_MAX_TOKENS` @default 1000,
   * `GRAPHQL_MAX_DIRECTIVES` @default 50, `GRAPHQL_MAX_FRAGMENTS` @default 50,
   * `GRAPHQL_MAX_REPEATED_FIELDS` @default 30.
   */
  operationLimits: OperationLimits;
  /**
   * Largest body read from a request without a verified token, in bytes (anonymous GraphQL:
   * sign-in, introspection); the smaller of it and `BODY_LIMIT_BYTES` applies.
   * `ANONYMOUS_BODY_LIMIT_BYTES`, @default 16384
   */
  anonymousBodyLimitBytes: number;
  /**
   * Requests per window, per verified user or else per client IP: `RATE_LIMIT` @default "off", or
   * "on" when `NODE_ENV` is "production"; `RATE_LIMIT_WINDOW_MS` @default 60000;
   * `RATE_LIMIT_PER_USER` @default 1200; `RATE_LIMIT_PER_IP` @default 300. Counted in Redis when
   * `REDIS_URL` is set, under `CACHE_NAMESPACE`.
   */
  rateLimit: RateLimitSettings;
  /** Trusted documents and APQ (docs/hardening.md#trusted-documents). */
  persistedDocuments: PersistedDocumentsSettings;
  /**
   * Processes serving the gateway. 1 serves from this process. More make this process a primary
   * that forks that many workers (`node:cluster`) sharing its port, for machines with more cores
   * than one gateway process keeps busy; "auto" is one per core this process may use
   * (`os.availableParallelism()`). The workers share no memory, so with more than one, `REDIS_URL`
   * is required while the response cache or rate limits are on. `GATEWAY_WORKERS`, @default 1
   */
  workers: number;
}

export interface SupergraphSettings {
  /** The supergraph to serve; any composed supergraph works. `SUPERGRAPH_PATH`, @default "schema/supergraph.graphql" */
  path: string;
  /**
   * Reload the supergraph when its file changes. The folder holding `SUPERGRAPH_PATH` is watched,
   * not the file, so a replaced file or a swapped symlink (a Kubernetes ConfigMap update) is seen
   * too. `SIGHUP` reloads whatever this is. `SUPERGRAPH_WATCH`, @default "on"
   */
  watch: boolean;
  /**
   * Fetch the supergraph from this http(s) URL instead of a file: at start (the gateway does not
   * start without it), then every `SUPERGRAPH_POLL_INTERVAL_MS`, sending its last `ETag` back as
   * `If-None-Match`. Not together with `SUPERGRAPH_PATH`. `SUPERGRAPH_URL`, @default unset (the file)
   */
  url: string | undefined;
  /** Pause between two fetches of the supergraph URL, in ms. `SUPERGRAPH_POLL_INTERVAL_MS`, @default 10000 */
  pollIntervalMs: number;
}

const DEFAULT_SUBGRAPH_URLS: Record<string, string[]> = {
  product: ['http://127.0.0.1:19093/graphql', 'http://127.0.0.1:19094/graphql'],
};

/** `SUBGRAPH_ORDER_URLS` and a subgraph called `order` meet at the key `order`. */
export function subgraphKey(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '_');
}

function readSubgraphUrls(reader: EnvReader, env: Env): Record<string, string[]> {
  const urls: Record<string, string[]> = { ...DEFAULT_SUBGRAPH_URLS };
  for (const name of Object.keys(env).sort()) {
    const match = /^SUBGRAPH_(.+)_URLS$/.exec(name);
    if (match && reader.raw(name) !== undefined) urls[subgraphKey(match[1]!)] = reader.urlList(name, []);
  }
  return urls;
}

function readSupergraphSettings(reader: EnvReader): SupergraphSettings {
  const url = reader.optionalString('SUPERGRAPH_URL');
  if (url !== undefined && !isHttpUrl(url)) reader.problem(`SUPERGRAPH_URL must be an http(s) URL, got "${url}"`);
  if (url !== undefined && reader.raw('SUPERGRAPH_PATH') !== undefined) {
    reader.problem('SUPERGRAPH_URL and SUPERGRAPH_PATH are both set: the supergraph comes from one of them, so unset the other');
  }
  return {
    path: resolve(process.cwd(), reader.string('SUPERGRAPH_PATH', SUPERGRAPH_FILE)),
    watch: reader.oneOf('SUPERGRAPH_WATCH', ['on', 'off'] as const, 'on') === 'on',
    url,
    pollIntervalMs: reader.int('SUPERGRAPH_POLL_INTERVAL_MS', 10_000, { min: 100, max: 3_600_000 }),
  };
}

/** An on/off switch whose default is "off" in production (`NODE_ENV=production`) and "on" elsewhere. */
function devSwitch(reader: EnvReader, name: string): boolean {
  const fallback = reader.raw('NODE_ENV') === 'production' ? 'off' : 'on';
  return reader.oneOf(name, ['on', 'off'] as const, fallback) === 'on';
}

function readOperationLimits(reader: EnvReader): OperationLimits {
  return {
    maxDepth: reader.int('GRAPHQL_MAX_DEPTH', 8, { min: 1, max: 100 }),
    maxCost: reader.int('GRAPHQL_MAX_COST', 10_000, { min: 1, max: 1_000_000 }),
    maxAliases: reader.int('GRAPHQL_MAX_ALIASES', 15, { min: 0, max: 1000 }),
    maxBatch: reader.int('GRAPHQL_MAX_BATCH', 0, { min: 0, max: 100 }),
    // Validation's work grows with the document: the limits below keep it linear, not small.
    maxTokens: reader.int('GRAPHQL_MAX_TOKENS', 1000, { min: 100, max: 20_000 }),
    maxDirectives: reader.int('GRAPHQL_MAX_DIRECTIVES', 50, { min: 0, max: 1000 }),
    maxFragments: reader.int('GRAPHQL_MAX_FRAGMENTS', 50, { min: 0, max: 1000 }),
    maxRepeatedFields: reader.int('GRAPHQL_MAX_REPEATED_FIELDS', 30, { min: 1, max: 1000 }),
  };
}

function readRateLimit(reader: EnvReader): RateLimitSettings {
  const fallback = reader.raw('NODE_ENV') === 'production' ? 'on' : 'off';
  return {
    enabled: reader.oneOf('RATE_LIMIT', ['on', 'off'] as const, fallback) === 'on',
    windowMs: reader.int('RATE_LIMIT_WINDOW_MS', 60_000, { min: 100, max: 86_400_000 }),
    perUser: reader.int('RATE_LIMIT_PER_USER', 1200, { min: 1, max: 1_000_000_000 }),
    perIp: reader.int('RATE_LIMIT_PER_IP', 300, { min: 1, max: 1_000_000_000 }),
  };
}

function readPersistedDocuments(reader: EnvReader): PersistedDocumentsSettings {
  const fallback = reader.raw('NODE_ENV') === 'production' ? 'only' : 'allow';
  const manifests = reader.optionalString('PERSISTED_DOCUMENTS_MANIFESTS');
  return {
    mode: reader.oneOf('PERSISTED_DOCUMENTS', ['only', 'allow'] as const, fallback),
    manifests: manifests === undefined ? [CLIENT_MANIFEST_FILE] : manifests.split(',').map((path) => path.trim()).filter(Boolean).map((path) => resolve(process.cwd(), path)),
    registrationTtlSeconds: reader.int('PERSISTED_QUERY_TTL_SECONDS', 86_400, { min: 1, max: 31_536_000 }),
  };
}

/**
 * GATEWAY_WORKERS, refused above 1 when the workers would answer wrongly: a mutation through one
 * worker bumps the invalidation tags in that worker's memory only, so the others keep serving the
 * old response; and each worker would count rates on its own, multiplying the limits.
 */
function readWorkers(reader: EnvReader, shared: { cache: CacheSettings; responseCache: boolean; rateLimit: RateLimitSettings }): number {
  const workers = readWorkerCount(reader, 'GATEWAY_WORKERS');
  const inMemory = [shared.responseCache && 'the response cache (RESPONSE_CACHE)', shared.rateLimit.enabled && 'rate limits (RATE_LIMIT)'].filter(Boolean);
  if (workers > 1 && shared.cache.redisUrl === undefined && inMemory.length > 0) {
    reader.problem(
      `GATEWAY_WORKERS is ${workers} with ${inMemory.join(' and ')} on but no REDIS_URL: the response cache's invalidation tags ` +
        'and the rate counters must be shared by the workers, so set REDIS_URL (or turn those off)',
    );
  }
  return workers;
}

export function loadGatewayConfig(env: Env = process.env): Readonly<GatewayConfig> {
  const reader = new EnvReader(env);
  const dataDir = readDataDir(reader);
  const cache = readCacheSettings(reader);
  const responseCache = reader.oneOf('RESPONSE_CACHE', ['on', 'off'] as const, 'on') === 'on';
  const rateLimit = readRateLimit(reader);
  const subgraphUrls = readSubgraphUrls(reader, env);
  return reader.finish({
    http: readHttpSettings(reader, { host: '0.0.0.0', port: 19091, metricsPort: 19191 }),
    supergraph: readSupergraphSettings(reader),
    subgraphUrls,
    upstreamTimeoutMs: reader.int('UPSTREAM_TIMEOUT_MS', 10_000, { min: 100, max: 300_000 }),
    upstreamReadRetries: reader.int('UPSTREAM_READ_RETRIES', 1, { min: 0, max: 5 }),
    healthChecks: {
      intervalMs: reader.int('HEALTH_CHECK_INTERVAL_MS', 2000, { min: 50, max: 60_000 }),
      maxBackoffMs: reader.int('HEALTH_CHECK_MAX_BACKOFF_MS', 30_000, { min: 50, max: 600_000 }),
    },
    subgraphDeduplication: reader.oneOf('SUBGRAPH_DEDUPLICATION', ['on', 'off'] as const, 'on') === 'on',
    clientDeduplication: reader.oneOf('CLIENT_DEDUPLICATION', ['on', 'off'] as const, 'on') === 'on',
    queryPlanExecutor: reader.oneOf('QUERY_PLAN_EXECUTOR', ['own', 'apollo'] as const, 'own'),
    apolloTelemetry: reader.oneOf('APOLLO_TELEMETRY', ['on', 'off'] as const, 'off') === 'on',
    jwt: readTokenVerificationSettings(reader, dataDir, subgraphUrls.auth),
    subgraphProof: readSubgraphProofSettings(reader, dataDir),
    cache,
    responseCache,
    responseCacheMaxTtlSeconds: reader.int('RESPONSE_CACHE_MAX_TTL_SECONDS', 300, { min: 1, max: 86_400 }),
    restOperationsDir: join(ROOT, 'schema', 'operations', 'rest'),
    graphqlIde: devSwitch(reader, 'GRAPHQL_IDE'),
    introspection: devSwitch(reader, 'GRAPHQL_INTROSPECTION'),
    operationLimits: readOperationLimits(reader),
    anonymousBodyLimitBytes: reader.int('ANONYMOUS_BODY_LIMIT_BYTES', 16 * 1024, { min: 1024, max: 64 * 1024 * 1024 }),
    rateLimit,
    persistedDocuments: readPersistedDocuments(reader),
    workers: readWorkers(reader, { cache, responseCache, rateLimit }),
  });
}
