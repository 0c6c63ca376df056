import fastifyRateLimit, { normalizeIP, type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from 'fastify';
import type { CacheSettings } from '../../shared/cache-store';
import { sendError } from '../../shared/error-response';
import type { GatewayPlugin } from '../pipeline';
import { createRateCounter, type RateCounter } from '../rate-counter';

export interface RateLimitSettings {
  /** Rate limiting at all. `RATE_LIMIT`, @default "off", or "on" when `NODE_ENV` is "production" */
  enabled: boolean;
  /** Length of one counting window, in ms. `RATE_LIMIT_WINDOW_MS`, @default 60000 */
  windowMs: number;
  /** Requests a verified user may make per window. `RATE_LIMIT_PER_USER`, @default 1200 */
  perUser: number;
  /** Requests without a valid token one client IP may make per window. `RATE_LIMIT_PER_IP`, @default 300 */
  perIp: number;
}

export interface RateLimitOptions {
  settings: RateLimitSettings;
  /** Where the counts live: Redis (shared by every gateway) when `redisUrl` is set, else this process. */
  cache: CacheSettings;
  /** The verified user of an `Authorization` header, or undefined: such requests count against their IP. May wait for an issuer's keys. */
  authenticate(header: string | undefined): Promise<string | undefined>;
  /** Routes never counted (liveness probes). */
  exemptRoutes: readonly string[];
  log: FastifyBaseLogger;
}

/**
 * Counts one request of a verified user for a path that answers without Fastify (the REST cache
 * front): true while the user is within the limit. Synchronous with the in-memory counter.
 */
export type UserRateCheck = (userId: string) => boolean | Promise<boolean>;

/**
 * `act()` once `userId` is counted within the limit, or at once with no limit; false (at once, or
 * as a promise when the count has to wait) over it. Both fast paths answer a hit through it.
 */
export function withinRateLimit(check: UserRateCheck | undefined, userId: string, act: () => boolean): boolean | Promise<boolean> {
  if (!check) return act();
  const within = check(userId);
  return typeof within === 'boolean' ? within && act() : within.then((ok) => ok && act());
}

const userKey = (userId: string) => `user:${userId}`;

/** The rate-limit stage, with its counter's check for the fast path. */
export interface RateLimit extends GatewayPlugin {
  checkUser: UserRateCheck;
}

/**
 * Per-user and per-IP rate limits, checked before the token is (so floods of bad tokens count
 * against their IP too). Over the limit, a request is answered 429 `RATE_LIMITED` with
 * `Retry-After`, in the REST or the GraphQL error shape. Undefined when rate limiting is off.
 */
export function useRateLimit(options: RateLimitOptions): RateLimit | undefined {
  const { settings } = options;
  if (!settings.enabled) return undefined;
  // Made with the Fastify side, which closes it with the app; no request is counted before.
  let counter: RateCounter | undefined;
  // A failed store fails open, as Fastify's path does (skipOnError).
  const checkUser: UserRateCheck = (userId) => {
    const count = counter!.increment(userKey(userId), settings.windowMs);
    return count instanceof Promise ? count.then((found) => !found || found.current <= settings.perUser) : !count || count.current <= settings.perUser;
  };
  return {
    name: 'rate limit',
    checkUser,
    fastify: ({ app }) => limitRequests(app, (counter = createRateCounter(options.cache, options.log)), options),
  };
}

async function limitRequests(app: FastifyInstance, counter: RateCounter, options: RateLimitOptions): Promise<void> {
  const { settings } = options;
  app.addHook('onClose', () => counter.close());
  // @fastify/rate-limit builds its store with `new`; this hands it the counter the fast path shares.
  const SharedStore = function SharedStore(this: unknown) {
    return storeOf(counter);
  } as unknown as FastifyRateLimitStoreCtor;
  await app.register(fastifyRateLimit, { global: false, store: SharedStore, skipOnError: true });
  const limit = app.createRateLimit({
    keyGenerator: async (request) => {
      const userId = await options.authenticate(request.headers.authorization);
      // An IPv6 client is counted by its /64, which it could otherwise walk through address by address.
      return userId === undefined ? `ip:${normalizeIP(request.ip)}` : userKey(userId);
    },
    max: (_request, key) => (key.startsWith('user:') ? settings.perUser : settings.perIp),
    timeWindow: settings.windowMs,
    allowList: (request) => options.exemptRoutes.includes(request.routeOptions.url ?? ''),
  });

  app.addHook('onRequest', async (request, reply) => {
    const result = await limit(request);
    if (!result.isAllowed && result.isExceeded) return refuse(reply, result.ttlInSeconds);
  });
}

function storeOf(counter: RateCounter): FastifyRateLimitStore {
  const store: FastifyRateLimitStore = {
    incr(key, callback, timeWindow) {
      const count = counter.increment(key, timeWindow);
      if (!(count instanceof Promise)) return count ? callback(null, count) : callback(new Error('rate counter unavailable'));
      count.then((found) => (found ? callback(null, found) : callback(new Error('rate counter unavailable'))));
    },
    child: () => store,
  };
  return store;
}

function refuse(reply: FastifyReply, retryAfterSeconds: number) {
  const seconds = Math.max(1, retryAfterSeconds);
  return sendError(reply.header('retry-after', String(seconds)), 'RATE_LIMITED', `Too many requests: retry in ${seconds} s`);
}
