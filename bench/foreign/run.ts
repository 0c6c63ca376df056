import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { loadGatewayConfig } from '../../gateway/config';
import { issueAccessToken } from '../../shared/jwt';
import { compileBuild } from '../../tests/fixtures/build';
import { freePort, spawnProcess, type RunningProcess } from '../../tests/fixtures/processes';
import { interleave, measure, summarize, type Sample, type Summary } from '../measure';
import { ensureHiveGateway, HIVE_BIN, HIVE_CONFIGS, HIVE_DIR, spawnNode, stop, type BenchProcess, type HiveConfig } from './processes';
import { BENCHMARK_BODY } from './query';
import { OUR_GATEWAY_SETTINGS } from './settings';
import { FOREIGN_SUBGRAPHS, type ForeignSubgraph } from './subgraphs';
import { writeForeignSupergraph } from './supergraph';

/** Seconds per measured round, rounds, autocannon connections, and seconds of warm-up per gateway. */
export interface ForeignOptions {
  seconds: number;
  rounds: number;
  connections: number;
  warmupSeconds: number;
}

interface Target {
  name: string;
  process: RunningProcess;
  url: string;
  headers: Record<string, string>;
  /** The answer checked before timing; any other body counts as an error. */
  expectedBody?: string;
}

/** One gateway's rounds (`Summary`: medians, errors summed, highest RSS; CPU is the gateway process's, per request). */
export interface ForeignRow extends Summary {
  target: string;
}

export interface ForeignResult {
  date: string;
  node: string;
  hiveGatewayVersion: string;
  rounds: number;
  seconds: number;
  connections: number;
  responseBytes: number;
  ourSettings: Record<string, string>;
  results: ForeignRow[];
  ratios: Record<string, string>;
}

const OURS = 'our gateway';
const OURS_OWN_EXECUTIONS = 'our gateway (client deduplication off)';
const OURS_PLAIN = 'our gateway (deduplication off)';
const HIVE = 'Hive Gateway';
const STOCK = 'stock Apollo Gateway';

function measureTarget(target: Target, seconds: number, connections: number): Promise<Sample> {
  const { url, headers, expectedBody } = target;
  // Counted as errors: an answer with `errors`, or anything else than the validated body.
  return measure(target.process.pid, { url, method: 'POST', headers, body: BENCHMARK_BODY, connections, duration: seconds, expectBody: expectedBody });
}

/** Every gateway must give the same answer, without errors, before any is timed. */
async function validate(targets: Target[]): Promise<number> {
  let reference: { name: string; data: unknown } | undefined;
  for (const target of targets) {
    const response = await fetch(target.url, { method: 'POST', headers: target.headers, body: BENCHMARK_BODY });
    const text = await response.text();
    const body = JSON.parse(text) as { data?: unknown; errors?: unknown };
    if (!response.ok || body.errors !== undefined || body.data == null) throw new Error(`foreign / ${target.name}: ${response.status} ${text.slice(0, 300)}`);
    if (reference && !isDeepStrictEqual(body, { data: reference.data })) throw new Error(`foreign: ${target.name} answers differently from ${reference.name}`);
    reference ??= { name: target.name, data: body.data };
    target.expectedBody = text;
  }
  return Buffer.byteLength(targets[0]!.expectedBody!);
}

const percent = (part: number, whole: number) => `${Math.round((100 * part) / whole)} %`;

function summarizeAll(targets: Target[], samples: Map<Target, Sample[]>): ForeignRow[] {
  return targets.map((target) => ({ target: target.name, ...summarize(samples.get(target)!) }));
}

function ratiosOf(rows: ForeignRow[]): Record<string, string> {
  const row = (name: string) => rows.find((candidate) => candidate.target === name)!;
  return {
    'our gateway / Hive Gateway, req/s': percent(row(OURS).requestsPerSecond, row(HIVE).requestsPerSecond),
    'our gateway / Hive Gateway, CPU per request (lower is better)': percent(row(OURS).cpuMsPerRequest, row(HIVE).cpuMsPerRequest),
    // Hive Gateway merges identical subgraph calls by default, not client requests: this row is like for like.
    'our gateway without client deduplication / Hive Gateway, req/s': percent(row(OURS_OWN_EXECUTIONS).requestsPerSecond, row(HIVE).requestsPerSecond),
    'our gateway without client deduplication / Hive Gateway, CPU per request (lower is better)': percent(row(OURS_OWN_EXECUTIONS).cpuMsPerRequest, row(HIVE).cpuMsPerRequest),
    'our gateway without deduplication / Hive Gateway, req/s': percent(row(OURS_PLAIN).requestsPerSecond, row(HIVE).requestsPerSecond),
    'our gateway / stock Apollo Gateway, req/s': percent(row(OURS).requestsPerSecond, row(STOCK).requestsPerSecond),
    'our gateway / stock Apollo Gateway, CPU per request (lower is better)': percent(row(OURS).cpuMsPerRequest, row(STOCK).cpuMsPerRequest),
  };
}

