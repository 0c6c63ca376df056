import jwt from 'jsonwebtoken';
import { startStack, type Stack } from './fixtures/stack';
import { waitFor } from './fixtures/net';

/**
 * Cached REST reads are answered in front of Fastify (gateway/plugins/response-cache/rest-front.ts). It
 * must be invisible: the same answer as the bridge's, and every request it cannot answer (bad
 * token, odd URL, miss) gets exactly the answer Fastify gives.
 */
let stack: Stack;
let alice: string;
let orderId: number;

beforeAll(async () => {
  stack = await startStack({ gatewayEnv: { JWT_CLOCK_TOLERANCE_SECONDS: '0' } });
  alice = await stack.signIn('alice');
  const product = (await stack.gateway.post('/products', { name: 'Lamp', supply_price: 40 }, { token: alice })).body.product_id;
  orderId = (await stack.gateway.post('/order', { name: 'front', product_ids: [product] }, { token: alice })).body.order_id;
  expect((await stack.gateway.get(`/order/${orderId}`, { token: alice })).headers.get('x-cache')).toBe('MISS');
});
afterAll(() => stack?.close());

const orderReads = () => stack.hits.order!.queries.filter((query) => query.includes('order(')).length;

test('a hit has the same status, body and content type as the read that filled the cache', async () => {
  stack.resetHits();
  const hit = await stack.gateway.get(`/order/${orderId}`, { token: alice });
  expect(hit.status).toBe(200);
  expect(hit.headers.get('x-cache')).toBe('HIT');
  expect(hit.headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect(Number(hit.headers.get('content-length'))).toBe(Buffer.byteLength(JSON.stringify(hit.body)));
  expect(hit.body).toEqual({ order_id: orderId, name: 'front', orderItemIds: [expect.any(Number)], product_ids: [expect.any(Number)] });
  expect(orderReads()).toBe(0);
});

test.each([
  ['no header', undefined],
  ['garbage', 'Bearer not-a-token'],
  ['wrong scheme', `Basic ${Buffer.from('alice:x').toString('base64')}`],
  ['wrong signature', `Bearer ${jwt.sign({ sub: 'alice', iss: 'federation-platform' }, 'x'.repeat(32), { expiresIn: 60 })}`],
])('a cached order is refused with 401 and the usual body when the token is bad (%s)', async (_name, authorization) => {
  const response = await stack.gateway.get(`/order/${orderId}`, { headers: authorization ? { authorization } : {} });
  expect(response.status).toBe(401);
  expect(response.body.error.code).toBe('UNAUTHENTICATED');
  expect(response.headers.get('x-cache')).toBeNull();
});

test('a token that expires after filling the cache is refused from then on', async () => {
  const shortLived = stack.signToken({ sub: 'alice', iss: 'federation-platform', exp: Math.floor(Date.now() / 1000) + 2 });
  expect((await stack.gateway.get(`/order/${orderId}`, { token: shortLived })).headers.get('x-cache')).toBe('HIT');
  await waitFor(async () => (await stack.gateway.get(`/order/${orderId}`, { token: shortLived })).status === 401, 'the token to expire', 5000);
});

test('another user reaching the cached URL is not served from it', async () => {
  const bob = await stack.signIn('bob');
  const response = await stack.gateway.get(`/order/${orderId}`, { token: bob });
  expect(response.headers.get('x-cache')).not.toBe('HIT');
});

test('URLs the front does not understand get Fastify’s own answer', async () => {
  const withQuery = await stack.gateway.get(`/order/${orderId}?verbose=1`, { token: alice });
  expect([withQuery.status, withQuery.body.order_id]).toEqual([200, orderId]);
  const percentEncoded = [...String(orderId)].map((digit) => `%3${digit}`).join('');
  const encoded = await stack.gateway.get(`/order/${percentEncoded}`, { token: alice });
  expect([encoded.status, encoded.body.order_id]).toEqual([200, orderId]);
  expect((await stack.gateway.get('/order/abc', { token: alice })).status).toBe(400);
  expect((await stack.gateway.get(`/order/${orderId}/`, { token: alice })).status).toBe(404);
  const head = await stack.gateway.request('HEAD', `/order/${orderId}`, { token: alice });
  expect(head.status).toBe(200);
});
