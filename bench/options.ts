/**
 * How long and how hard the bench scripts measure: a command-line flag (`npm run bench --
 * --seconds=2 --rounds=1`), else its environment variable, else the default. The Node that runs
 * them is bench/node-runtime.ts's `--node`.
 */
export interface BenchOptions {
  /** Seconds of each measured round (`--seconds`, `BENCH_SECONDS`). @default 8 */
  seconds: number;
  /** Interleaved rounds of every target (`--rounds`, `BENCH_ROUNDS`). @default 3 */
  rounds: number;
  /** Seconds of warm-up of every target before the rounds (`--warmup`, `BENCH_WARMUP_SECONDS`). @default 2 (3 for the foreign scenario) */
  warmupSeconds: number;
  /** autocannon connections of our own scenarios (`--connections`, `BENCH_CONNECTIONS`). @default 32 */
  connections: number;
  /** Connection counts of the foreign scenario, each measured in turn (`--foreign-connections`, `BENCH_FOREIGN_CONNECTIONS`). @default 32,50 */
  foreignConnections: number[];
  /** Whether `npm run bench` ends with the foreign scenario (`--foreign=off`, `BENCH_FOREIGN=off` to leave it out). @default true */
  foreign: boolean;
}

/** `--name=value` from argv, else `process.env[variable]`. */
function setting(name: string, variable: string, argv: readonly string[]): string | undefined {
  const flag = argv.find((arg) => arg.startsWith(`--${name}=`));
  return flag ? flag.slice(name.length + 3) : process.env[variable];
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new Error(`--${name}: expected a positive number, got "${value}"`);
  return number;
}

function onOff(name: string, value: string | undefined): boolean {
  if (value === undefined || value === '' || value === 'on') return true;
  if (value === 'off') return false;
  throw new Error(`--${name}: expected on or off, got "${value}"`);
}

export function benchOptions(argv: readonly string[] = process.argv.slice(2), defaults: { warmupSeconds?: number } = {}): BenchOptions {
  const list = setting('foreign-connections', 'BENCH_FOREIGN_CONNECTIONS', argv) ?? '32,50';
  return {
    seconds: positive('seconds', setting('seconds', 'BENCH_SECONDS', argv), 8),
    rounds: Math.round(positive('rounds', setting('rounds', 'BENCH_ROUNDS', argv), 3)),
    warmupSeconds: positive('warmup', setting('warmup', 'BENCH_WARMUP_SECONDS', argv), defaults.warmupSeconds ?? 2),
    connections: Math.round(positive('connections', setting('connections', 'BENCH_CONNECTIONS', argv), 32)),
    foreignConnections: list.split(',').filter(Boolean).map((value) => Math.round(positive('foreign-connections', value, 32))),
    foreign: onOff('foreign', setting('foreign', 'BENCH_FOREIGN', argv)),
  };
}

/** "about 14 min" for an estimate in seconds. */
export const aboutMinutes = (seconds: number) => (seconds < 90 ? `about ${Math.round(seconds)} s` : `about ${Math.round(seconds / 60)} min`);
