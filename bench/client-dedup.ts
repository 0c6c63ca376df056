import autocannon from 'autocannon';
import { startProcessStack, type RunningProcess } from '../tests/fixtures/processes';
import { cpuMs } from './proc-stats';

/**
 * What client deduplication (`CLIENT_DEDUPLICATION`) is worth on `npm run bench`'s "order with 3
 * products" GraphQL query, response cache off: gateways with it on and off (and both again
 * without subgraph deduplication), measured in interleaved rounds. Besides req/s and p99 it gives
 * the gateway's CPU per request from /proc, which the shared machine's noise moves less.
 * `BENCH_SECONDS` (5), `BENCH_ROUNDS` (3), `BENCH_CONNECTIONS` (32).
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
  errors: number;
}

async function measure({ gateway }: Target, body: string, token: string, seconds: number): Promise<Sample> {
  const before = cpuMs(gateway.pid);
  const result = await autocannon({
    url: `http://127.0.0.1:${gateway.port}/graphql`,
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
    connections: CONNECTIONS,
    duration: seconds,
  });
  const used = cpuMs(gateway.pid) - before;
  return {
    requestsPerSecond: result.requests.average,
    p99: result.latency.p99,
    cpuMsPerRequest: used / Math.max(1, result.requests.total),
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const stack = await startProcessStack({ LOG_LEVEL: 'silent' });
  try {
    const token = await stack.signIn('bench');
    const productIds: number[] = [];
    for (const name of ['Keyboard', 'Mouse', 'Monitor']) productIds.push((await stack.gateway.post('/products', { name, supply_price: 1000 }, { token })).body.product_id);
    const orderId = (await stack.gateway.post('/order', { name: 'benchmark order', product_ids: productIds }, { token })).body.order_id;
    const body = JSON.stringify({ query: ORDER_QUERY, variables: { id: String(orderId) } });
    const targets: Target[] = [
      { name: 'client dedup on', gateway: await stack.startGateway('dedup-on', { RESPONSE_CACHE: 'off', CLIENT_DEDUPLICATION: 'on' }) },
      { name: 'client dedup off', gateway: await stack.startGateway('dedup-off', { RESPONSE_CACHE: 'off', CLIENT_DEDUPLICATION: 'off' }) },
      { name: 'client dedup on, subgraph dedup off', gateway: await stack.startGateway('dedup-client-only', { RESPONSE_CACHE: 'off', CLIENT_DEDUPLICATION: 'on', SUBGRAPH_DEDUPLICATION: 'off' }) },
      { name: 'client dedup off, subgraph dedup off', gateway: await stack.startGateway('dedup-none', { RESPONSE_CACHE: 'off', CLIENT_DEDUPLICATION: 'off', SUBGRAPH_DEDUPLICATION: 'off' }) },
    ];
    for (const target of targets) {
      const check = await fetch(`http://127.0.0.1:${target.gateway.port}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
      const text = await check.text();
      if (!check.ok || text.includes('"errors"')) throw new Error(`${target.name}: ${check.status} ${text.slice(0, 300)}`);
      await measure(target, body, token, 2); // warm-up
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
          errors: runs.reduce((sum, run) => sum + run.errors, 0),
        };
      }),
    );
  } finally {
    await stack.close();
  }
}

void main();
