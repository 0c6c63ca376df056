import { createRequire, Module } from 'node:module';

/**
 * What Apollo Gateway's telemetry module (`@apollo/gateway/dist/utilities/opentelemetry.js`)
 * loads only to report Apollo's own usage telemetry: OpenTelemetry's metrics SDK, its OTLP
 * exporter and the cloud resource detectors. Apollo Gateway's index loads that module whether
 * telemetry is on or not, and these stay in the heap for the life of the process: some 12 MB of
 * the gateway's, doubled under load, where the heap grows to twice what a full collection keeps
 * (`HEAP_GROWTH_PERCENT`), while the gateway uses none of it unless `APOLLO_TELEMETRY` is on
 * (bench/README.md#memory, item 7).
 */
export const APOLLO_TELEMETRY_MODULES = [
  '@opentelemetry/sdk-metrics',
  '@opentelemetry/exporter-metrics-otlp-http',
  '@opentelemetry/resources',
  '@opentelemetry/resource-detector-alibaba-cloud',
  '@opentelemetry/resource-detector-aws',
  '@opentelemetry/resource-detector-gcp',
  '@opentelemetry/resource-detector-azure',
] as const;

/** Apollo Gateway's telemetry module, which loads `APOLLO_TELEMETRY_MODULES`. */
export const APOLLO_TELEMETRY_FILE = '@apollo/gateway/dist/utilities/opentelemetry.js';

// As this module is imported: gateway/serve.ts imports it second, right after tracing starts,
// before anything loads Apollo Gateway.
deferApolloTelemetryModules();

/**
 * Puts a stand-in for each of `APOLLO_TELEMETRY_MODULES`, as Apollo's telemetry module resolves
 * it, in Node's module cache (`require.cache`, where Node documents that entries may be added):
 * the stand-in loads the real module the first time anything reads from it, which Apollo does only
 * when it starts its telemetry. Apollo's module reads them inside its functions, never as it loads.
 *
 * Must run before `@apollo/gateway` is first loaded; a module some other code has already loaded
 * is left as it is (tracing's SDK, with `ZIPKIN_URL`, loads copies of its own). A file that does
 * not resolve (an Apollo Gateway that moved or dropped one) is left to load as Apollo says: this
 * only saves memory, and must never stop the gateway; tests/apollo-telemetry.test.ts resolves the
 * same files, so an upgrade that moves them fails there. Under Jest, whose module registry is its
 * own, this changes nothing.
 */
function deferApolloTelemetryModules(): void {
  const apolloTelemetryFile = resolvable(() => require.resolve(APOLLO_TELEMETRY_FILE));
  // Not found, or loaded already: too late to matter.
  if (apolloTelemetryFile === undefined || require.cache[apolloTelemetryFile] !== undefined) return;
  const requireAsApollo = createRequire(apolloTelemetryFile);
  for (const name of APOLLO_TELEMETRY_MODULES) {
    const file = resolvable(() => requireAsApollo.resolve(name));
    if (file !== undefined && require.cache[file] === undefined) require.cache[file] = standIn(file);
  }
}

function resolvable(resolve: () => string): string | undefined {
  try {
    return resolve();
  } catch {
    return undefined;
  }
}

/**
 * A module whose exports load the real `file` on the first read and from then on are its
 * exports' own properties (getters included), copied onto the proxy's target so that the proxy
 * answers every read exactly as the real exports would. Each of these modules exports an object.
 */
function standIn(file: string): Module {
  const target: Record<PropertyKey, unknown> = {};
  let real: object | undefined;
  const load = () => {
    if (real === undefined) {
      delete require.cache[file]; // the real module takes its place in the cache
      real = require(file) as object;
      Object.defineProperties(target, Object.getOwnPropertyDescriptors(real));
    }
    return target;
  };
  const module = new Module(file);
  module.filename = file;
  module.loaded = true;
  module.exports = new Proxy(target, {
    get: (_, key) => Reflect.get(load(), key),
    has: (_, key) => Reflect.has(load(), key),
    ownKeys: () => Reflect.ownKeys(load()),
    getOwnPropertyDescriptor: (_, key) => Reflect.getOwnPropertyDescriptor(load(), key),
  });
  return module;
}
