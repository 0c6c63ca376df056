import { randomBytes } from 'node:crypto';
import { startStack, type Stack } from './fixtures/stack';
import type { HttpClient } from './fixtures/http';
import { describeWithRedis, testRedisUrl, testWithRedis } from './fixtures/servers';
import { newTagVersion } from '../gateway/plugins/response-cache/cache';

const ORDER_QUERY = 'query($id: ID!) { order(id: $id) { id name productIds products { name supplyPrice } } }';

/** Each stack gets its own key namespace, so parallel test files sharing one Redis never meet. */
const cacheEnv = (backend: 'memory' | 'redis'): Record<string, string> => ({
  CACHE_NAMESPACE: `test-${randomBytes(4).toString('hex')}`,
  ...(backend === 'redis' ? { REDIS_URL: testRedisUrl() } : {}),
});

/** The same contract with either store. */
function responseCacheSuite(backend: 'memory' | 'redis') {
  let stack: Stack;
  let alice: string;
  let products: number[];

  beforeAll(async () => {
    stack = await startStack({ gatewayEnv: cacheEnv(backend) });
    alice = await stack.signIn('alice');
    products = [];
    for (const name of ['Keyboard', 'Mouse', 'Pad']) {
      products.push((await stack.gateway.post('/products', { name, supply_price: 100 }, { token: alice })).body.product_id);
    }
  });
  afterAll(() => stack?.close());

  const newOrder = async (token = alice) =>
    (await stack.gateway.post('/order', { name: 'cached', product_ids: [products[0]] }, { token })).body.order_id as number;
  const orderCalls = () => stack.hits.order!.queries.filter((query) => query.includes('order(')).length;

  test('GET /order/{id} is served from cache after the first read, without calling the order subgraph', async () => {
    const id = await newOrder();
    stack.resetHits();
    const first = await stack.gateway.get(`/order/${id}`, { token: alice });
    const second = await stack.gateway.get(`/order/${id}`, { token: alice });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect([first.headers.get('x-cache'), second.headers.get('x-cache')]).toEqual(['MISS', 'HIT']);
    // Whole seconds since the entry was stored: present, and within the order's 60 s max-age.
    expect(second.headers.get('age')).toMatch(/^\d+$/);
    expect(Number(second.headers.get('age'))).toBeLessThanOrEqual(60);
    expect(second.body).toEqual(first.body);
    expect(orderCalls()).toBe(1);
  });

  test('the GraphQL order query (federated, with products) is cached too', async () => {
    const id = await newOrder();
    stack.resetHits();
    const first = await stack.gateway.graphql(ORDER_QUERY, { id: String(id) }, alice);
    const second = await stack.gateway.graphql(ORDER_QUERY, { id: String(id) }, alice);
    expect([first.headers.get('x-cache'), second.headers.get('x-cache')]).toEqual(['MISS', 'HIT']);
    expect(second.body).toEqual(first.body);
    expect(first.body.data.order.products).toEqual([{ name: 'Keyboard', supplyPrice: 100 }]);
    expect(orderCalls()).toBe(1);
  });

  test('PUT /order/{id} invalidates that order at once; other orders stay cached', async () => {
    const [changed, untouched] = [await newOrder(), await newOrder()];
    for (const id of [changed, untouched]) {
      await stack.gateway.get(`/order/${id}`, { token: alice });
      expect((await stack.gateway.get(`/order/${id}`, { token: alice })).headers.get('x-cache')).toBe('HIT');
    }
    expect((await stack.gateway.put(`/order/${changed}`, { product_id: products[1] }, { token: alice })).status).toBe(200);
    const after = await stack.gateway.get(`/order/${changed}`, { token: alice });
    expect(after.headers.get('x-cache')).toBe('MISS');
    expect(after.body.product_ids).toEqual([products[0], products[1]]);
    const graphql = await stack.gateway.graphql(ORDER_QUERY, { id: String(changed) }, alice);
    expect(graphql.body.data.order.productIds).toEqual([String(products[0]), String(products[1])]);
    expect((await stack.gateway.get(`/order/${untouched}`, { token: alice })).headers.get('x-cache')).toBe('HIT');
  });

  test("user B never receives user A's cached order", async () => {
    const id = await newOrder();
    await stack.gateway.get(`/order/${id}`, { token: alice });
    expect((await stack.gateway.get(`/order/${id}`, { token: alice })).headers.get('x-cache')).toBe('HIT');
    const bob = await stack.signIn('bob');
    const response = await stack.gateway.get(`/order/${id}`, { token: bob });
    expect(response.status).toBe(404);
    expect(response.headers.get('x-cache')).not.toBe('HIT');
    const graphql = await stack.gateway.graphql(ORDER_QUERY, { id: String(id) }, bob);
    expect(graphql.body.data).toEqual({ order: null });
  });

  test('error and empty responses are never cached', async () => {
    stack.resetHits();
    for (let index = 0; index < 2; index += 1) {
      const response = await stack.gateway.get('/order/987654', { token: alice });
      expect(response.status).toBe(404);
      expect(response.headers.get('x-cache')).toBe('MISS');
    }
    expect(orderCalls()).toBe(2);
  });

  test('unauthenticated requests never reach the cache', async () => {
    const response = await stack.gateway.get('/order/1');
    expect(response.status).toBe(401);
    expect(response.headers.get('x-cache')).toBeNull();
  });

  test('the product list is not cached at the gateway, so round-robin stays visible', async () => {
    const ports = new Set<string | null>();
    for (let index = 0; index < 2; index += 1) {
      const response = await stack.gateway.get('/products', { token: alice });
      expect(response.headers.get('x-cache')).toBe('MISS');
      ports.add(response.headers.get('server-port'));
    }
    expect(ports.size).toBe(2);
  });
}

