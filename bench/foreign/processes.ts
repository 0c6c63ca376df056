import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isListening, waitFor } from '../../tests/fixtures/net';
import type { RunningProcess } from '../../tests/fixtures/processes';

const ROOT = join(__dirname, '..', '..');
const START_TIMEOUT_MS = 120_000;
/** Output kept per process: enough for a start-up failure, bounded whatever a gateway logs under load. */
const MAX_OUTPUT_CHARS = 20_000;

export const HIVE_DIR = join(__dirname, 'hive');
const HIVE_PACKAGE = join(HIVE_DIR, 'node_modules', '@graphql-hive', 'gateway');
/** Hive Router's query planner and executor for Hive Gateway (`HIVE_CONFIGS`), with its prebuilt native addon. */
const HIVE_ROUTER_RUNTIME = join(HIVE_DIR, 'node_modules', '@graphql-hive', 'router-runtime');

export type BenchProcess = RunningProcess & { child: ChildProcess; stop(): Promise<void> };

/**
 * One Node process (`node <args>`, its pid the one measured), started once every port in `ports`
 * accepts connections. The first port is the one reported.
 */
export async function spawnNode(name: string, args: string[], options: { ports: number[]; env: NodeJS.ProcessEnv; cwd?: string }): Promise<BenchProcess> {
  const child = spawn(process.execPath, args, { cwd: options.cwd ?? ROOT, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-MAX_OUTPUT_CHARS);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const allListening = async () => child.exitCode === null && (await Promise.all(options.ports.map(isListening))).every(Boolean);
  await waitFor(allListening, `${name} to listen`, START_TIMEOUT_MS).catch((error: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${error.message}:\n${output}`);
  });
  return { name, port: options.ports[0]!, pid: child.pid!, child, output: () => output, stop: () => stop(child) };
}

/** SIGTERM, then SIGKILL if it has not exited within 5 s. */
export function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Hive Gateway is not a dependency of the project (some 500 MB, needed by this benchmark only):
 * bench/foreign/hive pins it with its own lock file, installed here on first use. Install
 * scripts are not run; the gateway needs none. Returns the installed version.
 */
export function ensureHiveGateway(): string {
  const installed = [HIVE_PACKAGE, HIVE_ROUTER_RUNTIME].every((dir) => existsSync(join(dir, 'package.json')));
  if (!installed) {
    console.log('foreign benchmark: installing Hive Gateway into bench/foreign/hive (npm ci, once)');
    execFileSync('npm', ['ci', '--prefix', HIVE_DIR, '--ignore-scripts', '--no-audit', '--no-fund'], { stdio: 'inherit' });
  }
  return (JSON.parse(readFileSync(join(HIVE_PACKAGE, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The CLI's entry file, run with `node` directly so the measured pid is the gateway itself. */
export const HIVE_BIN = join(HIVE_PACKAGE, 'dist', 'bin.js');

/**
 * Hive Gateway as The Guild's benchmark (graphql-hive/graphql-gateways-benchmark) runs it, both
 * of its Node entries, each without and with Hive's inbound (client) request deduplication
 * (`inboundInflightRequestDeduplication`, which their entries turn on): `router-runtime*`
 * (gateways/hive-gateway-router-runtime: Hive Router's Rust query planner and executor,
 * `@graphql-hive/router-runtime`) and `jit*` (gateways/hive-gateway: stock, `--jit`). Each is one of
 * bench/foreign/hive's config files plus CLI arguments; all run with `NODE_ENV=production`, as theirs.
 */
export const HIVE_CONFIGS = {
  'router-runtime': { file: join(HIVE_DIR, 'router-runtime.config.mjs'), args: [] },
  'router-runtime-inbound-dedup': { file: join(HIVE_DIR, 'router-runtime-inbound-dedup.config.mjs'), args: [] },
  jit: { file: join(HIVE_DIR, 'jit.config.mjs'), args: ['--jit'] },
  'jit-inbound-dedup': { file: join(HIVE_DIR, 'jit-inbound-dedup.config.mjs'), args: ['--jit'] },
} as const;
export type HiveConfig = keyof typeof HIVE_CONFIGS;

/** The versions of Hive Gateway and of Hive Router's runtime installed in bench/foreign/hive. */
export function hiveVersions(): { gateway: string; routerRuntime: string } {
  const version = (dir: string) => (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  return { gateway: version(HIVE_PACKAGE), routerRuntime: version(HIVE_ROUTER_RUNTIME) };
}
