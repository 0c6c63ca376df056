import type { FastifyInstance } from 'fastify';
import { setFlagsFromString } from 'node:v8';
import type { HttpSettings } from './config';
import { serveMetrics } from './metrics';
import { stopTracing, tracingListening } from './tracing';

/** How long a stopping process waits for in-flight requests before it exits anyway, in ms. */
const SHUTDOWN_GRACE_MS = 10_000;

/**
 * The entry point shared by every process: build the app from its config, listen, and close
 * cleanly (in-flight requests finish, pools close, pending spans are sent) on SIGINT or SIGTERM.
 * A start-up failure prints one clear message and exits with status 1.
 */
export async function runServer(name: string, start: () => Promise<{ app: FastifyInstance; http: HttpSettings }>): Promise<void> {
  let app: FastifyInstance;
  try {
    const started = await start();
    app = started.app;
    useHeapGrowth(started.http.heapGrowthPercent);
    // Before the app listens: its close closes the metrics listener too.
    await serveMetrics(app, started.http);
    await app.listen({ host: started.http.host, port: started.http.port });
    tracingListening(listeningPort(app));
  } catch (error) {
    console.error(`${name}: cannot start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    // A second signal must not cut the drain short (the grace timer bounds it): it comes whenever
    // a cluster primary forwards the signal its workers' group got too (a terminal's Ctrl-C).
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, `${name}: stopping`);
    setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS).unref();
    app.close().then(stopTracing).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/**
 * V8 reads its heap growing factor at every full collection, so setting it once the process has
 * started takes effect from the next one. It is a V8 flag that NODE_OPTIONS refuses, hence here
 * rather than in every start command.
 */
function useHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}

function listeningPort(app: FastifyInstance): number {
  const address = app.server.address();
  return typeof address === 'object' && address !== null ? address.port : 0;
}
