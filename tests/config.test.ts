import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadGatewayConfig } from '../gateway/config';
import { ConfigError } from '../shared/config';
import { loadAuthConfig } from '../subgraphs/auth/config';
import { loadOrderConfig } from '../subgraphs/order/config';
import { loadProductConfig } from '../subgraphs/product/config';

let dataDir: string;
beforeEach(() => (dataDir = mkdtempSync(join(tmpdir(), 'config-test-'))));
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

test('defaults: the documented ports, SQLite in the data directory, both product instances', () => {
  const env = { DATA_DIR: dataDir };
  expect(loadGatewayConfig(env).http).toMatchObject({ port: 19091, host: '0.0.0.0' });
  expect(loadOrderConfig(env).http.port).toBe(19092);
  expect(loadProductConfig(env).http.port).toBe(19093);
  expect(loadAuthConfig(env).http.port).toBe(19095);
  expect(loadProductConfig(env).database).toEqual({ kind: 'sqlite', file: join(dataDir, 'federation.sqlite') });
  expect(loadGatewayConfig(env).subgraphUrls.product).toEqual(['http://127.0.0.1:19093/graphql', 'http://127.0.0.1:19094/graphql']);
  expect(loadOrderConfig(env).productUrls).toHaveLength(2);
});

test('every problem is reported at once, by setting name', () => {
  const env = { DATA_DIR: dataDir, PORT: 'eighty', LOG_LEVEL: 'loud', DATABASE_URL: 'postgres://x', JWT_MODE: 'hs256', JWT_SECRET: 'short', SUBGRAPH_PRODUCT_URLS: 'not a url' };
  let error: unknown;
  try {
    loadGatewayConfig(env);
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(ConfigError);
  const problems = (error as ConfigError).problems;
  for (const name of ['PORT', 'LOG_LEVEL', 'JWT_SECRET', 'SUBGRAPH_PRODUCT_URLS']) {
    expect(problems.filter((problem) => problem.startsWith(`${name} `))).toHaveLength(1);
  }
  expect(() => loadProductConfig(env)).toThrow(/DATABASE_URL must look like mysql:/);
});

test('every process grows its heap by HEAP_GROWTH_PERCENT (75 unless set; 0 leaves it to V8), and refuses a bad value', () => {
  expect(loadGatewayConfig({ DATA_DIR: dataDir }).http.heapGrowthPercent).toBe(75);
  expect(loadProductConfig({ DATA_DIR: dataDir, HEAP_GROWTH_PERCENT: '0' }).http.heapGrowthPercent).toBe(0);
  expect(loadOrderConfig({ DATA_DIR: dataDir, HEAP_GROWTH_PERCENT: '40' }).http.heapGrowthPercent).toBe(40);
  for (const value of ['-1', 'lots', '1001']) {
    expect(() => loadGatewayConfig({ DATA_DIR: dataDir, HEAP_GROWTH_PERCENT: value })).toThrow(/HEAP_GROWTH_PERCENT /);
  }
});

test('METRICS_PORT: the service port plus 100 unless set, 0 for a free port, "off" for none; anything else refused', () => {
  expect([loadGatewayConfig, loadOrderConfig, loadProductConfig, loadAuthConfig].map((load) => load({ DATA_DIR: dataDir }).http.metricsPort)).toEqual([19191, 19192, 19193, 19195]);
  expect(loadProductConfig({ DATA_DIR: dataDir, METRICS_PORT: '19194' }).http.metricsPort).toBe(19194);
  expect(loadGatewayConfig({ DATA_DIR: dataDir, METRICS_PORT: '0' }).http.metricsPort).toBe(0);
  expect(loadOrderConfig({ DATA_DIR: dataDir, METRICS_PORT: 'off' }).http.metricsPort).toBeUndefined();
  for (const value of ['on', '-1', '65536', '9464x']) {
    expect(() => loadGatewayConfig({ DATA_DIR: dataDir, METRICS_PORT: value })).toThrow(`METRICS_PORT must be "off" or a port from 0 to 65535, got "${value}"`);
  }
});

test('configs are frozen', () => {
  const config = loadGatewayConfig({ DATA_DIR: dataDir });
  expect(Object.isFrozen(config)).toBe(true);
  expect(Object.isFrozen(config.subgraphUrls.product)).toBe(true);
});

test('SUBGRAPH_<NAME>_URLS overrides any subgraph, several URLs making a pool', () => {
  const config = loadGatewayConfig({ DATA_DIR: dataDir, SUBGRAPH_ORDER_URLS: 'http://a:1/graphql, http://b:2/graphql', 'SUBGRAPH_MY_SHOP_URLS': 'http://c:3/graphql' });
  expect(config.subgraphUrls.order).toEqual(['http://a:1/graphql', 'http://b:2/graphql']);
  expect(config.subgraphUrls.my_shop).toEqual(['http://c:3/graphql']);
});

/** The shared-secret settings of a process in hs256 mode. */
const sharedSecretOf = (config: ReturnType<typeof loadAuthConfig>) => (config.tokens.mode === 'hs256' ? config.tokens.sharedSecret : undefined);
const hs256 = { JWT_MODE: 'hs256' };

test('jwks mode is the default: auth generates one Ed25519 key pair into DATA_DIR, once, private; the gateway holds no key that signs', () => {
  const auth = loadAuthConfig({ DATA_DIR: dataDir });
  expect(auth.tokens.mode).toBe('jwks');
  const keys = auth.tokens.mode === 'jwks' ? auth.tokens.signing.keys : [];
  expect(keys).toHaveLength(1);
  expect(keys[0]!.alg).toBe('EdDSA');
  const file = join(dataDir, 'jwt-signing-key-eddsa.pem');
  expect(readFileSync(file, 'utf8').trim()).toBe(keys[0]!.privateKeyPem.trim());
  expect(statSync(file).mode & 0o777).toBe(0o600);
  const again = loadAuthConfig({ DATA_DIR: dataDir });
  expect(again.tokens.mode === 'jwks' && again.tokens.signing.keys[0]!.kid).toBe(keys[0]!.kid);
  const gateway = loadGatewayConfig({ DATA_DIR: dataDir, SUBGRAPH_AUTH_URLS: 'http://auth-a:19095/graphql,http://auth-b:19095/graphql' });
  expect(gateway.jwt).toMatchObject({ mode: 'jwks', sharedSecret: undefined, userClaim: 'sub' });
  expect(gateway.jwt.sources).toEqual([
    { urls: ['http://auth-a:19095/.well-known/jwks.json', 'http://auth-b:19095/.well-known/jwks.json'], issuer: 'federation-platform', audience: undefined, userClaim: 'sub', auth: true },
  ]);
});

test('the embedded JWT secret of hs256 mode is generated once, private, and shared by auth and gateway', () => {
  const auth = sharedSecretOf(loadAuthConfig({ DATA_DIR: dataDir, ...hs256 }));
  const gateway = loadGatewayConfig({ DATA_DIR: dataDir, ...hs256 });
  const [key] = auth!.keys;
  expect(gateway.jwt.sharedSecret!.keys).toEqual([key]);
  expect(key!.id).toBe('default');
  expect(key!.secret.length).toBeGreaterThanOrEqual(32);
  expect(readFileSync(join(dataDir, 'jwt-secret'), 'utf8')).toBe(key!.secret);
  expect(statSync(join(dataDir, 'jwt-secret')).mode & 0o777).toBe(0o600);
  expect(sharedSecretOf(loadAuthConfig({ DATA_DIR: dataDir, ...hs256, JWT_SECRET: 's'.repeat(40) }))!.keys).toEqual([{ id: 'default', secret: 's'.repeat(40) }]);
});

test('JWT_KEYS is a key ring of kid=secret pairs, in order', () => {
  const [a, b] = ['a'.repeat(32), 'b=c'.repeat(11)];
  expect(loadGatewayConfig({ DATA_DIR: dataDir, ...hs256, JWT_KEYS: `2026-11=${a}, old=${b}` }).jwt.sharedSecret!.keys).toEqual([
    { id: '2026-11', secret: a },
    { id: 'old', secret: b },
  ]);
});

test.each([
  ['both JWT_KEYS and JWT_SECRET', { JWT_KEYS: `k=${'a'.repeat(32)}`, JWT_SECRET: 'a'.repeat(32) }, /not both/],
  ['a short secret', { JWT_KEYS: 'k=short' }, /secret of "k" must be at least 32/],
  ['a missing kid', { JWT_KEYS: `=${'a'.repeat(32)}` }, /kid=secret/],
  ['a kid with a space', { JWT_KEYS: `my key=${'a'.repeat(32)}` }, /kid=secret/],
  ['a repeated kid', { JWT_KEYS: `k=${'a'.repeat(32)},k=${'b'.repeat(32)}` }, /"k" appears twice/],
  ['no pairs at all', { JWT_KEYS: ',' }, /at least one/],
])('JWT_KEYS with %s is refused', (_case, env, message) => {
  expect(() => loadAuthConfig({ DATA_DIR: dataDir, ...hs256, ...env })).toThrow(message);
});

test('GATEWAY_WORKERS: 1 unless set, "auto" one per core, a whole number from 1 to 64 otherwise', () => {
  const shared = { DATA_DIR: dataDir, REDIS_URL: 'redis://127.0.0.1:6379' };
  expect(loadGatewayConfig({ DATA_DIR: dataDir }).workers).toBe(1);
  expect(loadGatewayConfig({ ...shared, GATEWAY_WORKERS: '3' }).workers).toBe(3);
  expect(loadGatewayConfig({ ...shared, GATEWAY_WORKERS: 'auto' }).workers).toBe(Math.min(availableParallelism(), 64));
  for (const value of ['0', '65', 'two', '1.5', '-2', 'AUTO']) {
    expect(() => loadGatewayConfig({ ...shared, GATEWAY_WORKERS: value })).toThrow(`GATEWAY_WORKERS must be "auto" or a whole number from 1 to 64, got "${value}"`);
  }
});

test('GATEWAY_WORKERS above 1 needs REDIS_URL while the response cache or rate limits are on: their state must be shared', () => {
  const workers = { DATA_DIR: dataDir, GATEWAY_WORKERS: '2' };
  expect(() => loadGatewayConfig(workers)).toThrow(
    "GATEWAY_WORKERS is 2 with the response cache (RESPONSE_CACHE) on but no REDIS_URL: the response cache's invalidation tags and the rate counters must be shared by the workers, so set REDIS_URL (or turn those off)",
  );
  expect(() => loadGatewayConfig({ ...workers, RESPONSE_CACHE: 'off', NODE_ENV: 'production' })).toThrow(/with rate limits \(RATE_LIMIT\) on but no REDIS_URL/);
  expect(() => loadGatewayConfig({ ...workers, RATE_LIMIT: 'on' })).toThrow(/the response cache \(RESPONSE_CACHE\) and rate limits \(RATE_LIMIT\) on/);
  expect(loadGatewayConfig({ ...workers, RESPONSE_CACHE: 'off' }).workers).toBe(2);
  expect(loadGatewayConfig({ ...workers, RESPONSE_CACHE: 'off', RATE_LIMIT: 'off', NODE_ENV: 'production' }).workers).toBe(2);
  expect(loadGatewayConfig({ ...workers, NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:6379' }).workers).toBe(2);
  // One worker keeps everything in one process's memory, as without the setting.
  expect(loadGatewayConfig({ DATA_DIR: dataDir, GATEWAY_WORKERS: '1', NODE_ENV: 'production' }).workers).toBe(1);
});

test('the supergraph comes from SUPERGRAPH_PATH (watched unless SUPERGRAPH_WATCH=off) or SUPERGRAPH_URL, never both', () => {
  expect(loadGatewayConfig({ DATA_DIR: dataDir }).supergraph).toEqual({ path: join(process.cwd(), 'schema', 'supergraph.graphql'), watch: true, url: undefined, pollIntervalMs: 10_000 });
  expect(loadGatewayConfig({ DATA_DIR: dataDir, SUPERGRAPH_URL: 'https://schemas.example/supergraph.graphql', SUPERGRAPH_POLL_INTERVAL_MS: '500' }).supergraph).toMatchObject({
    url: 'https://schemas.example/supergraph.graphql',
    pollIntervalMs: 500,
  });
  expect(loadGatewayConfig({ DATA_DIR: dataDir, SUPERGRAPH_WATCH: 'off' }).supergraph.watch).toBe(false);
  expect(() => loadGatewayConfig({ DATA_DIR: dataDir, SUPERGRAPH_URL: 'http://a/s', SUPERGRAPH_PATH: 's.graphql' })).toThrow(/SUPERGRAPH_URL and SUPERGRAPH_PATH are both set/);
  expect(() => loadGatewayConfig({ DATA_DIR: dataDir, SUPERGRAPH_URL: 'ftp://a/s' })).toThrow(/SUPERGRAPH_URL must be an http\(s\) URL/);
  expect(() => loadGatewayConfig({ DATA_DIR: dataDir, SUPERGRAPH_POLL_INTERVAL_MS: '5', SUPERGRAPH_WATCH: 'yes' })).toThrow(/SUPERGRAPH_WATCH [^]*SUPERGRAPH_POLL_INTERVAL_MS /);
});

test("QUERY_PLAN_EXECUTOR: the gateway's own executor unless set to apollo; anything else refused", () => {
  expect(loadGatewayConfig({ DATA_DIR: dataDir }).queryPlanExecutor).toBe('own');
  expect(loadGatewayConfig({ DATA_DIR: dataDir, QUERY_PLAN_EXECUTOR: 'apollo' }).queryPlanExecutor).toBe('apollo');
  expect(() => loadGatewayConfig({ DATA_DIR: dataDir, QUERY_PLAN_EXECUTOR: 'fast' })).toThrow(/QUERY_PLAN_EXECUTOR/);
});
