import Fastify from 'fastify';
import { createCacheStore, type CacheStore } from '../shared/cache-store';

/** The in-memory store's bound (`CACHE_MEMORY_BYTES`) holds for what an entry really costs, not only its value's length. */
const MEBIBYTE = 1024 * 1024;
let store: CacheStore;

beforeEach(() => {
  store = createCacheStore({ redisUrl: undefined, timeoutMs: 250, memoryBytes: MEBIBYTE, namespace: 'test' }, Fastify({ logger: false }).log, 'store');
});

const present = (keys: string[]) => keys.filter((key) => store.peek!(key) !== undefined).length;

test('tiny entries (as the tag versions every write bumps) count their keys and bookkeeping: a mebibyte holds thousands, not a million', async () => {
  const keys = Array.from({ length: 100_000 }, (_, index) => `tag:Order:${index}`);
  for (const key of keys) await store.set(key, '1', 300);
  const kept = present(keys);
  // About 150 bytes of bookkeeping plus some 26 characters each: no more than 6,000 or so fit.
  expect(kept).toBeGreaterThan(4_000);
  expect(kept).toBeLessThan(MEBIBYTE / 150);
  // The least recently used went first; the latest are there.
  expect(store.peek!(keys[0]!)).toBeUndefined();
  expect(store.peek!(keys.at(-1)!)).toBe('1');
});

test('large values count their length: two 600 KB answers do not both fit in a mebibyte', async () => {
  await store.set('first', 'x'.repeat(600_000), 300);
  await store.set('second', 'y'.repeat(600_000), 300);
  expect(store.peek!('first')).toBeUndefined();
  expect(store.peek!('second')).toHaveLength(600_000);
});
