import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { LRUCache } from 'lru-cache';
import type { EnvReader } from './config';
import { AppError } from './errors';

/** The one signing algorithm we issue and accept; pinned so a token cannot choose its own. */
const ALGORITHM = 'HS256';
const MIN_SECRET_LENGTH = 32;
const SECRET_FILE = 'jwt-secret';

export interface JwtSettings {
  /** HMAC key. `JWT_SECRET`; default: generated once into `<DATA_DIR>/jwt-secret`. */
  readonly secret: string;
  /** `iss` claim issued and required. `JWT_ISSUER`, @default "federation-platform" */
  readonly issuer: string;
  /** Token lifetime in seconds. `JWT_TTL_SECONDS`, @default 3600 */
  readonly ttlSeconds: number;
  /** Clock skew accepted on `exp`/`nbf`, in seconds. `JWT_CLOCK_TOLERANCE_SECONDS`, @default 5 */
  readonly clockToleranceSeconds: number;
}

export function readJwtSettings(env: EnvReader, dataDir: string): JwtSettings {
  let secret = env.optionalString('JWT_SECRET');
  if (secret !== undefined && secret.length < MIN_SECRET_LENGTH) {
    env.problem(`JWT_SECRET must be at least ${MIN_SECRET_LENGTH} characters`);
  }
  secret ??= embeddedSecret(dataDir);
  return {
    secret,
    issuer: env.string('JWT_ISSUER', 'federation-platform'),
    ttlSeconds: env.int('JWT_TTL_SECONDS', 3600, { min: 1, max: 30 * 24 * 3600 }),
    clockToleranceSeconds: env.int('JWT_CLOCK_TOLERANCE_SECONDS', 5, { min: 0, max: 300 }),
  };
}

/**
 * The embedded default: a random secret created once in the data directory and shared by the
 * auth subgraph and the gateway. Written to a temporary file and hard-linked into place, so two
 * processes starting together agree on one complete secret.
 */
function embeddedSecret(dataDir: string): string {
  const path = join(dataDir, SECRET_FILE);
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dataDir, { recursive: true });
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(temporary, randomBytes(48).toString('base64url'), { mode: 0o600 });
  try {
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
  return readFileSync(path, 'utf8').trim();
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

export function issueAccessToken(settings: JwtSettings, userId: string): IssuedToken {
  const accessToken = jwt.sign({}, keyOf(settings.secret), {
    algorithm: ALGORITHM,
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

/** The verified user id, or an UNAUTHENTICATED error that says what is wrong in general terms. */
export function verifyAccessToken(settings: JwtSettings, token: string): string {
  const verified = verifiedTokens(settings);
  const known = verified.get(token);
  if (known) {
    const now = Date.now() / 1000;
    if (now >= known.expiresAt + settings.clockToleranceSeconds) throw new AppError('UNAUTHENTICATED', 'The token has expired');
    if (now < known.notBefore - settings.clockToleranceSeconds) throw new AppError('UNAUTHENTICATED', 'The token is not valid');
    return known.subject;
  }
  const checked = verifySignedToken(settings, token);
  verified.set(token, checked);
  return checked.subject;
}

function verifySignedToken(settings: JwtSettings, token: string): VerifiedToken {
  let payload: string | jwt.JwtPayload;
  try {
    payload = jwt.verify(token, keyOf(settings.secret), {
      algorithms: [ALGORITHM],
      issuer: settings.issuer,
      clockTolerance: settings.clockToleranceSeconds,
    });
  } catch (error) {
    const reason = error instanceof jwt.TokenExpiredError ? 'The token has expired' : 'The token is not valid';
    throw new AppError('UNAUTHENTICATED', reason);
  }
  if (typeof payload === 'string' || typeof payload.sub !== 'string' || payload.sub === '') {
    throw new AppError('UNAUTHENTICATED', 'The token has no subject');
  }
  if (typeof payload.exp !== 'number') throw new AppError('UNAUTHENTICATED', 'The token has no expiry');
  return { subject: payload.sub, notBefore: payload.nbf ?? 0, expiresAt: payload.exp };
}

/** Extracts the token from an `Authorization: Bearer …` header. */
export function bearerToken(header: string | undefined): string {
  if (!header) throw new AppError('UNAUTHENTICATED', 'Missing Authorization header');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new AppError('UNAUTHENTICATED', 'The Authorization header must be "Bearer <token>"');
  return match[1]!;
}
