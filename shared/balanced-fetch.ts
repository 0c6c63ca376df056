import { AppError } from './errors';
import { AnswerResponse, sendHttp } from './http-client';

/** Errors raised before a request reached the server: safe to retry on another instance, even for mutations. */
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);
/**
 * What a stopping instance answers (SHUTTING_DOWN, see `createHttpApp`) before routing, so the request
 * was not processed: safe to send elsewhere, even a mutation. Our subgraphs answer errors with 200.
 */
const CLOSING_STATUS = 503;
/** A busy but healthy instance may answer `/health` slowly: a check waits at least this long, in ms. */
const MIN_CHECK_TIMEOUT_MS = 1000;
/** Failed active checks in a row that take a healthy instance out of rotation (one slow answer does not). */
const CHECK_FAILURES_TO_MARK_DOWN = 2;

/** Active health checks of every instance against its `/health`. */
export interface HealthCheckOptions {
  /** Pause between two checks of a healthy instance, in ms; also each check's timeout (at least 1 s). */
  intervalMs: number;
  /** Longest pause between checks of an unhealthy instance: the pause doubles from `intervalMs` up to this, in ms. */
  maxBackoffMs: number;
}

export interface BalancedFetchOptions {
  /** A name for error messages, e.g. the subgraph name. */
  name: string;
  /** Every instance's URL; requests rotate over them. */
  urls: readonly string[];
  /** Per-attempt timeout in milliseconds. */
  timeoutMs: number;
  /**
   * Further attempts (on the next instance) for an idempotent request that failed after it may have
   * reached an instance (timeout, reset connection). Connection refusals never count: they are always retried.
   */
  retries?: number;
  /** Which requests may be sent twice; only those get `retries`. */
  isIdempotent?: (init: RequestInit) => boolean;
  /** Without it, every instance counts as healthy and a refused connection just moves on to the next. */
  healthChecks?: HealthCheckOptions;
  /** Told when an instance goes down or comes back. */
  onHealthChange?: (url: string, healthy: boolean) => void;
  /** Told of every attempt on an instance: how it ended and how long it took, in seconds (metrics). */
  onAttempt?: (url: string, outcome: FetchOutcome, seconds: number) => void;
}

/**
 * How one attempt on one instance ended: answered; answered as a stopping server; connection
 * refused (or unreachable); timed out; failed otherwise (a reset connection).
 */
export type FetchOutcome = 'ok' | 'closing' | 'refused' | 'timeout' | 'failed';

export type FetchLike = (url: string, init?: RequestInit) => Promise<AnswerResponse>;

/** A fetch bound to its instances. */
export type BalancedFetch = FetchLike & {
  readonly urls: readonly string[];
  /** Instances currently considered up. */
  healthyUrls(): string[];
  /** True when at least one instance answers its `/health` now (or, with health checks, is marked healthy). */
  available(): Promise<boolean>;
  /** Stops the health checks. */
  close(): void;
};

interface Instance {
  url: string;
  healthUrl: string;
  healthy: boolean;
  /** Failed health checks in a row, for the backoff. */
  failures: number;
  timer?: NodeJS.Timeout;
}

/**
 * A fetch that ignores the URL it is given and sends the request round-robin over the healthy
 * instances of `urls`. An instance that refuses the connection (or answers as a stopping server) is
 * marked unhealthy and the request goes to the next one, so a stopped instance costs clients
 * nothing; health checks bring it back. When no instance answers, UPSTREAM_UNAVAILABLE.
 */
