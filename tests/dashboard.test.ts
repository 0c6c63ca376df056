import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from './fixtures/deployment-files';
import { scrape, type Exposition } from './fixtures/prometheus';
import { asTargets, evaluate, parsePromQL, type Scrapes, type Series } from './fixtures/promql';
import { startStack, type Stack } from './fixtures/stack';

/**
 * The Grafana dashboard (deploy/observability/) against a live stack: every PromQL query of every
 * panel is read and evaluated over two scrapes of all five processes, with traffic between them
 * that touches every panel (reads that miss and hit, writes, GraphQL, a resolver error, 401s, a
 * rate limit, an ejected instance, 5xx), as Prometheus would evaluate it. Every query must name
 * series and labels that exist, and return data.
 */

const DASHBOARD = join(ROOT, 'deploy', 'observability', 'grafana', 'dashboards', 'federation-platform.json');
const DATASOURCES = join(ROOT, 'deploy', 'observability', 'grafana', 'provisioning', 'datasources', 'prometheus.yml');

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string; refId: string; datasource?: { uid: string } }[];
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { uid: string; panels: Panel[] };
const queries = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, refId: target.refId, expr: target.expr })));
/** The pool gauge exists with MySQL only: SQLite has one connection and no pool. */
const MYSQL_ONLY = /subgraph_db_pool_connections/;

let stack: Stack;
let scrapes: Scrapes;

async function scrapeAll(): Promise<Record<string, Exposition>> {
  return Object.fromEntries(await Promise.all(Object.entries(stack.metricsUrls).map(async ([name, url]) => [name, await scrape(url)] as const)));
}

/** Prometheus' job names of deploy/observability/prometheus.yml: the service, one job for both product instances. */
const jobOf = (name: string) => name.replace(/-\d$/, '');

beforeAll(async () => {
  stack = await startStack({
    metrics: true,
    gatewayEnv: { RATE_LIMIT: 'on', RATE_LIMIT_PER_IP: '3', RATE_LIMIT_PER_USER: '100000', HEALTH_CHECK_INTERVAL_MS: '60000' },
  });
  const before = asTargets(await scrapeAll(), jobOf);
  const started = performance.now();
  const token = await stack.signIn('dashboard');
  const gateway = stack.gateway;
  const productId = (await gateway.post('/products', { name: 'Lamp', supply_price: 1200 }, { token })).body.product_id;
  const orderId = (await gateway.post('/order', { name: 'desk', product_ids: [productId] }, { token })).body.order_id;
  for (let index = 0; index < 3; index += 1) expect((await gateway.get(`/order/${orderId}`, { token })).status).toBe(200);
  expect((await gateway.graphql('query Order($id: ID!) { order(id: $id) { id products { name } } }', { id: String(orderId) }, token)).status).toBe(200);
  // A resolver that fails: the order names a product that does not exist.
  expect((await gateway.post('/order', { name: 'nothing', product_ids: [999_999] }, { token })).status).toBe(400);
  // Anonymous: 401s, then over the per-IP limit, 429s.
  for (let index = 0; index < 4; index += 1) expect([401, 429]).toContain((await gateway.get('/products')).status);
  // The product instances' own series, before they are killed (their metrics listeners close with them).
  const products = Object.fromEntries(Object.entries(await scrapeAll()).filter(([name]) => name.startsWith('product-')));
  // One instance killed: one call refused and it is ejected; then both, and reads fail with 503.
  await stack.killProduct(1);
  for (const name of ['Pen', 'Ink']) expect((await gateway.post('/products', { name, supply_price: 10 }, { token })).status).toBe(200);
  await stack.killProduct(0);
  expect((await gateway.get(`/products/${productId}`, { token })).status).toBe(503);
  const rest = await Promise.all(['gateway', 'auth', 'order'].map(async (name) => [name, await scrape(stack.metricsUrls[name]!)] as const));
  const after = asTargets({ ...products, ...Object.fromEntries(rest) }, jobOf);
  scrapes = { before, after, seconds: (performance.now() - started) / 1000 };
}, 60_000);

afterAll(() => stack?.close());

