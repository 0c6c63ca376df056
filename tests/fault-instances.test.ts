import { createServer, type Server } from 'node:http';
import { errorCatalogue } from '../shared/errors';
import type { HttpClient, HttpResponse } from './fixtures/http';
import { waitFor } from './fixtures/net';
import { startStack, type Stack } from './fixtures/stack';

/** Short health-check pauses so that marking down and bringing back take well under a second here. */
const FAST_HEALTH = { HEALTH_CHECK_INTERVAL_MS: '100', HEALTH_CHECK_MAX_BACKOFF_MS: '400', RESPONSE_CACHE: 'off' };

interface Outcome {
  kind: 'read' | 'write';
  response: HttpResponse;
}

/** Mixed reads (REST and GraphQL) and writes from `workers` clients in a loop, until `stop` is called. */
function load(gateway: HttpClient, token: string, workers = 6) {
  const outcomes: Outcome[] = [];
  let running = true;
  const one = async (worker: number, round: number): Promise<Outcome> => {
    switch ((worker + round) % 3) {
      case 0:
        return { kind: 'read', response: await gateway.get('/products?limit=5', { token }) };
      case 1:
        return { kind: 'read', response: await gateway.graphql('{ products(first: 3) { id name } }', {}, token) };
      default:
        return { kind: 'write', response: await gateway.post('/products', { name: `load-${worker}-${round}`, supply_price: round }, { token }) };
    }
  };
  const done = Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      for (let round = 0; running; round += 1) outcomes.push(await one(worker, round));
    }),
  );
  return {
    outcomes,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

/**
 * Queries are retried on the other instance, so no read fails; a mutation whose connection was cut
 * (mid-request, or a keep-alive connection closed by the stopping server as the request was sent)
 * is not retried, as it may have been applied: at most one per client, each a clean 503.
 */
function expectOnlyInFlightWritesFailed(outcomes: Outcome[]) {
  const failures = outcomes.filter(failed);
  expect(failures.filter((outcome) => outcome.kind === 'read')).toEqual([]);
  for (const { response } of failures) {
    expect(response.status).toBe(503);
    expect(response.body.error.code).toBe('UPSTREAM_UNAVAILABLE');
  }
  expect(failures.length).toBeLessThanOrEqual(6);
}

const failed = ({ response }: Outcome) => response.status >= 300 || (response.body as { errors?: unknown }).errors !== undefined;
const healthyProducts = async (gateway: HttpClient) => ((await gateway.get('/ready')).body.checks?.healthyInstances?.product ?? []) as string[];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('one product instance killed mid-load', () => {
  let stack: Stack;
  let token: string;

  beforeAll(async () => {
    stack = await startStack({ gatewayEnv: FAST_HEALTH });
    token = await stack.signIn();
    await stack.gateway.post('/products', { name: 'Seed', supply_price: 1 }, { token });
  });
  afterAll(() => stack?.close());

  test('reads never fail, only writes in flight on it may; it is marked down, then back when it returns', async () => {
    const running = load(stack.gateway, token);
    await sleep(500);
    const beforeKill = running.outcomes.length;
    await stack.killProduct(0);
    await waitFor(async () => !(await healthyProducts(stack.gateway)).includes(stack.productUrls[0]!), 'the gateway to mark product-0 down', 5000);
    await sleep(500);
    await stack.restartProduct(0);
    await waitFor(async () => (await healthyProducts(stack.gateway)).includes(stack.productUrls[0]!), 'the gateway to bring product-0 back', 5000);
    stack.resetHits();
    const beforeReturn = running.outcomes.length;
    await sleep(500);
    await running.stop();

    expectOnlyInFlightWritesFailed(running.outcomes);
    // The load really ran before the kill, through the outage and after the return.
    expect(beforeKill).toBeGreaterThan(0);
    expect(beforeReturn).toBeGreaterThan(beforeKill);
    expect(running.outcomes.length).toBeGreaterThan(beforeReturn);
    // Back in rotation: the restarted instance serves its share again.
    expect(stack.hits['product-0']!.queries.length).toBeGreaterThan(0);
  }, 30_000);

  test('a stopped instance (graceful close): the same, and it is marked down', async () => {
    const running = load(stack.gateway, token);
    await sleep(300);
    await stack.stopProduct(1);
    await waitFor(async () => !(await healthyProducts(stack.gateway)).includes(stack.productUrls[1]!), 'the gateway to mark product-1 down', 5000);
    await sleep(300);
    await running.stop();
    expectOnlyInFlightWritesFailed(running.outcomes);
    await stack.restartProduct(1);
  }, 30_000);
});

describe('every product instance down', () => {
  let stack: Stack;
  let token: string;

  beforeAll(async () => {
    stack = await startStack({ gatewayEnv: { ...FAST_HEALTH, UPSTREAM_TIMEOUT_MS: '5000' } });
    token = await stack.signIn();
  });
  afterAll(() => stack?.close());

  test('503 UPSTREAM_UNAVAILABLE well under the upstream timeout, /ready 503, and recovery without a restart', async () => {
    await stack.stopProduct(0);
    await stack.stopProduct(1);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const started = performance.now();
      const rest = await stack.gateway.get('/products', { token });
      // Half the upstream timeout: the answer did not wait for it (a loaded machine can take a few 100 ms).
      expect(performance.now() - started).toBeLessThan(2500);
      expect(rest.status).toBe(503);
      expect(rest.body.error.code).toBe('UPSTREAM_UNAVAILABLE');
    }
    const graphql = await stack.gateway.graphql('{ products { id } }', {}, token);
    expect(graphql.body.errors[0].extensions.code).toBe('UPSTREAM_UNAVAILABLE');
    const ready = await stack.gateway.get('/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.error.code).toBe('NOT_READY');
    expect(ready.body.error.checks).toMatchObject({ subgraphs: 'down', healthyInstances: { product: [] } });

    await stack.restartProduct(0);
    await stack.restartProduct(1);
    await waitFor(async () => (await stack.gateway.get('/products', { token })).status === 200, 'the gateway to recover', 5000);
    expect((await stack.gateway.get('/ready')).status).toBe(200);
    expect((await stack.gateway.post('/products', { name: 'After', supply_price: 2 }, { token })).status).toBe(200);
  }, 30_000);
});

describe('upstream timeout and read retry', () => {
  let stack: Stack;
  let token: string;
  let hung: Server;
  let hungUrl: string;
  /** Request bodies the hung instance received (and never answered). */
  const received: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ productInstances: 1 });
    token = await stack.signIn();
    // An instance that is alive (its /health answers) but never answers a GraphQL request.
    hung = createServer((request, response) => {
      if (request.url === '/health') return void response.end('{"status":"ok"}');
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => received.push(body));
    });
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    hungUrl = `http://127.0.0.1:${(hung.address() as { port: number }).port}/graphql`;
  });
  afterAll(async () => {
    hung?.closeAllConnections();
    if (hung) await new Promise((resolve) => hung.close(resolve));
    await stack?.close();
  });

  const gatewayWith = (retries: string) =>
    stack.startGateway({ ...FAST_HEALTH, UPSTREAM_TIMEOUT_MS: '300', UPSTREAM_READ_RETRIES: retries, SUBGRAPH_PRODUCT_URLS: `${hungUrl},${stack.productUrls[0]}` });

  test('a query that times out on one instance is retried on the next; a mutation is not', async () => {
    const gateway = await gatewayWith('1');
    received.length = 0;
    for (let index = 0; index < 4; index += 1) {
      const response = await gateway.get('/products', { token });
      expect(response.status).toBe(200);
    }
    // Half of them started on the hung instance and were answered by the other one.
    expect(received.length).toBe(2);

    received.length = 0;
    const writes = [await gateway.post('/products', { name: 'A', supply_price: 1 }, { token }), await gateway.post('/products', { name: 'B', supply_price: 1 }, { token })];
    expect(writes.map((write) => write.status).sort()).toEqual([200, 503]);
    const timedOut = writes.find((write) => write.status === 503)!;
    expect(timedOut.body.error).toEqual({ code: 'UPSTREAM_UNAVAILABLE', message: 'The product service did not answer in time' });
    expect(errorCatalogue.UPSTREAM_UNAVAILABLE.status).toBe(503);
    // Sent once, to the hung instance, and not again elsewhere.
    expect(received).toHaveLength(1);
    expect(received[0]).toContain('mutation');
  }, 30_000);

  test('with UPSTREAM_READ_RETRIES=0 a read that times out fails after the timeout', async () => {
    const gateway = await gatewayWith('0');
    const statuses: number[] = [];
    for (let index = 0; index < 2; index += 1) {
      const started = performance.now();
      const response = await gateway.get('/products', { token });
      statuses.push(response.status);
      if (response.status === 503) expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    }
    expect(statuses.sort()).toEqual([200, 503]);
  }, 30_000);
});
