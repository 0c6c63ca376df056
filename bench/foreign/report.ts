import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { OUR_GATEWAY_SETTINGS } from '../../tests/fixtures/foreign/settings';
import { likeForLikeChart } from '../chart';
import { median, runHeader, summarize, type Sample, type Summary } from '../measure';
import type { BenchOptions } from '../options';
import type { Cell } from './run';
import { EXTRAS, PAIRS, targetSpec, type Comparison } from './targets';

/** One target at one connection count (`Summary`: medians, errors summed, highest RSS; CPU is the target process's, per request). */
export interface ForeignRow extends Summary {
  key: string;
  target: string;
  connections: number;
  /** Each round's req/s, in order. */
  roundRates: number[];
}

/** `ours / peer` at one connection count. */
export interface ComparisonResult {
  ours: string;
  peer: string;
  why: string;
  connections: number;
  /** Ours' median req/s over the peer's. */
  rate: number;
  /** The same, round by round (the two were measured seconds apart in each). */
  roundRates: number[];
  /** Ours' median CPU per request over the peer's (lower is better). */
  cpu: number;
}

export interface ForeignResult {
  /** When the rounds ended, the Node that ran every process, and the load average then. */
  date: string;
  node: string;
  loadAverage: number[];
  header: string;
  hive: { gateway: string; routerRuntime: string };
  rounds: number;
  seconds: number;
  responseBytes: number;
  ourSettings: Record<string, string>;
  rows: ForeignRow[];
  pairs: ComparisonResult[];
  extras: ComparisonResult[];
}

const round2 = (value: number) => Math.round(100 * value) / 100;

export function foreignResultOf(options: BenchOptions, samples: Map<Cell, Sample[]>, responseBytes: number, hive: ForeignResult['hive']): ForeignResult {
  const rows: ForeignRow[] = [];
  const rounds = new Map<string, Sample[]>();
  for (const [cell, runs] of samples) {
    rows.push({ key: cell.spec.key, target: cell.spec.name, connections: cell.connections, ...summarize(runs), roundRates: runs.map((run) => Math.round(run.requestsPerSecond)) });
    rounds.set(`${cell.spec.key}@${cell.connections}`, runs);
  }
  const compare = (comparison: Comparison, connections: number): ComparisonResult => {
    const ours = rounds.get(`${comparison.ours}@${connections}`)!;
    const peer = rounds.get(`${comparison.peer}@${connections}`)!;
    const rate = (runs: Sample[]) => median(runs.map((run) => run.requestsPerSecond));
    const cpu = (runs: Sample[]) => median(runs.map((run) => run.cpuMsPerRequest));
    return {
      ours: targetSpec(comparison.ours).name,
      peer: targetSpec(comparison.peer).name,
      why: comparison.why,
      connections,
      rate: round2(rate(ours) / rate(peer)),
      roundRates: ours.map((run, index) => round2(run.requestsPerSecond / peer[index]!.requestsPerSecond)),
      cpu: round2(cpu(ours) / cpu(peer)),
    };
  };
  const all = (comparisons: readonly Comparison[]) => options.foreignConnections.flatMap((connections) => comparisons.map((comparison) => compare(comparison, connections)));
  return {
    date: new Date().toISOString(),
    node: process.version,
    loadAverage: loadavg().map(round2),
    header: runHeader(),
    hive,
    rounds: options.rounds,
    seconds: options.seconds,
    responseBytes,
    ourSettings: OUR_GATEWAY_SETTINGS,
    rows,
    pairs: all(PAIRS),
    extras: all(EXTRAS),
  };
}

function printComparisons(comparisons: ComparisonResult[]): void {
  console.log('| connections | ours | peer | req/s, ours / peer (median) | each round | CPU per request, ours / peer (lower is better) | why comparable |');
  console.log('|---|---|---|---|---|---|---|');
  for (const c of comparisons) console.log(`| ${c.connections} | ${c.ours} | ${c.peer} | **${c.rate}×** | ${c.roundRates.join(', ')} | ${c.cpu}× | ${c.why} |`);
}

export function printForeign(result: ForeignResult): void {
  console.log(
    `\nForeign supergraph: The Guild's benchmark query (${result.responseBytes} bytes an answer), Hive Gateway ${result.hive.gateway}, ` +
      `@graphql-hive/router-runtime ${result.hive.routerRuntime}, ${result.rounds} interleaved rounds of ${result.seconds} s; ${result.header}`,
  );
  for (const connections of new Set(result.rows.map((row) => row.connections))) {
    console.log(`\n${connections} connections:\n`);
    console.log('| target | req/s (median) | each round | p50 ms | p99 ms | errors | RSS MB | CPU ms / request |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const row of result.rows.filter((candidate) => candidate.connections === connections)) {
      console.log(`| ${row.target} | ${row.requestsPerSecond} | ${row.roundRates.join(', ')} | ${row.p50Ms} | ${row.p99Ms} | ${row.errors} | ${row.rssMb} | ${row.cpuMsPerRequest} |`);
    }
  }
  console.log('\nLike-for-like pairs (the headline):\n');
  printComparisons(result.pairs);
  console.log('\nExtra comparisons (not like for like with Hive; stock Apollo Gateway, and the bare server writing the same bytes):\n');
  printComparisons(result.extras);
}

const RESULTS_FILE = join(__dirname, '..', 'results.json');
/** The chart of the like-for-like pairs, linked from bench/README.md. */
export const CHART_FILE = join(__dirname, '..', 'like-for-like.svg');

/** Puts the scenario's results under `foreign` in bench/results.json, beside the other scenarios'. */
export function recordForeign(result: ForeignResult): void {
  const previous = existsSync(RESULTS_FILE) ? (JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as Record<string, unknown>) : {};
  writeFileSync(RESULTS_FILE, `${JSON.stringify({ ...previous, foreign: result }, null, 2)}\n`);
}

export function writeChart(result: ForeignResult): void {
  writeFileSync(CHART_FILE, likeForLikeChart(result));
  console.log(`\nChart of the like-for-like pairs: ${CHART_FILE}`);
}
