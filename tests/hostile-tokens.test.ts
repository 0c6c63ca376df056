import { generateKeyPairSync, randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { HttpClient, HttpResponse } from './fixtures/http';
import { startStack, type Stack } from './fixtures/stack';

/**
 * Every token an attacker might try, against the real gateway: on REST, on /graphql, and on the
 * fast path that answers cached `GET /order/{id}` before Fastify. The gateway runs the shared-secret
 * mode (hs256) with a key ring (`current` signs, `previous` still verifies) and a clock tolerance
 * of 30 s; tests/jwks-tokens.test.ts refuses the same attacks in jwks mode.
 */
const CURRENT = randomBytes(32).toString('hex');
const PREVIOUS = randomBytes(32).toString('hex');
const TOLERANCE = 30;
const ISSUER = 'federation-platform';
const ORDER_QUERY = 'query($id: ID!) { order(id: $id) { id name } }';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;

let stack: Stack;
let alice: string;
let orderId: number;

beforeAll(async () => {
  stack = await startStack({
    env: { JWT_MODE: 'hs256', JWT_SECRET: '', JWT_KEYS: `current=${CURRENT},previous=${PREVIOUS}`, JWT_CLOCK_TOLERANCE_SECONDS: String(TOLERANCE) },
    gatewayEnv: { CACHE_NAMESPACE: `test-${randomBytes(4).toString('hex')}` },
  });
  alice = await stack.signIn('alice');
  orderId = (await stack.gateway.post('/order', { name: 'guarded', product_ids: [] }, { token: alice })).body.order_id;
});
afterAll(() => stack?.close());

const now = () => Math.floor(Date.now() / 1000);
/** Alice's claims, valid for an hour, unless `claims` says otherwise. */
const hs256 = (secret: string, header: { kid?: string }, claims: object = {}) =>
  jwt.sign({ sub: 'alice', iss: ISSUER, exp: now() + 3600, ...claims }, secret, { algorithm: 'HS256', header: { alg: 'HS256', ...header } });
const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const bearer = (token: string) => `Bearer ${token}`;

/** Each case is an Authorization header (undefined: none) that must be answered 401. */
const hostile: [string, () => string | undefined][] = [
  ['no Authorization header', () => undefined],
  ['a Basic scheme', () => `Basic ${Buffer.from('alice:secret').toString('base64')}`],
  ['a valid token under another scheme', () => `Token ${hs256(CURRENT, { kid: 'current' })}`],
  ['Bearer with nothing after it', () => 'Bearer '],
  ['garbage', () => bearer('not-a-token')],
  ['three garbage segments', () => bearer('a.b.c')],
  ['two tokens', () => `${bearer(hs256(CURRENT, { kid: 'current' }))} ${hs256(CURRENT, { kid: 'current' })}`],
  ['alg none', () => bearer(`${base64url({ alg: 'none', typ: 'JWT', kid: 'current' })}.${base64url({ sub: 'alice', iss: ISSUER, exp: now() + 3600 })}.`)],
  ['RS256 signed with a private key', () => bearer(jwt.sign({ sub: 'alice', iss: ISSUER, exp: now() + 3600 }, rsa.privateKey, { algorithm: 'RS256', keyid: 'current' }))],
  ['HS256 with the public key as the secret', () => bearer(hs256(publicPem, { kid: 'current' }))],
  ['a wrong signature', () => bearer(hs256(randomBytes(32).toString('hex'), { kid: 'current' }))],
  ["the previous key's signature naming the current key", () => bearer(hs256(PREVIOUS, { kid: 'current' }))],
  ['a tampered payload', () => bearer(tamper(hs256(CURRENT, { kid: 'current' }), { sub: 'bob' }))],
  ['expired beyond the clock tolerance', () => bearer(hs256(CURRENT, { kid: 'current' }, { exp: now() - 2 * TOLERANCE }))],
  ['not yet valid beyond the clock tolerance', () => bearer(hs256(CURRENT, { kid: 'current' }, { nbf: now() + 2 * TOLERANCE }))],
  ['a wrong issuer', () => bearer(hs256(CURRENT, { kid: 'current' }, { iss: 'someone-else' }))],
  ['a deleted signing key', () => bearer(hs256(randomBytes(32).toString('hex'), { kid: 'retired' }))],
  ['an unknown kid over the current secret', () => bearer(hs256(CURRENT, { kid: 'retired' }))],
  ['no kid, with no "default" key in the ring', () => bearer(hs256(CURRENT, {}))],
  ['no subject', () => bearer(jwt.sign({ iss: ISSUER, exp: now() + 3600 }, CURRENT, { algorithm: 'HS256', keyid: 'current' }))],
];

/** Swaps the payload of a signed token, keeping its header and signature. */
function tamper(token: string, claims: object): string {
  const [header, payload, signature] = token.split('.');
  const changed = { ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), ...claims };
  return `${header}.${base64url(changed)}.${signature}`;
}

