import { readFileSync } from 'node:fs';
import { SUPERGRAPH_FILE } from '../schema/subgraphs';
import { waitFor } from './fixtures/net';
import { familyOf, scrape, select, total, type Exposition } from './fixtures/prometheus';
import { startStack, type Stack } from './fixtures/stack';
import { configMapMount, supergraphHash, type ConfigMapMount } from './fixtures/supergraphs';

/**
 * Every process's /metrics on its own listener (METRICS_PORT), scraped before and after traffic:
 * the right series move by the right amounts, labels carry route patterns and known names only.
 */

const REQUESTS = 'gateway_http_request_duration_seconds_count';
const CACHE = 'gateway_response_cache_requests_total';
const FETCHES = 'gateway_subgraph_fetch_duration_seconds_count';
/** Anonymous requests one IP may make per window: sign-in and the rate-limit test share them. */
const PER_IP = 4;
const ORDER_QUERY = 'query Order($id: ID!) { order(id: $id) { id name productIds products { id name supplyPrice } } }';

let stack: Stack;
let mount: ConfigMapMount;
let token: string;
let productIds: number[];
let orderId: number;
/** Every exposition scraped, for the label checks at the end. */
const scraped: Exposition[] = [];

async function metricsOf(name: string): Promise<Exposition> {
  const exposition = await scrape(stack.metricsUrls[name]!);
  scraped.push(exposition);
  return exposition;
}

/** The change of `total(name, labels)` on process `process` while `act` runs. */
async function delta(process: string, name: string, labels: Record<string, string>, act: () => Promise<unknown>): Promise<number> {
  const before = total(await metricsOf(process), name, labels);
  await act();
  return total(await metricsOf(process), name, labels) - before;
}

beforeAll(async () => {
  mount = configMapMount('supergraph.graphql', readFileSync(SUPERGRAPH_FILE, 'utf8'));
  stack = await startStack({
    metrics: true,
    gatewayEnv: {
      SUPERGRAPH_PATH: mount.path,
      RATE_LIMIT: 'on',
      RATE_LIMIT_PER_IP: String(PER_IP),
      RATE_LIMIT_PER_USER: '100000',
      // Only requests eject an instance here, so the test knows which request met the dead one.
      HEALTH_CHECK_INTERVAL_MS: '60000',
    },
  });
  token = await stack.signIn('metrics-user');
  productIds = [];
  for (const name of ['Keyboard', 'Mouse']) productIds.push((await stack.gateway.post('/products', { name, supply_price: 1000 }, { token })).body.product_id);
  orderId = (await stack.gateway.post('/order', { name: 'desk', product_ids: productIds }, { token })).body.order_id;
}, 60_000);

afterAll(async () => {
  await stack?.close();
  mount?.remove();
});

test('every process serves Prometheus text on its metrics port, with Node process metrics and its service label', async () => {
  expect(Object.keys(stack.metricsUrls).sort()).toEqual(['auth', 'gateway', 'order', 'product-0', 'product-1']);
  for (const [name, url] of Object.entries(stack.metricsUrls)) {
    const exposition = await metricsOf(name);
    const service = name.replace(/-\d$/, '');
    expect(select(exposition, 'process_cpu_user_seconds_total', { service })).toHaveLength(1);
    expect(total(exposition, 'nodejs_heap_size_used_bytes', { service })).toBeGreaterThan(0);
    expect(exposition.samples.every((sample) => sample.labels.service === service)).toBe(true);
    const elsewhere = await fetch(url.replace(/\/metrics$/, '/other'));
    expect(elsewhere.status).toBe(404);
    expect(await elsewhere.json()).toEqual({ error: { code: 'ROUTE_NOT_FOUND', message: expect.any(String) } });
  }
});

test('the public ports do not serve /metrics', async () => {
  const atGateway = await stack.gateway.get('/metrics', { token });
  expect(atGateway.status).toBe(404);
  expect(atGateway.body.error.code).toBe('ROUTE_NOT_FOUND');
  for (const name of ['auth', 'order', 'product-0']) {
    const response = await fetch(stack.subgraphUrls[name]!.replace(/\/graphql$/, '/metrics'));
    expect(response.status).toBe(404);
  }
});

