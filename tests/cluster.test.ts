import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './fixtures/net';
import { freePort, nodeArguments, spawnProcess, type RunningProcess } from './fixtures/processes';
import { startRelay, type Relay } from './fixtures/relay';
import { describeWithRedis, testRedisUrl } from './fixtures/servers';
import { scrape, total } from './fixtures/prometheus';
import { startStack, type Stack } from './fixtures/stack';

const ROOT = join(__dirname, '..');
const ORDER_QUERY = 'query Order($id: ID!) { order(id: $id) { id name products { id name supplyPrice } } }';
/** How long the relay holds each product call while the gateway is being stopped. */
const HOLD_MS = 1500;
const IN_FLIGHT = 10;

/** The subgraphs the gateways under test route to (in this process, as most tests run them). */
let stack: Stack;
/** A gateway process with the default settings. */
let single: RunningProcess & { child: ChildProcess };
/** The gateway process of two workers. */
let gateway: RunningProcess & { child: ChildProcess };
/** Where the cluster's primary serves the metrics of both workers. */
let metricsUrl: string;
let relay: Relay | undefined;
let holdMs = 0;
let token: string;
let orderId: string;
let expected: unknown;
let dataDir: string;
/** What a gateway started apart (one that must not start) needs: its own data directory and port, no Redis. */
let apart: Record<string, string>;
/** A clustered gateway whose workers all fail to start (no supergraph file), run while the stack starts. */
let failingWorkers: Promise<{ status: number | null; output: string }>;

/** The worker pids of a primary: its child processes (Linux). */
function childrenOf(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
}

/** User plus system CPU time of a process so far, in clock ticks (/proc/<pid>/stat fields 14 and 15). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Stops a gateway process with SIGTERM, if it still runs, and waits for it to exit. */
async function stop(running: { child: ChildProcess } | undefined): Promise<void> {
  const child = running?.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** The pids in the gateway's pino log lines whose message starts with `message`. */
function pidsLogging(output: string, message: string): Set<number> {
  const pids = new Set<number>();
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { pid?: number; msg?: string };
      if (entry.msg?.startsWith(message) && entry.pid !== undefined) pids.add(entry.pid);
    } catch {
      // A line still being written.
    }
  }
  return pids;
}

/**
 * One POST /graphql on a connection of its own: the primary hands each new connection to the
 * next worker, so requests spread over the workers as many clients' would (a kept-alive
 * connection would stay with one worker).
 */
