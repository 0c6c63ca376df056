import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient, GraphQLClientError, type PlatformClient } from '../client';
import { ROOT } from '../schema/subgraphs';
import { startStack, type Stack } from './fixtures/stack';

const run = promisify(execFile);

let stack: Stack;
let url: string;
beforeAll(async () => {
  stack = await startStack();
  url = `${stack.gateway.baseUrl}/graphql`;
});
afterAll(() => stack?.close());

/** The error a call rejects with, for assertions on its fields. */
async function failure(call: Promise<unknown>): Promise<GraphQLClientError> {
  const error = await call.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(GraphQLClientError);
  return error as GraphQLClientError;
}

test('the client compiles on its own, as a browser or bundler project would build it (no Node types)', async () => {
  await expect(run(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'client/tsconfig.json'], { cwd: ROOT })).resolves.toBeDefined();
}, 60_000);

test('the example script runs against a stack', async () => {
  const { stdout } = await run(join(ROOT, 'node_modules', '.bin', 'tsx'), ['client/example.ts'], {
    cwd: ROOT,
    env: { ...process.env, GRAPHQL_URL: url },
  });
  expect(stdout).toMatch(/^signed in for 3600 s$/m);
  expect(stdout).toMatch(/^order \d+: Keyboard \+ Mouse = 1400$/m);
  expect(stdout).toMatch(/^refused: UNKNOWN_PRODUCTS \[999999999\]$/m);
}, 60_000);

describe('a signed-in client', () => {
  let client: PlatformClient;
  beforeAll(async () => {
    client = createClient({ url });
    await client.signIn('client-test');
  });

  test('creates and reads products and orders, typed as the operations select them', async () => {
    const product = await client.createProduct({ name: 'Desk', supplyPrice: 25_000 });
    expect(product).toEqual({ id: expect.any(String), name: 'Desk', supplyPrice: 25_000 });
    expect(await client.product(product.id)).toEqual(product);
    expect(await client.products({ first: 1000 })).toContainEqual(product);

    const order = await client.createOrder({ name: 'office', productIds: [product.id] });
    expect(await client.addProductToOrder(order.id, product.id)).toMatchObject({ productIds: [product.id, product.id] });
    expect(await client.order(order.id)).toEqual({ id: order.id, name: 'office', productIds: [product.id, product.id], products: [product, product] });
  });

  test('filters products by name and appends several products at once', async () => {
    const lamp = await client.createProduct({ name: 'Reading LAMP', supplyPrice: 900 });
    expect(await client.products({ nameContains: 'reading lamp' })).toEqual([lamp]);
    const order = await client.createOrder({ name: 'lights', productIds: [] });
    expect(await client.addProductsToOrder(order.id, [lamp.id, lamp.id])).toEqual({ id: order.id, name: 'lights', productIds: [lamp.id, lamp.id] });
    expect((await failure(client.addProductsToOrder(order.id, [lamp.id, '999999997']))).code).toBe('UNKNOWN_PRODUCTS');
    expect((await client.order(order.id))?.productIds).toEqual([lamp.id, lamp.id]);
  });

  test('absent things are null, not errors', async () => {
    expect(await client.product('999999999')).toBeNull();
    expect(await client.order('999999999')).toBeNull();
  });

  test("the server's error codes arrive as GraphQLClientError.code, with their details", async () => {
    const unknown = await failure(client.createOrder({ name: 'nothing', productIds: ['999999998'] }));
    expect(unknown).toMatchObject({ code: 'UNKNOWN_PRODUCTS', status: 400 });
    expect(unknown.extensions.productIds).toEqual([999999998]);
    expect((await failure(client.addProductToOrder('999999999', '1'))).code).toBe('ORDER_NOT_FOUND');
    expect((await failure(client.createProduct({ name: '', supplyPrice: 1 }))).code).toBe('BAD_USER_INPUT');
  });

  test("another user's client does not see this user's orders", async () => {
    const order = await client.createOrder({ name: 'private', productIds: [] });
    const other = createClient({ url });
    await other.signIn('someone-else');
    expect(await other.order(order.id)).toBeNull();
  });
});

test('without a token only sign-in works: UNAUTHENTICATED with the 401', async () => {
  const anonymous = createClient({ url });
  expect(await failure(anonymous.products())).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
  const rejected = createClient({ url, token: 'not-a-jwt' });
  expect((await failure(rejected.products())).code).toBe('UNAUTHENTICATED');
});

test('transport failures are typed too', async () => {
  const closed = createClient({ url: 'http://127.0.0.1:9/graphql', timeoutMs: 2000 });
  expect(await failure(closed.products())).toMatchObject({ code: 'NETWORK_ERROR', status: 0 });
  // /health answers JSON that is not a GraphQL response.
  const wrong = createClient({ url: `${stack.gateway.baseUrl}/health` });
  expect((await failure(wrong.signIn('x'))).code).toBe('UNEXPECTED_RESPONSE');
});

/** Type-level checks: `npm run typecheck` fails if these mistakes ever compile. */
export function typeChecks(client: PlatformClient) {
  // @ts-expect-error supplyPrice is required
  void client.createProduct({ name: 'no price' });
  // @ts-expect-error supplyPrice is an Int
  void client.createProduct({ name: 'x', supplyPrice: '100' });
  void client.order('1').then((order) => {
    // @ts-expect-error the order may be null
    void order.products;
    // @ts-expect-error the Order operation does not select createdAt
    void order?.createdAt;
  });
}
