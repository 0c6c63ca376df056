import { startStack, type Stack } from './fixtures/stack';

/**
 * Cached GraphQL queries are answered before Apollo's pipeline (gateway/plugins/response-cache/graphql-front.ts).
 * It must change no answer: only an entry Apollo stored for the same text, operation, variables
 * and user is served, and everything else reaches Apollo as before.
 */
let stack: Stack;
let alice: string;
let products: number[];

beforeAll(async () => {
  stack = await startStack();
  alice = await stack.signIn('alice');
  products = [];
  for (const name of ['Desk', 'Chair']) products.push((await stack.gateway.post('/products', { name, supply_price: 50 }, { token: alice })).body.product_id);
});
afterAll(() => stack?.close());

const newOrder = async (name: string) => (await stack.gateway.post('/order', { name, product_ids: [products[0]] }, { token: alice })).body.order_id as number;
const orderReads = () => stack.hits.order!.queries.filter((query) => query.includes('order(')).length;
/** `token: null` sends no Authorization header. */
const post = (body: unknown, token: string | null = alice) => stack.gateway.post('/graphql', body, token ? { token } : {});

const TWO_OPERATIONS = `
  query Short($id: ID!) { order(id: $id) { id } }
  query Long($id: ID!) { order(id: $id) { id name productIds } }
`;

test('a hit has the body Apollo gave, with X-Cache, Age and Cache-Control: no-store, and calls no subgraph', async () => {
  const id = await newOrder('front');
  const query = { query: 'query Mine($id: ID!) { order(id: $id) { id name products { name } } }', variables: { id: String(id) } };
  const miss = await post(query);
  stack.resetHits();
  const hit = await post(query);
  expect([miss.headers.get('x-cache'), hit.headers.get('x-cache')]).toEqual(['MISS', 'HIT']);
  expect(hit.body).toEqual(miss.body);
  expect(hit.headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect(hit.headers.get('cache-control')).toBe('no-store');
  // Whole seconds since the entry was stored: present, and within the order's 60 s max-age.
  expect(hit.headers.get('age')).toMatch(/^\d+$/);
  expect(Number(hit.headers.get('age'))).toBeLessThanOrEqual(60);
  expect(orderReads()).toBe(0);
});

test('the operation name and the variables are part of the key', async () => {
  const [first, second] = [await newOrder('first'), await newOrder('second')];
  for (const operationName of ['Short', 'Long', 'Short', 'Long']) {
    const answer = await post({ query: TWO_OPERATIONS, operationName, variables: { id: String(first) } });
    expect(Object.keys(answer.body.data.order)).toEqual(operationName === 'Short' ? ['id'] : ['id', 'name', 'productIds']);
  }
  const other = await post({ query: TWO_OPERATIONS, operationName: 'Long', variables: { id: String(second) } });
  expect([other.headers.get('x-cache'), other.body.data.order.name]).toEqual(['MISS', 'second']);
  const unnamed = await post({ query: TWO_OPERATIONS, variables: { id: String(first) } });
  expect(unnamed.status).toBe(400);
});

test('a write is seen at once: the next read misses and shows it', async () => {
  const id = await newOrder('growing');
  const query = { query: 'query Lines($id: ID!) { order(id: $id) { productIds } }', variables: { id: String(id) } };
  await post(query);
  expect((await post(query)).headers.get('x-cache')).toBe('HIT');
  expect((await stack.gateway.put(`/order/${id}`, { product_id: products[1] }, { token: alice })).status).toBe(200);
  const after = await post(query);
  expect([after.headers.get('x-cache'), after.body.data.order.productIds]).toEqual(['MISS', [String(products[0]), String(products[1])]]);
});

test('no hit for another user, an anonymous caller, a mutation, a broken document or a batch', async () => {
  const id = await newOrder('private');
  const query = { query: 'query Private($id: ID!) { order(id: $id) { id name } }', variables: { id: String(id) } };
  await post(query);
  expect((await post(query)).headers.get('x-cache')).toBe('HIT');
  const bob = await post(query, await stack.signIn('bob'));
  expect([bob.headers.get('x-cache'), bob.body.data.order]).toEqual(['MISS', null]);
  expect((await post(query, null)).status).toBe(401);
  const create = { query: 'mutation { createProduct(input: { name: "Lamp", supplyPrice: 3 }) { id } }' };
  const [made, again] = [await post(create), await post(create)];
  expect(made.body.data.createProduct.id).not.toBe(again.body.data.createProduct.id);
  const broken = await post({ query: 'query { order(id: ', variables: {} });
  expect([broken.status, broken.body.errors[0].extensions.code]).toEqual([400, 'GRAPHQL_PARSE_FAILED']);
  const batch = await post([query, query]);
  expect(batch.status).toBe(400);
  expect(batch.headers.get('x-cache')).toBeNull();
});
