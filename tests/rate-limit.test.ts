import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadGatewayConfig } from '../gateway/config';
import type { HttpClient, HttpResponse } from './fixtures/http';
import { describeWithRedis, testRedisUrl, testWithRedis } from './fixtures/servers';
import { startStack, type Stack } from './fixtures/stack';

const WINDOW_MS = 1000;
const PER_USER = 3;
const PER_IP = 2;
const limits = { RATE_LIMIT: 'on', RATE_LIMIT_WINDOW_MS: String(WINDOW_MS), RATE_LIMIT_PER_USER: String(PER_USER), RATE_LIMIT_PER_IP: String(PER_IP) };

let stack: Stack;
let orderId: number;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  stack = await startStack({ productInstances: 1 });
  for (const user of ['alice', 'bob', 'carol', 'dave', 'erin']) tokens[user] = await stack.signIn(user);
  const order = await stack.gateway.post('/order', { name: 'limited', product_ids: [] }, { token: tokens.alice });
  expect(order.status).toBe(200);
  orderId = order.body.order_id;
});
afterAll(() => stack?.close());

function expectRestLimited(response: HttpResponse) {
  expect(response.status).toBe(429);
  expect(response.body.error).toEqual({ code: 'RATE_LIMITED', message: expect.stringMatching(/retry in \d+ s/) });
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(Number(response.headers.get('retry-after'))).toBeLessThanOrEqual(Math.ceil(WINDOW_MS / 1000));
}

/** Waits for the current window to end, so the next test starts with fresh counts. */
const nextWindow = () => sleep(WINDOW_MS + 50);

test('off by default, on in production, with documented limits', () => {
  const secret = { JWT_SECRET: 's'.repeat(40) };
  expect(loadGatewayConfig(secret).rateLimit).toEqual({ enabled: false, windowMs: 60_000, perUser: 1200, perIp: 300 });
  expect(loadGatewayConfig({ ...secret, NODE_ENV: 'production' }).rateLimit.enabled).toBe(true);
  expect(loadGatewayConfig({ ...secret, NODE_ENV: 'production', RATE_LIMIT: 'off' }).rateLimit.enabled).toBe(false);
});

/** Redis settings of a namespace of one's own, so that no other test's counts meet these. */
const redisEnv = () => ({ REDIS_URL: testRedisUrl(), CACHE_NAMESPACE: `rate-${randomBytes(6).toString('hex')}` });

/** The same limits with the counts in either store. */
function countedSuite(storeEnv: () => Record<string, string>) {
  let gateway: HttpClient;
  let env: Record<string, string>;
  beforeAll(async () => {
    env = { ...limits, ...storeEnv() };
    gateway = await stack.startGateway(env);
  });
  beforeEach(nextWindow);

  test('a user gets PER_USER requests a window over REST and GraphQL together, then 429 with Retry-After', async () => {
    expect((await gateway.get('/products', { token: tokens.alice })).status).toBe(200);
    expect((await gateway.graphql('{ products(first: 1) { id } }', {}, tokens.alice)).status).toBe(200);
    expect((await gateway.get(`/order/${orderId}`, { token: tokens.alice })).status).toBe(200);
    expectRestLimited(await gateway.get('/products', { token: tokens.alice }));
    const graphql = await gateway.graphql('{ products(first: 1) { id } }', {}, tokens.alice);
    expect(graphql.status).toBe(429);
    expect(graphql.body.errors[0].extensions).toEqual({ code: 'RATE_LIMITED' });
    expect(Number(graphql.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another user, and the liveness probe, are not affected.
    expect((await gateway.get('/products', { token: tokens.bob })).status).toBe(200);
    expect((await gateway.get('/health')).status).toBe(200);
  });

  test('the REST cache front counts its hits once each and leaves the 429 to Fastify', async () => {
    const first = await gateway.get(`/order/${orderId}`, { token: tokens.alice });
    const second = await gateway.get(`/order/${orderId}`, { token: tokens.alice });
    const third = await gateway.get(`/order/${orderId}`, { token: tokens.alice });
    expect([first.status, second.status, third.status]).toEqual([200, 200, 200]);
    expect(third.headers.get('x-cache')).toBe('HIT');
    expectRestLimited(await gateway.get(`/order/${orderId}`, { token: tokens.alice }));
  });

  test('the window ends: the limit resets without a restart', async () => {
    for (let index = 0; index < PER_USER; index += 1) expect((await gateway.get('/products', { token: tokens.carol })).status).toBe(200);
    expectRestLimited(await gateway.get('/products', { token: tokens.carol }));
    await nextWindow();
    expect((await gateway.get('/products', { token: tokens.carol })).status).toBe(200);
  });

  test('requests without a valid token count against their IP, bad tokens included', async () => {
    expect((await gateway.get('/auth/signIn?user_id=x')).status).toBe(200);
    expect((await gateway.get('/products', { token: 'garbage' })).status).toBe(401);
    expectRestLimited(await gateway.get('/auth/signIn?user_id=x'));
    expect((await gateway.get('/products', { token: 'garbage' })).status).toBe(429);
    // A verified user behind the same IP has a count of its own.
    expect((await gateway.get('/products', { token: tokens.dave })).status).toBe(200);
  });

  test('the fast path counts too: a cached read over the limit is refused', async () => {
    for (let index = 0; index < PER_USER; index += 1) expect((await gateway.get('/products', { token: tokens.alice })).status).toBe(200);
    expectRestLimited(await gateway.get(`/order/${orderId}`, { token: tokens.alice }));
  });
}

describe('counted in memory', () => countedSuite(() => ({})));
describeWithRedis('counted in Redis', () => countedSuite(redisEnv));

testWithRedis('with Redis, every gateway sharing it shares the counts', async () => {
  const shared = { ...limits, ...redisEnv() };
  const [one, two] = [await stack.startGateway(shared), await stack.startGateway(shared)];
  await nextWindow();
  expect((await one.get('/products', { token: tokens.erin })).status).toBe(200);
  expect((await two.get('/products', { token: tokens.erin })).status).toBe(200);
  expect((await one.get(`/order/${orderId}`, { token: tokens.erin })).status).toBe(404);
  expectRestLimited(await two.get('/products', { token: tokens.erin }));
});

test('a Redis that does not answer fails open: requests are served, not limited', async () => {
  const gateway = await stack.startGateway({ ...limits, REDIS_URL: 'redis://127.0.0.1:1', CACHE_TIMEOUT_MS: '50' });
  for (let index = 0; index < PER_USER + 2; index += 1) expect((await gateway.get('/products', { token: tokens.bob })).status).toBe(200);
});
