import type { FastifyBaseLogger } from 'fastify';
import { LRUCache } from 'lru-cache';
import { redisClientOptions, type CacheSettings } from '../shared/cache-store';
import { outageGuard } from '../shared/outage-guard';

/** Requests counted in the current window, and the ms until it ends. */
export interface Count {
  current: number;
  ttl: number;
}

/**
 * Fixed-window request counters. The in-memory one answers synchronously (the cache front's hot
 * path needs no promise); the Redis one is shared by every gateway and answers undefined when
 * Redis fails or is slower than the cache timeout, so a Redis outage never blocks a request.
 */
export interface RateCounter {
  increment(key: string, windowMs: number): Count | undefined | Promise<Count | undefined>;
  close(): Promise<void>;
}

/** Most keys (users and IPs) the in-memory counter tracks; the least recently seen are dropped first. */
const MEMORY_KEYS = 100_000;

export function createRateCounter(cache: CacheSettings, log: FastifyBaseLogger): RateCounter {
  return cache.redisUrl === undefined ? memoryCounter() : redisCounter(cache.redisUrl, `${cache.namespace}:rate-limit:`, cache.timeoutMs, log);
}

function memoryCounter(): RateCounter {
  const windows = new LRUCache<string, { current: number; endsAt: number }>({ max: MEMORY_KEYS });
  return {
    increment(key, windowMs) {
      const now = Date.now();
      let window = windows.get(key);
      if (!window || window.endsAt <= now) windows.set(key, (window = { current: 0, endsAt: now + windowMs }));
      window.current += 1;
      return { current: window.current, ttl: window.endsAt - now };
    },
    close: async () => undefined,
  };
}

/** INCR and set the window's expiry on its first request, atomically; returns the count and the ms left. */
const INCREMENT = `
local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {current, ttl}
`;

function redisCounter(url: string, prefix: string, timeoutMs: number, log: FastifyBaseLogger): RateCounter {
  // Loaded only when Redis is used (see shared/cache-store.ts).
  const { createClient } = require('@redis/client') as typeof import('@redis/client');
  const client = createClient(redisClientOptions(url));
  client.on('error', () => undefined); // failures surface through the commands; unhandled, they would crash the process
  client.connect().catch(() => undefined);
  const attempt = outageGuard({
    timeoutMs,
    log,
    operation: 'rate counter',
    fields: { rateLimit: 'redis' },
    down: 'rate limit store unavailable: requests are not limited until it returns',
    up: 'rate limit store is reachable again',
  });
  return {
    increment: (key, windowMs) =>
      attempt(async () => {
        const [current, ttl] = (await client.eval(INCREMENT, { keys: [prefix + key], arguments: [String(windowMs)] })) as [number, number];
        return { current, ttl };
      }, undefined),
    close: async () => {
      await client.close().catch(() => undefined);
    },
  };
}
