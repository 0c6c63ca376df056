import { createHmac, createPublicKey, randomUUID } from 'node:crypto';
import type { HttpClient, HttpResponse } from './fixtures/http';
import { startJwksIssuer, type JwksIssuer } from './fixtures/jwks-issuer';
import { startStack, type Stack } from './fixtures/stack';

/**
 * The gateway as a resource server: the auth subgraph's tokens and an external issuer's (a JWKS
 * server in this test, RS256 as Keycloak's), each verified against the keys its own issuer
 * publishes; refusals are 401 UNAUTHENTICATED; JWKS fetches are counted at the issuer.
 */
const AUDIENCE = 'federation-api';
/** No scheduled refresh during the test: every fetch counted is one the test caused. */
const NO_INTERVAL = { JWT_JWKS_REFRESH_INTERVAL_MS: '86400000' };

let stack: Stack;
let issuer: JwksIssuer;
let external: HttpClient;
let authKid: string;

const now = () => Math.floor(Date.now() / 1000);
/** Claims of a valid token of the external issuer for user 42, `changes` applied. */
const claims = (changes: object = {}) => ({ user_id: 42, sub: 'keycloak-uuid', iss: issuer.issuer, aud: AUDIENCE, exp: now() + 600, jti: randomUUID(), ...changes });
const externalSettings = (more: Record<string, string> = {}) => ({
  JWT_JWKS_URLS: issuer.url,
  JWT_ISSUERS: issuer.issuer,
  JWT_AUDIENCE: AUDIENCE,
  JWT_USER_CLAIM: 'user_id',
  ...NO_INTERVAL,
  ...more,
});

beforeAll(async () => {
  stack = await startStack({ productInstances: 1, gatewayEnv: NO_INTERVAL });
  issuer = await startJwksIssuer();
  external = await stack.startGateway(externalSettings());
  const jwks = await stack.gateway.get('/.well-known/jwks.json');
  authKid = jwks.body.keys[0].kid;
});
afterAll(async () => {
  await stack.close();
  await issuer.close();
});

function expectUnauthenticated(response: HttpResponse, message?: RegExp) {
  expect(response.status).toBe(401);
  expect(response.body.error.code).toBe('UNAUTHENTICATED');
  if (message) expect(response.body.error.message).toMatch(message);
}

test("an external issuer's tokens are accepted by configuration alone, the user read from JWT_USER_CLAIM", async () => {
  const created = await external.post('/order', { name: 'from keycloak', product_ids: [] }, { token: await issuer.sign(claims()) });
  expect(created.status).toBe(200);
  const id = created.body.order_id;
  // Another token of the same user (another `sub`, an integer user_id) owns the order; user 43 does not see it.
  expect((await external.get(`/order/${id}`, { token: await issuer.sign(claims({ sub: 'other-session' })) })).status).toBe(200);
  expect((await external.get(`/order/${id}`, { token: await issuer.sign(claims({ user_id: '42' })) })).status).toBe(200);
  expect((await external.get(`/order/${id}`, { token: await issuer.sign(claims({ user_id: 43 })) })).status).toBe(404);
  // The auth subgraph's own tokens (user in `sub`) still work beside it, over REST and GraphQL.
  const alice = await stack.signIn('alice');
  expect((await external.get('/products', { token: alice })).status).toBe(200);
  expect((await external.graphql('{ products(first: 1) { id } }', {}, alice)).body.errors).toBeUndefined();
});