export function createBalancedFetch(options: BalancedFetchOptions): BalancedFetch {
  const { name, urls, timeoutMs, retries = 0, isIdempotent = () => false, healthChecks, onHealthChange, onAttempt } = options;
  if (urls.length === 0) throw new Error(`${name}: at least one URL is required`);
  const instances: Instance[] = urls.map((url) => ({ url, healthUrl: new URL('/health', url).toString(), healthy: true, failures: 0 }));
  let closed = false;
  let cursor = 0;

  const setHealth = (instance: Instance, healthy: boolean) => {
    if (instance.healthy !== healthy) onHealthChange?.(instance.url, healthy);
    instance.healthy = healthy;
  };
  const schedule = (instance: Instance) => {
    if (!healthChecks || closed) return;
    clearTimeout(instance.timer);
    const delay = Math.min(healthChecks.intervalMs * 2 ** Math.max(instance.failures - 1, 0), healthChecks.maxBackoffMs);
    instance.timer = setTimeout(() => void check(instance), delay);
    // Health checks alone must not keep a process alive.
    instance.timer.unref();
  };
  const check = async (instance: Instance) => {
    const up = await probe(instance.healthUrl, Math.max(healthChecks!.intervalMs, MIN_CHECK_TIMEOUT_MS));
    instance.failures = up ? 0 : instance.failures + 1;
    if (up || !instance.healthy || instance.failures >= CHECK_FAILURES_TO_MARK_DOWN) setHealth(instance, up);
    schedule(instance);
  };
  /** A refused connection seen by a request: out of rotation now, and checked again from the shortest pause. */
  const markDown = (instance: Instance) => {
    if (!healthChecks) return;
    instance.failures = Math.max(instance.failures, 1);
    setHealth(instance, false);
    schedule(instance);
  };
  /** An answer in panic mode proves the instance is back before its next check does. */
  const markUp = (instance: Instance) => {
    instance.failures = 0;
    setHealth(instance, true);
    schedule(instance);
  };
  for (const instance of instances) schedule(instance);
  const report = (instance: Instance, outcome: FetchOutcome, started: number) => onAttempt?.(instance.url, outcome, (performance.now() - started) / 1000);

  const balanced = async (_url: string, init: RequestInit = {}): Promise<AnswerResponse> => {
    const start = cursor;
    cursor = (cursor + 1) % instances.length;
    const rotated = rotate(instances, start);
    const healthy = rotated.filter((instance) => instance.healthy);
    // With none marked healthy, all are tried ("panic mode"): a check that timed out on an
    // overloaded instance must not turn overload into an outage. A dead one refuses at once.
    const candidates = healthy.length > 0 ? healthy : rotated;
    let retriesLeft = isIdempotent(init) ? retries : 0;
    let failure: unknown;
    for (let index = 0; candidates.length > 0; ) {
      const instance = candidates[index % candidates.length]!;
      const started = onAttempt ? performance.now() : 0;
      try {
        const answer = await sendHttp(instance.url, init, timeoutMs);
        report(instance, answer.status === CLOSING_STATUS ? 'closing' : 'ok', started);
        if (answer.status !== CLOSING_STATUS) {
          if (!instance.healthy) markUp(instance);
          return new AnswerResponse(answer, instance.url);
        }
        markDown(instance);
        candidates.splice(index % candidates.length, 1);
      } catch (error) {
        report(instance, isConnectError(error) ? 'refused' : isTimeout(error) ? 'timeout' : 'failed', started);
        if (isConnectError(error)) {
          markDown(instance);
          candidates.splice(index % candidates.length, 1);
          continue;
        }
        if (retriesLeft === 0 || init.signal?.aborted) throw upstreamError(name, error);
        retriesLeft -= 1;
        failure = error;
        index += 1;
      }
    }
    throw failure === undefined ? new AppError('UPSTREAM_UNAVAILABLE', `No instance of the ${name} service is reachable`) : upstreamError(name, failure);
  };
  return Object.assign(balanced, {
    urls,
    healthyUrls: () => instances.filter((instance) => instance.healthy).map((instance) => instance.url),
    available: async () => {
      if (healthChecks) return instances.some((instance) => instance.healthy);
      const answers = await Promise.all(instances.map((instance) => probe(instance.healthUrl, timeoutMs)));
      return answers.includes(true);
    },
    close: () => {
      closed = true;
      for (const instance of instances) clearTimeout(instance.timer);
    },
  });
}

function rotate<T>(items: readonly T[], start: number): T[] {
  return [...items.slice(start), ...items.slice(0, start)];
}

/**
 * Up unless it fails to answer or answers a 5xx (ours answer 503 while stopping). A 4xx is an
 * instance that is running but has no open `/health` route, as a subgraph not built by us may
 * not: taking it out of rotation would make the gateway flap and turn not-ready when idle.
 */
async function probe(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const answer = await sendHttp(url, {}, timeoutMs);
    return answer.status >= 200 && answer.status < 500;
  } catch {
    return false;
  }
}

/** undici's errors (and Node's socket errors it passes on) carry the code themselves; fetch put it on `cause`. */
function errorCode(error: unknown): unknown {
  const failure = error as { code?: unknown; cause?: { code?: unknown } } | undefined;
  return failure?.code ?? failure?.cause?.code;
}

function isConnectError(error: unknown): boolean {
  const code = errorCode(error);
  return typeof code === 'string' && CONNECT_ERRORS.has(code);
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function isTimeout(error: unknown): boolean {
  return TIMEOUT_CODES.has(String(errorCode(error))) || (error instanceof DOMException && error.name === 'TimeoutError');
}

function upstreamError(name: string, error: unknown): AppError {
  const timedOut = isTimeout(error);
  return new AppError('UPSTREAM_UNAVAILABLE', timedOut ? `The ${name} service did not answer in time` : `The ${name} service failed to answer`);
}
