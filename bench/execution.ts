import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { loadGatewayConfig } from '../gateway/config';
import { issueAccessToken } from '../shared/jwt';
import { compileBuild } from '../tests/fixtures/build';
import { spawnProcess, type RunningProcess } from '../tests/fixtures/processes';
import { ensureHiveGateway, stop, type HiveConfig } from './foreign/processes';
import { BENCHMARK_BODY } from '../tests/fixtures/foreign/query';
import { OUR_GATEWAY_SETTINGS } from '../tests/fixtures/foreign/settings';
import { FOREIGN_SUBGRAPHS } from '../tests/fixtures/foreign/subgraphs';
import { writeForeignSupergraph } from '../tests/fixtures/foreign/supergraph';
import { startHive, startSubgraphs } from './foreign/run';
import { interleave, measure, progressLine, runHeader, summarize } from './measure';
import { onBenchNode } from './node-runtime';

/**
 * The execution comparison: The Guild's benchmark query through our gateway without client
 * deduplication on our executor and on Apollo's (`QUERY_PLAN_EXECUTOR`), beside stock Apollo Gateway
 * and Hive Gateway (stock, and on Hive Router's runtime), side by side in one run, interleaved.
 * `npx tsx bench/execution.ts [--node=20]`; the Node it runs on (bench/node-runtime.ts: Node 24 by
 * default) runs every gateway. Settings:
 * `EXECUTION_TARGETS` (comma-separated keys of TARGETS, @default all), `BENCH_SECONDS` (8),
 * `BENCH_ROUNDS` (3), `BENCH_CONNECTIONS` (50), `PROFILE` (a target key: that gateway writes a
 * `--cpu-prof` profile into `PROFILE_DIR`, @default the OS temp dir, when it stops; Node ≥ 22, as
 * Node 20 refuses `--cpu-prof` in NODE_OPTIONS: there, `PROFILE_NODE_OPTIONS` replaces it, e.g. a
 * `--require` of a script that runs node:inspector's profiler).
 */
interface TargetSpec {
  name: string;
  kind: 'ours' | 'stock' | 'hive' | 'bare';
  env?: Record<string, string>;
  hiveConfig?: HiveConfig;
}

const TARGETS: Record<string, TargetSpec> = {
  ours: { name: 'ours, client dedup off, our executor', kind: 'ours', env: { CLIENT_DEDUPLICATION: 'off', QUERY_PLAN_EXECUTOR: 'own' } },
  'ours-apollo': { name: "ours, client dedup off, Apollo's executor", kind: 'ours', env: { CLIENT_DEDUPLICATION: 'off', QUERY_PLAN_EXECUTOR: 'apollo' } },
  'ours-plain': { name: 'ours, no dedup, our executor', kind: 'ours', env: { CLIENT_DEDUPLICATION: 'off', SUBGRAPH_DEDUPLICATION: 'off', QUERY_PLAN_EXECUTOR: 'own' } },
  'ours-dedup': { name: 'ours, defaults (client dedup on)', kind: 'ours', env: {} },
  stock: { name: 'stock Apollo Gateway', kind: 'stock' },
  'hive-rr': { name: 'Hive + router runtime, no inbound dedup', kind: 'hive', hiveConfig: 'router-runtime' },
  'hive-rr-dedup': { name: 'Hive + router runtime, inbound dedup', kind: 'hive', hiveConfig: 'router-runtime-inbound-dedup' },
  hive: { name: 'Hive Gateway, defaults', kind: 'hive' },
  // The same answer's bytes from a server that does nothing else: the cost of writing them.
  'bare-string': { name: 'bare Node http, the same answer, as a string', kind: 'bare', env: { BODY_AS: 'string' } },
  'bare-buffer': { name: 'bare Node http, the same answer, as one Buffer', kind: 'bare', env: { BODY_AS: 'buffer' } },
};

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const PROFILE = process.env.PROFILE;

interface Target {
  key: string;
  spec: TargetSpec;
  process: RunningProcess;
  url: string;
  headers: Record<string, string>;
  expectedBody?: string;
  stop(): Promise<void>;
}

