import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { LRUCache } from 'lru-cache';
import type { EnvReader } from './config';
import { AppError } from './errors';
import { embeddedSecret, MIN_SECRET_LENGTH } from './secrets';

/** The one signing algorithm we issue and accept; pinned so a token cannot choose its own. */
const ALGORITHM = 'HS256';
const SECRET_FILE = 'jwt-secret';

/** One HMAC key of the ring; tokens name it in their `kid` header. */
export interface JwtKey {
  readonly id: string;
  readonly secret: string;
}

export interface JwtSettings {
  /**
   * The key ring: the first key signs, every key verifies the tokens that name it. `JWT_KEYS`
   * ("kid=secret,kid=secret", no commas in secrets), or `JWT_SECRET` as the one key "default";
   * neither set: one key "default" generated once into `<DATA_DIR>/jwt-secret`. Each secret at
   * least 32 characters; the auth subgraph and every gateway need the same keys (the
   * shared-secret mode, JWT_MODE=hs256: docs/authentication.md#shared-secret-mode).
   */
  readonly keys: readonly JwtKey[];
  /** `iss` claim issued and required. `JWT_ISSUER`, @default "federation-platform" */
  readonly issuer: string;
  /** Token lifetime in seconds. `JWT_TTL_SECONDS`, @default 3600 */
  readonly ttlSeconds: number;
  /** Clock skew accepted on `exp`/`nbf`, in seconds. `JWT_CLOCK_TOLERANCE_SECONDS`, @default 5 */
  readonly clockToleranceSeconds: number;
}

/** The key id of `JWT_SECRET` and of the embedded secret. */
export const DEFAULT_KEY_ID = 'default';
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function readJwtSettings(env: EnvReader, dataDir: string): JwtSettings {
  return {
    keys: readKeys(env, dataDir),
    issuer: env.string('JWT_ISSUER', 'federation-platform'),
    ttlSeconds: env.int('JWT_TTL_SECONDS', 3600, { min: 1, max: 30 * 24 * 3600 }),
    clockToleranceSeconds: env.int('JWT_CLOCK_TOLERANCE_SECONDS', 5, { min: 0, max: 300 }),
  };
}

function readKeys(env: EnvReader, dataDir: string): JwtKey[] {
  const ring = env.optionalString('JWT_KEYS');
  const secret = env.optionalString('JWT_SECRET');
  if (ring !== undefined && secret !== undefined) env.problem('Set JWT_KEYS or JWT_SECRET, not both (JWT_SECRET is the key "default")');
  if (ring !== undefined) return parseKeyRing(env, ring);
  if (secret !== undefined && secret.length < MIN_SECRET_LENGTH) env.problem(`JWT_SECRET must be at least ${MIN_SECRET_LENGTH} characters`);
  return [{ id: DEFAULT_KEY_ID, secret: secret ?? embeddedSecret(dataDir, SECRET_FILE) }];
}

/** "new=secret2,old=secret1": comma-separated `kid=secret` pairs, ids unique, secrets long enough. */
function parseKeyRing(env: EnvReader, ring: string): JwtKey[] {
  const keys: JwtKey[] = [];
  for (const pair of ring.split(',').map((part) => part.trim()).filter(Boolean)) {
    const separator = pair.indexOf('=');
    const id = pair.slice(0, Math.max(separator, 0)).trim();
    const secret = pair.slice(separator + 1).trim();
    if (separator < 1 || !KEY_ID.test(id)) env.problem(`JWT_KEYS: each entry must be kid=secret with a kid of 1 to 64 letters, digits, ".", "_" or "-"`);
    else if (secret.length < MIN_SECRET_LENGTH) env.problem(`JWT_KEYS: the secret of "${id}" must be at least ${MIN_SECRET_LENGTH} characters`);
    else if (keys.some((key) => key.id === id)) env.problem(`JWT_KEYS: the kid "${id}" appears twice`);
    else keys.push({ id, secret });
  }
  if (keys.length === 0) env.problem('JWT_KEYS must hold at least one kid=secret pair');
  return keys;
}

const keys = new Map<string, KeyObject>();

/**
 * The secret as a KeyObject, made once. Given a string, jsonwebtoken first tries to parse it as a
 * PEM public key on every call, which cost more than half of a cached request's CPU.
 */
function keyOf(secret: string): KeyObject {
  let key = keys.get(secret);
  if (!key) keys.set(secret, (key = createSecretKey(Buffer.from(secret, 'utf8'))));
  return key;
}

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
}