test('a REST read counts once per request, a miss then a hit (the hit answered by the fast path), and the miss stores', async () => {
  const read = { method: 'GET', route: '/order/:orderId', operation: 'Order', status: '200' };
  const before = await metricsOf('gateway');
  const first = await stack.gateway.get(`/order/${orderId}`, { token });
  const second = await stack.gateway.get(`/order/${orderId}`, { token });
  expect([first.headers.get('x-cache'), second.headers.get('x-cache')]).toEqual(['MISS', 'HIT']);
  const after = await metricsOf('gateway');
  const moved = (name: string, labels: Record<string, string> = {}) => total(after, name, labels) - total(before, name, labels);
  expect(moved(REQUESTS, read)).toBe(2);
  expect(moved(CACHE, { route: '/order/:orderId', result: 'miss' })).toBe(1);
  expect(moved(CACHE, { route: '/order/:orderId', result: 'hit' })).toBe(1);
  expect(moved('gateway_response_cache_stores_total')).toBe(1);
  // The miss ran the order query on the order subgraph: one call, answered.
  expect(moved(FETCHES, { subgraph: 'order', outcome: 'ok' })).toBe(1);
  expect(moved('gateway_http_request_duration_seconds_sum', read)).toBeGreaterThan(0);
});

test('a GraphQL query counts once per request, a miss then a hit (the hit answered by the fast path)', async () => {
  const id = (await stack.gateway.post('/order', { name: 'shelf', product_ids: productIds }, { token })).body.order_id;
  const query = { route: 'graphql', method: 'POST', operation: 'Order', status: '200' };
  const before = await metricsOf('gateway');
  const first = await stack.gateway.graphql(ORDER_QUERY, { id: String(id) }, token);
  const second = await stack.gateway.graphql(ORDER_QUERY, { id: String(id) }, token);
  expect([first.headers.get('x-cache'), second.headers.get('x-cache')]).toEqual(['MISS', 'HIT']);
  expect(second.body).toEqual(first.body);
  const after = await metricsOf('gateway');
  const moved = (name: string, labels: Record<string, string> = {}) => total(after, name, labels) - total(before, name, labels);
  expect(moved(REQUESTS, query)).toBe(2);
  expect(moved(CACHE, { route: 'graphql', result: 'miss' })).toBe(1);
  expect(moved(CACHE, { route: 'graphql', result: 'hit' })).toBe(1);
});

test('a mutation counts under its route and operation, and its invalidations by entity type', async () => {
  const before = await metricsOf('gateway');
  const created = await stack.gateway.post('/products', { name: 'Lamp', supply_price: 1200 }, { token });
  expect(created.status).toBe(200);
  const after = await metricsOf('gateway');
  const moved = (name: string, labels: Record<string, string> = {}) => total(after, name, labels) - total(before, name, labels);
  expect(moved(REQUESTS, { method: 'POST', route: '/products', operation: 'CreateProduct', status: '200' })).toBe(1);
  // Product:<id> and Product:list.
  expect(moved('gateway_response_cache_invalidations_total', { type: 'Product' })).toBe(2);
  expect(moved(FETCHES, { subgraph: 'product', outcome: 'ok' })).toBe(1);
});

test('GraphQL requests count under `graphql` with the operation name, and unknown names as `other`', async () => {
  const named = { route: 'graphql', method: 'POST', operation: 'Order', status: '200' };
  const other = { route: 'graphql', method: 'POST', operation: 'other', status: '200' };
  const before = await metricsOf('gateway');
  expect((await stack.gateway.graphql(ORDER_QUERY, { id: String(orderId) }, token)).body.data.order.id).toBe(String(orderId));
  expect((await stack.gateway.graphql(`query Custom${orderId} { products(first: 1) { id } }`, {}, token)).body.errors).toBeUndefined();
  expect((await stack.gateway.graphql('{ products(first: 1) { id } }', {}, token)).body.errors).toBeUndefined();
  const after = await metricsOf('gateway');
  expect(total(after, REQUESTS, named) - total(before, REQUESTS, named)).toBe(1);
  expect(total(after, REQUESTS, other) - total(before, REQUESTS, other)).toBe(2);
  expect(select(after, 'gateway_query_plan_cache_entries', { cache: 'own' })[0]?.value).toBeGreaterThan(0);
  expect(select(after, 'gateway_query_plan_cache_entries', { cache: 'apollo' })).toHaveLength(1);
});

