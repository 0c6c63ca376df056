import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { generateSigningKeyPem, signingKeyOf } from '../shared/signing-keys';
import { waitFor } from './fixtures/net';
import { startStack, type Stack } from './fixtures/stack';

/**
 * Rotating the auth subgraph's signing key while one gateway keeps running: the procedure of
 * docs/authentication.md#rotating-the-signing-key, with key files as a Kubernetes Secret holds them.
 */
let stack: Stack;
let keysDir: string;
const keyFile = (name: string, pem: string) => {
  const path = join(keysDir, `${name}.pem`);
  writeFileSync(path, pem, { mode: 0o600 });
  return path;
};
let oldKey: { path: string; kid: string };
let newKey: { path: string; kid: string };

beforeAll(async () => {
  keysDir = mkdtempSync(join(tmpdir(), 'jwt-keys-'));
  const [oldPem, newPem] = [generateSigningKeyPem('EdDSA'), generateSigningKeyPem('EdDSA')];
  oldKey = { path: keyFile('old', oldPem), kid: signingKeyOf(oldPem).kid };
  newKey = { path: keyFile('new', newPem), kid: signingKeyOf(newPem).kid };
  // Two rotations seconds apart (hours apart in production): the gateway may refresh on each new kid.
  stack = await startStack({ productInstances: 1, env: { JWT_SIGNING_KEY_FILES: oldKey.path }, gatewayEnv: { JWT_JWKS_UNKNOWN_KID_COOLDOWN_MS: '0' } });
});
afterAll(async () => {
  await stack.close();
  rmSync(keysDir, { recursive: true, force: true });
});

/** Signs in through the gateway, waiting out the moment the restarted auth subgraph is seen as down. */
async function signInAfterRestart(userId: string): Promise<string> {
  let token = '';
  await waitFor(async () => {
    const response = await stack.gateway.get(`/auth/signIn?user_id=${userId}`);
    token = response.status === 200 ? response.body.access_token : '';
    return token !== '';
  }, 'sign-in through the restarted auth subgraph');
  return token;
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid;
const status = async (token: string) => (await stack.gateway.get('/products', { token })).status;

test('a new key signs, old tokens keep working until they expire, and the gateway is never restarted', async () => {
  const before = await stack.signIn('alice');
  expect(kidOf(before)).toBe(oldKey.kid);
  expect(await status(before)).toBe(200);

  // New key first (it signs), the old one kept in the ring (published, so its tokens still verify).
  await stack.restartAuth({ JWT_SIGNING_KEY_FILES: `${newKey.path},${oldKey.path}` });
  const after = await signInAfterRestart('bob');
  expect(kidOf(after)).toBe(newKey.kid);
  expect(await status(after)).toBe(200);
  expect(await status(before)).toBe(200);
  // A token of the old key the gateway never saw before verifies too: the old key is still published.
  expect(await status(stack.signToken({ sub: 'carol', iss: 'federation-platform', exp: Math.floor(Date.now() / 1000) + 600 }))).toBe(200);
  const published = (await stack.gateway.get('/.well-known/jwks.json')).body.keys.map((key: { kid: string }) => key.kid);
  expect(published).toEqual([newKey.kid, oldKey.kid]);
});

test('switching to RS256 (a generated key in DATA_DIR) takes effect without a gateway restart', async () => {
  await stack.restartAuth({ JWT_SIGNING_KEY_FILES: '', JWT_ALGORITHM: 'RS256' });
  const token = await signInAfterRestart('dave');
  expect(decodeProtectedHeader(token).alg).toBe('RS256');
  expect(await status(token)).toBe(200);
});
