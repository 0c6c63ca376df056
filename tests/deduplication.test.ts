import { AnswerResponse } from '../shared/http-client';
import { SubgraphQueriesInFlight, withSubgraphDeduplication } from '../gateway/upstream/subgraph-deduplication';
import { startRelay } from './fixtures/relay';
import { startStack, type Stack } from './fixtures/stack';
import type { HttpClient } from './fixtures/http';

/** Identical subgraph queries in flight are merged (gateway/upstream/subgraph-deduplication.ts); nothing else is. */
let stack: Stack;
let alice: string;
let bob: string;
let productId: number;
let undeduplicated: HttpClient;

beforeAll(async () => {
  stack = await startStack({ gatewayEnv: { RESPONSE_CACHE: 'off' } });
  // Client deduplication off too: it would merge the burst before any subgraph call is made.
  undeduplicated = await stack.startGateway({ SUBGRAPH_DEDUPLICATION: 'off', CLIENT_DEDUPLICATION: 'off' });
  alice = await stack.signIn('alice');
  bob = await stack.signIn('bob');
  productId = (await stack.gateway.post('/products', { name: 'Popular', supply_price: 7 }, { token: alice })).body.product_id;
});
afterAll(() => stack?.close());

const PRODUCT = 'query Popular($id: ID!) { product(id: $id) { id name supplyPrice } }';
const productCalls = () =>
  Object.entries(stack.hits)
    .filter(([name]) => name.startsWith('product-'))
    .flatMap(([, hits]) => hits.queries)
    .filter((query) => query.includes('product(')).length;

async function burst(client: HttpClient, count: number, token: string, query: string, variables: Record<string, unknown>) {
  return Promise.all(Array.from({ length: count }, () => client.post('/graphql', { query, variables }, { token })));
}

test('a burst of one query reaches the product subgraph fewer times than it was asked, and every caller gets the answer', async () => {
  stack.resetHits();
  const answers = await burst(stack.gateway, 40, alice, PRODUCT, { id: String(productId) });
  for (const answer of answers) expect(answer.body).toEqual({ data: { product: { id: String(productId), name: 'Popular', supplyPrice: 7 } } });
  expect(productCalls()).toBeLessThan(40);
  expect(productCalls()).toBeGreaterThanOrEqual(1);
});

test('with SUBGRAPH_DEDUPLICATION=off every request is sent', async () => {
  stack.resetHits();
  await burst(undeduplicated, 20, alice, PRODUCT, { id: String(productId) });
  expect(productCalls()).toBe(20);
});

test('callers get their own copies: changing one answer does not change another', async () => {
  const [first, second] = await burst(stack.gateway, 2, alice, PRODUCT, { id: String(productId) });
  first!.body.data.product.name = 'changed';
  expect(second!.body.data.product.name).toBe('Popular');
});

