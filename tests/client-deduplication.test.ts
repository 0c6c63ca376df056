import { createHash } from 'node:crypto';
import { InFlight } from '../gateway/plugins/client-deduplication';
import { startRelay, type Relay } from './fixtures/relay';
import { startStack, type Stack } from './fixtures/stack';
import type { HttpClient, HttpResponse } from './fixtures/http';

/**
 * Identical client queries in flight share one execution (gateway/plugins/client-deduplication.ts).
 * The gateways under test reach the product and order subgraphs through relays that hold every
 * GraphQL call DELAY_MS (tests/fixtures/relay.ts), so a burst is surely in flight at once, and
 * with subgraph deduplication off, so the relays' counts are
 * executions: one subgraph call per execution of these queries.
 */
const DELAY_MS = 300;

let stack: Stack;
let products: Relay;
let orders: Relay;
let gateway: HttpClient;
let alice: string;
let bob: string;
let productId: number;
let otherProductId: number;
let orderId: number;

/** A gateway of the stack reaching product and order through the relays, without subgraph deduplication. */
const proxiedGateway = (env: Record<string, string> = {}) =>
  stack.startGateway({
    SUBGRAPH_PRODUCT_URLS: products.url,
    SUBGRAPH_ORDER_URLS: orders.url,
    SUBGRAPH_DEDUPLICATION: 'off',
    HEALTH_CHECK_INTERVAL_MS: '60000',
    RESPONSE_CACHE: 'off',
    ...env,
  });

beforeAll(async () => {
  stack = await startStack({ gatewayEnv: { RESPONSE_CACHE: 'off' } });
  const hold = { call: () => DELAY_MS };
  products = await startRelay(stack.productUrls[0]!, hold);
  orders = await startRelay(stack.subgraphUrls.order!, hold);
  gateway = await proxiedGateway();
  alice = await stack.signIn('alice');
  bob = await stack.signIn('bob');
  productId = (await stack.gateway.post('/products', { name: 'Popular', supply_price: 7 }, { token: alice })).body.product_id;
  otherProductId = (await stack.gateway.post('/products', { name: 'Other', supply_price: 9 }, { token: alice })).body.product_id;
  orderId = (await stack.gateway.post('/order', { name: 'mine', product_ids: [productId, otherProductId] }, { token: alice })).body.order_id;
});
afterAll(async () => {
  await stack?.close();
  await products?.close();
  await orders?.close();
});
beforeEach(() => {
  products.calls.length = 0;
  orders.calls.length = 0;
});

const PRODUCT = 'query Popular($id: ID!) { product(id: $id) { id name supplyPrice } }';
const ORDER = 'query Order($id: ID!) { order(id: $id) { id name products { id name supplyPrice } } }';
const calls = (relay: Relay, field: string) => relay.calls.filter((body) => body.includes(field)).length;

function burst(client: HttpClient, count: number, token: string, query: string, variables: Record<string, unknown>, headers?: Record<string, string>) {
  return Promise.all(Array.from({ length: count }, () => client.request('POST', '/graphql', { token, body: { query, variables }, headers })));
}

/** What a follower must share with its leader: status, body and the headers that describe the result. */
const answerOf = (response: HttpResponse) => ({
  status: response.status,
  body: response.body,
  contentType: response.headers.get('content-type'),
  cacheControl: response.headers.get('cache-control'),
  xCache: response.headers.get('x-cache'),
});

test('a burst of one query from one user runs once, and every request gets the same answer', async () => {
  const answers = await burst(gateway, 20, alice, PRODUCT, { id: String(productId) });
  expect(calls(products, 'product(')).toBe(1);
  const first = answerOf(answers[0]!);
  expect(first.body).toEqual({ data: { product: { id: String(productId), name: 'Popular', supplyPrice: 7 } } });
  expect(first.status).toBe(200);
  expect(first.contentType).toMatch(/^application\/json/);
  for (const answer of answers) expect(answerOf(answer)).toEqual(first);
});

