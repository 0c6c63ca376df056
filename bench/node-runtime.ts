import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Which Node the benchmarks run on. Our Dockerfile runs Node 24 and Hive Gateway's packages ask for
 * Node ≥ 22.15, so the comparison counts there: by default a bench script runs on the Node that
 * started it when that is 22 or newer, else on Node 24. `--node=20` (or any major) asks for that
 * major. The binary is `BENCH_NODE` when it is of that major (by default: 22 or newer), else the
 * registry's `node@<major>` package (a prebuilt binary), installed once with npm into
 * `BENCH_NODE_CACHE` (default `~/.cache/federation-platform/bench-node-<major>`), as bench/foreign
 * installs Hive Gateway on first use. The script then runs itself again on that binary; every
 * process it starts (gateways, subgraphs, the load generator) runs on it too, since they are all
 * started with `process.execPath`.
 */

/** Set in the re-run script's environment, so that it does not choose again. */
const CHOSEN = 'BENCH_NODE_CHOSEN';
/** The major the bench runs on when no `--node` is given, unless the Node in PATH is at least MIN_DEFAULT_MAJOR. */
const DEFAULT_MAJOR = 24;
const MIN_DEFAULT_MAJOR = 22;

const majorOf = (version: string) => Number(/^v?(\d+)/.exec(version)?.[1]);

function versionOf(binary: string): string {
  return execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
}

/** `--node=<major>` from argv, or undefined. */
function requestedMajor(argv: readonly string[]): number | undefined {
  const flag = argv.find((arg) => arg.startsWith('--node='));
  if (!flag) return undefined;
  const major = Number(flag.slice('--node='.length));
  if (!Number.isInteger(major) || major < 20) throw new Error(`--node: expected a Node major version of 20 or more, got "${flag}"`);
  return major;
}

/** The registry's `node@<major>`, installed on first use; returns its binary. */
function installedNode(major: number): string {
  const dir = join(process.env.BENCH_NODE_CACHE ?? join(homedir(), '.cache', 'federation-platform'), `bench-node-${major}`);
  const binary = join(dir, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(binary)) {
    console.log(`bench: installing node@${major} into ${dir} (npm, once)`);
    mkdirSync(dir, { recursive: true });
    // The package's install script is what puts the binary in place: allowed by name, as the project's package.json allows its own.
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ private: true, allowScripts: { node: true } }, null, 2)}\n`);
    // The package's own install script fetches the platform's binary package from the registry.
    execFileSync('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund', `node@${major}`], { stdio: 'inherit' });
  }
  return binary;
}

function chooseBinary(argv: readonly string[]): string {
  const wanted = requestedMajor(argv);
  const current = majorOf(process.version);
  const fromEnv = process.env.BENCH_NODE;
  if (fromEnv) {
    const major = majorOf(versionOf(fromEnv));
    if (wanted === undefined ? major >= MIN_DEFAULT_MAJOR : major === wanted) return fromEnv;
  }
  if (wanted === undefined) return current >= MIN_DEFAULT_MAJOR ? process.execPath : installedNode(DEFAULT_MAJOR);
  return current === wanted ? process.execPath : installedNode(wanted);
}

/**
 * Makes sure this script runs on the bench's Node. Returns true when the script must go on here;
 * false when it was run again on another binary, which has finished (its exit code is this
 * process's).
 */
export function onBenchNode(argv: readonly string[] = process.argv.slice(2)): boolean {
  if (process.env[CHOSEN]) return true;
  const binary = chooseBinary(argv);
  if (binary === process.execPath) return true;
  console.log(`bench: running on ${binary} (${versionOf(binary)})`);
  // process.execArgv carries tsx's loader flags, so the TypeScript entry runs as it did here.
  const result = spawnSync(binary, [...process.execArgv, process.argv[1]!, ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, [CHOSEN]: '1' } });
  if (result.error) throw result.error;
  process.exitCode = result.status ?? 1;
  return false;
}
