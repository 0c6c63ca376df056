import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { SUPERGRAPH_FILE } from '../schema/subgraphs';
import type { HttpClient, HttpResponse } from './fixtures/http';
import { waitFor } from './fixtures/net';
import { startStack, type Stack } from './fixtures/stack';
import { configMapMount, supergraphHash, supergraphWithout, type ConfigMapMount } from './fixtures/supergraphs';

/** The project's supergraph: what the subgraphs serve. */
const full = readFileSync(SUPERGRAPH_FILE, 'utf8');
/** The same, from before the order subgraph added `Order.products`. */
const withoutOrderProducts = supergraphWithout('order', { type: 'Order', field: 'products' });
/** One that drops `Product.supplyPrice`, which GET /products/{productId} (and every product route) returns. */
const withoutSupplyPrice = supergraphWithout('product', { type: 'Product', field: 'supplyPrice' });

const ORDER_PRODUCTS = 'query($id: ID!) { order(id: $id) { products { id name } } }';

let stack: Stack;
let mount: ConfigMapMount;
let token: string;
let productId: number;
let orderId: number;

beforeAll(async () => {
  mount = configMapMount('supergraph.graphql', withoutOrderProducts);
  stack = await startStack({ gatewayEnv: { SUPERGRAPH_PATH: mount.path } });
  token = await stack.signIn();
  productId = (await stack.gateway.post('/products', { name: 'Lamp', supply_price: 1200 }, { token })).body.product_id;
  orderId = (await stack.gateway.post('/order', { name: 'Desk', product_ids: [productId] }, { token })).body.order_id;
});
afterAll(async () => {
  await stack?.close();
  mount?.remove();
});

interface SupergraphReport {
  live: string;
  refused?: { hash?: string; reason: string };
}

async function supergraphOf(gateway: HttpClient): Promise<SupergraphReport> {
  return (await gateway.get('/ready')).body.checks.supergraph;
}

/** What each client sends during the load, and whether its answer is right. */
function loadCalls(gateway: HttpClient): ((n: number) => Promise<[string, HttpResponse, boolean]>)[] {
  const call = async (label: string, response: Promise<HttpResponse>, ok: (response: HttpResponse) => boolean): Promise<[string, HttpResponse, boolean]> => {
    const answer = await response;
    return [label, answer, ok(answer)];
  };
  return [
    () => call('GET /products/{id}', gateway.get(`/products/${productId}`, { token }), (r) => r.status === 200 && r.body.supply_price === 1200),
    () => call('GET /order/{id}', gateway.get(`/order/${orderId}`, { token }), (r) => r.status === 200 && r.body.product_ids[0] === productId),
    // A different page size each time: planned and executed, never answered from the cache.
    (n) => call('GET /products?limit', gateway.get(`/products?limit=${1 + (n % 97)}`, { token }), (r) => r.status === 200 && r.body.length >= 1),
    (n) =>
      call('POST /graphql', gateway.graphql('query($first: Int) { products(first: $first) { id supplyPrice } }', { first: 1 + (n % 89) }, token), (r) => r.status === 200 && r.body.data?.products.length >= 1 && !r.body.errors),
  ];
}

/**
 * Runs `during` while `clients` loops send REST and GraphQL requests back to back; returns every
 * request that failed or answered wrongly, and how many were sent.
 */
async function underLoad(gateway: HttpClient, during: (sent: () => number) => Promise<void>, clients = 8) {
  const calls = loadCalls(gateway);
  const failures: string[] = [];
  let sent = 0;
  let running = true;
  const client = async (index: number) => {
    for (let n = index; running; n += clients) {
      try {
        const [label, response, ok] = await calls[n % calls.length]!(n);
        if (!ok) failures.push(`${label}: ${response.status} ${JSON.stringify(response.body)}`);
      } catch (error) {
        failures.push(`request ${n}: ${String(error)}`);
      }
      sent += 1;
    }
  };
  const loops = Array.from({ length: clients }, (_, index) => client(index));
  try {
    await during(() => sent);
  } finally {
    running = false;
    await Promise.all(loops);
  }
  return { failures, sent };
}

/**
 * The watch sees an update within a second on a quiet machine; the bound leaves room for a loaded
 * 2-core CI machine, where the load loops below share one process with the whole stack.
 */
const SWAP_WITHIN_MS = 20_000;