test('the callers of one merged call share one frozen parse of its answer (readOnlyJson); a call nobody joined, and json(), parse their own', async () => {
  let sent = 0;
  const answers: (() => void)[] = [];
  const subgraph = async (url: string) => {
    sent += 1;
    await new Promise<void>((resolve) => answers.push(resolve));
    return new AnswerResponse({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"data":{"product":{"id":"1"}}}' }, url);
  };
  const merged = withSubgraphDeduplication('product', subgraph, { enabled: true, inFlight: new SubgraphQueriesInFlight(), writeAnswered: () => undefined });
  const init = { method: 'POST', headers: {}, body: JSON.stringify({ query: '{ product(id: "1") { id } }' }) };
  const calls = [merged('http://product/graphql', init), merged('http://product/graphql', init)];
  answers.shift()!();
  const [leader, joiner] = await Promise.all(calls);
  expect(sent).toBe(1);
  const shared = leader!.readOnlyJson() as { data: { product: { id: string } } };
  expect(shared).toEqual({ data: { product: { id: '1' } } });
  expect(joiner!.readOnlyJson()).toBe(shared);
  expect(Object.isFrozen(shared.data.product)).toBe(true);
  expect(() => {
    shared.data.product.id = '2';
  }).toThrow(TypeError);
  const [own, other] = [await leader!.json(), await joiner!.json()];
  expect(own).toEqual(shared);
  expect(own).not.toBe(other);
  expect(Object.isFrozen(own)).toBe(false);

  const alone = merged('http://product/graphql', init);
  answers.shift()!();
  const single = (await alone).readOnlyJson();
  expect(sent).toBe(2);
  expect(single).toEqual(shared);
  expect(Object.isFrozen(single)).toBe(false);
});

test('executions that share merged answers each get the whole federated order, entities merged in', async () => {
  const merging = await stack.startGateway({ RESPONSE_CACHE: 'off', CLIENT_DEDUPLICATION: 'off' });
  const order = (await stack.gateway.post('/order', { name: 'shared', product_ids: [productId, productId] }, { token: alice })).body.order_id;
  stack.resetHits();
  const answers = await burst(merging, 30, alice, 'query Shared($id: ID!) { order(id: $id) { id name products { id name supplyPrice } } }', { id: String(order) });
  const product = { id: String(productId), name: 'Popular', supplyPrice: 7 };
  for (const answer of answers) expect(answer.body).toEqual({ data: { order: { id: String(order), name: 'shared', products: [product, product] } } });
  // Merged: fewer entity calls than executions, so some executions merged into answers they shared.
  const entityCalls = Object.entries(stack.hits).filter(([name]) => name.startsWith('product-')).flatMap(([, hits]) => hits.queries).filter((query) => query.includes('_entities')).length;
  expect(entityCalls).toBeGreaterThanOrEqual(1);
  expect(entityCalls).toBeLessThan(30);
});

test('mutations are never merged: identical concurrent creations each create a product', async () => {
  const created = await burst(stack.gateway, 10, alice, 'mutation { createProduct(input: { name: "Twin", supplyPrice: 1 }) { id } }', {});
  const ids = created.map((response) => response.body.data.createProduct.id);
  expect(new Set(ids).size).toBe(10);
});

test("different users' identical queries are not merged: nobody reads another's order", async () => {
  const order = (await stack.gateway.post('/order', { name: 'mine', product_ids: [productId] }, { token: alice })).body.order_id;
  const query = 'query Mine($id: ID!) { order(id: $id) { id name } }';
  const [forAlice, forBob] = await Promise.all([
    burst(stack.gateway, 10, alice, query, { id: String(order) }),
    burst(stack.gateway, 10, bob, query, { id: String(order) }),
  ]);
  for (const answer of forAlice) expect(answer.body.data.order).toEqual({ id: String(order), name: 'mine' });
  for (const answer of forBob) expect(answer.body.data.order).toBeNull();
});

test('a query sent after a mutation was answered does not join a subgraph call that read before it', async () => {
  // Order calls read the database at once, but the answers to queries (not mutations) stay in flight 400 ms.
  const holding = await startRelay(stack.subgraphUrls.order!, { answer: (body) => (body.startsWith('{"query":"mutation') ? 0 : 400) });
  try {
    // Client deduplication off, so the two reads below reach the subgraph layer as two executions.
    const gateway = await stack.startGateway({ RESPONSE_CACHE: 'off', CLIENT_DEDUPLICATION: 'off', SUBGRAPH_ORDER_URLS: holding.url, HEALTH_CHECK_INTERVAL_MS: '60000' });
    const other = (await gateway.post('/products', { name: 'Second', supply_price: 3 }, { token: alice })).body.product_id;
    const order = (await gateway.post('/order', { name: 'growing', product_ids: [productId] }, { token: alice })).body.order_id;
    const read = () => gateway.post('/graphql', { query: 'query Growing($id: ID!) { order(id: $id) { products { name } } }', variables: { id: String(order) } }, { token: alice });
    const before = read(); // its order call has read the order and is held by the proxy
    await new Promise((resolve) => setTimeout(resolve, 100));
    const added = await gateway.post('/graphql', { query: `mutation { addProductToOrder(orderId: "${order}", productId: "${other}") { id } }` }, { token: alice });
    expect(added.body.errors).toBeUndefined();
    const after = await read();
    expect(after.body.data.order.products.map((product: { name: string }) => product.name)).toEqual(['Popular', 'Second']);
    expect((await before).body.data.order.products.map((product: { name: string }) => product.name)).toEqual(['Popular']);
  } finally {
    await holding.close();
  }
});
