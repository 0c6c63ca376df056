import { execFileSync } from 'node:child_process';
import { startProcessStack } from '../tests/fixtures/processes';
import type { HttpClient, HttpResponse } from '../tests/fixtures/http';

/**
 * `npm run soak`: a bounded load test on loopback. Starts the five processes (SQLite, in-memory
 * caches, each its own Node process on a free port), then sends a steady, open-loop stream of mixed
 * reads and writes through the gateway for SOAK_SECONDS, and reports errors, latency percentiles
 * and the gateway's resident memory at start and end. Exits 1 on any error. Not part of `npm test`.
 */
const SECONDS = Number(process.env.SOAK_SECONDS ?? 120);
/** Requests started per second, whatever the answers' speed (open loop: a slow server cannot slow the load down). */
const RATE = Number(process.env.SOAK_RATE ?? 100);
const WARMUP_SECONDS = 5;
const TICK_MS = 10;

type Operation = (gateway: HttpClient, token: string) => Promise<HttpResponse>;

const products: number[] = [];
const orders: number[] = [];
const pick = (ids: number[]) => ids[Math.floor(Math.random() * ids.length)]!;

/** The mix, by weight: mostly reads (REST and GraphQL), a fifth writes. */
const MIX: [number, string, Operation][] = [
  [40, 'GET /products', (gateway, token) => gateway.get('/products?limit=20', { token })],
  [15, 'GET /products/{id}', (gateway, token) => gateway.get(`/products/${pick(products)}`, { token })],
  [15, 'GET /order/{id}', (gateway, token) => gateway.get(`/order/${pick(orders)}`, { token })],
  [10, 'GraphQL order query', (gateway, token) => gateway.graphql('query($id: ID!) { order(id: $id) { id name products { name supplyPrice } } }', { id: String(pick(orders)) }, token)],
  [8, 'POST /products', async (gateway, token) => remember(products, await gateway.post('/products', { name: `soak-${Date.now()}`, supply_price: 100 }, { token }), 'product_id')],
  [6, 'POST /order', async (gateway, token) => remember(orders, await gateway.post('/order', { name: 'soak', product_ids: [pick(products), pick(products)] }, { token }), 'order_id')],
  [6, 'PUT /order/{id}', (gateway, token) => gateway.put(`/order/${pick(orders)}`, { product_id: pick(products) }, { token })],
];

function remember(ids: number[], response: HttpResponse, field: string): HttpResponse {
  if (response.status === 200) ids.push(response.body[field] as number);
  return response;
}

function chooseOperation(): [string, Operation] {
  let roll = Math.random() * MIX.reduce((sum, [weight]) => sum + weight, 0);
  for (const [weight, name, operation] of MIX) {
    roll -= weight;
    if (roll < 0) return [name, operation];
  }
  return [MIX[0]![1], MIX[0]![2]];
}

function rssMegabytes(pid: number): number {
  return Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim()) / 1024;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;

/** Runs the mix at RATE per second for `seconds`; resolves when every request started has answered. */
async function run(gateway: HttpClient, token: string, seconds: number) {
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const pending = new Set<Promise<void>>();
  const send = () => {
    const [name, operation] = chooseOperation();
    const started = performance.now();
    const done = operation(gateway, token).then(
      (response) => {
        latencies.push(performance.now() - started);
        const graphqlErrors = (response.body as { errors?: unknown } | undefined)?.errors;
        if (response.status >= 300 || graphqlErrors) {
          const kind = `${name} ${response.status} ${JSON.stringify(graphqlErrors ?? (response.body as { error?: unknown }).error ?? '').slice(0, 120)}`;
          errors[kind] = (errors[kind] ?? 0) + 1;
        }
      },
      (error: Error) => {
        errors[`${name} ${error.message}`] = (errors[`${name} ${error.message}`] ?? 0) + 1;
      },
    );
    pending.add(done);
    void done.then(() => pending.delete(done));
  };
  const begin = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = (performance.now() - begin) / 1000;
      const due = Math.floor(Math.min(elapsed, seconds) * RATE);
      for (; sent < due; sent += 1) send();
      if (elapsed >= seconds) {
        clearInterval(timer);
        resolve();
      }
    }, TICK_MS);
  });
  await Promise.all(pending);
  return { sent, latencies: latencies.sort((a, b) => a - b), errors };
}

async function main(): Promise<void> {
  const stack = await startProcessStack({ LOG_LEVEL: 'warn' });
  try {
    const gatewayPid = stack.processes.gateway!.pid;
    const token = await stack.signIn('soak');
    for (let index = 0; index < 20; index += 1) remember(products, await stack.gateway.post('/products', { name: `seed-${index}`, supply_price: index }, { token }), 'product_id');
    for (let index = 0; index < 10; index += 1) remember(orders, await stack.gateway.post('/order', { name: 'seed', product_ids: [pick(products)] }, { token }), 'order_id');
    await run(stack.gateway, token, WARMUP_SECONDS);
    const rssStart = rssMegabytes(gatewayPid);
    console.error(`soak: ${SECONDS} s at ${RATE} requests/s; gateway RSS after warm-up ${rssStart.toFixed(1)} MB`);
    const result = await run(stack.gateway, token, SECONDS);
    const rssEnd = rssMegabytes(gatewayPid);
    const errorCount = Object.values(result.errors).reduce((sum, count) => sum + count, 0);
    const report = {
      seconds: SECONDS,
      rate: RATE,
      requests: result.sent,
      errors: errorCount,
      errorsByKind: result.errors,
      latencyMs: { p50: round(percentile(result.latencies, 50)), p99: round(percentile(result.latencies, 99)), max: round(result.latencies.at(-1) ?? 0) },
      gatewayRssMb: { start: round(rssStart), end: round(rssEnd) },
      node: process.version,
    };
    console.log(JSON.stringify(report, null, 2));
    process.exitCode = errorCount === 0 ? 0 : 1;
  } finally {
    await stack.close();
  }
}

const round = (value: number) => Math.round(value * 10) / 10;

void main();
