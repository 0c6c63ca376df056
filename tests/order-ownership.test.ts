import { randomBytes } from 'node:crypto';
import { startStack, type Stack } from './fixtures/stack';

/**
 * Orders belong to the user who created them. tests/rest-orders.test.ts covers another user's
 * plain REST GET/PUT, tests/response-cache.test.ts a cached REST read; these cover the GraphQL
 * operations, and cached reads and failed writes of one order by two users.
 */
const ORDER_QUERY = 'query($id: ID!) { order(id: $id) { id name productIds } }';
const ADD_PRODUCT = 'mutation($orderId: ID!, $productId: ID!) { addProductToOrder(orderId: $orderId, productId: $productId) { id productIds } }';

let stack: Stack;
let alice: string;
let bob: string;
let products: number[];

beforeAll(async () => {
  stack = await startStack({ gatewayEnv: { CACHE_NAMESPACE: `test-${randomBytes(4).toString('hex')}` } });
  [alice, bob] = [await stack.signIn('alice'), await stack.signIn('bob')];
  products = [];
  for (const name of ['Pen', 'Ink']) products.push((await stack.gateway.post('/products', { name, supply_price: 3 }, { token: alice })).body.product_id);
});
afterAll(() => stack?.close());

const aliceOrder = async () => (await stack.gateway.post('/order', { name: 'alice only', product_ids: [products[0]] }, { token: alice })).body.order_id as number;
const linesOf = async (id: number) => (await stack.db.query<{ product_id: number }>(`SELECT product_id FROM order_lines WHERE order_id = ${id}`)).map((row) => row.product_id);

test("GraphQL order: another user's id answers null, even while alice's answer is cached", async () => {
  const id = String(await aliceOrder());
  await stack.gateway.graphql(ORDER_QUERY, { id }, alice);
  expect((await stack.gateway.graphql(ORDER_QUERY, { id }, alice)).headers.get('x-cache')).toBe('HIT');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const response = await stack.gateway.graphql(ORDER_QUERY, { id }, bob);
    expect(response.headers.get('x-cache')).not.toBe('HIT');
    expect(response.body).toEqual({ data: { order: null } });
  }
});

test("GraphQL addProductToOrder on another user's order → ORDER_NOT_FOUND, nothing written", async () => {
  const id = await aliceOrder();
  const response = await stack.gateway.graphql(ADD_PRODUCT, { orderId: String(id), productId: String(products[1]) }, bob);
  expect(response.body.data).toBeNull();
  expect(response.body.errors[0].extensions.code).toBe('ORDER_NOT_FOUND');
  expect(await linesOf(id)).toEqual([products[0]]);
});

test("a refused PUT by another user neither changes nor evicts alice's cached order", async () => {
  const id = await aliceOrder();
  const first = await stack.gateway.get(`/order/${id}`, { token: alice });
  const put = await stack.gateway.put(`/order/${id}`, { product_id: products[1] }, { token: bob });
  expect(put.status).toBe(404);
  expect(put.body.error.code).toBe('ORDER_NOT_FOUND');
  expect(await linesOf(id)).toEqual([products[0]]);
  const after = await stack.gateway.get(`/order/${id}`, { token: alice });
  expect(after.headers.get('x-cache')).toBe('HIT');
  expect(after.body).toEqual(first.body);
  expect((await stack.gateway.get(`/order/${id}`, { token: bob })).status).toBe(404);
});