describe('response cache in memory', () => responseCacheSuite('memory'));
describeWithRedis('response cache in redis', () => responseCacheSuite('redis'));

test('tag versions never repeat, across the refills of the randomness they are cut from, and are 12 base64url characters each', () => {
  // 2,000 versions draw on eight fills of 256.
  const versions = Array.from({ length: 2_000 }, () => newTagVersion());
  expect(new Set(versions).size).toBe(versions.length);
  for (const version of versions) expect(version).toMatch(/^[A-Za-z0-9_-]{12}$/);
});

test('entries expire after the configured ORDER_CACHE_MAX_AGE_SECONDS', async () => {
  const stack = await startStack({ gatewayEnv: cacheEnv('memory'), orderEnv: { ORDER_CACHE_MAX_AGE_SECONDS: '1' } });
  try {
    const token = await stack.signIn();
    const id = (await stack.gateway.post('/order', { name: 'short', product_ids: [] }, { token })).body.order_id;
    await stack.gateway.get(`/order/${id}`, { token });
    expect((await stack.gateway.get(`/order/${id}`, { token })).headers.get('x-cache')).toBe('HIT');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await stack.gateway.get(`/order/${id}`, { token })).headers.get('x-cache')).toBe('MISS');
  } finally {
    await stack.close();
  }
});

testWithRedis('with Redis, a write through one gateway is seen through another on the next read', async () => {
  const env = cacheEnv('redis');
  const stack = await startStack({ gatewayEnv: env });
  try {
    const other: HttpClient = await stack.startGateway();
    const token = await stack.signIn();
    const product = (await stack.gateway.post('/products', { name: 'Shared', supply_price: 1 }, { token })).body.product_id;
    const id = (await stack.gateway.post('/order', { name: 'shared', product_ids: [] }, { token })).body.order_id;
    await stack.gateway.get(`/order/${id}`, { token });
    expect((await other.get(`/order/${id}`, { token })).headers.get('x-cache')).toBe('HIT');
    expect((await other.put(`/order/${id}`, { product_id: product }, { token })).status).toBe(200);
    const read = await stack.gateway.get(`/order/${id}`, { token });
    expect(read.headers.get('x-cache')).toBe('MISS');
    expect(read.body.product_ids).toEqual([product]);
  } finally {
    await stack.close();
  }
});
