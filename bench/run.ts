import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';

/** Seconds each measured run lasts; each target runs ROUNDS times, interleaved (A B C A B C). */
const DURATION_SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 32;

interface Target {
  name: string;
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

interface Sample {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

function startTarget(args: string[]): Promise<{ child: ChildProcess; info: Record<string, any> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'targets.ts'), ...args], {
    env: { ...process.env, LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve({ child, info: JSON.parse(line) }));
    child.once('exit', (code) => reject(new Error(`benchmark target ${args.join(' ')} exited with ${code}`)));
  });
}

async function measure(target: Target, seconds: number): Promise<Sample> {
  const result = await autocannon({
    url: target.url,
    method: target.method ?? 'GET',
    headers: target.headers,
    body: target.body,
    connections: CONNECTIONS,
    duration: seconds,
  });
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const stack = await startTarget(['stack']);
  const { url, token, orderId } = stack.info as { url: string; token: string; orderId: number };
  const auth = { authorization: `Bearer ${token}` };
  const restUrl = `${url}/order/${orderId}`;
  const sample = await fetch(restUrl, { headers: auth });
  const size = (await sample.arrayBuffer()).byteLength;
  const bare = await startTarget(['bare', String(size)]);
  const targets: Target[] = [
    { name: 'bare Node http, fixed JSON body', url: bare.info.url },
    { name: 'cached GET /order/{id} (REST)', url: restUrl, headers: auth },
    {
      name: 'cached GraphQL order query',
      url: `${url}/graphql`,
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query Order($id: ID!) { order(id: $id) { id name productIds } }', variables: { id: String(orderId) } }),
    },
  ];
  try {
    for (const target of targets) await measure(target, 2); // warm-up: JIT, caches, connections
    const samples = new Map<string, Sample[]>(targets.map((target) => [target.name, []]));
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const target of targets) samples.get(target.name)!.push(await measure(target, DURATION_SECONDS));
    }
    report(targets, samples, size);
  } finally {
    stack.child.kill('SIGKILL');
    bare.child.kill('SIGKILL');
  }
}

function report(targets: Target[], samples: Map<string, Sample[]>, size: number): void {
  const rows = targets.map((target) => {
    const runs = samples.get(target.name)!;
    return {
      target: target.name,
      requestsPerSecond: Math.round(median(runs.map((run) => run.requestsPerSecond))),
      p50Ms: median(runs.map((run) => run.p50)),
      p99Ms: median(runs.map((run) => run.p99)),
      errors: runs.reduce((sum, run) => sum + run.errors, 0),
    };
  });
  const ceiling = rows[0]!.requestsPerSecond;
  const withRatio = rows.map((row) => ({ ...row, ofBare: Math.round((100 * row.requestsPerSecond) / ceiling) }));
  console.log(`\n${ROUNDS} interleaved rounds of ${DURATION_SECONDS} s, ${CONNECTIONS} connections, ${size}-byte bodies, ${process.version}\n`);
  console.log('| target | req/s (median) | p50 ms | p99 ms | errors | % of bare |');
  console.log('|---|---|---|---|---|---|');
  for (const row of withRatio) console.log(`| ${row.target} | ${row.requestsPerSecond} | ${row.p50Ms} | ${row.p99Ms} | ${row.errors} | ${row.ofBare} % |`);
  writeFileSync(
    join(__dirname, 'results.json'),
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, rounds: ROUNDS, seconds: DURATION_SECONDS, connections: CONNECTIONS, bodyBytes: size, results: withRatio }, null, 2)}\n`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