/** Tokens that must pass: both keys of the ring, and both edges of the clock tolerance from inside. */
const accepted: [string, () => string][] = [
  ['a token of the current key', () => hs256(CURRENT, { kid: 'current' })],
  ['a token of the previous key, still in the ring', () => hs256(PREVIOUS, { kid: 'previous' })],
  ['expired, but within the clock tolerance', () => hs256(CURRENT, { kid: 'current' }, { exp: now() - TOLERANCE / 2 })],
  ['not yet valid, but within the clock tolerance', () => hs256(CURRENT, { kid: 'current' }, { nbf: now() + TOLERANCE / 2 })],
];

const withHeader = (authorization: string | undefined): Record<string, string> => (authorization === undefined ? {} : { authorization });

function expectRefusedOnRest(response: HttpResponse) {
  expect(response.status).toBe(401);
  expect(response.headers.get('www-authenticate')).toBe('Bearer');
  expect(response.headers.get('x-cache')).toBeNull();
  expect(response.body.error.code).toBe('UNAUTHENTICATED');
}

/** Alice's order in the response cache, so the fast path would answer a request it accepted. */
async function cacheAliceOrder(gateway: HttpClient) {
  await gateway.get(`/order/${orderId}`, { token: alice });
  expect((await gateway.get(`/order/${orderId}`, { token: alice })).headers.get('x-cache')).toBe('HIT');
}

test('issued tokens name the signing key (the first of JWT_KEYS)', () => {
  expect(jwt.decode(alice, { complete: true })!.header).toMatchObject({ alg: 'HS256', kid: 'current' });
  expect(() => jwt.verify(alice, CURRENT, { algorithms: ['HS256'] })).not.toThrow();
});

describe.each(hostile)('%s → 401', (_case, header) => {
  test('on the cached GET /order/{id}, whose hit the fast path would answer', async () => {
    await cacheAliceOrder(stack.gateway);
    stack.resetHits();
    expectRefusedOnRest(await stack.gateway.get(`/order/${orderId}`, { headers: withHeader(header()) }));
    expect(Object.values(stack.hits).flatMap((hits) => hits.queries)).toEqual([]);
  });

  test('on REST writes', async () => {
    stack.resetHits();
    const headers = withHeader(header());
    expectRefusedOnRest(await stack.gateway.put(`/order/${orderId}`, { product_id: 1 }, { headers }));
    expectRefusedOnRest(await stack.gateway.post('/products', { name: 'x', supply_price: 1 }, { headers }));
    expect(Object.values(stack.hits).flatMap((hits) => hits.queries)).toEqual([]);
  });

  test('on /graphql', async () => {
    stack.resetHits();
    const response = await stack.gateway.request('POST', '/graphql', {
      body: { query: ORDER_QUERY, variables: { id: String(orderId) } },
      headers: withHeader(header()),
    });
    expect(response.status).toBe(401);
    expect(response.body.data).toBeUndefined();
    expect(response.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(Object.values(stack.hits).flatMap((hits) => hits.queries)).toEqual([]);
  });
});

describe.each(accepted)('%s → accepted', (_case, token) => {
  test('on REST (the cached read) and on /graphql', async () => {
    const read = await stack.gateway.get(`/order/${orderId}`, { token: token() });
    expect(read.status).toBe(200);
    expect(read.body.order_id).toBe(orderId);
    const graphql = await stack.gateway.graphql(ORDER_QUERY, { id: String(orderId) }, token());
    expect(graphql.body.data).toEqual({ order: { id: String(orderId), name: 'guarded' } });
  });
});

test('a key deleted from the ring: its token, verified and remembered before, is refused after the restart', async () => {
  const previous = hs256(PREVIOUS, { kid: 'previous' });
  expect((await stack.gateway.get(`/order/${orderId}`, { token: previous })).status).toBe(200);
  expect((await stack.gateway.get(`/order/${orderId}`, { token: previous })).status).toBe(200); // from the verified-token LRU
  const restarted = await stack.startGateway({ JWT_KEYS: `current=${CURRENT}` });
  await cacheAliceOrder(restarted);
  const refused = await restarted.get(`/order/${orderId}`, { token: previous });
  expectRefusedOnRest(refused);
  expect((await restarted.graphql(ORDER_QUERY, { id: String(orderId) }, previous)).status).toBe(401);
  expect((await restarted.get(`/order/${orderId}`, { token: alice })).status).toBe(200);
});

test('a ring with a new signing key in front still accepts the keys it keeps, and only those', async () => {
  const rotated = await stack.startGateway({ JWT_KEYS: `next=${randomBytes(32).toString('hex')},current=${CURRENT}` });
  expect((await rotated.get(`/order/${orderId}`, { token: alice })).status).toBe(200);
  expect((await rotated.get(`/order/${orderId}`, { token: hs256(PREVIOUS, { kid: 'previous' }) })).status).toBe(401);
});