test('the subgraphs count their requests, root resolvers, entity references and database queries', async () => {
  const orderResolver = { field: 'Query.order', outcome: 'ok' };
  const references = { field: 'Product.__resolveReference', outcome: 'ok' };
  const selects = { statement: 'select' };
  const [orderBefore, productBefore] = [await metricsOf('order'), [await metricsOf('product-0'), await metricsOf('product-1')]];
  // A fresh query text: not answered from the response cache.
  const answer = await stack.gateway.graphql('query Order($id: ID!) { order(id: $id) { name products { name } } }', { id: String(orderId) }, token);
  expect(answer.body.data.order.products).toHaveLength(2);
  const [orderAfter, productAfter] = [await metricsOf('order'), [await metricsOf('product-0'), await metricsOf('product-1')]];
  expect(total(orderAfter, 'subgraph_resolver_duration_seconds_count', orderResolver) - total(orderBefore, 'subgraph_resolver_duration_seconds_count', orderResolver)).toBe(1);
  const graphqlRequests = { route: 'graphql', method: 'POST', status: '200' };
  expect(total(orderAfter, 'subgraph_http_request_duration_seconds_count', graphqlRequests) - total(orderBefore, 'subgraph_http_request_duration_seconds_count', graphqlRequests)).toBe(1);
  expect(total(orderAfter, 'subgraph_db_query_duration_seconds_count', selects)).toBeGreaterThan(total(orderBefore, 'subgraph_db_query_duration_seconds_count', selects));
  // One _entities call to one of the two instances, resolving both products.
  const productMoved = (name: string, labels: Record<string, string>) =>
    productAfter.reduce((sum, after, index) => sum + total(after, name, labels) - total(productBefore[index]!, name, labels), 0);
  expect(productMoved('subgraph_http_request_duration_seconds_count', graphqlRequests)).toBe(1);
  expect(productMoved('subgraph_resolver_duration_seconds_count', references)).toBe(2);
  expect(productMoved('subgraph_db_query_duration_seconds_count', selects)).toBeGreaterThan(0);
  const pool = select(orderAfter, 'subgraph_db_pool_connections', { state: 'limit' });
  if (process.env.TEST_DATABASE_URL) expect(pool[0]?.value).toBe(10);
  else expect(pool).toEqual([]); // SQLite: one connection, no pool
});

test('a mutation through GraphQL counts as its client operation, and its resolver and insert at the product subgraph', async () => {
  const mutation = 'mutation CreateProduct($input: CreateProductInput!) { createProduct(input: $input) { id name supplyPrice } }';
  const before = [await metricsOf('gateway'), await metricsOf('product-0'), await metricsOf('product-1')];
  expect((await stack.gateway.graphql(mutation, { input: { name: 'Desk', supplyPrice: 5000 } }, token)).body.data.createProduct.name).toBe('Desk');
  const after = [await metricsOf('gateway'), await metricsOf('product-0'), await metricsOf('product-1')];
  const moved = (from: number, name: string, labels: Record<string, string>) =>
    after.slice(from).reduce((sum, exposition, index) => sum + total(exposition, name, labels) - total(before[from + index]!, name, labels), 0);
  expect(total(after[0]!, REQUESTS, { route: 'graphql', operation: 'CreateProduct' }) - total(before[0]!, REQUESTS, { route: 'graphql', operation: 'CreateProduct' })).toBe(1);
  expect(moved(1, 'subgraph_resolver_duration_seconds_count', { field: 'Mutation.createProduct', outcome: 'ok' })).toBe(1);
  expect(moved(1, 'subgraph_db_query_duration_seconds_count', { statement: 'insert' })).toBe(1);
});

test('identical queries in flight: each request counts once, as an execution or as deduplicated', async () => {
  const query = `query Order($id: ID!) { order(id: $id) { id products { id } } }`;
  const count = 20;
  let followers = 0;
  // Bounded by attempts, not time: each round is 20 requests sent at once.
  for (let round = 0; round < 5 && followers === 0; round += 1) {
    const text = `${query} # round ${round}`;
    const before = await metricsOf('gateway');
    const answers = await Promise.all(Array.from({ length: count }, () => stack.gateway.graphql(text, { id: String(orderId) }, token)));
    expect(answers.every((answer) => answer.status === 200 && answer.body.data.order.id === String(orderId))).toBe(true);
    const after = await metricsOf('gateway');
    const moved = (name: string, labels: Record<string, string>) => total(after, name, labels) - total(before, name, labels);
    followers = moved('gateway_client_deduplicated_total', { via: 'graphql' });
    const executions = moved(FETCHES, { subgraph: 'order' }) + moved('gateway_subgraph_deduplicated_total', { subgraph: 'order' });
    const cached = moved(CACHE, { route: 'graphql', result: 'hit' });
    expect(followers + executions + cached).toBe(count);
  }
  expect(followers).toBeGreaterThan(0);
});