async function main(): Promise<void> {
  const keys = (process.env.EXECUTION_TARGETS ?? Object.keys(TARGETS).join(',')).split(',').filter(Boolean);
  for (const key of keys) if (!TARGETS[key]) throw new Error(`EXECUTION_TARGETS: unknown target ${key} (known: ${Object.keys(TARGETS).join(', ')})`);
  if (keys.some((key) => TARGETS[key]!.kind === 'hive')) ensureHiveGateway();
  const build = compileBuild('bench-execution', ['bench/stock-gateway.ts', 'bench/bare-server.ts']);
  const dataDir = mkdtempSync(join(tmpdir(), 'execution-bench-'));
  const targets: Target[] = [];
  const subgraphs = await startSubgraphs();
  const supergraphFile = writeForeignSupergraph(subgraphs.urls);
  try {
    const routing = Object.fromEntries(FOREIGN_SUBGRAPHS.map((name) => [`SUBGRAPH_${name.toUpperCase()}_URLS`, subgraphs.urls[name]]));
    const ourEnv = {
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      DATA_DIR: dataDir,
      JWT_SECRET: randomBytes(32).toString('hex'),
      SUBGRAPH_SECRET: randomBytes(32).toString('hex'),
      SUPERGRAPH_PATH: supergraphFile,
      ...routing,
      ...OUR_GATEWAY_SETTINGS,
    };
    const token = issueAccessToken(loadGatewayConfig(ourEnv).jwt.sharedSecret!, 'bench').accessToken;
    const json = { 'content-type': 'application/json' };
    // The first gateway's answer, for the bare servers to answer byte for byte.
    const answerFile = join(dataDir, 'answer.json');
    const start = async (key: string) => {
      const spec = TARGETS[key]!;
      const profile: Record<string, string> = PROFILE === key ? { NODE_OPTIONS: process.env.PROFILE_NODE_OPTIONS ?? `--cpu-prof --cpu-prof-dir=${process.env.PROFILE_DIR ?? tmpdir()}` } : {};
      if (spec.kind === 'hive') {
        const running = await startHive(supergraphFile, spec.hiveConfig);
        targets.push({ key, spec, process: running, url: `http://127.0.0.1:${running.port}/graphql`, headers: json, stop: running.stop });
        return;
      }
      if (spec.kind === 'bare') {
        const running = await spawnProcess(spec.name, join(build.dir, 'bench/bare-server.js'), { ...spec.env!, BODY_FILE: answerFile });
        targets.push({ key, spec, process: running, url: `http://127.0.0.1:${running.port}/`, headers: json, stop: () => stop(running.child) });
        return;
      }
      const entry = join(build.dir, spec.kind === 'ours' ? 'gateway/index.js' : 'bench/stock-gateway.js');
      const env = spec.kind === 'ours' ? { ...ourEnv, ...spec.env, ...profile } : { SUPERGRAPH_PATH: supergraphFile, SUBGRAPH_SECRET: '', ...routing, ...profile };
      const running = await spawnProcess(spec.name, entry, env);
      const path = spec.kind === 'ours' ? '/graphql' : '/';
      const headers = spec.kind === 'ours' ? { ...json, authorization: `Bearer ${token}` } : json;
      targets.push({ key, spec, process: running, url: `http://127.0.0.1:${running.port}${path}`, headers, stop: () => stop(running.child) });
    };
    for (const key of keys) if (TARGETS[key]!.kind !== 'bare') await start(key);
    let reference: unknown;
    const validate = async (target: Target) => {
      const response = await fetch(target.url, { method: 'POST', headers: target.headers, body: BENCHMARK_BODY });
      const text = await response.text();
      const body = JSON.parse(text) as unknown;
      if (!response.ok || (reference !== undefined && !isDeepStrictEqual(body, reference))) throw new Error(`${target.spec.name} answers differently: ${text.slice(0, 300)}`);
      reference ??= body;
      target.expectedBody = text;
    };
    for (const target of targets) await validate(target);
    writeFileSync(answerFile, targets[0]?.expectedBody ?? '');
    for (const key of keys) {
      if (TARGETS[key]!.kind !== 'bare') continue;
      await start(key);
      await validate(targets.at(-1)!);
    }
    const run = (target: Target, seconds: number) =>
      measure(target.process.pid, { url: target.url, method: 'POST', headers: target.headers, body: BENCHMARK_BODY, connections: CONNECTIONS, duration: seconds, expectBody: target.expectedBody });
    for (const target of targets) await run(target, 3);
    const samples = await interleave(targets, ROUNDS, async (target, round) => {
      const sample = await run(target, SECONDS);
      console.log(progressLine(target.spec.name, round, ROUNDS, sample));
      return sample;
    });
    console.log(`\n${ROUNDS} interleaved rounds of ${SECONDS} s, ${CONNECTIONS} connections; ${runHeader()}\n`);
    console.log('| target | req/s (median) | p50 ms | p99 ms | errors | RSS MB | CPU ms / request |\n|---|---|---|---|---|---|---|');
    for (const target of targets) {
      const row = summarize(samples.get(target)!);
      console.log(`| ${target.spec.name} | ${row.requestsPerSecond} | ${row.p50Ms} | ${row.p99Ms} | ${row.errors} | ${row.rssMb} | ${row.cpuMsPerRequest} |`);
    }
  } finally {
    await Promise.all(targets.map((target) => target.stop()));
    await subgraphs.process.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(dirname(supergraphFile), { recursive: true, force: true });
    build.remove();
  }
}

if (onBenchNode()) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
