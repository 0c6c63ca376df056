import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { compileBuild } from '../tests/fixtures/build';
import { startProcessStack, type RunningProcess } from '../tests/fixtures/processes';
import { median } from './measure';
import { cpuMs, rssMb } from './proc-stats';

/**
 * What `GATEWAY_WORKERS` is worth on `npm run bench`'s "order with 3 products" GraphQL query,
 * with the response cache and client deduplication off so that every request executes: a
 * gateway of one process against one of a primary and 2 workers, in interleaved rounds, on the
 * compiled build as production runs it. Besides req/s and p99 it gives the CPU of the gateway's
 * whole process tree (primary and workers) per request, from /proc.
 * `BENCH_SECONDS` (5), `BENCH_ROUNDS` (3), `BENCH_CONNECTIONS` (32). Run: `npx tsx bench/cluster.ts`.
 */
const DURATION_SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ORDER_QUERY = 'query Order($id: ID!) { order(id: $id) { id name products { id name supplyPrice } } }';

interface Target {
  name: string;
  gateway: RunningProcess;
}

interface Sample {
  requestsPerSecond: number;
  p99: number;
  cpuMsPerRequest: number;
  /** CPU of the process tree over the run, in cores (1 = one core busy the whole time). */
  cores: number;
  /** CPU over the run of each process of the tree (primary first), in ms: shows the workers share the load. */
  perProcessMs: number[];
  /** Resident memory of the whole tree at the end of the run, in MB: every worker is a whole gateway. */
  rssMb: number;
  errors: number;
}

/** A process and its descendants: a clustered gateway's primary and its workers. */
function processTree(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  return [pid, ...children.flatMap(processTree)];
}

async function measure({ gateway }: Target, body: string, token: string, seconds: number): Promise<Sample> {
  const tree = processTree(gateway.pid);
  const before = tree.map(cpuMs);
  const started = Date.now();
  const result = await autocannon({
    url: `http://127.0.0.1:${gateway.port}/graphql`,
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
    connections: CONNECTIONS,
    duration: seconds,
  });
  const perProcessMs = tree.map((pid, index) => cpuMs(pid) - before[index]!);
  const used = perProcessMs.reduce((sum, ms) => sum + ms, 0);
  return {
    requestsPerSecond: result.requests.average,
    p99: result.latency.p99,
    cpuMsPerRequest: used / Math.max(1, result.requests.total),
    cores: used / (Date.now() - started),
    perProcessMs,
    rssMb: Math.round(tree.reduce((sum, pid) => sum + rssMb(pid), 0)),
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

async function main(): Promise<void> {
  const build = compileBuild('bench-cluster');
  const stack = await startProcessStack({ LOG_LEVEL: 'silent' }, { build: build.dir });
  try {
    const token = await stack.signIn('bench');
    const productIds: number[] = [];
    for (const name of ['Keyboard', 'Mouse', 'Monitor']) productIds.push((await stack.gateway.post('/products', { name, supply_price: 1000 }, { token })).body.product_id);
    const orderId = (await stack.gateway.post('/order', { name: 'benchmark order', product_ids: productIds }, { token })).body.order_id;
    const body = JSON.stringify({ query: ORDER_QUERY, variables: { id: String(orderId) } });
    // Nothing held in memory needs sharing with both off (rate limits are off outside production): no Redis needed.
    const executing = { RESPONSE_CACHE: 'off', CLIENT_DEDUPLICATION: 'off' };
    const targets: Target[] = [
      { name: '1 process', gateway: await stack.startGateway('one-process', { ...executing, GATEWAY_WORKERS: '1' }) },
      { name: '2 workers', gateway: await stack.startGateway('two-workers', { ...executing, GATEWAY_WORKERS: '2' }) },
    ];
    // The port answers once the first worker listens; connections are handed out as they open, so
    // both workers must be up before the first run opens its connections.
    const clustered = targets[1]!.gateway;
    while (processTree(clustered.pid).length < 3) await new Promise((resolve) => setTimeout(resolve, 200));
    await new Promise((resolve) => setTimeout(resolve, 5000));
    for (const target of targets) {
      const check = await fetch(`http://127.0.0.1:${target.gateway.port}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
      const text = await check.text();
      if (!check.ok || text.includes('"errors"')) throw new Error(`${target.name}: ${check.status} ${text.slice(0, 300)}`);
      console.log(`${target.name}: processes ${processTree(target.gateway.pid).join(', ')}`);
      await measure(target, body, token, 2); // warm-up: JIT, connections
    }
    const samples = new Map<Target, Sample[]>(targets.map((target) => [target, []]));
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const target of targets) {
        const sample = await measure(target, body, token, DURATION_SECONDS);
        samples.get(target)!.push(sample);
        console.log(JSON.stringify({ round, target: target.name, ...sample }));
      }
    }
    console.table(
      targets.map((target) => {
        const runs = samples.get(target)!;
        return {
          target: target.name,
          'req/s (median)': Math.round(median(runs.map((run) => run.requestsPerSecond))),
          'p99 ms (median)': median(runs.map((run) => run.p99)),
          'CPU ms/request (median)': Math.round(median(runs.map((run) => run.cpuMsPerRequest)) * 1000) / 1000,
          'cores busy (median)': Math.round(median(runs.map((run) => run.cores)) * 100) / 100,
          'RSS MB (median)': median(runs.map((run) => run.rssMb)),
          errors: runs.reduce((sum, run) => sum + run.errors, 0),
        };
      }),
    );
  } finally {
    await stack.close();
    build.remove();
  }
}

void main();
