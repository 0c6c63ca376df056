import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { SUPERGRAPH_FILE } from '../schema/subgraphs';
import { HttpClient } from './fixtures/http';
import { startStack, type Stack } from './fixtures/stack';

/** A port where nothing listens: a Redis that is down. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let stack: Stack;
const processOf = (graphqlUrl: string) => new HttpClient(graphqlUrl.replace(/\/graphql$/, ''));

beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.close());

test('every process answers /ready 200 with its checks, and /health stays plain liveness', async () => {
  const gateway = await stack.gateway.get('/ready');
  expect(gateway.status).toBe(200);
  expect(gateway.body).toEqual({
    status: 'ready',
    checks: {
      subgraphs: 'up',
      cache: 'up',
      healthyInstances: { auth: [expect.any(String)], order: [expect.any(String)], product: stack.productUrls },
      // The live supergraph, by the sha256 of its file.
      supergraph: { live: createHash('sha256').update(readFileSync(SUPERGRAPH_FILE)).digest('hex') },
    },
  });
  const product = await processOf(stack.productUrls[0]!).get('/ready');
  expect(product.body).toEqual({ status: 'ready', checks: { database: 'up', cache: 'up' } });
  const order = await processOf(stack.gatewaySettings.SUBGRAPH_ORDER_URLS!).get('/ready');
  expect(order.body).toEqual({ status: 'ready', checks: { database: 'up', product: 'up' } });
  const auth = await processOf(stack.gatewaySettings.SUBGRAPH_AUTH_URLS!).get('/ready');
  expect(auth.body).toEqual({ status: 'ready', checks: {} });
  expect((await stack.gateway.get('/health')).body).toEqual({ status: 'ok' });
});

test('/ready needs no token at the gateway', async () => {
  const response = await stack.gateway.get('/ready', { headers: { authorization: 'Bearer garbage' } });
  expect(response.status).toBe(200);
});

test('a cache that is down is reported but does not make the gateway unready: it serves uncached', async () => {
  const gateway = await stack.startGateway({
    REDIS_URL: `redis://127.0.0.1:${await closedPort()}`,
    CACHE_NAMESPACE: `ready-${randomBytes(4).toString('hex')}`,
    CACHE_TIMEOUT_MS: '200',
  });
  const response = await gateway.get('/ready');
  expect(response.status).toBe(200);
  expect(response.body.checks).toMatchObject({ subgraphs: 'up', cache: 'down' });
});

test('the order service is unready while no product instance answers', async () => {
  await stack.stopProduct(0);
  await stack.stopProduct(1);
  const order = await processOf(stack.gatewaySettings.SUBGRAPH_ORDER_URLS!).get('/ready');
  expect(order.status).toBe(503);
  expect(order.body.error).toEqual({ code: 'NOT_READY', message: 'Not ready: product unavailable', checks: { database: 'up', product: 'down' } });
  await stack.restartProduct(0);
  expect((await processOf(stack.gatewaySettings.SUBGRAPH_ORDER_URLS!).get('/ready')).status).toBe(200);
});