test('hash-only requests (APQ) and the same text are one execution: the hash is resolved to the text first', async () => {
  const query = 'query PopularByHash($id: ID!) { product(id: $id) { id name } }';
  const persistedQuery = { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') };
  const variables = { id: String(productId) };
  expect((await gateway.post('/graphql', { query, variables, extensions: { persistedQuery } }, { token: alice })).status).toBe(200);
  products.calls.length = 0;
  const answers = await Promise.all(
    Array.from({ length: 10 }, (_, index) =>
      gateway.post('/graphql', index % 2 ? { query, variables } : { variables, extensions: { persistedQuery } }, { token: alice }),
    ),
  );
  expect(calls(products, 'product(')).toBe(1);
  for (const answer of answers) expect(answer.body).toEqual({ data: { product: { id: String(productId), name: 'Popular' } } });
});

test('the same query from two users runs once for each, and each gets their own data', async () => {
  const [forAlice, forBob] = await Promise.all([
    burst(gateway, 10, alice, ORDER, { id: String(orderId) }),
    burst(gateway, 10, bob, ORDER, { id: String(orderId) }),
  ]);
  expect(calls(orders, 'order(')).toBe(2);
  for (const answer of forAlice) expect(answer.body.data.order).toMatchObject({ id: String(orderId), name: 'mine' });
  for (const answer of forBob) expect(answer.body.data.order).toBeNull();
});

test('a federated query is merged whole: one order call and one product call for the burst', async () => {
  const answers = await burst(gateway, 10, alice, ORDER, { id: String(orderId) });
  expect(calls(orders, 'order(')).toBe(1);
  expect(calls(products, '_entities')).toBe(1);
  for (const answer of answers) expect(answer.body.data.order.products.map((product: { name: string }) => product.name)).toEqual(['Popular', 'Other']);
});

test('different variables, or a different Accept, are separate executions', async () => {
  const [popular, other, negotiated] = await Promise.all([
    burst(gateway, 5, alice, PRODUCT, { id: String(productId) }),
    burst(gateway, 5, alice, PRODUCT, { id: String(otherProductId) }),
    burst(gateway, 5, alice, PRODUCT, { id: String(productId) }, { accept: 'application/graphql-response+json' }),
  ]);
  expect(calls(products, 'product(')).toBe(3);
  for (const answer of popular) expect(answer.body.data.product.name).toBe('Popular');
  for (const answer of other) expect(answer.body.data.product.name).toBe('Other');
  for (const answer of negotiated) expect(answer.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
});

test('variables that differ only in key order are one execution', async () => {
  const query = 'query Page($first: Int, $after: ID) { products(first: $first, after: $after) { id } }';
  const answers = await Promise.all([
    gateway.post('/graphql', { query, variables: { first: 2, after: '1' } }, { token: alice }),
    gateway.post('/graphql', { query, variables: { after: '1', first: 2 } }, { token: alice }),
  ]);
  expect(calls(products, 'products(')).toBe(1);
  expect(answers[0]!.body).toEqual(answers[1]!.body);
});

test('mutations are never merged: every identical creation in a burst creates a product', async () => {
  const created = await burst(gateway, 8, alice, 'mutation { createProduct(input: { name: "Twin", supplyPrice: 1 }) { id } }', {});
  const ids = created.map((response) => response.body.data.createProduct.id);
  expect(new Set(ids).size).toBe(8);
  expect(calls(products, 'createProduct')).toBe(8);
});

test('identical queries one after the other each run: nothing is kept once the answer is in', async () => {
  for (let index = 0; index < 3; index += 1) {
    const answer = await gateway.post('/graphql', { query: PRODUCT, variables: { id: String(productId) } }, { token: alice });
    expect(answer.body.data.product.name).toBe('Popular');
  }
  expect(calls(products, 'product(')).toBe(3);
});

test("an execution's error is every follower's answer, from one execution", async () => {
  products.failing = true;
  try {
    const answers = await burst(gateway, 6, alice, PRODUCT, { id: String(productId) });
    expect(calls(products, 'product(')).toBe(1);
    const first = answerOf(answers[0]!);
    expect(first.body.errors).toBeDefined();
    for (const answer of answers) expect(answerOf(answer)).toEqual(first);
  } finally {
    products.failing = false;
  }
});

test('a leader whose client goes away still answers its followers', async () => {
  const aborted = new AbortController();
  const leader = fetch(`${gateway.baseUrl}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query: PRODUCT, variables: { id: String(productId) } }),
    signal: aborted.signal,
  });
  await new Promise((resolve) => setTimeout(resolve, DELAY_MS / 3));
  const followers = burst(gateway, 5, alice, PRODUCT, { id: String(productId) });
  await new Promise((resolve) => setTimeout(resolve, DELAY_MS / 3));
  aborted.abort();
  await expect(leader).rejects.toThrow();
  for (const answer of await followers) expect(answer.body).toEqual({ data: { product: { id: String(productId), name: 'Popular', supplyPrice: 7 } } });
  expect(calls(products, 'product(')).toBe(1);
});

test('REST reads are merged by route, user and path: one execution for a burst, none across users', async () => {
  const [same, forAlice, forBob] = await Promise.all([
    Promise.all(Array.from({ length: 8 }, () => gateway.get(`/products/${productId}`, { token: alice }))),
    Promise.all(Array.from({ length: 4 }, () => gateway.get(`/order/${orderId}`, { token: alice }))),
    Promise.all(Array.from({ length: 4 }, () => gateway.get(`/order/${orderId}`, { token: bob }))),
  ]);
  expect(calls(products, 'product(')).toBe(1);
  expect(calls(orders, 'order(')).toBe(2);
  for (const answer of same) expect(answer.body).toEqual({ product_id: productId, name: 'Popular', supply_price: 7 });
  for (const answer of forAlice) expect(answer.body).toEqual({ order_id: orderId, name: 'mine', orderItemIds: [productId, otherProductId], product_ids: [productId, otherProductId] });
  for (const answer of forBob) expect(answer.status).toBe(404);
});

test('a query sent after a mutation was answered sees its effect: it does not follow a read that started before', async () => {
  const order = (await stack.gateway.post('/order', { name: 'growing', product_ids: [productId] }, { token: alice })).body.order_id;
  const read = () => gateway.post('/graphql', { query: ORDER, variables: { id: String(order) } }, { token: alice });
  // The read takes two relay holds (order, then its products); the mutation one, so it is answered while the read is in flight.
  const before = read();
  await new Promise((resolve) => setTimeout(resolve, DELAY_MS / 6));
  const added = await gateway.post('/graphql', { query: `mutation { addProductToOrder(orderId: "${order}", productId: "${otherProductId}") { id } }` }, { token: alice });
  expect(added.body.errors).toBeUndefined();
  const after = await read();
  expect(after.body.data.order.products.map((product: { name: string }) => product.name)).toEqual(['Popular', 'Other']);
  await before;
  expect(calls(orders, 'order(')).toBe(2);
});

test('REST writes are never merged', async () => {
  const created = await Promise.all(Array.from({ length: 5 }, () => gateway.post('/products', { name: 'Twin', supply_price: 1 }, { token: alice })));
  expect(new Set(created.map((response) => response.body.product_id)).size).toBe(5);
});

test("with the response cache on, followers share the leader's X-Cache: MISS; the next request is a HIT", async () => {
  const cached = await proxiedGateway({ RESPONSE_CACHE: 'on' });
  const answers = await burst(cached, 6, alice, ORDER, { id: String(orderId) });
  expect(calls(orders, 'order(')).toBe(1);
  for (const answer of answers) expect(answer.headers.get('x-cache')).toBe('MISS');
  const later = await cached.post('/graphql', { query: ORDER, variables: { id: String(orderId) } }, { token: alice });
  expect(later.headers.get('x-cache')).toBe('HIT');
  expect(later.body).toEqual(answers[0]!.body);
});

test('with CLIENT_DEDUPLICATION=off every request runs', async () => {
  const plain = await proxiedGateway({ CLIENT_DEDUPLICATION: 'off' });
  await burst(plain, 10, alice, PRODUCT, { id: String(productId) });
  expect(calls(products, 'product(')).toBe(10);
});

describe('InFlight', () => {
  const deferred = <T>() => {
    let resolve!: (value: T) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<T>((yes, no) => ((resolve = yes), (reject = no)));
    return { promise, resolve, reject };
  };

  test('when the leader fails, each follower runs its own execution', async () => {
    const inFlight = new InFlight<string>(() => true);
    const leader = deferred<string>();
    const led = inFlight.run('k', () => leader.promise, () => true);
    const followed = [1, 2].map((index) => inFlight.run('k', async () => `own ${index}`, () => true));
    leader.reject(new Error('leader broke'));
    await expect(led).rejects.toThrow('leader broke');
    expect(await Promise.all(followed)).toEqual(['own 1', 'own 2']);
    expect(inFlight.size).toBe(0);
  });

  test('a result that cannot be shared is not: followers run their own', async () => {
    const inFlight = new InFlight<string>((result) => result !== 'stream');
    const leader = deferred<string>();
    const led = inFlight.run('k', () => leader.promise, () => true);
    const followed = inFlight.run('k', async () => 'own', () => true);
    leader.resolve('stream');
    expect(await led).toBe('stream');
    expect(await followed).toBe('own');
  });

  test('a request that may not follow runs beside the one in flight, which stays the one followed', async () => {
    const inFlight = new InFlight<string>(() => true);
    const leader = deferred<string>();
    void inFlight.run('k', () => leader.promise, () => true);
    expect(await inFlight.run('k', async () => 'mutation ran', () => false)).toBe('mutation ran');
    const followed = inFlight.run('k', async () => 'own', () => true);
    leader.resolve('shared');
    expect(await followed).toBe('shared');
  });
});
