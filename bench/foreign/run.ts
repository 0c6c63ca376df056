import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { loadGatewayConfig } from '../../gateway/config';
import { issueAccessToken } from '../../shared/jwt';
import { compileBuild } from '../../tests/fixtures/build';
import { BENCHMARK_BODY } from '../../tests/fixtures/foreign/query';
import { OUR_GATEWAY_SETTINGS } from '../../tests/fixtures/foreign/settings';
import { FOREIGN_SUBGRAPHS, type ForeignSubgraph } from '../../tests/fixtures/foreign/subgraphs';
import { writeForeignSupergraph } from '../../tests/fixtures/foreign/supergraph';
import { freePort, spawnProcess, type RunningProcess } from '../../tests/fixtures/processes';
import { interleave, measure, progressLine, type Sample } from '../measure';
import { aboutMinutes, benchOptions, type BenchOptions } from '../options';
import { onBenchNode } from '../node-runtime';
import { ensureHiveGateway, HIVE_BIN, HIVE_CONFIGS, HIVE_DIR, hiveVersions, spawnNode, stop, type BenchProcess, type HiveConfig } from './processes';
import { foreignResultOf, printForeign, recordForeign, writeChart, type ForeignResult } from './report';
import { FOREIGN_TARGETS, type ForeignTargetSpec } from './targets';

/** A started target: where to send the query, and the answer checked before timing (any other body counts as an error). */
interface Target {
  spec: ForeignTargetSpec;
  process: RunningProcess;
  url: string;
  headers: Record<string, string>;
  expectedBody?: string;
  stop(): Promise<void>;
}

/** One target at one connection count: what each round measures. */
export interface Cell {
  spec: ForeignTargetSpec;
  connections: number;
}

/** Seconds a foreign run takes, roughly: rounds, warm-ups and some 10 s to start each process. */
export function foreignEstimateSeconds(options: BenchOptions): number {
  const targets = FOREIGN_TARGETS.length;
  return targets * (options.foreignConnections.length * options.rounds * options.seconds + options.warmupSeconds + 10);
}

export function describeForeignPlan(options: BenchOptions): string {
  return (
    `foreign supergraph (The Guild's benchmark query): ${FOREIGN_TARGETS.length} targets × ${options.foreignConnections.join(' and ')} connections × ` +
    `${options.rounds} rounds of ${options.seconds} s, ${aboutMinutes(foreignEstimateSeconds(options))}`
  );
}

/** The four subgraphs, in one process of their own on four free ports. */
export async function startSubgraphs(): Promise<{ process: BenchProcess; urls: Record<ForeignSubgraph, string> }> {
  const ports = {} as Record<ForeignSubgraph, number>;
  for (const name of FOREIGN_SUBGRAPHS) ports[name] = await freePort();
  const running = await spawnNode('foreign subgraphs', ['--import', 'tsx', 'tests/fixtures/foreign/subgraphs.ts'], {
    ports: Object.values(ports),
    env: { ...process.env, FOREIGN_SUBGRAPH_PORTS: FOREIGN_SUBGRAPHS.map((name) => `${name}=${ports[name]}`).join(',') },
  });
  const urls = Object.fromEntries(FOREIGN_SUBGRAPHS.map((name) => [name, `http://127.0.0.1:${ports[name]}/graphql`])) as Record<ForeignSubgraph, string>;
  return { process: running, urls };
}

/**
 * Hive Gateway's CLI; only what to serve and where to listen are given, and `config`, one of
 * bench/foreign/hive's configurations (HIVE_CONFIGS), or none for its defaults.
 */
export async function startHive(supergraphFile: string, config?: HiveConfig): Promise<BenchProcess> {
  const port = await freePort();
  const env = { ...process.env };
  // Settings its CLI reads from the environment: none may leak in from the caller's.
  for (const name of ['PORT', 'HOST', 'FORK', 'CONFIG_PATH', 'JIT', 'POLLING', 'NODE_ENV']) delete env[name];
  const configArgs = config ? ['--config-path', HIVE_CONFIGS[config].file, ...HIVE_CONFIGS[config].args] : [];
  // As The Guild's benchmark runs both entries (gateways/hive-gateway*/run.sh).
  if (config) env.NODE_ENV = 'production';
  return spawnNode('Hive Gateway', [HIVE_BIN, 'supergraph', supergraphFile, ...configArgs, '--host', '127.0.0.1', '--port', String(port)], { ports: [port], env, cwd: HIVE_DIR });
}

/** Every target must give the same answer, without errors, before any is timed. */
async function validate(target: Target, reference: Target | undefined): Promise<void> {
  const response = await fetch(target.url, { method: 'POST', headers: target.headers, body: BENCHMARK_BODY });
  const text = await response.text();
  const body = JSON.parse(text) as { data?: unknown; errors?: unknown };
  if (!response.ok || body.errors !== undefined || body.data == null) throw new Error(`foreign / ${target.spec.name}: ${response.status} ${text.slice(0, 300)}`);
  if (reference && reference !== target && !isDeepStrictEqual(body, JSON.parse(reference.expectedBody!))) throw new Error(`foreign: ${target.spec.name} answers differently from ${reference.spec.name}`);
  target.expectedBody = text;
}

