/**
 * Helpers for the per-process config modules: read the environment once, collect every problem,
 * then either return a frozen config or throw one error that lists them all.
 */

export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export interface IntOptions {
  min?: number;
  max?: number;
}

/** A reader over one environment; call `finish` once every setting has been read. */
export class EnvReader {
  private readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  /** The raw value, with blank treated as unset. */
  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  optionalString(name: string): string | undefined {
    return this.raw(name);
  }

  int(name: string, fallback: number, { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER }: IntOptions = {}): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!/^-?\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      this.problems.push(`${name} must be a whole number from ${min} to ${max}, got "${value}"`);
      return fallback;
    }
    return Number(value);
  }

  port(name: string, fallback: number): number {
    return this.int(name, fallback, { min: 0, max: 65535 });
  }

  oneOf<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!(choices as readonly string[]).includes(value)) {
      this.problems.push(`${name} must be one of ${choices.join(', ')}, got "${value}"`);
      return fallback;
    }
    return value as T;
  }

  /** A comma-separated list of absolute http(s) URLs. */
  urlList(name: string, fallback: readonly string[]): string[] {
    const value = this.raw(name);
    if (value === undefined) return [...fallback];
    const urls = value.split(',').map((part) => part.trim()).filter(Boolean);
    const bad = urls.filter((url) => !isHttpUrl(url));
    if (urls.length === 0 || bad.length > 0) {
      this.problems.push(`${name} must be a comma-separated list of http(s) URLs, got "${value}"`);
      return [...fallback];
    }
    return urls;
  }

  /** Records a problem found by a caller's own check. */
  problem(message: string): void {
    this.problems.push(message);
  }

  /** Throws a ConfigError listing every problem, or returns the config deeply frozen. */
  finish<T extends object>(config: T): Readonly<T> {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
    return deepFreeze(config);
  }
}

export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** `value` and every object and list in it, frozen: a change to any part then throws (modules are strict). */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) if (inner && typeof inner === 'object') deepFreeze(inner);
  }
  return value;
}

/** The HTTP settings every process has. */
export interface HttpSettings {
  /**
   * Interface to listen on. `HOST`, @default "0.0.0.0" on the gateway (the public entry point),
   * "127.0.0.1" on the subgraphs (reached through the gateway)
   */
  host: string;
  /**
   * Port to listen on; 0 picks a free one. `PORT`, @default 19091 on the gateway, 19095 auth,
   * 19093 product (`npm start` runs its second instance on 19094), 19092 order
   */
  port: number;
  /**
   * Port of the separate listener that serves Prometheus metrics on `GET /metrics`, on the same
   * interface as `HOST` (docs/operations.md#metrics); "off" serves none, 0 picks a free one.
   * `METRICS_PORT`, @default the service's port plus 100: 19191 on the gateway, 19195 auth, 19193
   * product (`npm start` runs its second instance on 19194), 19192 order
   */
  metricsPort: number | undefined;
  /** pino log level. `LOG_LEVEL`, @default "info" */
  logLevel: string;
  /** Largest accepted request body in bytes. `BODY_LIMIT_BYTES`, @default 1048576 (1 MiB) */
  bodyLimitBytes: number;
  /**
   * How far V8 lets the heap grow past what the last full collection kept, in percent; 0 leaves
   * V8's own choice. V8's own lets a small live heap (the gateway keeps about 40 MB) grow to three
   * or four times its size between collections: under load the gateway held 60-80 MB more RSS with
   * it than at 100, at the same CPU per request, and 75 keeps another 7-10 MB off, again at a CPU
   * per request interleaved runs could not tell apart (bench/README.md#memory). Unlike a
   * `--max-old-space-size` cap it is no limit: a heap that needs more still gets it.
   * `HEAP_GROWTH_PERCENT`, @default 75
   */
  heapGrowthPercent: number;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function readHttpSettings(env: EnvReader, defaults: { host: string; port: number; metricsPort: number }): HttpSettings {
  return {
    host: env.string('HOST', defaults.host),
    port: env.port('PORT', defaults.port),
    metricsPort: readMetricsPort(env, defaults.metricsPort),
    logLevel: env.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    bodyLimitBytes: env.int('BODY_LIMIT_BYTES', 1024 * 1024, { min: 1024, max: 64 * 1024 * 1024 }),
    heapGrowthPercent: env.int('HEAP_GROWTH_PERCENT', 75, { min: 0, max: 1000 }),
  };
}

/** `METRICS_PORT`: a port (0 picks a free one), or "off" for no metrics listener at all. */
function readMetricsPort(env: EnvReader, fallback: number): number | undefined {
  const value = env.raw('METRICS_PORT');
  if (value === 'off') return undefined;
  if (value !== undefined && !(/^\d+$/.test(value) && Number(value) <= 65535)) {
    env.problem(`METRICS_PORT must be "off" or a port from 0 to 65535, got "${value}"`);
    return fallback;
  }
  return value === undefined ? fallback : Number(value);
}
