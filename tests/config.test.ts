import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
  const env = { DATA_DIR: dataDir, PORT: 'eighty', LOG_LEVEL: 'loud', DATABASE_URL: 'postgres://x', JWT_SECRET: 'short', SUBGRAPH_PRODUCT_URLS: 'not a url' };
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

test('the embedded JWT secret is generated once, private, and shared by auth and gateway', () => {
  const auth = loadAuthConfig({ DATA_DIR: dataDir });
  const gateway = loadGatewayConfig({ DATA_DIR: dataDir });
  expect(auth.jwt.secret).toBe(gateway.jwt.secret);
  expect(auth.jwt.secret.length).toBeGreaterThanOrEqual(32);
  expect(readFileSync(join(dataDir, 'jwt-secret'), 'utf8')).toBe(auth.jwt.secret);
  expect(statSync(join(dataDir, 'jwt-secret')).mode & 0o777).toBe(0o600);
  expect(loadAuthConfig({ DATA_DIR: dataDir, JWT_SECRET: 's'.repeat(40) }).jwt.secret).toBe('s'.repeat(40));
});