/** The four subgraphs in one process of their own, on four free ports. */
export async function startSubgraphs(): Promise<{ process: BenchProcess; urls: Record<ForeignSubgraph, string> }> {
  const ports = {} as Record<ForeignSubgraph, number>;
  for (const name of FOREIGN_SUBGRAPHS) ports[name] = await freePort();
  const running = await spawnNode('foreign subgraphs', ['--import', 'tsx', 'bench/foreign/subgraphs.ts'], {
    ports: Object.values(ports),
    env: { ...process.env, FOREIGN_SUBGRAPH_PORTS: FOREIGN_SUBGRAPHS.map((name) => `${name}=${ports[name]}`).join(',') },
  });
  const urls = Object.fromEntries(FOREIGN_SUBGRAPHS.map((name) => [name, `http://127.0.0.1:${ports[name]}/graphql`])) as Record<ForeignSubgraph, string>;
  return { process: running, urls };
}

/**
 * Hive Gateway's CLI; only what to serve and where to listen are given, and `config`, one of
 * bench/foreign/hive's config files (HIVE_CONFIGS), or none for its defaults.
 */
export async function startHive(supergraphFile: string, config?: HiveConfig): Promise<BenchProcess> {
  const port = await freePort();
  const env = { ...process.env };
  // Settings its CLI reads from the environment: none may leak in from the caller's.
  for (const name of ['PORT', 'HOST', 'FORK', 'CONFIG_PATH', 'JIT', 'POLLING', 'NODE_ENV']) delete env[name];
  const configArgs = config ? ['--config-path', HIVE_CONFIGS[config]] : [];
  // As The Guild's benchmark runs it (gateways/hive-gateway-router-runtime/run.sh).
  if (config) env.NODE_ENV = 'production';
  return spawnNode('Hive Gateway', [HIVE_BIN, 'supergraph', supergraphFile, ...configArgs, '--host', '127.0.0.1', '--port', String(port)], { ports: [port], env, cwd: HIVE_DIR });
}

/**
 * The foreign-supergraph scenario of `npm run bench` (alone: `npm run bench:foreign`): The Guild's
 * gateways benchmark query on their supergraph, served by our gateway, Hive Gateway and the stock
 * Apollo Gateway side by side in the same run, over the same subgraph process. Our gateway and the
 * stock one run compiled, as production does: from `buildDir` (tests/fixtures/build.ts, compiled
 * with bench/stock-gateway.ts), or from a build of their own.
 */
