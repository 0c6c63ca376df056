import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpClient } from './fixtures/http';
import { waitFor } from './fixtures/net';
import { spawnProcess } from './fixtures/processes';
import { startStack, type Stack } from './fixtures/stack';

/** How long the relay holds each product call, so that the gateway has requests in flight when it is told to stop. */
const HOLD_MS = 600;
const IN_FLIGHT = 20;

let stack: Stack;
let relay: Server;
let relayed = 0;
let dataDir: string;

/** Forwards to a real product instance, headers and all, after HOLD_MS. */
function startRelay(target: string): Promise<string> {
  relay = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', async () => {
      relayed += 1;
      await new Promise((resolve) => setTimeout(resolve, request.url === '/health' ? 0 : HOLD_MS));
      const headers = Object.entries(request.headers).filter(([name]) => !['host', 'connection', 'content-length'].includes(name)) as [string, string][];
      const answer = await fetch(new URL(request.url!, target), { method: request.method, headers, body: request.method === 'POST' ? body : undefined });
      response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
      response.end(await answer.text());
    });
  });
  return new Promise((resolve) => relay.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(relay.address() as { port: number }).port}/graphql`)));
}

beforeAll(async () => {
  stack = await startStack({ productInstances: 1 });
  dataDir = mkdtempSync(join(tmpdir(), 'graceful-'));
});
afterAll(async () => {
  relay.closeAllConnections();
  await new Promise((resolve) => relay.close(resolve));
  await stack.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('SIGTERM: the gateway stops accepting, finishes every in-flight request, and exits 0; every 2xx is stored', async () => {
  const relayUrl = await startRelay(stack.productUrls[0]!);
  const gateway = await spawnProcess('gateway', 'gateway/index.ts', {
    ...stack.gatewaySettings,
    SUBGRAPH_PRODUCT_URLS: relayUrl,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    DATA_DIR: dataDir,
    // Long enough that the held calls are not retried or timed out.
    UPSTREAM_TIMEOUT_MS: '10000',
  });
  const client = new HttpClient(`http://127.0.0.1:${gateway.port}`);
  const token = await stack.signIn();
  const exited = new Promise<number | null>((resolve) => gateway.child.once('exit', (code) => resolve(code)));

  relayed = 0;
  const writes = Array.from({ length: IN_FLIGHT }, (_, index) => client.post('/products', { name: `in-flight-${index}`, supply_price: index }, { token }));
  await waitFor(async () => relayed >= IN_FLIGHT, 'every write to reach the product service', 10_000);
  gateway.child.kill('SIGTERM');
  await waitFor(async () => gateway.output().includes('gateway: stopping'), 'the gateway to start stopping', 5000);

  // New requests are refused (connection refused, or 503 on a kept-alive connection), never served.
  const late = await client.get('/products', { token }).then((response) => response.status, () => 'refused');
  expect(['refused', 503]).toContain(late);

  const responses = await Promise.all(writes);
  expect(responses.map((response) => response.status)).toEqual(Array(IN_FLIGHT).fill(201));
  expect(await exited).toBe(0);

  const ids = responses.map((response) => response.body.product_id as number);
  const stored = await stack.db.query<{ id: number }>(`SELECT id FROM products WHERE id IN (${ids.join(',')})`);
  expect(stored).toHaveLength(IN_FLIGHT);
}, 60_000);
