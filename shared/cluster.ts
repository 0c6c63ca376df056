import cluster, { type Worker } from 'node:cluster';
import { serveClusterMetrics, type MetricsListenerSettings } from './metrics';

/**
 * A process served by several workers (`node:cluster`): the primary forks them and holds the
 * listening socket, handing connections round-robin to the workers (Node's default on Linux), so
 * all of them serve one port. The primary serves nothing itself.
 */
export interface ClusterOptions {
  /** The process's name in its messages, as runServer's. */
  name: string;
  /**
   * In the primary, before any fork: loads and validates the whole config and returns the worker
   * count, or throws. So a bad setting fails once, with one message, instead of in every worker,
   * and whatever the config creates on disk (the embedded secrets) exists before workers start.
   */
  loadWorkerCount(): number;
  /**
   * Where the primary serves the metrics of all its workers, summed (each worker serves none of its
   * own: a scrape of a shared port would reach one worker only). Read in the primary, after
   * `loadWorkerCount`.
   */
  metrics?: () => MetricsListenerSettings;
  /** What each worker runs: the server, as a single process would. */
  serve(): void;
  /**
   * Signals the primary passes on to its workers instead of dying of them (the gateway reloads its
   * supergraph on SIGHUP, whose default action ends a process).
   */
  forwardSignals?: readonly NodeJS.Signals[];
}

/** Pause before replacing a worker that died; doubled for each further young death in a row. */
const RESTART_DELAY_MS = 500;
/**
 * A worker dying before it listens, or within this long of its fork, died young: it failed to
 * start, or fails at once, and restarting it may not help.
 */
const YOUNG_DEATH_MS = 10_000;
/** Young deaths in a row after which the primary gives up and exits 1. */
const MAX_YOUNG_DEATHS = 5;
/**
 * How long the primary waits for its workers once told to stop before it kills them. Each
 * worker's runServer exits by itself within its 10 s grace; this only catches one stuck where
 * no timer runs.
 */
const STOP_BACKSTOP_MS = 15_000;

export function runCluster(options: ClusterOptions): void {
  if (cluster.isWorker) options.serve();
  else runPrimary(options);
}

function runPrimary(options: ClusterOptions): void {
  const count = loadOrExit(options);
  console.log(`${options.name}: primary ${process.pid} starting ${count} workers`);
  const workers = superviseWorkers(options.name);
  for (let index = 0; index < count; index += 1) workers.fork();
  if (options.metrics) {
    serveClusterMetrics(options.metrics()).catch((error: Error) => {
      console.error(`${options.name}: cannot start: ${error.message}`);
      workers.stop('SIGTERM', true);
    });
  }
  // Repeated signals (a terminal's Ctrl-C reaches the whole group, then a SIGTERM) are forwarded once.
  process.on('SIGINT', () => workers.stop('SIGINT'));
  process.on('SIGTERM', () => workers.stop('SIGTERM'));
  for (const signal of options.forwardSignals ?? []) process.on(signal, () => workers.forward(signal));
}

function loadOrExit({ name, loadWorkerCount }: ClusterOptions): number {
  try {
    return loadWorkerCount();
  } catch (error) {
    console.error(`${name}: cannot start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}

/**
 * Keeps the workers running: one that dies while the primary is not stopping is replaced, after a
 * backoff; when they keep dying young, the primary gives up. Once stopping, the primary exits as
 * the last worker does: 0 when every one closed cleanly, else 1.
 */
function superviseWorkers(name: string) {
  /** Each living worker: when it was forked, and whether it listens yet. */
  const living = new Map<Worker, { forkedAt: number; listening: boolean }>();
  const restarts = new Set<NodeJS.Timeout>();
  let youngDeaths = 0;
  /** The signal the workers were sent to stop, once stopping. */
  let stopping: NodeJS.Signals | undefined;
  let failed = false;

  const fork = () => {
    const worker = cluster.fork();
    // A worker's 'error' (a failed fork, a failed message) must not throw in the primary; its exit follows.
    worker.on('error', (error) => console.error(`${name}: worker ${worker.process.pid}: ${error.message}`));
    worker.once('listening', () => {
      const state = living.get(worker);
      if (state) state.listening = true;
    });
    living.set(worker, { forkedAt: Date.now(), listening: false });
  };

  const exitOnceEmpty = () => {
    if (living.size === 0) process.exit(failed ? 1 : 0);
  };

  /** `failure`: the primary stops because it cannot run, and exits 1 however its workers end. */
  const stop = (signal: NodeJS.Signals, failure = false) => {
    if (stopping) return;
    stopping = signal;
    failed ||= failure;
    for (const timer of restarts) clearTimeout(timer);
    console.log(`${name}: primary stopping ${living.size} workers (${signal})`);
    for (const worker of living.keys()) worker.process.kill(signal);
    setTimeout(() => {
      for (const worker of living.keys()) worker.process.kill('SIGKILL');
    }, STOP_BACKSTOP_MS).unref();
    exitOnceEmpty();
  };

  const replace = (worker: Worker, how: string, diedYoung: boolean) => {
    youngDeaths = diedYoung ? youngDeaths + 1 : 0;
    if (youngDeaths >= MAX_YOUNG_DEATHS) {
      console.error(`${name}: ${youngDeaths} workers in a row died before listening or within ${YOUNG_DEATH_MS / 1000} s of starting: giving up`);
      failed = true;
      return stop('SIGTERM');
    }
    const delay = RESTART_DELAY_MS * 2 ** Math.max(0, youngDeaths - 1);
    console.error(`${name}: worker ${worker.process.pid} exited with ${how}: starting another in ${delay} ms`);
    const timer = setTimeout(() => {
      restarts.delete(timer);
      fork();
    }, delay);
    restarts.add(timer);
  };

  cluster.on('exit', (worker, code, signal) => {
    const state = living.get(worker);
    living.delete(worker);
    const how = signal ? `signal ${signal}` : `status ${code}`;
    if (!stopping) return replace(worker, how, !state?.listening || Date.now() - state.forkedAt < YOUNG_DEATH_MS);
    // One that died of the very signal sent had not installed its handlers yet: still starting, nothing in flight.
    if (code !== 0 && signal !== stopping) {
      failed = true;
      console.error(`${name}: worker ${worker.process.pid} exited with ${how} while stopping`);
    }
    exitOnceEmpty();
  });

  /** To the listening workers only: one still starting has no handler yet, and reads everything fresh anyway. */
  const forward = (signal: NodeJS.Signals) => {
    for (const [worker, state] of living) if (state.listening) worker.process.kill(signal);
  };

  return { fork, stop, forward };
}
