import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpClient } from './fixtures/http';
import { waitFor } from './fixtures/net';
import { spawnProcess } from './fixtures/processes';
import { startRelay, type Relay } from './fixtures/relay';
import { startStack, type Stack } from './fixtures/stack';

/** How long the relay holds each product call, so that the gateway has requests in flight when it is told to stop. */
const HOLD_MS = 600;
const IN_FLIGHT = 20;

let stack: Stack;
let relay: Relay | undefined;
let dataDir: string;

beforeAll(async () => {
  stack = await startStack({ productInstances: 1 });
  dataDir = mkdtempSync(join(tmpdir(), 'graceful-'));
});
afterAll(async () => {
  await relay?.close();
  await stack?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('SIGTERM: the gateway stops accepting, finishes every in-flight request, and exits 0; every 2xx is stored', async () => {
  // Forwards to a real product instance after HOLD_MS.
  const held = (relay = await startRelay(stack.productUrls[0]!, { call: () => HOLD_MS }));
  const gateway = await spawnProcess('gateway', 'gateway/index.ts', {
    ...stack.gatewaySettings,
    SUBGRAPH_PRODUCT_URLS: held.url,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    DATA_DIR: dataDir,
    // Long enough that the held calls are not retried or timed out.
    UPSTREAM_TIMEOUT_MS: '10000',
  });
  const client = new HttpClient(`http://127.0.0.1:${gateway.port}`);
  const token = await stack.signIn();
  const exited = new Promise<number | null>((resolve) => gateway.child.once('exit', (code) => resolve(code)));

  held.calls.length = 0;
  const writes = Array.from({ length: IN_FLIGHT }, (_, index) => client.post('/products', { name: `in-flight-${index}`, supply_price: index }, { token }));
  await waitFor(async () => held.calls.length >= IN_FLIGHT, 'every write to reach the product service', 10_000);
  gateway.child.kill('SIGTERM');
  await waitFor(async () => gateway.output().includes('gateway: stopping'), 'the gateway to start stopping', 5000);

  // New requests are refused (connection refused, or 503 SHUTTING_DOWN on a kept-alive connection), never served.
  const late = await client.get('/products', { token }).then(
    (response) => [response.status, response.body.error?.code],
    () => 'refused',
  );
  expect(['refused', [503, 'SHUTTING_DOWN']]).toContainEqual(late);

  const responses = await Promise.all(writes);
  expect(responses.map((response) => response.status)).toEqual(Array(IN_FLIGHT).fill(200));
  expect(await exited).toBe(0);

  const ids = responses.map((response) => response.body.product_id as number);
  const stored = await stack.db.query<{ id: number }>(`SELECT id FROM products WHERE id IN (${ids.join(',')})`);
  expect(stored).toHaveLength(IN_FLIGHT);
}, 60_000);
