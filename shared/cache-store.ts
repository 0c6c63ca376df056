import { KeyvAdapter } from '@apollo/utils.keyvadapter';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import type { FastifyBaseLogger } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { EnvReader } from './config';
import { outageGuard } from './outage-guard';

export interface CacheSettings {
  /** Redis shared by every instance, e.g. "redis://host:6379". `REDIS_URL`, @default unset: each process keeps its own in-memory LRU */
  redisUrl: string | undefined;
  /** Longest wait for one cache operation before it counts as failed, in ms. `CACHE_TIMEOUT_MS`, @default 250 */
  timeoutMs: number;
  /** Size bound of the in-memory store, in bytes. `CACHE_MEMORY_BYTES`, @default 33554432 (32 MiB) */
  memoryBytes: number;
  /** Key prefix, so several deployments can share one Redis. `CACHE_NAMESPACE`, @default "federation" */
  namespace: string;
}

export function readCacheSettings(env: EnvReader): CacheSettings {
  const redisUrl = env.optionalString('REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) env.problem('REDIS_URL must look like redis://host:6379');
  return {
    redisUrl,
    timeoutMs: env.int('CACHE_TIMEOUT_MS', 250, { min: 10, max: 10_000 }),
    memoryBytes: env.int('CACHE_MEMORY_BYTES', 32 * 1024 * 1024, { min: 1024 * 1024, max: 4 * 1024 * 1024 * 1024 }),
    namespace: env.string('CACHE_NAMESPACE', 'federation'),
  };
}

/**
 * A string cache that never fails a request: an operation that errors or takes longer than the
 * timeout is logged (at most once per outage) and answered as a miss, or `false` for a write.
 */
export interface CacheStore {
  readonly kind: 'memory' | 'redis';
  get(key: string): Promise<string | undefined>;
  /** The value at once, for the in-process store (for Redis, undefined: use `get`). Hot paths skip a promise chain with it. */
  readonly peek?: (key: string) => string | undefined;
  /** True when the value was stored. */
  set(key: string, value: string, ttlSeconds: number): Promise<boolean>;
  close(): Promise<void>;
  /** True when the store answers now (readiness). */
  ping(): Promise<boolean>;
}

const RECONNECT_MAX_DELAY_MS = 2000;

/**
 * How every Redis client of ours connects (the cache store's and the rate counter's): fail fast
 * while Redis is down instead of queueing commands, and keep reconnecting in the background.
 */
export function redisClientOptions(url: string) {
  return {
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: 1000, reconnectStrategy: (retries: number) => Math.min(100 * (retries + 1), RECONNECT_MAX_DELAY_MS) },
  };
}

/** Read (never written) to tell whether Redis answers. */
const PING_KEY = 'readiness-ping';

export function createCacheStore(settings: CacheSettings, log: FastifyBaseLogger, component: string): CacheStore {
  const namespace = `${settings.namespace}:${component}`;
  if (settings.redisUrl === undefined) {
    return memoryStore(settings.memoryBytes, namespace);
  }
  // Loaded only when Redis is used: the Redis client is some 3 MB of heap a process without it need not carry.
  const { createKeyv } = require('@keyv/redis') as typeof import('@keyv/redis');
  const keyv = createKeyv(redisClientOptions(settings.redisUrl), { namespace, throwOnConnectError: false, throwOnErrors: true });
  keyv.throwOnErrors = true;
  // Errors are reported through the failed operations; without a listener they would crash the process.
  keyv.on('error', () => undefined);
  (keyv.store as { on?: (event: string, listener: () => void) => void }).on?.('error', () => undefined);
  const close = async () => {
    await (keyv.store as { disconnect?: () => Promise<void> }).disconnect?.().catch(() => undefined);
  };
  return resilient(new KeyvAdapter(keyv), close, settings.timeoutMs, log);
}

/**
 * What an entry of the in-memory store costs beyond its key's and value's characters, in bytes: the
 * LRU's bookkeeping (map entry, list slots, size and expiry) and two string headers. Measured at
 * about 140 bytes (Node 20, lru-cache 11, a TTL set); without it a bound in bytes held millions of
 * tiny entries, such as the invalidation tags every write bumps, far past the bytes it promised.
 */
const ENTRY_OVERHEAD_BYTES = 150;

/** Bytes an entry takes: its characters (one byte each for ASCII) and the per-entry overhead. */
const entryBytes = (value: string, key: string) => ENTRY_OVERHEAD_BYTES + key.length + value.length;

/** An LRU bounded in bytes (`entryBytes`); it cannot fail or hang, so it needs no timeout or outage handling. */
function memoryStore(maxBytes: number, namespace: string): CacheStore {
  const lru = new LRUCache<string, string>({ maxSize: maxBytes, sizeCalculation: entryBytes });
  const prefix = `${namespace}:`;
  const peek = (key: string) => lru.get(prefix + key);
  return {
    kind: 'memory',
    peek,
    get: async (key) => peek(key),
    set: async (key, value, ttlSeconds) => {
      lru.set(prefix + key, value, { ttl: ttlSeconds * 1000 });
      return true;
    },
    close: async () => undefined,
    ping: async () => true,
  };
}

/** Redis behind a timeout: a failed or slow operation is a miss (or an unwritten value), logged once per outage. */
function resilient(
  cache: KeyValueCache<string>,
  close: () => Promise<void>,
  timeoutMs: number,
  log: FastifyBaseLogger,
): CacheStore {
  const attempt = outageGuard({
    timeoutMs,
    log,
    operation: 'cache operation',
    fields: { cache: 'redis' },
    down: 'cache unavailable: serving uncached until it returns',
    up: 'cache is reachable again: caching resumes',
  });
  return {
    kind: 'redis',
    get: (key) => attempt(() => cache.get(key), undefined),
    set: (key, value, ttlSeconds) => attempt(() => cache.set(key, value, { ttl: ttlSeconds }).then(() => true), false),
    ping: () => attempt(() => cache.get(PING_KEY).then(() => true), false),
    close,
  };
}