test('the live supergraph is named by its hash, and a refused one is counted', async () => {
  const ready = await stack.gateway.get('/ready');
  const live = supergraphHash(readFileSync(SUPERGRAPH_FILE, 'utf8'));
  expect(ready.body.checks.supergraph.live).toBe(live);
  const before = await metricsOf('gateway');
  expect(select(before, 'gateway_supergraph_info')).toEqual([{ name: 'gateway_supergraph_info', labels: { service: 'gateway', hash: live }, value: 1 }]);
  expect(total(before, 'gateway_supergraph_refusals_total', { reason: 'invalid' })).toBe(0);
  mount.update('this is not a supergraph');
  await waitFor(async () => total(await metricsOf('gateway'), 'gateway_supergraph_refusals_total', { reason: 'invalid' }) === 1, 'the refusal to be counted');
  const after = await metricsOf('gateway');
  expect(select(after, 'gateway_supergraph_info').map((sample) => sample.labels.hash)).toEqual([live]);
  expect(total(after, 'gateway_supergraph_reloads_total')).toBe(0);
});

test('rate-limit refusals count by route, as the 429s answered', async () => {
  let refused = 0;
  const moved = await delta('gateway', 'gateway_rate_limited_total', { route: '/products' }, async () => {
    // Without a token: counted against the IP, which sign-in used already.
    for (let index = 0; index < PER_IP + 1; index += 1) if ((await stack.gateway.get('/products')).status === 429) refused += 1;
  });
  expect(refused).toBeGreaterThan(0);
  expect(moved).toBe(refused);
});

test('an instance that refuses its connection is ejected: its gauge drops to 0 and its refused attempt is counted', async () => {
  const dead = new URL(stack.productUrls[1]!).host;
  const alive = new URL(stack.productUrls[0]!).host;
  const before = await metricsOf('gateway');
  expect(select(before, 'gateway_subgraph_instance_up', { subgraph: 'product' }).map(({ labels, value }) => [labels.subgraph_instance, value]).sort()).toEqual(
    [[alive, 1], [dead, 1]].sort(),
  );
  await stack.killProduct(1);
  // Two writes: round-robin sends one of them to the dead instance first, which refuses; it is retried on the other.
  for (const name of ['Pen', 'Ink']) expect((await stack.gateway.post('/products', { name, supply_price: 10 }, { token })).status).toBe(200);
  const after = await metricsOf('gateway');
  expect(select(after, 'gateway_subgraph_instance_up', { subgraph: 'product', subgraph_instance: dead })[0]?.value).toBe(0);
  expect(select(after, 'gateway_subgraph_instance_up', { subgraph: 'product', subgraph_instance: alive })[0]?.value).toBe(1);
  const moved = (labels: Record<string, string>) => total(after, FETCHES, labels) - total(before, FETCHES, labels);
  expect(moved({ subgraph: 'product', subgraph_instance: dead, outcome: 'refused' })).toBe(1);
  expect(moved({ subgraph: 'product', subgraph_instance: alive, outcome: 'ok' })).toBe(2);
});

test('no label names an id or a user: routes are patterns, operations known names, every family typed', () => {
  // The JWKS route: the gateways fetch auth's public keys, and serve them again.
  const routes = new Set(['graphql', 'unmatched', '/health', '/ready', '/.well-known/jwks.json', '/auth/signIn', '/products', '/products/:productId', '/order', '/order/:orderId']);
  const operations = new Set(['other', 'none', 'SignIn', 'Products', 'Product', 'CreateProduct', 'CreateOrder', 'Order', 'AddProductsToOrder', 'AddProductToOrder']);
  const ids = [...productIds, orderId].map(String);
  expect(scraped.length).toBeGreaterThan(20);
  for (const exposition of scraped) {
    for (const sample of exposition.samples) {
      expect(exposition.types.has(familyOf(exposition, sample.name))).toBe(true);
      const { route, operation } = sample.labels;
      if (route !== undefined) expect(routes).toContain(route);
      if (operation !== undefined) expect(operations).toContain(operation);
      for (const [name, value] of Object.entries(sample.labels)) {
        expect(value).not.toContain('metrics-user');
        // Ours only (Node's carry its version numbers); instance ports, statuses, bucket bounds and hashes are numbers by nature.
        if (!/^(gateway|subgraph)_/.test(sample.name) || ['subgraph_instance', 'status', 'le', 'hash'].includes(name)) continue;
        expect([name, value.split(/[^0-9]/).filter((part) => ids.includes(part))]).toEqual([name, []]);
      }
    }
  }
});
