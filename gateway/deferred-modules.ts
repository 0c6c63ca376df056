import { createRequire, Module } from 'node:module';
import { requireAs, unlessMissing } from '../shared/package-require';

/** Packages one of Apollo's modules loads as it loads, which the gateway calls only in `usedFor`. */
export interface Deferral {
  /** The module that loads them, as Apollo Gateway's code resolves it. */
  owner: string;
  /** The packages, as `owner` resolves them. */
  modules: readonly string[];
  /** Those of `modules` whose export is a function, not an object. */
  callable?: readonly string[];
  /** When anything reads from them. */
  usedFor: string;
}

/**
 * Packages Apollo Gateway and its planner load as they load, and which stay in the heap for the
 * life of the process, though the gateway uses none of them unless `usedFor` happens: with the
 * heap growing to twice what a full collection keeps (`HEAP_GROWTH_PERCENT`), their heap counts
 * twice under load (bench/README.md#memory, items 7 and 10). OpenTelemetry's metrics SDK, its
 * OTLP exporter and the cloud resource detectors are some 12 MB of heap; the others some 4 MB.
 */
export const DEFERRED_MODULES: readonly Deferral[] = [
  {
    owner: '@apollo/gateway/dist/utilities/opentelemetry.js',
    modules: [
      '@opentelemetry/sdk-metrics',
      '@opentelemetry/exporter-metrics-otlp-http',
      '@opentelemetry/resources',
      '@opentelemetry/resource-detector-alibaba-cloud',
      '@opentelemetry/resource-detector-aws',
      '@opentelemetry/resource-detector-gcp',
      '@opentelemetry/resource-detector-azure',
    ],
    usedFor: "Apollo's own usage telemetry, started with the gateway when APOLLO_TELEMETRY is on",
  },
  {
    owner: '@apollo/gateway/dist/executeQueryPlan.js',
    modules: ['@apollo/usage-reporting-protobuf', 'node-fetch'],
    callable: ['node-fetch'],
    usedFor: "Apollo's executor, which runs only what ours hands over to it (introspection, @defer, usage-reporting traces)",
  },
  {
    owner: '@apollo/gateway/dist/supergraphManagers/LocalCompose/index.js',
    modules: ['@apollo/composition'],
    usedFor: 'composing subgraphs inside the gateway, where ours loads a composed supergraph',
  },
  { owner: '@apollo/query-graphs/dist/graphviz.js', modules: ['ts-graphviz'], usedFor: "drawing query graphs, a debugging aid of Apollo's" },
  { owner: 'make-fetch-happen/lib/cache/entry.js', modules: ['cacache'], usedFor: "the HTTP cache of Apollo's managed-federation fetcher (Apollo's uplink)" },
];

/** What Apollo Gateway's own code resolves from (the owners are its modules or its dependencies'). */
const GATEWAY_ENTRY = '@apollo/gateway';

// As this module is imported: gateway/serve.ts imports it second, right after tracing starts,
// before anything loads Apollo Gateway.
deferModules();

/**
 * Puts a stand-in for each of `DEFERRED_MODULES`, as its owner resolves it, in Node's module cache
 * (`require.cache`, where Node documents that entries may be added): the stand-in loads the real
 * module the first time anything reads from it. Each owner reads them inside its functions, never
 * as it loads (those that did, such as make-fetch-happen's proxy agent, are not in the list).
 *
 * Must run before `@apollo/gateway` is first loaded; a module some other code has already loaded
 * is left as it is (tracing's SDK, with `ZIPKIN_URL`, loads copies of its own). A file that does
 * not resolve (an Apollo Gateway that moved or dropped one) is left to load as Apollo says: this
 * only saves memory, and must never stop the gateway; tests/deferred-modules.test.ts resolves the
 * same files, so an upgrade that moves them fails there. Under Jest, whose module registry is its
 * own, this changes nothing.
 */
function deferModules(): void {
  const requireAsGateway = unlessMissing(() => requireAs(GATEWAY_ENTRY));
  if (!requireAsGateway) return;
  for (const { owner, modules, callable = [] } of DEFERRED_MODULES) {
    const ownerFile = unlessMissing(() => requireAsGateway.resolve(owner));
    // Not found, or loaded already: too late to matter.
    if (ownerFile === undefined || require.cache[ownerFile] !== undefined) continue;
    const requireAsOwner = createRequire(ownerFile);
    for (const name of modules) {
      const file = unlessMissing(() => requireAsOwner.resolve(name));
      if (file !== undefined && require.cache[file] === undefined) require.cache[file] = standIn(file, callable.includes(name));
    }
  }
}

/** `owner`'s file and each of its deferred modules' entry file, as Apollo Gateway's code resolves them (tests). */
export function resolveDeferral({ owner, modules }: Deferral): { ownerFile: string; entries: Record<string, string> } {
  const ownerFile = requireAs(GATEWAY_ENTRY).resolve(owner);
  const requireAsOwner = createRequire(ownerFile);
  return { ownerFile, entries: Object.fromEntries(modules.map((name) => [name, requireAsOwner.resolve(name)])) };
}

/**
 * A module whose exports load the real `file` on the first read and from then on are its
 * exports' own properties (getters included), copied onto the proxy's target so that the proxy
 * answers every read exactly as the real exports would. A module that exports a function
 * (`callable`) gets a function as the proxy's target, so that calling or constructing it calls the
 * real one; the others export an object (tests/deferred-modules.test.ts checks which is which).
 */
function standIn(file: string, callable: boolean): Module {
  const target = (callable ? function deferred() {} : {}) as Record<PropertyKey, unknown>;
  let real: object | undefined;
  const load = () => {
    if (real === undefined) {
      delete require.cache[file]; // the real module takes its place in the cache
      real = require(file) as object;
      Object.defineProperties(target, Object.getOwnPropertyDescriptors(real));
    }
    return target;
  };
  type Callable = ((...args: unknown[]) => unknown) & (new (...args: unknown[]) => object);
  const loadReal = (): Callable => (load(), real as Callable);
  const module = new Module(file);
  module.filename = file;
  module.loaded = true;
  module.exports = new Proxy(target, {
    get: (_, key) => Reflect.get(load(), key),
    has: (_, key) => Reflect.has(load(), key),
    ownKeys: () => Reflect.ownKeys(load()),
    getOwnPropertyDescriptor: (_, key) => Reflect.getOwnPropertyDescriptor(load(), key),
    apply: (_, self, args) => Reflect.apply(loadReal(), self, args),
    // `new` on the stand-in itself builds what `new` on the real function builds.
    construct: (_, args, newTarget) => Reflect.construct(loadReal(), args, newTarget === module.exports ? loadReal() : newTarget),
  });
  return module;
}
