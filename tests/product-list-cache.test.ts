import { randomBytes } from 'node:crypto';
import { startStack, type Stack } from './fixtures/stack';
import { HttpClient } from './fixtures/http';
import { PROOF_HEADER, signProof } from '../shared/subgraph-proof';

import { describeWithRedis, testRedisUrl } from './fixtures/servers';

/** The same contract with either store. */
function productListCacheSuite(backend: 'memory' | 'redis') {
  let stack: Stack;
  let token: string;
  let instances: HttpClient[];

  beforeAll(async () => {
    const namespace = { CACHE_NAMESPACE: `test-${randomBytes(4).toString('hex')}` };
    stack = await startStack({ productEnv: backend === 'redis' ? { ...namespace, REDIS_URL: testRedisUrl() } : namespace });
    token = await stack.signIn();
    instances = stack.productUrls.map((url) => new HttpClient(url.replace(/\/graphql$/, '')));
    await stack.gateway.post('/products', { name: 'First', supply_price: 1 }, { token });
  });
  afterAll(() => stack?.close());

  const LIST = '{ products { id name } }';
  /** Straight to one instance, with the proof the gateway would send. */
  const listOn = (instance: HttpClient) =>
    instance.request<{ data?: { products: { id: string; name: string }[] } }>('POST', '/graphql', {
      body: { query: LIST },
      headers: { [PROOF_HEADER]: signProof({ secret: stack.subgraphSecret }, undefined, LIST) },
    });

  test('a product instance serves the list from its cache after the first read', async () => {
    const first = await listOn(instances[0]!);
    const second = await listOn(instances[0]!);
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(second.body).toEqual(first.body);
  });

  test('a product added through either instance is in the very next list from both', async () => {
    await listOn(instances[0]!);
    await listOn(instances[1]!);
    const created = await stack.gateway.post('/products', { name: `Added ${backend}`, supply_price: 2 }, { token });
    expect(created.status).toBe(200);
    for (const instance of instances) {
      const response = await listOn(instance);
      expect(response.body.data!.products.map((product) => Number(product.id))).toContain(created.body.product_id);
    }
    const ports = new Set<string | null>();
    for (let index = 0; index < 2; index += 1) {
      const response = await stack.gateway.get('/products', { token });
      expect(response.body).toContainEqual(created.body);
      ports.add(response.headers.get('server-port'));
    }
    expect(ports.size).toBe(2);
  });

  test('pages are cached separately and stay correct', async () => {
    const all = (await stack.gateway.get('/products', { token })).body as { product_id: number }[];
    for (let index = 0; index < 2; index += 1) {
      expect((await stack.gateway.get('/products?limit=1', { token })).body).toEqual(all.slice(0, 1));
      expect((await stack.gateway.get(`/products?limit=1&after=${all[0]!.product_id}`, { token })).body).toEqual(all.slice(1, 2));
    }
  });

  if (backend === 'redis') {
    test('instances share one Redis: a page cached by one is a hit on the other', async () => {
      await stack.gateway.post('/products', { name: 'Shared', supply_price: 3 }, { token });
      expect((await listOn(instances[0]!)).headers.get('x-cache')).toBe('MISS');
      expect((await listOn(instances[1]!)).headers.get('x-cache')).toBe('HIT');
    });
  }
}

describe('product list cache in memory', () => productListCacheSuite('memory'));
describeWithRedis('product list cache in redis', () => productListCacheSuite('redis'));
