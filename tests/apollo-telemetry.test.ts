import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { promisify } from 'node:util';
import { APOLLO_TELEMETRY_FILE, APOLLO_TELEMETRY_MODULES } from '../gateway/apollo-telemetry-modules';
import { freePorts, runnable, spawnProcess, stopProcess } from './fixtures/processes';

// Apollo Gateway's usage telemetry pulls in OpenTelemetry's metrics SDK, an OTLP exporter and
// cloud detectors (gateway/apollo-telemetry-modules.ts). They are proven here by the files Node
// loaded: the heap they would have held is the bench's to measure (bench/README.md#memory).

const ROOT = join(__dirname, '..');
const requireFromApollo = (name: string) => require.resolve(name, { paths: [dirname(require.resolve(APOLLO_TELEMETRY_FILE))] });
/** Each deferred package's folder, as Apollo's telemetry module resolves it. */
const PACKAGE_FOLDERS = APOLLO_TELEMETRY_MODULES.map((name) => {
  const entry = requireFromApollo(name);
  return { name, entry, folder: entry.slice(0, entry.lastIndexOf(`${sep}node_modules${sep}`)) + `${sep}node_modules${sep}${name}${sep}` };
});

/** For each deferred package, the files of it in `loaded` (a process's `require.cache` keys). */
function filesOfDeferredPackages(loaded: string[]): Record<string, string[]> {
  return Object.fromEntries(PACKAGE_FOLDERS.map(({ name, folder }) => [name, loaded.filter((file) => file.startsWith(folder))]));
}

/** The modules a process that constructs an Apollo Gateway has loaded, with or without our module first. */
async function loadedByApolloGateway(options: { deferred: boolean; telemetry: boolean }): Promise<string[]> {
  const deferral = runnable('gateway/apollo-telemetry-modules.ts');
  const script = [
    options.deferred ? `require(${JSON.stringify(deferral.file)});` : '',
    `const { ApolloGateway } = require('@apollo/gateway');`,
    `new ApolloGateway({ supergraphSdl: 'unused until the gateway loads' });`,
    `console.log(JSON.stringify(Object.keys(require.cache)));`,
    // Apollo's metric reader holds a timer for its hourly export: the answer is out, stop here.
    `process.exit(0);`,
  ].join('\n');
  const { stdout } = await promisify(execFile)(process.execPath, [...deferral.loader, '-e', script], {
    cwd: ROOT,
    env: { ...process.env, APOLLO_TELEMETRY_DISABLED: options.telemetry ? 'false' : 'true' },
  });
  return JSON.parse(stdout) as string[];
}

test('with telemetry off, Apollo Gateway loads none of its telemetry packages; each is only a stand-in at its entry', async () => {
  const plain = filesOfDeferredPackages(await loadedByApolloGateway({ deferred: false, telemetry: false }));
  const deferred = filesOfDeferredPackages(await loadedByApolloGateway({ deferred: true, telemetry: false }));
  for (const { name, entry } of PACKAGE_FOLDERS) {
    expect(plain[name]!.length).toBeGreaterThan(1); // what Apollo loads on its own
    expect(deferred[name]).toEqual([entry]);
  }
}, 60_000);

test('with telemetry on, the real packages load as they would without the stand-ins, and Apollo starts its exporter', async () => {
  // The exporter is built as the gateway is constructed: a stand-in that answered wrongly would throw there.
  const plain = await loadedByApolloGateway({ deferred: false, telemetry: true });
  const deferred = await loadedByApolloGateway({ deferred: true, telemetry: true });
  const plainFiles = filesOfDeferredPackages(plain);
  const deferredFiles = filesOfDeferredPackages(deferred);
  for (const { name } of PACKAGE_FOLDERS) {
    expect(plainFiles[name]!.length).toBeGreaterThan(1);
    expect([...deferredFiles[name]!].sort()).toEqual([...plainFiles[name]!].sort());
  }
}, 60_000);

test('the gateway process defers them before Apollo Gateway loads: its telemetry module is loaded, none of the packages', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'apollo-telemetry-'));
  const listFile = join(dir, 'loaded.json');
  const probe = join(dir, 'probe.js');
  // Preloaded into the gateway: what it has loaded, written as it exits.
  writeFileSync(probe, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(listFile)}, JSON.stringify(Object.keys(require.cache))));\n`);
  const [auth, product, order] = (await freePorts(3)).map((port) => `http://127.0.0.1:${port}/graphql`) as [string, string, string];
  try {
    const gateway = await spawnProcess('gateway', 'gateway/index.ts', {
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DATA_DIR: dir,
      // Nothing listens there: starting needs only the supergraph, and no subgraph is asked here.
      SUBGRAPH_AUTH_URLS: auth,
      SUBGRAPH_PRODUCT_URLS: product,
      SUBGRAPH_ORDER_URLS: order,
      NODE_OPTIONS: `--require ${probe}`,
    });
    await stopProcess(gateway.child);
    const loaded = JSON.parse(readFileSync(listFile, 'utf8')) as string[];
    expect(loaded).toContain(require.resolve(APOLLO_TELEMETRY_FILE));
    expect(filesOfDeferredPackages(loaded)).toEqual(Object.fromEntries(PACKAGE_FOLDERS.map(({ name, entry }) => [name, [entry]])));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