export async function runForeignBenchmark(options: ForeignOptions, buildDir?: string): Promise<ForeignResult> {
  const hiveGatewayVersion = ensureHiveGateway();
  const ownBuild = buildDir === undefined ? compileBuild('bench-foreign', ['bench/stock-gateway.ts']) : undefined;
  const compiled = (entry: string) => join(buildDir ?? ownBuild!.dir, entry.replace(/\.ts$/, '.js'));
  const dataDir = mkdtempSync(join(tmpdir(), 'foreign-bench-'));
  const children: { stop(): Promise<void> }[] = [];
  let supergraphFile: string | undefined;
  try {
    const subgraphs = await startSubgraphs();
    children.push(subgraphs.process);
    supergraphFile = writeForeignSupergraph(subgraphs.urls);
    const routing = Object.fromEntries(FOREIGN_SUBGRAPHS.map((name) => [`SUBGRAPH_${name.toUpperCase()}_URLS`, subgraphs.urls[name]]));
    const jwtSecret = randomBytes(32).toString('hex');
    const ourEnv = {
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      DATA_DIR: dataDir,
      JWT_SECRET: jwtSecret,
      SUBGRAPH_SECRET: randomBytes(32).toString('hex'),
      SUPERGRAPH_PATH: supergraphFile,
      ...routing,
      ...OUR_GATEWAY_SETTINGS,
    };
    const start = async (name: string, entry: string, env: Record<string, string>) => {
      const running = await spawnProcess(name, entry, env);
      children.push({ stop: () => stop(running.child) });
      return running;
    };
    const ours = await start(OURS, compiled('gateway/index.ts'), ourEnv);
    const ownExecutions = await start(OURS_OWN_EXECUTIONS, compiled('gateway/index.ts'), { ...ourEnv, CLIENT_DEDUPLICATION: 'off' });
    const plain = await start(OURS_PLAIN, compiled('gateway/index.ts'), { ...ourEnv, CLIENT_DEDUPLICATION: 'off', SUBGRAPH_DEDUPLICATION: 'off' });
    const stock = await start(STOCK, compiled('bench/stock-gateway.ts'), { SUPERGRAPH_PATH: supergraphFile, SUBGRAPH_SECRET: '', ...routing });
    const hive = await startHive(supergraphFile);
    children.push(hive);

    const json = { 'content-type': 'application/json' };
    // Our gateway asks every GraphQL request for a verified token; the others take none.
    const token = issueAccessToken(loadGatewayConfig(ourEnv).jwt.sharedSecret!, 'bench');
    const ourHeaders = { ...json, authorization: `Bearer ${token.accessToken}` };
    const at = (running: RunningProcess, path: string) => `http://127.0.0.1:${running.port}${path}`;
    const targets: Target[] = [
      { name: OURS, process: ours, url: at(ours, '/graphql'), headers: ourHeaders },
      { name: OURS_OWN_EXECUTIONS, process: ownExecutions, url: at(ownExecutions, '/graphql'), headers: ourHeaders },
      { name: OURS_PLAIN, process: plain, url: at(plain, '/graphql'), headers: ourHeaders },
      { name: HIVE, process: hive, url: at(hive, '/graphql'), headers: json },
      { name: STOCK, process: stock, url: at(stock, '/'), headers: json },
    ];
    const responseBytes = await validate(targets);
    for (const target of targets) await measureTarget(target, options.warmupSeconds, options.connections); // JIT, plan caches, connections
    const samples = await interleave(targets, options.rounds, (target) => measureTarget(target, options.seconds, options.connections));
    const results = summarizeAll(targets, samples);
    return {
      date: new Date().toISOString(),
      node: process.version,
      hiveGatewayVersion,
      rounds: options.rounds,
      seconds: options.seconds,
      connections: options.connections,
      responseBytes,
      ourSettings: OUR_GATEWAY_SETTINGS,
      results,
      ratios: ratiosOf(results),
    };
  } finally {
    await Promise.all(children.map((child) => child.stop()));
    rmSync(dataDir, { recursive: true, force: true });
    if (supergraphFile) rmSync(dirname(supergraphFile), { recursive: true, force: true });
    ownBuild?.remove();
  }
}

export function printForeign(result: ForeignResult): void {
  console.log(
    `\nForeign supergraph: The Guild's benchmark query (${result.responseBytes} bytes an answer), Hive Gateway ${result.hiveGatewayVersion}, ` +
      `${result.rounds} interleaved rounds of ${result.seconds} s, ${result.connections} connections, ${result.node}\n`,
  );
  console.log('| target | req/s (median) | p50 ms | p99 ms | errors | RSS MB | CPU ms / request |');
  console.log('|---|---|---|---|---|---|---|');
  for (const row of result.results) {
    console.log(`| ${row.target} | ${row.requestsPerSecond} | ${row.p50Ms} | ${row.p99Ms} | ${row.errors} | ${row.rssMb} | ${row.cpuMsPerRequest} |`);
  }
  console.log('\n| ratio | value |\n|---|---|');
  for (const [name, value] of Object.entries(result.ratios)) console.log(`| ${name} | ${value} |`);
}

const RESULTS_FILE = join(__dirname, '..', 'results.json');

/** Puts the scenario's results under `foreign` in bench/results.json, beside the other scenarios'. */
export function recordForeign(result: ForeignResult): void {
  const previous = existsSync(RESULTS_FILE) ? (JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as Record<string, unknown>) : {};
  writeFileSync(RESULTS_FILE, `${JSON.stringify({ ...previous, foreign: result }, null, 2)}\n`);
}

export function foreignOptionsFromEnv(): ForeignOptions {
  return {
    seconds: Number(process.env.BENCH_SECONDS ?? 8),
    rounds: Number(process.env.BENCH_ROUNDS ?? 3),
    connections: Number(process.env.BENCH_CONNECTIONS ?? 32),
    warmupSeconds: Number(process.env.BENCH_WARMUP_SECONDS ?? 3),
  };
}

if (require.main === module) {
  runForeignBenchmark(foreignOptionsFromEnv())
    .then((result) => {
      printForeign(result);
      recordForeign(result);
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
