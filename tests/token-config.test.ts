import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadGatewayConfig } from '../gateway/config';
import { ConfigError } from '../shared/config';
import { generateSigningKeyPem, signingKeyOf } from '../shared/signing-keys';
import { loadAuthConfig } from '../subgraphs/auth/config';

/** The token settings of auth and the gateway: what each accepts, and every mistake refused at start with the setting's name. */
let dataDir: string;
beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'token-config-'));
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const file = (name: string, content: string) => {
  const path = join(dataDir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
};
const problemsOf = (load: () => unknown): readonly string[] => {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

test('external issuers pair with their JWKS URLs in order, beside the auth subgraph, with the audience and user claim', () => {
  const { jwt } = loadGatewayConfig({
    DATA_DIR: dataDir,
    JWT_JWKS_URLS: 'https://kc.example/realms/a/protocol/openid-connect/certs, https://tenant.auth0.com/.well-known/jwks.json',
    JWT_ISSUERS: 'https://kc.example/realms/a,https://tenant.auth0.com/',
    JWT_AUDIENCE: 'api-1, api-2',
    JWT_USER_CLAIM: 'user_id',
  });
  expect(jwt.sources).toEqual([
    { urls: ['http://127.0.0.1:19095/.well-known/jwks.json'], issuer: 'federation-platform', audience: undefined, userClaim: 'sub', auth: true },
    { urls: ['https://kc.example/realms/a/protocol/openid-connect/certs'], issuer: 'https://kc.example/realms/a', audience: ['api-1', 'api-2'], userClaim: 'user_id', auth: false },
    { urls: ['https://tenant.auth0.com/.well-known/jwks.json'], issuer: 'https://tenant.auth0.com/', audience: ['api-1', 'api-2'], userClaim: 'user_id', auth: false },
  ]);
  const only = loadGatewayConfig({ DATA_DIR: dataDir, JWT_AUTH_JWKS_URLS: 'off', JWT_JWKS_URLS: 'https://kc.example/certs', JWT_ISSUERS: 'https://kc.example' });
  expect(only.jwt.sources.map(({ issuer }) => issuer)).toEqual(['https://kc.example']);
});

test.each([
  ['more URLs than issuers', { JWT_JWKS_URLS: 'https://a.example/certs,https://b.example/certs', JWT_ISSUERS: 'https://a.example' }, /JWT_JWKS_URLS and JWT_ISSUERS must list as many entries/],
  ['an issuer listed twice', { JWT_JWKS_URLS: 'https://a.example/certs,https://b.example/certs', JWT_ISSUERS: 'https://a.example,https://a.example' }, /JWT_ISSUERS: the issuer "https:\/\/a.example" is listed twice/],
  ["an external issuer that is the auth subgraph's", { JWT_JWKS_URLS: 'https://a.example/certs', JWT_ISSUERS: 'federation-platform' }, /listed twice/],
  ['a JWKS URL that is not http(s)', { JWT_JWKS_URLS: 'file:///etc/keys.json', JWT_ISSUERS: 'x' }, /JWT_JWKS_URLS must be a comma-separated list of http\(s\) URLs/],
  ['no issuer at all', { JWT_AUTH_JWKS_URLS: 'off' }, /no token could ever be accepted/],
  ['a user claim that is no claim name', { JWT_USER_CLAIM: 'user id' }, /JWT_USER_CLAIM must be a claim name/],
  ['an unknown mode', { JWT_MODE: 'rs256' }, /JWT_MODE must be one of jwks, hs256/],
])('the gateway refuses %s', (_case, env, message) => {
  expect(problemsOf(() => loadGatewayConfig({ DATA_DIR: dataDir, ...env }))).toEqual([expect.stringMatching(message)]);
});

test('JWT_SIGNING_KEY_FILES: the first key signs, each is named by its thumbprint; RS256 is generated on request', () => {
  const [rsa, ed] = [generateSigningKeyPem('RS256'), generateSigningKeyPem('EdDSA')];
  const auth = loadAuthConfig({ DATA_DIR: dataDir, JWT_SIGNING_KEY_FILES: `${file('rsa.pem', rsa)}, ${file('ed.pem', ed)}` });
  expect(auth.tokens.mode === 'jwks' && auth.tokens.signing.keys.map(({ kid, alg }) => ({ kid, alg }))).toEqual([
    { kid: signingKeyOf(rsa).kid, alg: 'RS256' },
    { kid: signingKeyOf(ed).kid, alg: 'EdDSA' },
  ]);
  const generated = loadAuthConfig({ DATA_DIR: dataDir, JWT_ALGORITHM: 'RS256' });
  expect(generated.tokens.mode === 'jwks' && generated.tokens.signing.keys[0]!.alg).toBe('RS256');
});

test.each([
  ['a missing file', () => join(dataDir, 'nowhere.pem'), /cannot read ".*nowhere.pem" \(ENOENT\)/],
  ['a file that is no private key', () => file('public.pem', generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string), /not a PEM private key/],
  ['an RSA key under 2048 bits', () => file('small.pem', generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string), /at least 2048 bits/],
  ['an EC key', () => file('ec.pem', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string), /a ec key cannot sign: use Ed25519 or RSA/],
  ['the same key twice', () => `${file('twice.pem', generateSigningKeyPem('EdDSA'))},${join(dataDir, 'twice.pem')}`, /is listed twice/],
])('auth refuses JWT_SIGNING_KEY_FILES with %s', (_case, files, message) => {
  expect(problemsOf(() => loadAuthConfig({ DATA_DIR: dataDir, JWT_SIGNING_KEY_FILES: files() }))).toEqual([expect.stringMatching(message)]);
});