test('a token of an unlisted issuer is 401 UNAUTHENTICATED, on REST and GraphQL, on both gateways', async () => {
  const token = await issuer.sign(claims({ iss: 'https://unlisted.example/realms/test' }));
  expectUnauthenticated(await external.get('/products', { token }), /not from a trusted issuer/);
  expectUnauthenticated(await stack.gateway.get('/products', { token }), /not from a trusted issuer/);
  const graphql = await external.graphql('{ products(first: 1) { id } }', {}, token);
  expect(graphql.status).toBe(401);
  expect(graphql.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  // The listed issuer's tokens are refused by the gateway that does not list it.
  expectUnauthenticated(await stack.gateway.get('/products', { token: await issuer.sign(claims()) }), /not from a trusted issuer/);
});

test.each([
  ['a wrong audience', () => claims({ aud: 'another-api' }), /not meant for this service/],
  ['no audience', () => claims({ aud: undefined }), /not meant for this service/],
  ['expired', () => claims({ exp: now() - 3600 }), /expired/],
  ['no expiry', () => claims({ exp: undefined }), /not valid/],
  ['no user claim (only sub)', () => claims({ user_id: undefined }), /no subject/],
  ['a user claim that is an object', () => claims({ user_id: { id: 42 } }), /no subject/],
  ['a user claim over 128 characters', () => claims({ user_id: 'u'.repeat(129) }), /no subject/],
])('an external token with %s → 401', async (_case, tokenClaims, message) => {
  expectUnauthenticated(await external.get('/products', { token: await issuer.sign(tokenClaims()) }), message);
});

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const unsigned = (header: object, payload: object) => `${base64url(header)}.${base64url(payload)}`;
const hmac = (header: object, payload: object, secret: string | Buffer) => {
  const input = unsigned(header, payload);
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
};

describe("forged tokens naming the auth subgraph's key", () => {
  const aliceClaims = () => ({ sub: 'alice', iss: 'federation-platform', exp: now() + 600 });
  const authPublicKey = async () => {
    const jwk = (await stack.gateway.get('/.well-known/jwks.json')).body.keys[0];
    return { jwk, pem: createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string };
  };

  test('the genuine token of these claims is accepted (the control)', async () => {
    expect((await stack.gateway.get('/products', { token: stack.signToken(aliceClaims()) })).status).toBe(200);
  });

  test.each([
    ['alg none', async () => `${unsigned({ alg: 'none', kid: authKid }, aliceClaims())}.`],
    ['HS256 with the public key (PEM) as the secret', async () => hmac({ alg: 'HS256', kid: authKid }, aliceClaims(), (await authPublicKey()).pem)],
    ['HS256 with the raw public key as the secret', async () => hmac({ alg: 'HS256', kid: authKid }, aliceClaims(), Buffer.from((await authPublicKey()).jwk.x, 'base64url'))],
    ["RS256 signed by another key under the auth key's kid", async () => {
      const forger = issuer.newKey(authKid);
      return issuer.sign(aliceClaims(), forger);
    }],
    ["the auth key's signature under another alg header", async () => stack.signToken(aliceClaims(), { alg: 'ES256' })],
    ["the auth key's token claiming the external issuer", async () => stack.signToken({ ...aliceClaims(), iss: issuer.issuer, aud: AUDIENCE, user_id: 'alice' })],
    ["the external issuer's key claiming the auth subgraph's issuer", async () => issuer.sign({ ...aliceClaims(), aud: AUDIENCE, user_id: 'alice' })],
  ])('%s → 401 on both gateways', async (_case, forge) => {
    const token = await forge();
    expectUnauthenticated(await stack.gateway.get('/products', { token }));
    expectUnauthenticated(await external.get('/products', { token }));
  });
});

test('a flood of unknown kids costs the issuer one JWKS fetch', async () => {
  const gateway = await stack.startGateway(externalSettings({ JWT_JWKS_UNKNOWN_KID_COOLDOWN_MS: '3600000' }));
  expect((await gateway.get('/products', { token: await issuer.sign(claims()) })).status).toBe(200);
  const before = issuer.fetches;
  const unpublished = issuer.newKey('unused');
  const flood = await Promise.all(
    Array.from({ length: 40 }, async (_, index) => gateway.get('/products', { token: await issuer.sign(claims(), { ...unpublished, kid: `random-${index}` }) })),
  );
  expect(flood.map((response) => response.status)).toEqual(Array(40).fill(401));
  expect(flood[0]!.body.error.message).toMatch(/key its issuer does not publish/);
  expect(issuer.fetches - before).toBe(1);
  // The flood took nothing from the keys the gateway knows.
  expect((await gateway.get('/products', { token: await issuer.sign(claims()) })).status).toBe(200);
});

test('an issuer that is down, answers garbage or an oversized JWKS keeps the keys the gateway cached', async () => {
  const gateway = await stack.startGateway(externalSettings({ JWT_JWKS_UNKNOWN_KID_COOLDOWN_MS: '0' }));
  expect((await gateway.get('/products', { token: await issuer.sign(claims()) })).status).toBe(200);
  const next = issuer.newKey('issuer-key-2');
  try {
    for (const state of ['unavailable', 'garbage', 'oversized'] as const) {
      issuer.state = state;
      issuer.published.push(next);
      const before = issuer.fetches;
      // An unknown kid makes the gateway ask (and fail): the refresh was tried...
      expectUnauthenticated(await gateway.get('/products', { token: await issuer.sign(claims(), next) }), /does not publish/);
      expect(issuer.fetches).toBeGreaterThan(before);
      // ...and a token it never saw, of a key it cached, is still verified.
      expect((await gateway.get('/products', { token: await issuer.sign(claims()) })).status).toBe(200);
      issuer.published.pop();
    }
    issuer.state = 'up';
    issuer.published.push(next);
    expect((await gateway.get('/products', { token: await issuer.sign(claims(), next) })).status).toBe(200);
  } finally {
    issuer.state = 'up';
    issuer.published = issuer.published.filter((key) => key !== next);
  }
});

test('an issuer down when the gateway starts: its tokens are refused until it answers, then accepted without a restart', async () => {
  issuer.state = 'unavailable';
  try {
    const gateway = await stack.startGateway(externalSettings({ JWT_JWKS_UNKNOWN_KID_COOLDOWN_MS: '0' }));
    expectUnauthenticated(await gateway.get('/products', { token: await issuer.sign(claims()) }), /does not publish/);
    issuer.state = 'up';
    expect((await gateway.get('/products', { token: await issuer.sign(claims()) })).status).toBe(200);
  } finally {
    issuer.state = 'up';
  }
});

test('the shared-secret mode reads the user from JWT_USER_CLAIM too, as tokens of the original Spring auth service carry it', async () => {
  const spring = await stack.startGateway({ JWT_MODE: 'hs256', JWT_USER_CLAIM: 'user_id' });
  const sign = (payload: object) => hmac({ alg: 'HS256', typ: 'JWT' }, { iss: 'federation-platform', exp: now() + 600, ...payload }, stack.jwtSecret);
  const created = await spring.post('/order', { name: 'from spring', product_ids: [] }, { token: sign({ user_id: 7 }) });
  expect(created.status).toBe(200);
  expect((await spring.get(`/order/${created.body.order_id}`, { token: sign({ user_id: '7', sub: 'ignored' }) })).status).toBe(200);
  expect((await spring.get(`/order/${created.body.order_id}`, { token: sign({ user_id: 8 }) })).status).toBe(404);
  expectUnauthenticated(await spring.get('/products', { token: sign({ sub: '7' }) }), /no subject/);
});

test('the JWKS route is public in jwks mode; in the shared-secret mode there is none', async () => {
  const jwks = await stack.gateway.get('/.well-known/jwks.json');
  expect(jwks.status).toBe(200);
  expect(jwks.headers.get('cache-control')).toBe('public, max-age=60');
  expect(jwks.body.keys.every((key: Record<string, unknown>) => key.d === undefined)).toBe(true);
  // Auth unreachable since the gateway started: nothing to serve yet, said with a catalogue code.
  const unreachable = await stack.startGateway({ JWT_AUTH_JWKS_URLS: 'http://127.0.0.1:1/.well-known/jwks.json' });
  const missing = await unreachable.get('/.well-known/jwks.json');
  expect(missing.status).toBe(503);
  expect(missing.body.error.code).toBe('SIGNING_KEYS_UNAVAILABLE');
  const hs256 = await stack.startGateway({ JWT_MODE: 'hs256' });
  expectUnauthenticated(await hs256.get('/.well-known/jwks.json'));
  const token = hmac({ alg: 'HS256', kid: 'default' }, { sub: 'alice', iss: 'federation-platform', exp: now() + 600 }, stack.jwtSecret);
  const absent = await hs256.get('/.well-known/jwks.json', { token });
  expect(absent.status).toBe(404);
  expect(absent.body.error.code).toBe('ROUTE_NOT_FOUND');
});
