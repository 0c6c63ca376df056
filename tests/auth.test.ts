import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { startStack, type Stack } from './fixtures/stack';

let stack: Stack;
let token: string;

beforeAll(async () => {
  stack = await startStack();
  token = await stack.signIn('alice');
});
afterAll(() => stack?.close());

describe('GET /auth/signIn', () => {
  test('issues an EdDSA JWT, named by kid, that the JWKS published through the gateway verifies, with the user id as subject, an issuer and an expiry', async () => {
    const response = await stack.gateway.get('/auth/signIn?user_id=alice');
    expect(response.status).toBe(200);
    expect(Object.keys(response.body)).toEqual(['access_token']);
    const jwks = await stack.gateway.get('/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys).toEqual([{ kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: expect.any(String), alg: 'EdDSA', use: 'sig' }]);
    expect(decodeProtectedHeader(response.body.access_token)).toEqual({ alg: 'EdDSA', kid: jwks.body.keys[0].kid, typ: 'JWT' });
    const { payload } = await jwtVerify(response.body.access_token, createLocalJWKSet(jwks.body), { algorithms: ['EdDSA'] });
    expect(payload).toMatchObject({ sub: 'alice', iss: 'federation-platform' });
    expect(payload.exp! - payload.iat!).toBe(3600);
  });

  test.each([
    ['no user_id', '/auth/signIn', /user_id is required/],
    ['a blank user_id', '/auth/signIn?user_id=%20%20', /user_id must not be empty/],
    ['a user_id over 128 characters', `/auth/signIn?user_id=${'u'.repeat(129)}`, /user_id must be at most 128 characters/],
    ['a control character', '/auth/signIn?user_id=a%00b', /user_id must not contain control characters/],
    ['a lone surrogate', '/auth/signIn?user_id=a%ED%A0%80b', /query string is not valid/],
    ['an undecodable escape', '/auth/signIn?user_id=%FF', /query string is not valid/],
  ])('%s → 400', async (_case, path, message) => {
    const response = await stack.gateway.get(path);
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(message) });
  });
});

const now = () => Math.floor(Date.now() / 1000);
/** Claims signed with the auth subgraph's own key. */
const sign = (claims: object) => stack.signToken(claims);
const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Every way a request can fail authentication, as the Authorization header it sends. */
const badCredentials: [string, () => string | undefined][] = [
  ['no Authorization header', () => undefined],
  ['a Basic scheme', () => `Basic ${Buffer.from('alice:secret').toString('base64')}`],
  ['garbage after Bearer', () => 'Bearer not-a-token'],
  ['Bearer with no token', () => 'Bearer '],
  ['a wrong signature', () => `Bearer ${sign({ sub: 'alice', iss: 'federation-platform', exp: now() + 60 }).replace(/\.[^.]+$/, `.${'A'.repeat(86)}`)}`],
  ['an expired token', () => `Bearer ${sign({ sub: 'alice', iss: 'federation-platform', exp: now() - 3600 })}`],
  ['a wrong issuer', () => `Bearer ${sign({ sub: 'alice', iss: 'someone-else', exp: now() + 60 })}`],
  ['no subject', () => `Bearer ${sign({ iss: 'federation-platform', exp: now() + 60 })}`],
  ['no expiry', () => `Bearer ${sign({ sub: 'alice', iss: 'federation-platform' })}`],
  ['alg none', () => `Bearer ${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: 'alice', iss: 'federation-platform', exp: 4102444800 })}.`],
];

// Every row has three items: jest passes a `done` callback in place of a missing one.
const protectedRoutes: [string, string, unknown][] = [
  ['POST', '/products', { name: 'x', supply_price: 1 }],
  ['GET', '/products', undefined],
  ['GET', '/products/1', undefined],
  ['POST', '/order', { name: 'x', product_ids: [1] }],
  ['PUT', '/order/1', { product_id: 1 }],
  ['GET', '/order/1', undefined],
];

describe.each(badCredentials)('%s', (_case, header) => {
  test.each(protectedRoutes)('%s %s → 401 and no subgraph is called', async (method, path, body) => {
    stack.resetHits();
    const authorization = header();
    const response = await stack.gateway.request(method, path, { body, headers: authorization === undefined ? {} : { authorization } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(response.body.error.code).toBe('UNAUTHENTICATED');
    expect(Object.values(stack.hits).flatMap((hits) => hits.queries)).toEqual([]);
  });

  test('POST /graphql → 401 with an UNAUTHENTICATED GraphQL error, no subgraph called', async () => {
    stack.resetHits();
    const authorization = header();
    const response = await stack.gateway.request('POST', '/graphql', {
      body: { query: '{ products { id } }' },
      headers: authorization === undefined ? {} : { authorization },
    });
    expect(response.status).toBe(401);
    expect(response.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(Object.values(stack.hits).flatMap((hits) => hits.queries)).toEqual([]);
  });
});

describe('GraphQL without a token', () => {
  test('signIn alone is allowed', async () => {
    const response = await stack.gateway.graphql('mutation SignIn($u: ID!) { signIn(userId: $u) { accessToken tokenType expiresIn } }', { u: 'carol' });
    expect(response.status).toBe(200);
    expect(response.body.data.signIn).toMatchObject({ tokenType: 'Bearer', expiresIn: 3600 });
    expect(decodeJwt(response.body.data.signIn.accessToken).sub).toBe('carol');
  });

  test.each([
    ['signIn beside a protected field', 'mutation { signIn(userId: "x") { accessToken } createProduct(input: {name: "x", supplyPrice: 1}) { id } }'],
    ['signIn through a fragment', 'mutation { ...F } fragment F on Mutation { createProduct(input: {name: "x", supplyPrice: 1}) { id } }'],
    ['a query', '{ products { id } }'],
    ['an unparsable document', 'mutation {'],
  ])('%s → 401', async (_case, query) => {
    const response = await stack.gateway.graphql(query);
    expect(response.status).toBe(401);
    expect(response.body.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
  });

  test('GET /graphql → 401', async () => {
    expect((await stack.gateway.get('/graphql?query=%7Bproducts%7Bid%7D%7D')).status).toBe(401);
  });
});

test('a client cannot choose its identity with the x-user-id header', async () => {
  const created = await stack.gateway.post('/order', { name: 'private', product_ids: [] }, { token });
  const bob = await stack.signIn('bob');
  const response = await stack.gateway.get(`/order/${created.body.order_id}`, { token: bob, headers: { 'x-user-id': 'alice' } });
  expect(response.status).toBe(404);
});

test('a valid token passes on REST and GraphQL', async () => {
  expect((await stack.gateway.get('/products', { token })).status).toBe(200);
  const response = await stack.gateway.graphql('{ products { id } }', {}, token);
  expect(response.status).toBe(200);
  expect(response.body.errors).toBeUndefined();
});