/** Signs with the first key of the ring, named in the `kid` header. */
export function issueAccessToken(settings: JwtSettings, userId: string): IssuedToken {
  const [signing] = settings.keys;
  const accessToken = jwt.sign({}, keyOf(signing!.secret), {
    algorithm: ALGORITHM,
    keyid: signing!.id,
    subject: userId,
    issuer: settings.issuer,
    expiresIn: settings.ttlSeconds,
  });
  return { accessToken, expiresIn: settings.ttlSeconds };
}

interface VerifiedToken {
  subject: string;
  /** Seconds since the epoch. */
  notBefore: number;
  expiresAt: number;
}

/**
 * Tokens whose signature, algorithm and issuer have been checked, by token text. A client sends
 * the same token on every request; re-checking the HMAC each time cost half of a cached read.
 * The time window is checked again on every use, so an expired token is refused as before.
 */
const verifiedBySettings = new WeakMap<JwtSettings, LRUCache<string, VerifiedToken>>();

function verifiedTokens(settings: JwtSettings): LRUCache<string, VerifiedToken> {
  let cache = verifiedBySettings.get(settings);
  if (!cache) verifiedBySettings.set(settings, (cache = new LRUCache({ max: 10_000 })));
  return cache;
}

/**
 * The verified user id, named by `userClaim`, or an UNAUTHENTICATED error that says what is wrong
 * in general terms.
 */
export function verifyAccessToken(settings: JwtSettings, token: string, userClaim = 'sub'): string {
  const verified = verifiedTokens(settings);
  const known = verified.get(token);
  if (known) {
    const now = Date.now() / 1000;
    if (now >= known.expiresAt + settings.clockToleranceSeconds) throw new AppError('UNAUTHENTICATED', 'The token has expired');
    if (now < known.notBefore - settings.clockToleranceSeconds) throw new AppError('UNAUTHENTICATED', 'The token is not valid');
    return known.subject;
  }
  const checked = verifySignedToken(settings, token, userClaim);
  verified.set(token, checked);
  return checked.subject;
}

/**
 * The key a token names in its `kid` header; a token without one is checked against the key
 * "default" (what `JWT_SECRET` signed before tokens carried a kid). A kid that is no longer in the
 * ring, a deleted key, finds nothing.
 */
function verificationKey(settings: JwtSettings, token: string): KeyObject | undefined {
  const decoded = jwt.decode(token, { complete: true });
  if (!decoded) return undefined;
  const { kid = DEFAULT_KEY_ID } = decoded.header;
  const key = typeof kid === 'string' ? settings.keys.find((candidate) => candidate.id === kid) : undefined;
  return key && keyOf(key.secret);
}

function verifySignedToken(settings: JwtSettings, token: string, userClaim: string): VerifiedToken {
  const key = verificationKey(settings, token);
  if (!key) throw new AppError('UNAUTHENTICATED', 'The token is not valid');
  let payload: string | jwt.JwtPayload;
  try {
    payload = jwt.verify(token, key, {
      algorithms: [ALGORITHM],
      issuer: settings.issuer,
      clockTolerance: settings.clockToleranceSeconds,
    });
  } catch (error) {
    const reason = error instanceof jwt.TokenExpiredError ? 'The token has expired' : 'The token is not valid';
    throw new AppError('UNAUTHENTICATED', reason);
  }
  if (typeof payload === 'string') throw new AppError('UNAUTHENTICATED', 'The token has no subject');
  const subject = userOfClaims(payload, userClaim);
  if (typeof payload.exp !== 'number') throw new AppError('UNAUTHENTICATED', 'The token has no expiry');
  return { subject, notBefore: payload.nbf ?? 0, expiresAt: payload.exp };
}

/** Matches `orders.user_id`, where the user is stored. */
const MAX_USER_ID_LENGTH = 128;

/** The user a verified token names in `claim`: a non-empty string within the stored length, or an integer. */
export function userOfClaims(payload: Readonly<Record<string, unknown>>, claim: string): string {
  const value = payload[claim];
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value === 'string' && value !== '' && value.length <= MAX_USER_ID_LENGTH) return value;
  throw new AppError('UNAUTHENTICATED', 'The token has no subject');
}

/** Extracts the token from an `Authorization: Bearer …` header. */
export function bearerToken(header: string | undefined): string {
  if (!header) throw new AppError('UNAUTHENTICATED', 'Missing Authorization header');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new AppError('UNAUTHENTICATED', 'The Authorization header must be "Bearer <token>"');
  return match[1]!;
}
