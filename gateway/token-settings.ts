import type { EnvReader } from '../shared/config';
import { readJwtMode, type JwtMode } from '../shared/jwt-mode';
import { readJwtSettings, type JwtSettings } from '../shared/jwt';

/** One issuer whose tokens the gateway accepts, and where its public keys are. */
export interface JwksSource {
  /** Its JWKS URLs: one issuer's replicas, tried in order. */
  readonly urls: readonly string[];
  /** The `iss` its tokens carry; a token is checked against the keys of the source its `iss` names. */
  readonly issuer: string;
  /** `aud` values of which a token must carry one; undefined: not checked. */
  readonly audience: readonly string[] | undefined;
  /** The claim that names the user. */
  readonly userClaim: string;
  /** The auth subgraph's own keys, which the gateway serves again at `/.well-known/jwks.json`. */
  readonly auth: boolean;
}

export interface TokenVerificationSettings {
  /** jwks or hs256 (shared/jwt-mode.ts). */
  readonly mode: JwtMode;
  /** hs256 mode: the shared key ring (shared/jwt.ts); undefined in jwks mode. */
  readonly sharedSecret: JwtSettings | undefined;
  /** jwks mode: the auth subgraph (unless turned off), then the external issuers. */
  readonly sources: readonly JwksSource[];
  /**
   * The claim that names the user in tokens of the external issuers (JWT_JWKS_URLS) and in
   * hs256 mode, e.g. "user_id" for tokens of the original Spring auth service; the auth
   * subgraph's own tokens always name it in `sub`. Its value must be a non-empty string of at
   * most 128 characters, or an integer. `JWT_USER_CLAIM`, @default "sub"
   */
  readonly userClaim: string;
  /** Clock skew accepted on `exp`/`nbf`, in seconds. `JWT_CLOCK_TOLERANCE_SECONDS`, @default 5 */
  readonly clockToleranceSeconds: number;
  /** Each JWKS fetch's timeout, in ms. `JWT_JWKS_TIMEOUT_MS`, @default 5000 */
  readonly jwksTimeoutMs: number;
  /** Largest JWKS document read, in bytes; a larger one counts as a failed fetch. `JWT_JWKS_MAX_BYTES`, @default 65536 */
  readonly jwksMaxBytes: number;
  /** Pause between two scheduled refreshes of each JWKS, in ms. `JWT_JWKS_REFRESH_INTERVAL_MS`, @default 60000 */
  readonly jwksRefreshIntervalMs: number;
  /**
   * Least time between two refreshes of one issuer's JWKS caused by tokens naming a `kid` it does
   * not know, in ms: a flood of made-up kids costs the issuer one fetch per this time.
   * `JWT_JWKS_UNKNOWN_KID_COOLDOWN_MS`, @default 30000
   */
  readonly jwksUnknownKidCooldownMs: number;
}

const AUTH_JWKS_PATH = '/.well-known/jwks.json';
/** The auth subgraph's default address (its routing URL in schema/supergraph.graphql). */
const DEFAULT_AUTH_JWKS_URL = `http://127.0.0.1:19095${AUTH_JWKS_PATH}`;
const CLAIM = /^[A-Za-z0-9_.:-]{1,64}$/;

export function readTokenVerificationSettings(reader: EnvReader, dataDir: string, authInstanceUrls: readonly string[] | undefined): TokenVerificationSettings {
  const mode = readJwtMode(reader);
  const userClaim = reader.string('JWT_USER_CLAIM', 'sub');
  if (!CLAIM.test(userClaim)) reader.problem(`JWT_USER_CLAIM must be a claim name (letters, digits, "_", ".", ":" or "-"), got "${userClaim}"`);
  const sharedSecret = mode === 'hs256' ? readJwtSettings(reader, dataDir) : undefined;
  return {
    mode,
    sharedSecret,
    sources: mode === 'jwks' ? readSources(reader, userClaim, authInstanceUrls) : [],
    userClaim,
    clockToleranceSeconds: sharedSecret?.clockToleranceSeconds ?? reader.int('JWT_CLOCK_TOLERANCE_SECONDS', 5, { min: 0, max: 300 }),
    jwksTimeoutMs: reader.int('JWT_JWKS_TIMEOUT_MS', 5000, { min: 100, max: 60_000 }),
    jwksMaxBytes: reader.int('JWT_JWKS_MAX_BYTES', 64 * 1024, { min: 1024, max: 1024 * 1024 }),
    jwksRefreshIntervalMs: reader.int('JWT_JWKS_REFRESH_INTERVAL_MS', 60_000, { min: 1000, max: 86_400_000 }),
    jwksUnknownKidCooldownMs: reader.int('JWT_JWKS_UNKNOWN_KID_COOLDOWN_MS', 30_000, { min: 0, max: 3_600_000 }),
  };
}