test('the dashboard is Grafana JSON whose every panel queries the provisioned Prometheus data source', () => {
  const provisioned = (parse(readFileSync(DATASOURCES, 'utf8')) as { datasources: { uid: string; type: string; url: string }[] }).datasources;
  expect(provisioned).toEqual([expect.objectContaining({ uid: 'prometheus', type: 'prometheus', url: 'http://prometheus:9090' })]);
  expect(dashboard.uid).toBe('federation-platform');
  expect(new Set(dashboard.panels.map((panel) => panel.id)).size).toBe(dashboard.panels.length);
  for (const panel of dashboard.panels) {
    expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
    if (panel.type === 'row') continue;
    expect({ title: panel.title, uid: panel.datasource?.uid, targets: panel.targets!.length > 0 }).toEqual({ title: panel.title, uid: 'prometheus', targets: true });
  }
  expect(queries.length).toBeGreaterThan(25);
});

test('it shows rate, errors, p50 and p99 per route and per subgraph instance, the cache hit ratio and instance health', () => {
  const all = queries.map(({ expr }) => expr.replace(/\s+/g, ' '));
  const has = (pattern: RegExp) => expect({ pattern: pattern.source, found: all.some((expr) => pattern.test(expr)) }).toEqual({ pattern: pattern.source, found: true });
  has(/^sum by \(route\) \(rate\(gateway_http_request_duration_seconds_count/);
  has(/status=~"4\.\.\|5\.\."/);
  for (const quantile of ['0.5', '0.99']) {
    has(new RegExp(`^histogram_quantile\\(${quantile}, sum by \\(le, route\\) \\(rate\\(gateway_http_request_duration_seconds_bucket`));
    has(new RegExp(`^histogram_quantile\\(${quantile}, sum by \\(le, subgraph, subgraph_instance\\) \\(rate\\(gateway_subgraph_fetch_duration_seconds_bucket`));
  }
  has(/gateway_response_cache_requests_total\{result="hit"\}.* \/ sum\(rate\(gateway_response_cache_requests_total/);
  has(/gateway_subgraph_instance_up/);
});

test.each(queries.map((query) => [`${query.panel} (${query.refId})`, query.expr]))('%s: names series and labels that exist, and returns data', (_name, expr) => {
  const problems: string[] = [];
  const result = evaluate(parsePromQL(expr.replaceAll('$__rate_interval', '5m')), scrapes, problems);
  const series = result as Series[];
  expect(Array.isArray(series)).toBe(true);
  if (MYSQL_ONLY.test(expr) && !process.env.TEST_DATABASE_URL) {
    expect({ problems, series }).toEqual({ problems: ['no series subgraph_db_pool_connections'], series: [] });
    return;
  }
  expect(problems).toEqual([]);
  expect(series.length).toBeGreaterThan(0);
});

test('what the panels show moved as the traffic did', () => {
  const evaluateOne = (expr: string) => {
    const problems: string[] = [];
    const result = evaluate(parsePromQL(expr), scrapes, problems) as Series[];
    expect(problems).toEqual([]);
    return result;
  };
  const health = evaluateOne('min by (subgraph, subgraph_instance) (gateway_subgraph_instance_up{subgraph="product"})');
  expect(health.map((series) => series.value)).toEqual([0, 0]);
  const refused = evaluateOne('sum by (subgraph) (increase(gateway_subgraph_fetch_duration_seconds_count{outcome="refused"}[5m]))');
  expect(refused).toEqual([{ labels: { subgraph: 'product' }, value: expect.any(Number) }]);
  expect(refused[0]!.value).toBeGreaterThanOrEqual(2);
  const ratio = evaluateOne('sum(increase(gateway_response_cache_requests_total{result="hit", route="/order/:orderId"}[5m])) / sum(increase(gateway_response_cache_requests_total{route="/order/:orderId"}[5m]))');
  expect(ratio[0]!.value).toBeCloseTo(2 / 3);
  const failed = evaluateOne('sum by (status) (increase(gateway_http_request_duration_seconds_count{route="/products/:productId"}[5m]))');
  // The fast path's series of that route exist from the start, at 0.
  expect(failed.filter((series) => series.value !== 0)).toEqual([{ labels: { status: '503' }, value: 1 }]);
  const errors = evaluateOne('sum by (field) (increase(subgraph_resolver_duration_seconds_count{outcome="error", field="Mutation.createOrder"}[5m]))');
  expect(errors).toEqual([{ labels: { field: 'Mutation.createOrder' }, value: 1 }]);
});