/**
 * The foreign-supergraph scenario of `npm run bench` (alone: `npm run bench:foreign`): The Guild's
 * gateways benchmark query on their supergraph, served by every target of FOREIGN_TARGETS side by
 * side over the same subgraph process, measured at each connection count in interleaved rounds.
 * Our gateway and the stock one run compiled, as production does: from `buildDir`
 * (tests/fixtures/build.ts, compiled with bench/stock-gateway.ts and bench/bare-server.ts), or from
 * a build of their own.
 */
export async function runForeignBenchmark(options: BenchOptions, buildDir?: string): Promise<ForeignResult> {
  ensureHiveGateway();
  const ownBuild = buildDir === undefined ? compileBuild('bench-foreign', ['bench/stock-gateway.ts', 'bench/bare-server.ts']) : undefined;
  const compiled = (entry: string) => join(buildDir ?? ownBuild!.dir, entry);
  const dataDir = mkdtempSync(join(tmpdir(), 'foreign-bench-'));
  const targets: Target[] = [];
  let subgraphs: { process: BenchProcess; urls: Record<ForeignSubgraph, string> } | undefined;
  let supergraphFile: string | undefined;
  try {
    subgraphs = await startSubgraphs();
    supergraphFile = writeForeignSupergraph(subgraphs.urls);
    const routing = Object.fromEntries(FOREIGN_SUBGRAPHS.map((name) => [`SUBGRAPH_${name.toUpperCase()}_URLS`, subgraphs!.urls[name]]));
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
    const json = { 'content-type': 'application/json' };
    // Our gateway asks every GraphQL request for a verified token; the others take none.
    const ourHeaders = { ...json, authorization: `Bearer ${issueAccessToken(loadGatewayConfig(ourEnv).jwt.sharedSecret!, 'bench').accessToken}` };
    const answerFile = join(dataDir, 'answer.json');
    const start = async (spec: ForeignTargetSpec): Promise<Target> => {
      if (spec.kind === 'hive') {
        const running = await startHive(supergraphFile!, spec.hive);
        return { spec, process: running, url: `http://127.0.0.1:${running.port}/graphql`, headers: json, stop: running.stop };
      }
      const [entry, env, path] =
        spec.kind === 'ours'
          ? ['gateway/index.js', { ...ourEnv, ...spec.env }, '/graphql']
          : spec.kind === 'stock'
            ? ['bench/stock-gateway.js', { SUPERGRAPH_PATH: supergraphFile!, SUBGRAPH_SECRET: '', ...routing }, '/']
            : ['bench/bare-server.js', { ...spec.env, BODY_FILE: answerFile }, '/'];
      const running = await spawnProcess(spec.name, compiled(entry), env);
      return { spec, process: running, url: `http://127.0.0.1:${running.port}${path}`, headers: spec.kind === 'ours' ? ourHeaders : json, stop: () => stop(running.child) };
    };
    // The bare server answers ours' bytes, so it starts once ours has answered.
    for (const spec of FOREIGN_TARGETS.filter((candidate) => candidate.kind !== 'bare')) {
      const target = await start(spec);
      targets.push(target);
      await validate(target, targets[0]);
    }
    writeFileSync(answerFile, targets[0]!.expectedBody!);
    for (const spec of FOREIGN_TARGETS.filter((candidate) => candidate.kind === 'bare')) {
      const target = await start(spec);
      targets.push(target);
      await validate(target, targets[0]);
    }
    const byKey = new Map(targets.map((target) => [target.spec.key, target]));
    const ordered = FOREIGN_TARGETS.map((spec) => byKey.get(spec.key)!);
    const run = (target: Target, connections: number, seconds: number) =>
      measure(target.process.pid, { url: target.url, method: 'POST', headers: target.headers, body: BENCHMARK_BODY, connections, duration: seconds, expectBody: target.expectedBody });
    console.log(`foreign: every target answered the same ${Buffer.byteLength(targets[0]!.expectedBody!)} bytes; warming up`);
    for (const target of ordered) await run(target, options.foreignConnections[0]!, options.warmupSeconds); // JIT, plan caches, connections
    const cells: Cell[] = options.foreignConnections.flatMap((connections) => ordered.map((target) => ({ spec: target.spec, connections })));
    const samples: Map<Cell, Sample[]> = await interleave(cells, options.rounds, async (cell, round) => {
      const sample = await run(byKey.get(cell.spec.key)!, cell.connections, options.seconds);
      console.log(progressLine(`foreign, ${cell.connections} conn, ${cell.spec.name}`, round, options.rounds, sample));
      return sample;
    });
    return foreignResultOf(options, samples, Buffer.byteLength(targets[0]!.expectedBody!), hiveVersions());
  } finally {
    await Promise.all(targets.map((target) => target.stop()));
    await subgraphs?.process.stop();
    rmSync(dataDir, { recursive: true, force: true });
    if (supergraphFile) rmSync(dirname(supergraphFile), { recursive: true, force: true });
    ownBuild?.remove();
  }
}

if (require.main === module && onBenchNode()) {
  const options = benchOptions(process.argv.slice(2), { warmupSeconds: 3 });
  console.log(`Plan: ${describeForeignPlan(options)}\n`);
  runForeignBenchmark(options)
    .then((result) => {
      printForeign(result);
      recordForeign(result);
      writeChart(result);
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