test('a ConfigMap update swaps the supergraph under load: no request fails, and the new field is served within seconds', async () => {
  expect(await supergraphOf(stack.gateway)).toEqual({ live: supergraphHash(withoutOrderProducts) });
  const before = await stack.gateway.graphql(ORDER_PRODUCTS, { id: orderId }, token);
  expect(before.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');

  let swappedAfterMs = 0;
  const { failures, sent } = await underLoad(stack.gateway, async (sent) => {
    await waitFor(async () => sent() >= 100, 'load before the swap');
    const updatedAt = Date.now();
    mount.update(full);
    await waitFor(async () => (await stack.gateway.graphql(ORDER_PRODUCTS, { id: orderId }, token)).body.data?.order !== undefined, 'the new field', SWAP_WITHIN_MS);
    swappedAfterMs = Date.now() - updatedAt;
    const atSwap = sent();
    await waitFor(async () => sent() >= atSwap + 100, 'load after the swap');
  });

  expect(failures).toEqual([]);
  expect(sent).toBeGreaterThanOrEqual(200);
  expect(swappedAfterMs).toBeLessThan(SWAP_WITHIN_MS);
  expect((await stack.gateway.graphql(ORDER_PRODUCTS, { id: orderId }, token)).body).toEqual({ data: { order: { products: [{ id: String(productId), name: 'Lamp' }] } } });
  expect(await supergraphOf(stack.gateway)).toEqual({ live: supergraphHash(full) });
}, 60_000);

// Each test here is one more update of the same mount. A watch on the file itself (rather than its
// folder) sees the first update only, as it follows the deleted old inode (apollographql/router#1695).
describe('refused supergraphs: the live one keeps serving', () => {
  beforeAll(async () => {
    // The previous test leaves the full supergraph live; on its own, this block makes it so.
    mount.update(full);
    await waitFor(async () => (await supergraphOf(stack.gateway)).live === supergraphHash(full), 'the full supergraph');
  });

  test('one that drops a field the REST routes return is refused, and GET /products/{id} still answers it', async () => {
    mount.update(withoutSupplyPrice);
    await waitFor(async () => (await supergraphOf(stack.gateway)).refused !== undefined, 'the refusal');
    expect(await supergraphOf(stack.gateway)).toEqual({ live: supergraphHash(full), refused: { hash: supergraphHash(withoutSupplyPrice), reason: 'breaks-operations' } });
    const product = await stack.gateway.get(`/products/${productId}`, { token });
    expect(product.status).toBe(200);
    expect(product.body).toMatchObject({ product_id: productId, supply_price: 1200 });
    expect((await stack.gateway.graphql('query($id: ID!) { product(id: $id) { supplyPrice } }', { id: productId }, token)).body).toEqual({ data: { product: { supplyPrice: 1200 } } });
  });

  test.each([
    ['a file that is not GraphQL', 'this is { not a supergraph'],
    ['GraphQL that is not a supergraph', 'type Query { hello: String }'],
    ['an empty file', ''],
  ])('%s is refused as invalid', async (_name, text) => {
    mount.update(text);
    await waitFor(async () => (await supergraphOf(stack.gateway)).refused?.hash === supergraphHash(text), 'the refusal');
    expect(await supergraphOf(stack.gateway)).toEqual({ live: supergraphHash(full), refused: { hash: supergraphHash(text), reason: 'invalid' } });
    expect((await stack.gateway.get(`/order/${orderId}`, { token })).status).toBe(200);
  });

  test('offering the live supergraph again clears the refusal', async () => {
    expect((await supergraphOf(stack.gateway)).refused).toBeDefined();
    mount.update(full);
    await waitFor(async () => (await supergraphOf(stack.gateway)).refused === undefined, 'the refusal to clear');
    expect(await supergraphOf(stack.gateway)).toEqual({ live: supergraphHash(full) });
  });
});

describe('SUPERGRAPH_URL', () => {
  let server: Server;
  let offered = withoutOrderProducts;
  const requests: { ifNoneMatch?: string; status: number }[] = [];

  beforeAll(async () => {
    // Serves the supergraph as a static file server would: with an ETag, and 304 for a match.
    server = createServer((request, response) => {
      const etag = `"${supergraphHash(offered).slice(0, 16)}"`;
      const status = request.headers['if-none-match'] === etag ? 304 : 200;
      requests.push({ ifNoneMatch: request.headers['if-none-match'], status });
      response.writeHead(status, { etag, 'content-type': 'text/plain' }).end(status === 200 ? offered : undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  test('is polled, answered 304 while unchanged, and a new supergraph there goes live with a cache of its own', async () => {
    const { port } = server.address() as { port: number };
    const gateway = await stack.startGateway({ SUPERGRAPH_PATH: '', SUPERGRAPH_URL: `http://127.0.0.1:${port}/supergraph.graphql`, SUPERGRAPH_POLL_INTERVAL_MS: '100' });
    expect(await supergraphOf(gateway)).toEqual({ live: supergraphHash(withoutOrderProducts) });
    await waitFor(async () => requests.filter(({ status }) => status === 304).length >= 2, 'polls answered 304');
    await gateway.get(`/products/${productId}`, { token });
    expect((await gateway.get(`/products/${productId}`, { token })).headers.get('x-cache')).toBe('HIT');
    offered = full;
    await waitFor(async () => (await supergraphOf(gateway)).live === supergraphHash(full), 'the new supergraph');
    // Cached answers belong to the supergraph that made them.
    expect((await gateway.get(`/products/${productId}`, { token })).headers.get('x-cache')).toBe('MISS');
    expect((await gateway.graphql(ORDER_PRODUCTS, { id: orderId }, token)).body.data).toEqual({ order: { products: [{ id: String(productId), name: 'Lamp' }] } });
    // Every poll after the first sent back the ETag it was given.
    expect(requests.slice(1).every(({ ifNoneMatch }) => ifNoneMatch !== undefined)).toBe(true);
  });
});
