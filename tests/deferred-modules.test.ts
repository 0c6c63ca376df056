import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { promisify } from 'node:util';
import { DEFERRED_MODULES, resolveDeferral } from '../gateway/deferred-modules';
import { freePorts, runnable, spawnProcess, stopProcess } from './fixtures/processes';

// Apollo Gateway loads packages it calls only for what the gateway never does unless configured
// (gateway/deferred-modules.ts): Apollo's usage telemetry, usage-reporting traces, composition,
// graph drawing, uplink's HTTP cache. They are proven here by the files Node loaded: the heap they
// would have held is the bench's to measure (bench/README.md#memory).

const ROOT = join(__dirname, '..');
const TELEMETRY = DEFERRED_MODULES.find(({ owner }) => owner.endsWith('/opentelemetry.js'))!;

/** Each deferred package: its entry and its folder, as its owner resolves it. */
const PACKAGES = DEFERRED_MODULES.flatMap((deferral) =>
  Object.entries(resolveDeferral(deferral).entries).map(([name, entry]) => ({
    name,
    entry,
    telemetry: deferral === TELEMETRY,
    callable: deferral.callable?.includes(name) ?? false,
    folder: entry.slice(0, entry.lastIndexOf(`${sep}node_modules${sep}`)) + `${sep}node_modules${sep}${name}${sep}`,
  })),
);

/** For each deferred package, the files of it in `loaded` (a process's `require.cache` keys). */
function filesOfDeferredPackages(loaded: string[], packages = PACKAGES): Record<string, string[]> {
  return Object.fromEntries(packages.map(({ name, folder }) => [name, loaded.filter((file) => file.startsWith(folder))]));
}

