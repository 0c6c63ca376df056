import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';
import { AppError } from '../shared/errors';
import { RemoteKeySet } from '../shared/jwks';
import { bearerToken, userOfClaims, verifyAccessToken } from '../shared/jwt';
import type { JwksSource, TokenVerificationSettings } from './token-settings';

/** Checks bearer tokens in either mode; one per gateway process. */
export interface TokenVerifier {
  /** The verified user of a token, or an UNAUTHENTICATED error that says what is wrong in general terms. Synchronous for a token verified before. */
  verify(token: string): string | Promise<string>;
  /** The verified user of an `Authorization` header; undefined when it is missing or not valid. */
  user(header: string | undefined): Promise<string | undefined>;
  /**
   * The user of a header whose token was verified before (or can be checked synchronously, in
   * hs256 mode); undefined otherwise. For paths that must not wait, such as the REST cache front:
   * they hand unknown tokens to the full path, which verifies them.
   */
  knownUser(header: string | undefined): string | undefined;
  /** jwks mode with the auth subgraph as an issuer: the gateway serves its JWKS again. */
  readonly servesAuthJwks: boolean;
  /** The auth subgraph's JWKS document, as last fetched; undefined before any fetch succeeded. */
  authJwks(): Promise<string | undefined>;
  close(): void;
}

interface VerifiedToken {
  user: string;
  /** Seconds since the epoch. */
  notBefore: number;
  expiresAt: number;
}

const invalid = () => new AppError('UNAUTHENTICATED', 'The token is not valid');

export function createTokenVerifier(settings: TokenVerificationSettings, log: { warn(object: object, message: string): void }): TokenVerifier {
  if (settings.mode === 'hs256') return sharedSecretVerifier(settings);
  const keySets = new Map(
    settings.sources.map((source) => [
      source,
      new RemoteKeySet(source.urls, {
        timeoutMs: settings.jwksTimeoutMs,
        maxBytes: settings.jwksMaxBytes,
        refreshIntervalMs: settings.jwksRefreshIntervalMs,
        unknownKidCooldownMs: settings.jwksUnknownKidCooldownMs,
        log,
      }),
    ]),
  );
  /**
   * Tokens whose signature, algorithm, issuer and audience have been checked, by token text: a
   * client sends the same token on every request. The time window is checked on every use.
   */
  const verified = new LRUCache<string, VerifiedToken>({ max: 10_000 });
  const remembered = (token: string): string | undefined => {
    const known = verified.get(token);
    if (!known) return undefined;
    const now = Date.now() / 1000;
    if (now >= known.expiresAt + settings.clockToleranceSeconds) throw new AppError('UNAUTHENTICATED', 'The token has expired');
    if (now < known.notBefore - settings.clockToleranceSeconds) throw invalid();
    return known.user;
  };
  const verify = (token: string): string | Promise<string> =>
    remembered(token) ??
    verifyWithJwks(token, settings, keySets).then((checked) => {
      verified.set(token, checked);
      return checked.user;
    });
  const auth = settings.sources.find((source) => source.auth);
  return {
    verify,
    user: async (header) => {
      if (header === undefined) return undefined;
      try {
        return await verify(bearerToken(header));
      } catch {
        return undefined;
      }
    },
    knownUser: (header) => {
      try {
        return header === undefined ? undefined : remembered(bearerToken(header));
      } catch {
        return undefined;
      }
    },
    servesAuthJwks: auth !== undefined,
    authJwks: async () => (auth ? keySets.get(auth)!.published() : undefined),
    close: () => keySets.forEach((keySet) => keySet.close()),
  };
}

function sharedSecretVerifier(settings: TokenVerificationSettings): TokenVerifier {
  const verify = (token: string) => verifyAccessToken(settings.sharedSecret!, token, settings.userClaim);
  const knownUser = (header: string | undefined) => {
    try {
      return header === undefined ? undefined : verify(bearerToken(header));
    } catch {
      return undefined;
    }
  };
  return { verify, knownUser, user: async (header) => knownUser(header), servesAuthJwks: false, authJwks: async () => undefined, close: () => undefined };
}

async function verifyWithJwks(token: string, settings: TokenVerificationSettings, keySets: ReadonlyMap<JwksSource, RemoteKeySet>): Promise<VerifiedToken> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  let claims: JWTPayload;
  try {
    header = decodeProtectedHeader(token);
    claims = decodeJwt(token);
  } catch {
    throw invalid();
  }
  // The unverified `iss` only picks whose keys to try; jwtVerify checks it again under the signature.
  const source = settings.sources.find((candidate) => candidate.issuer === claims.iss);
  if (!source) throw new AppError('UNAUTHENTICATED', 'The token is not from a trusted issuer');
  const pinned = await keySets.get(source)!.keyFor(typeof header.kid === 'string' ? header.kid : undefined);
  if (!pinned) throw new AppError('UNAUTHENTICATED', 'The token is signed with a key its issuer does not publish');
  // Each key verifies with the one algorithm it is pinned to: `none`, HMAC over the public key and any other `alg` are refused.
  if (header.alg !== pinned.alg) throw invalid();
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, pinned.key, {
      algorithms: [pinned.alg],
      issuer: source.issuer,
      audience: source.audience as string[] | undefined,
      clockTolerance: settings.clockToleranceSeconds,
      requiredClaims: ['exp'],
    }));
  } catch (error) {
    if (error instanceof errors.JWTExpired) throw new AppError('UNAUTHENTICATED', 'The token has expired');
    if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'aud') throw new AppError('UNAUTHENTICATED', 'The token is not meant for this service');
    throw invalid();
  }
  return { user: userOfClaims(payload, source.userClaim), notBefore: payload.nbf ?? 0, expiresAt: payload.exp! };
}