function query(text: string): Promise<{ status: number; body: unknown }> {
  const body = JSON.stringify({ query: text, variables: { id: orderId } });
  return new Promise((resolve, reject) => {
    const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${token}` };
    const request = httpRequest({ host: '127.0.0.1', port: gateway.port, path: '/graphql', method: 'POST', agent: false, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        try {
          resolve({ status: response.statusCode!, body: JSON.parse(text) });
        } catch {
          reject(new Error(`not JSON (${response.statusCode}): ${text.slice(0, 200)}`));
        }
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** `count` order queries, `concurrency` at a time; each must be answered 200 with the order. */
async function expectOrders(count: number, concurrency = 10): Promise<void> {
  for (let done = 0; done < count; done += concurrency) {
    const answers = await Promise.all(Array.from({ length: Math.min(concurrency, count - done) }, () => query(ORDER_QUERY)));
    for (const answer of answers) expect(answer).toEqual({ status: 200, body: expected });
  }
}

/** Runs the gateway's entry to its end (it must fail to start): its exit status and output. */
function runGatewayToExit(env: Record<string, string>): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, nodeArguments('gateway/index.ts'), { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('close', (status) => resolve({ status, output }));
  });
}

async function bothWorkersListening(): Promise<number[]> {
  await waitFor(async () => childrenOf(gateway.pid).length === 2, 'two workers', 30_000);
  const workers = childrenOf(gateway.pid);
  await waitFor(async () => workers.every((pid) => pidsLogging(gateway.output(), 'Server listening').has(pid)), 'both workers to listen', 30_000);
  return workers;
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'cluster-test-'));
  apart = { DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(await freePort()), JWT_SECRET: randomBytes(32).toString('hex'), REDIS_URL: '', METRICS_PORT: 'off' };
  failingWorkers = runGatewayToExit({ ...apart, GATEWAY_WORKERS: '2', RESPONSE_CACHE: 'off', SUPERGRAPH_PATH: join(dataDir, 'missing.graphql') });
  stack = await startStack();
  single = await startGatewayProcess('gateway', {});
}, 120_000);

afterAll(async () => {
  await Promise.all(gatewayStarts.map(async (started) => stop(await started.catch(() => undefined))));
  await stack?.close();
  rmSync(dataDir, { recursive: true, force: true });
}, 120_000);

/** Every gateway process started: afterAll stops each once its start settles (a start may outlive a timed-out hook). */
const gatewayStarts: Promise<RunningProcess & { child: ChildProcess }>[] = [];

/** A gateway process over the stack's subgraphs, logging each request (with its pid) as production does. */
function startGatewayProcess(name: string, env: Record<string, string>) {
  const started = spawnProcess(name, 'gateway/index.ts', { ...stack.gatewaySettings, HOST: '127.0.0.1', LOG_LEVEL: 'info', DATA_DIR: dataDir, ...env });
  gatewayStarts.push(started);
  return started;
}

describeWithRedis('a gateway of two workers sharing Redis', () => {
  beforeAll(async () => {
    token = await stack.signIn('cluster');
    const productIds: number[] = [];
    for (const name of ['Keyboard', 'Mouse', 'Monitor']) productIds.push((await stack.gateway.post('/products', { name, supply_price: 1000 }, { token })).body.product_id);
    orderId = String((await stack.gateway.post('/order', { name: 'cluster order', product_ids: productIds }, { token })).body.order_id);
    expected = (await stack.gateway.graphql(ORDER_QUERY, { id: orderId }, token)).body;
    expect(expected).toEqual({ data: { order: { id: orderId, name: 'cluster order', products: expect.any(Array) } } });
    // Holds each GraphQL call `holdMs` (0 until the SIGTERM test) before forwarding it to the product subgraph.
    relay = await startRelay(stack.productUrls[0]!, { call: () => holdMs });
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    gateway = await startGatewayProcess('cluster', {
      METRICS_PORT: String(metricsPort),
      GATEWAY_WORKERS: '2',
      // The response cache stays on: with Redis its entries and invalidation tags are shared.
      REDIS_URL: testRedisUrl(),
      CACHE_NAMESPACE: `cluster-${randomBytes(6).toString('hex')}`,
      SUBGRAPH_PRODUCT_URLS: relay.url,
      // Each request its own product call, so the relay counts every request it holds.
      SUBGRAPH_DEDUPLICATION: 'off',
    });
  }, 120_000);

  afterAll(() => relay?.close());

  test('GATEWAY_WORKERS=2: the gateway process forks two workers, both serve, and every answer is right', async () => {
    const workers = await bothWorkersListening();
    const before = workers.map(cpuTicks);
    await expectOrders(300);
    const after = workers.map(cpuTicks);
    expect(after.map((ticks, index) => ticks > before[index]!)).toEqual([true, true]);
    // Each worker's own request log names it.
    expect([...pidsLogging(gateway.output(), 'request completed')].sort()).toEqual([...workers].sort());
  }, 60_000);

  test("METRICS_PORT is the primary's: one scrape sums both workers' series", async () => {
    await bothWorkersListening();
    const graphql = { route: 'graphql', operation: 'Order', status: '200' };
    const before = await scrape(metricsUrl);
    await expectOrders(40);
    const after = await scrape(metricsUrl);
    // One connection a request: the primary spread them over both workers (the test above shows both serve).
    expect(total(after, 'gateway_http_request_duration_seconds_count', graphql) - total(before, 'gateway_http_request_duration_seconds_count', graphql)).toBe(40);
    // Both workers' instance gauges, as the lowest: every instance up.
    expect(total(after, 'gateway_subgraph_instance_up', { subgraph: 'product' })).toBe(1);
    // Each worker serves the one supergraph: the info gauge counts them.
    expect(total(after, 'gateway_supergraph_info')).toBe(2);
  }, 60_000);

  test('a worker killed with SIGKILL is replaced, and requests keep succeeding', async () => {
    const [victim, survivor] = childrenOf(gateway.pid) as [number, number];
    process.kill(victim, 'SIGKILL');
    await waitFor(async () => gateway.output().includes(`worker ${victim} exited with signal SIGKILL`), 'the primary to see the worker die', 10_000);
    await expectOrders(20); // the survivor serves meanwhile
    const workers = await bothWorkersListening();
    const replacement = workers.find((pid) => pid !== survivor)!;
    expect(workers).toContain(survivor);
    expect(replacement).not.toBe(victim);
    const before = cpuTicks(replacement);
    await expectOrders(40);
    expect(cpuTicks(replacement)).toBeGreaterThan(before);
  }, 60_000);

  test('SIGTERM to the primary: the requests in flight complete, then every worker and the primary exit 0', async () => {
    const workers = await bothWorkersListening();
    const exited = new Promise<number | null>((resolve) => gateway.child.once('exit', (code) => resolve(code)));
    holdMs = HOLD_MS;
    relay!.calls.length = 0;
    // Operation names make each request its own (no response cache hit, no shared execution).
    const inFlight = Array.from({ length: IN_FLIGHT }, (_, index) => query(ORDER_QUERY.replace('query Order', `query Order${index}`)));
    await waitFor(async () => relay!.calls.length >= IN_FLIGHT, 'every request to reach the product subgraph', 20_000);
    gateway.child.kill('SIGTERM');

    for (const answer of await Promise.all(inFlight)) expect(answer).toEqual({ status: 200, body: expected });
    expect(await exited).toBe(0);
    for (const pid of workers) expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(pidsLogging(gateway.output(), 'gateway: stopping')).toEqual(new Set(workers));
    expect(gateway.output()).not.toContain('while stopping');
  }, 60_000);
});

test('workers that keep dying right after they start: the primary gives up and exits 1', async () => {
  const { status, output } = await failingWorkers;
  expect(status).toBe(1);
  expect(output).toContain('gateway: 5 workers in a row died before listening or within 10 s of starting: giving up');
  expect(output.match(/gateway: cannot start: ENOENT/g)!.length).toBeGreaterThanOrEqual(5);
}, 60_000);

describe('config', () => {
  test('by default the gateway is one process: no workers', () => {
    expect(childrenOf(single.pid)).toEqual([]);
  });

  test('workers with the response cache on and no REDIS_URL: refused once, by the primary, before any fork', async () => {
    const { status, output } = await runGatewayToExit({ ...apart, GATEWAY_WORKERS: '2' });
    expect(status).toBe(1);
    expect(output).toContain(
      "GATEWAY_WORKERS is 2 with the response cache (RESPONSE_CACHE) on but no REDIS_URL: the response cache's invalidation tags and the rate counters must be shared by the workers, so set REDIS_URL (or turn those off)",
    );
    expect(output.match(/gateway: cannot start/g)).toHaveLength(1);
    expect(output).not.toContain('starting 2 workers');
  }, 30_000);

  test('a bad GATEWAY_WORKERS is refused with the other settings', async () => {
    const { status, output } = await runGatewayToExit({ ...apart, GATEWAY_WORKERS: 'lots' });
    expect(status).toBe(1);
    expect(output).toContain('GATEWAY_WORKERS must be "auto" or a whole number from 1 to 64, got "lots"');
  }, 30_000);
});