/** Runs `body` in a Node process, with or without the deferral loaded first; its last line is JSON. */
async function inProcess<T>(body: string, options: { deferred: boolean; telemetry?: boolean }): Promise<T> {
  const deferral = runnable('gateway/deferred-modules.ts');
  const script = [options.deferred ? `require(${JSON.stringify(deferral.file)});` : '', body].join('\n');
  const { stdout } = await promisify(execFile)(process.execPath, [...deferral.loader, '-e', script], {
    cwd: ROOT,
    env: { ...process.env, APOLLO_TELEMETRY_DISABLED: options.telemetry ? 'false' : 'true' },
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as T;
}

/** The modules a process that constructs an Apollo Gateway has loaded. */
const loadedByApolloGateway = (options: { deferred: boolean; telemetry: boolean }) =>
  inProcess<string[]>(
    [
      `const { ApolloGateway } = require('@apollo/gateway');`,
      `new ApolloGateway({ supergraphSdl: 'unused until the gateway loads' });`,
      `console.log(JSON.stringify(Object.keys(require.cache)));`,
      // Apollo's metric reader holds a timer for its hourly export: the answer is out, stop here.
      `process.exit(0);`,
    ].join('\n'),
    options,
  );

test('every owner and package still resolves where Apollo Gateway looks for it', () => {
  for (const deferral of DEFERRED_MODULES) {
    const { ownerFile, entries } = resolveDeferral(deferral);
    expect(ownerFile).toContain(`${sep}node_modules${sep}`);
    expect(Object.keys(entries)).toEqual([...deferral.modules]);
  }
});

test('with telemetry off, Apollo Gateway loads none of the deferred packages; each is only a stand-in at its entry', async () => {
  const [plain, deferred] = await Promise.all([loadedByApolloGateway({ deferred: false, telemetry: false }), loadedByApolloGateway({ deferred: true, telemetry: false })]);
  const plainFiles = filesOfDeferredPackages(plain);
  const deferredFiles = filesOfDeferredPackages(deferred);
  for (const { name, entry } of PACKAGES) {
    expect([name, plainFiles[name]!.length > 0]).toEqual([name, true]); // what Apollo loads on its own
    expect([name, deferredFiles[name]]).toEqual([name, [entry]]);
  }
}, 60_000);

test('with telemetry on, the real telemetry packages load as they would without the stand-ins, and Apollo starts its exporter', async () => {
  // The exporter is built as the gateway is constructed: a stand-in that answered wrongly would throw there.
  const telemetry = PACKAGES.filter((deferred) => deferred.telemetry);
  const [plain, deferred] = await Promise.all([loadedByApolloGateway({ deferred: false, telemetry: true }), loadedByApolloGateway({ deferred: true, telemetry: true })]);
  const plainFiles = filesOfDeferredPackages(plain, telemetry);
  const deferredFiles = filesOfDeferredPackages(deferred, telemetry);
  for (const { name } of telemetry) {
    expect(plainFiles[name]!.length).toBeGreaterThan(1);
    expect([...deferredFiles[name]!].sort()).toEqual([...plainFiles[name]!].sort());
  }
}, 60_000);

test('a stand-in, once read, answers with the real module: its exports and their kinds, a function only where listed', async () => {
  // What each package exports, read through the owner's own require: the stand-in's answer, or the real module's.
  const body = [
    `const { createRequire } = require('node:module');`,
    `const packages = ${JSON.stringify(PACKAGES.map(({ name, entry }) => ({ name, entry })))};`,
    `const shapes = packages.map(({ name, entry }) => {`,
    `  const exports = createRequire(entry)(entry);`,
    `  return { name, type: typeof exports, keys: Object.keys(exports).sort().map((key) => key + ':' + typeof exports[key]) };`,
    `});`,
    `console.log(JSON.stringify(shapes));`,
    `process.exit(0);`,
  ].join('\n');
  type Shape = { name: string; type: string; keys: string[] };
  const [plain, deferred] = await Promise.all([inProcess<Shape[]>(body, { deferred: false }), inProcess<Shape[]>(body, { deferred: true })]);
  expect(deferred).toEqual(plain);
  // A function only where the list says so: the stand-in of any other is an object.
  expect(plain.map(({ name, type }) => [name, type])).toEqual(PACKAGES.map(({ name, callable }) => [name, callable ? 'function' : 'object']));
  for (const shape of plain) expect([shape.name, shape.keys.length > 0]).toEqual([shape.name, true]);
}, 60_000);

test("node-fetch's stand-in can be called and its classes constructed, as Apollo's executor does", async () => {
  const { entry } = PACKAGES.find(({ name }) => name === 'node-fetch')!;
  const body = [
    `const fetch = require(${JSON.stringify(entry)});`,
    `const headers = new fetch.Headers({ 'apollo-federation-include-trace': 'ftv1' });`,
    `const request = new fetch.Request('http://127.0.0.1:1/graphql', { method: 'POST', headers, body: '{}' });`,
    `fetch('http://127.0.0.1:1/graphql').then(() => 'answered', (error) => error.name).then((outcome) => {`,
    `  console.log(JSON.stringify({ header: headers.get('apollo-federation-include-trace'), request: request instanceof fetch.Request, method: request.method, outcome }));`,
    `});`,
  ].join('\n');
  type Outcome = { header: string; request: boolean; method: string; outcome: string };
  const [plain, deferred] = await Promise.all([inProcess<Outcome>(body, { deferred: false }), inProcess<Outcome>(body, { deferred: true })]);
  expect(plain).toEqual({ header: 'ftv1', request: true, method: 'POST', outcome: 'FetchError' });
  expect(deferred).toEqual(plain);
}, 60_000);

test('the gateway process defers them before Apollo Gateway loads: their owners are loaded, none of the packages', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'deferred-modules-'));
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
    // Every owner is loaded: each deferral spares the gateway a package it would have loaded.
    const owners = DEFERRED_MODULES.map((deferral) => resolveDeferral(deferral).ownerFile);
    expect(owners.filter((owner) => !loaded.includes(owner))).toEqual([]);
    expect(filesOfDeferredPackages(loaded)).toEqual(Object.fromEntries(PACKAGES.map(({ name, entry }) => [name, [entry]])));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
