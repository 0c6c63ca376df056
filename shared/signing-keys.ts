import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import type { EnvReader } from './config';
import type { IssuedToken } from './jwt';
import { embeddedFile } from './secrets';

/** The asymmetric algorithms the auth subgraph signs with. */
export const SIGNING_ALGORITHMS = ['EdDSA', 'RS256'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/** The smallest RSA modulus accepted, to sign or to verify. */
export const MIN_RSA_BITS = 2048;

/** One private key of the auth subgraph, named by the RFC 7638 thumbprint of its public half. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  /** PKCS#8 PEM; a string, not a KeyObject, so the config can be frozen. */
  readonly privateKeyPem: string;
}

export interface SigningSettings {
  /**
   * The auth subgraph's key ring: the first key signs, every key is published in the JWKS.
   * `JWT_SIGNING_KEY_FILES`: comma-separated paths of PKCS#8 PEM private keys (Ed25519, or RSA of
   * at least 2048 bits; `npm run jwt-key` writes one), e.g. the new key first and the old one
   * after it while its tokens live (docs/authentication.md#rotating-the-signing-key). @default
   * unset: one key generated once into `<DATA_DIR>/jwt-signing-key-<algorithm>.pem`
   */
  readonly keys: readonly SigningKey[];
  /** `iss` claim issued. `JWT_ISSUER`, @default "federation-platform" */
  readonly issuer: string;
  /** Token lifetime in seconds. `JWT_TTL_SECONDS`, @default 3600 */
  readonly ttlSeconds: number;
}

/**
 * The algorithm of the embedded key generated into the data directory when no
 * `JWT_SIGNING_KEY_FILES` is set: "EdDSA" (Ed25519) or "RS256" (RSA 2048).
 * `JWT_ALGORITHM`, @default "EdDSA"
 */
export function readSigningSettings(env: EnvReader, dataDir: string): SigningSettings {
  const algorithm = env.oneOf('JWT_ALGORITHM', SIGNING_ALGORITHMS, 'EdDSA');
  const files = env.optionalString('JWT_SIGNING_KEY_FILES');
  const pems = files === undefined ? [embeddedKey(dataDir, algorithm)] : readKeyFiles(env, files);
  const keys: SigningKey[] = [];
  for (const pem of pems) {
    try {
      const key = signingKeyOf(pem);
      if (keys.some((known) => known.kid === key.kid)) env.problem(`JWT_SIGNING_KEY_FILES: the key ${key.kid} is listed twice`);
      else keys.push(key);
    } catch (error) {
      env.problem(`JWT_SIGNING_KEY_FILES: ${(error as Error).message}`);
    }
  }
  return {
    keys,
    issuer: env.string('JWT_ISSUER', 'federation-platform'),
    ttlSeconds: env.int('JWT_TTL_SECONDS', 3600, { min: 1, max: 30 * 24 * 3600 }),
  };
}

function readKeyFiles(env: EnvReader, files: string): string[] {
  const pems: string[] = [];
  for (const path of files.split(',').map((part) => part.trim()).filter(Boolean)) {
    try {
      pems.push(readFileSync(path, 'utf8'));
    } catch (error) {
      env.problem(`JWT_SIGNING_KEY_FILES: cannot read "${path}" (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  }
  if (pems.length === 0 && files.split(',').every((part) => part.trim() === '')) env.problem('JWT_SIGNING_KEY_FILES must name at least one file');
  return pems;
}

function embeddedKey(dataDir: string, algorithm: SigningAlgorithm): string {
  return embeddedFile(dataDir, `jwt-signing-key-${algorithm.toLowerCase()}.pem`, () => generateSigningKeyPem(algorithm));
}

/** A new private key for `algorithm`, as PKCS#8 PEM. */
export function generateSigningKeyPem(algorithm: SigningAlgorithm): string {
  const { privateKey } =
    algorithm === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('rsa', { modulusLength: MIN_RSA_BITS });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** The algorithm a private key signs with; throws for key types we do not sign with. */
function algorithmOf(key: KeyObject): SigningAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'rsa') {
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) throw new Error(`an RSA key must have at least ${MIN_RSA_BITS} bits`);
    return 'RS256';
  }
  throw new Error(`a ${key.asymmetricKeyType ?? 'symmetric'} key cannot sign: use Ed25519 or RSA`);
}

export function signingKeyOf(pem: string): SigningKey {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new Error('not a PEM private key');
  }
  const alg = algorithmOf(key);
  return { kid: thumbprint(createPublicKey(key).export({ format: 'jwk' })), alg, privateKeyPem: pem };
}

/** RFC 7638: SHA-256 over the required public members in lexicographic order, base64url. */
export function thumbprint(jwk: JsonWebKey): string {
  const members = jwk.kty === 'RSA' ? { e: jwk.e, kty: jwk.kty, n: jwk.n } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

/** A published key: the public half only, with its id, algorithm and use. */
export function publicJwkOf(key: SigningKey): JsonWebKey {
  const { kty, crv, x, n, e } = createPublicKey(privateKeyOf(key)).export({ format: 'jwk' });
  return { kty, ...(crv ? { crv, x } : { n, e }), kid: key.kid, alg: key.alg, use: 'sig' };
}

/** The JSON Web Key Set of every key in the ring, as `GET /.well-known/jwks.json` serves it. */
export function jwksOf(settings: SigningSettings): { keys: JsonWebKey[] } {
  return { keys: settings.keys.map(publicJwkOf) };
}

const privateKeys = new Map<string, KeyObject>();

/** Parsed once per PEM: parsing on every signature would cost more than the signature. */
function privateKeyOf(key: SigningKey): KeyObject {
  let parsed = privateKeys.get(key.privateKeyPem);
  if (!parsed) privateKeys.set(key.privateKeyPem, (parsed = createPrivateKey(key.privateKeyPem)));
  return parsed;
}

/** Signs a token for `userId` with the first key of the ring, named in the `kid` header. */
export async function signAccessToken(settings: SigningSettings, userId: string): Promise<IssuedToken> {
  const [signing] = settings.keys;
  const accessToken = await new SignJWT({})
    .setProtectedHeader({ alg: signing!.alg, kid: signing!.kid, typ: 'JWT' })
    .setSubject(userId)
    .setIssuer(settings.issuer)
    .setIssuedAt()
    .setExpirationTime(`${settings.ttlSeconds}s`)
    .sign(privateKeyOf(signing!));
  return { accessToken, expiresIn: settings.ttlSeconds };
}