/**
 * The auth subgraph's JWKS URLs. `JWT_AUTH_JWKS_URLS`, comma-separated, or "off" to accept only
 * the external issuers' tokens. @default `/.well-known/jwks.json` on each `SUBGRAPH_AUTH_URLS`
 * instance, else on http://127.0.0.1:19095 (auth's routing URL in the supergraph). Its tokens must
 * carry `iss` = `JWT_ISSUER` (@default "federation-platform").
 */
function readAuthSource(reader: EnvReader, authInstanceUrls: readonly string[] | undefined): JwksSource | undefined {
  const issuer = reader.string('JWT_ISSUER', 'federation-platform');
  if (reader.raw('JWT_AUTH_JWKS_URLS') === 'off') return undefined;
  const derived = authInstanceUrls?.map((url) => new URL(AUTH_JWKS_PATH, url).href) ?? [DEFAULT_AUTH_JWKS_URL];
  return { urls: reader.urlList('JWT_AUTH_JWKS_URLS', derived), issuer, audience: undefined, userClaim: 'sub', auth: true };
}

/**
 * External issuers, as Apollo Router's `jwks` list: `JWT_JWKS_URLS` (comma-separated JWKS URLs)
 * and `JWT_ISSUERS` (the `iss` of each, in the same order), e.g. a Keycloak realm's
 * ".../protocol/openid-connect/certs" with ".../realms/<realm>"; `JWT_AUDIENCE` (comma-separated)
 * is the `aud` their tokens must carry one of. @default none (only the auth subgraph's tokens);
 * `JWT_AUDIENCE` @default unset (not checked)
 */
function readSources(reader: EnvReader, userClaim: string, authInstanceUrls: readonly string[] | undefined): JwksSource[] {
  const sources: JwksSource[] = [];
  const auth = readAuthSource(reader, authInstanceUrls);
  if (auth) sources.push(auth);
  const urls = reader.urlList('JWT_JWKS_URLS', []);
  const issuers = list(reader.raw('JWT_ISSUERS'));
  const audience = list(reader.raw('JWT_AUDIENCE'));
  // A JWT_JWKS_URLS refused above reads as empty: its own problem says enough.
  const urlsRefused = urls.length === 0 && reader.raw('JWT_JWKS_URLS') !== undefined;
  if (urls.length !== issuers.length && !urlsRefused) {
    reader.problem(`JWT_JWKS_URLS and JWT_ISSUERS must list as many entries, one issuer per JWKS URL (got ${urls.length} and ${issuers.length})`);
  }
  urls.forEach((url, index) => {
    const issuer = issuers[index];
    if (issuer === undefined) return;
    if (sources.some((source) => source.issuer === issuer)) reader.problem(`JWT_ISSUERS: the issuer "${issuer}" is listed twice (or is JWT_ISSUER, the auth subgraph's)`);
    else sources.push({ urls: [url], issuer, audience: audience.length > 0 ? audience : undefined, userClaim, auth: false });
  });
  if (sources.length === 0) reader.problem('JWT_AUTH_JWKS_URLS is "off" and JWT_JWKS_URLS is empty: no token could ever be accepted');
  return sources;
}

const list = (value: string | undefined) => (value ?? '').split(',').map((part) => part.trim()).filter(Boolean);
