import { createServer, type Server } from 'node:http';
import { request } from 'undici';
import type { ProcessStack } from '../tests/fixtures/processes';

/**
 * Scenario 6 of `npm run bench`: does the cost stay flat as the data grows? A federated order
 * query for orders of 1, 10, 100 and 1,000 products (latency, and how many calls the product
 * subgraph got per query: one batched `_entities` call whatever the size), and `GET /products`
 * with 10,000 products in the store, whole and one page at a time.
 */
export interface GrowthRow {
  case: string;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  responseBytes: number;
  productCallsPerRequest?: number;
}

const ORDER_SIZES = [1, 10, 100, 1000];
const LIST_SIZE = 10_000;
const ORDER_QUERY = 'query Order($id: ID!) { order(id: $id) { id name products { id name supplyPrice } } }';

/** Forwards every request to `target`, counting the GraphQL ones: the product subgraph's calls, seen from outside. */
async function countingProxy(target: string): Promise<{ url: string; calls: () => number; close: () => Promise<void> }> {
  let calls = 0;
  const server: Server = createServer((incoming, outgoing) => {
    if (incoming.method === 'POST') calls += 1; // GraphQL calls, not health checks
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', async () => {
      const headers = { ...incoming.headers };
      delete headers.host;
      delete headers.connection;
      const answer = await request(`${target}${incoming.url}`, { method: incoming.method as 'POST', headers, body: Buffer.concat(chunks) });
      const body = Buffer.from(await answer.body.arrayBuffer());
      outgoing.writeHead(answer.statusCode, { 'content-type': String(answer.headers['content-type'] ?? 'application/json'), 'content-length': body.length });
      outgoing.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/graphql`, calls: () => calls, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Sequential requests (one at a time, so latency is the request's own), after a warm-up. */
async function timeSequential(send: () => Promise<number>, count: number): Promise<{ p50: number; p99: number; bytes: number }> {
  for (let index = 0; index < 5; index += 1) await send();
  const times: number[] = [];
  let bytes = 0;
  for (let index = 0; index < count; index += 1) {
    const started = performance.now();
    bytes = await send();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const at = (share: number) => Math.round(times[Math.min(times.length - 1, Math.floor(times.length * share))]! * 10) / 10;
  return { p50: at(0.5), p99: at(0.99), bytes };
}

async function createProducts(stack: ProcessStack, token: string, count: number): Promise<number[]> {
  const ids: number[] = [];
  for (let start = 0; start < count; start += 50) {
    const batch = Array.from({ length: Math.min(50, count - start) }, (_, index) => stack.gateway.post('/products', { name: `Item ${start + index}`, supply_price: 100 + index }, { token }));
    for (const created of await Promise.all(batch)) ids.push(created.body.product_id);
  }
  return ids;
}

export async function runGrowth(stack: ProcessStack, token: string, requests: number): Promise<GrowthRow[]> {
  const productUrl = `http://127.0.0.1:${stack.processes['product-a']!.port}`;
  const proxy = await countingProxy(productUrl);
  const gateway = await stack.startGateway('gateway-growth', { RESPONSE_CACHE: 'off', SUBGRAPH_PRODUCT_URLS: proxy.url, HEALTH_CHECK_INTERVAL_MS: '60000' });
  const graphqlUrl = `http://127.0.0.1:${gateway.port}/graphql`;
  const rows: GrowthRow[] = [];
  try {
    const ids = await createProducts(stack, token, LIST_SIZE);
    for (const size of ORDER_SIZES) {
      const order = await stack.gateway.post('/order', { name: `order of ${size}`, product_ids: ids.slice(0, size) }, { token });
      if (order.status !== 200) throw new Error(`order of ${size}: ${order.status} ${JSON.stringify(order.body)}`);
      const body = JSON.stringify({ query: ORDER_QUERY, variables: { id: String(order.body.order_id) } });
      const send = async () => {
        const answer = await request(graphqlUrl, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
        const text = await answer.body.text();
        if (answer.statusCode !== 200 || text.includes('"errors"')) throw new Error(`order of ${size}: ${answer.statusCode} ${text.slice(0, 200)}`);
        return Buffer.byteLength(text);
      };
      const before = proxy.calls();
      const timed = await timeSequential(send, requests);
      const calls = (proxy.calls() - before) / (requests + 5);
      rows.push({ case: `order of ${size} products (GraphQL)`, requests, p50Ms: timed.p50, p99Ms: timed.p99, responseBytes: timed.bytes, productCallsPerRequest: calls });
    }
    for (const path of ['/products', '/products?limit=100']) {
      const send = async () => {
        const answer = await request(`http://127.0.0.1:${gateway.port}${path}`, { headers: { authorization: `Bearer ${token}` } });
        const text = await answer.body.text();
        if (answer.statusCode !== 200) throw new Error(`${path}: ${answer.statusCode}`);
        return Buffer.byteLength(text);
      };
      const timed = await timeSequential(send, Math.max(10, Math.floor(requests / 4)));
      rows.push({ case: `GET ${path} with ${LIST_SIZE}+ products`, requests: Math.max(10, Math.floor(requests / 4)), p50Ms: timed.p50, p99Ms: timed.p99, responseBytes: timed.bytes });
    }
  } finally {
    await proxy.close();
  }
  return rows;
}
