import { cpus, loadavg } from 'node:os';
import autocannon from 'autocannon';
import { cpuMs, rssMb } from './proc-stats';

/** One timed run of one target. */
export interface Sample {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  /** Connection errors, timeouts, non-2xx answers, and answers other than `expectBody` when given. */
  errors: number;
  /** Resident memory of the process under test at the end of the run. */
  rssMb: number;
  /** CPU time (user + system) of the process under test over the run, per request it answered. */
  cpuMsPerRequest: number;
}

/** The rounds of one target as a table row: medians of rate, latency and CPU, errors summed, the highest RSS. */
export interface Summary {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  rssMb: number;
  cpuMsPerRequest: number;
}

/** autocannon against one target, with the CPU and memory of `pid`, the process under test. */
export async function measure(pid: number, options: autocannon.Options): Promise<Sample> {
  const cpuBefore = cpuMs(pid);
  const result = await autocannon(options);
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx + result.mismatches,
    rssMb: rssMb(pid),
    cpuMsPerRequest: result.requests.total > 0 ? (cpuMs(pid) - cpuBefore) / result.requests.total : NaN,
  };
}

/**
 * Every target once a round, `rounds` times over (A B C … A B C …), so that drift on a shared
 * machine hits all of them alike.
 */
export async function interleave<T>(targets: readonly T[], rounds: number, run: (target: T, round: number) => Promise<Sample>): Promise<Map<T, Sample[]>> {
  const samples = new Map<T, Sample[]>(targets.map((target) => [target, []]));
  for (let round = 0; round < rounds; round += 1) {
    for (const target of targets) samples.get(target)!.push(await run(target, round));
  }
  return samples;
}

/** The line printed as each measured round ends, so that a long run shows where it is. */
export function progressLine(label: string, round: number, rounds: number, sample: Sample): string {
  const errors = sample.errors > 0 ? `, ${sample.errors} errors` : '';
  return `  round ${round + 1}/${rounds}  ${label}: ${Math.round(sample.requestsPerSecond)} req/s, p99 ${sample.p99} ms, ${sample.cpuMsPerRequest.toFixed(3)} CPU ms/req${errors}`;
}

/** When and where a table was measured: date, Node, load average (2 shared cores: the load says how quiet it was). */
export function runHeader(): string {
  const load = loadavg().map((value) => value.toFixed(2)).join(', ');
  return `${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}, Node ${process.version}, ${cpus().length} cores, load average ${load}`;
}

/** The middle value; with an even count, the mean of the two middle ones. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function summarize(runs: Sample[]): Summary {
  return {
    requestsPerSecond: Math.round(median(runs.map((run) => run.requestsPerSecond))),
    p50Ms: median(runs.map((run) => run.p50)),
    p99Ms: median(runs.map((run) => run.p99)),
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
    rssMb: Math.max(...runs.map((run) => run.rssMb)),
    cpuMsPerRequest: Math.round(1000 * median(runs.map((run) => run.cpuMsPerRequest))) / 1000,
  };
}
