import { waitFor } from './fixtures/net';
import { startStack, type Stack } from './fixtures/stack';

/** The gateway remembers verified tokens; these prove that remembering changes no answer. */
let stack: Stack;
let other: Stack;

beforeAll(async () => {
  stack = await startStack({ gatewayEnv: { JWT_CLOCK_TOLERANCE_SECONDS: '0' } });
  other = await startStack();
});
afterAll(async () => {
  await stack?.close();
  await other?.close();
});

test('a token accepted before is refused once it expires', async () => {
  // `exp` has whole seconds: a 1-second token can be expired on arrival, so it gets 3 and the test waits for the refusal.
  const token = stack.signToken({ sub: 'brief', iss: 'federation-platform', exp: Math.floor(Date.now() / 1000) + 3 });
  expect((await stack.gateway.get('/products', { token })).status).toBe(200);
  await waitFor(async () => (await stack.gateway.get('/products', { token })).status === 401, 'the token to expire', 6000);
  const response = await stack.gateway.get('/products', { token });
  expect(response.status).toBe(401);
  expect(response.body.error.message).toBe('The token has expired');
});

test('a token accepted by one gateway is not accepted by a gateway trusting another auth key', async () => {
  const token = await stack.signIn('alice');
  expect((await stack.gateway.get('/products', { token })).status).toBe(200);
  expect((await other.gateway.get('/products', { token })).status).toBe(401);
});
