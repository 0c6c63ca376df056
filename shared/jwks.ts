import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { MIN_RSA_BITS } from './signing-keys';

/** Algorithms a JWKS key may be pinned to: asymmetric only, so no public key ever serves as an HMAC secret. */
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
type AsymmetricAlgorithm = (typeof ASYMMETRIC)[number];

/** A published key with the one algorithm it verifies: the token's `alg` header must be this one. */
export interface PinnedKey {
  readonly key: KeyObject;
  readonly alg: AsymmetricAlgorithm;
}

export interface KeySetOptions {
  /** Each fetch's timeout, in ms. */
  timeoutMs: number;
  /** Largest JWKS document read, in bytes. */
  maxBytes: number;
  /** Pause between two scheduled refreshes, in ms. */
  refreshIntervalMs: number;
  /** Least time between two refreshes caused by an unknown `kid`, in ms. */
  unknownKidCooldownMs: number;
  log: { warn(object: object, message: string): void };
}

/** Most keys taken from one document: a JWKS holds a few keys, not thousands. */
const MAX_KEYS = 100;

/**
 * The public keys one issuer publishes at its JWKS URL(s), cached. Loaded at start, refreshed on
 * an interval and when a token names a `kid` the cache lacks, at most once per cooldown however
 * many unknown kids arrive (a flood of made-up kids costs the issuer one fetch). A failed fetch
 * (issuer down, bad answer) keeps the keys already known. Several URLs are one issuer's replicas,
 * tried in order.
 */
export class RemoteKeySet {
  private keys = new Map<string, PinnedKey>();
  private document: string | undefined;
  private loading: Promise<void> | undefined;
  private lastUnknownKidRefresh = Number.NEGATIVE_INFINITY;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly urls: readonly string[],
    private readonly options: KeySetOptions,
  ) {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), options.refreshIntervalMs);
    this.timer.unref();
  }

  /**
   * The key a token names, pinned to its algorithm. A token without a `kid` is matched only when
   * the issuer publishes a single key. An unknown kid refreshes the set if the cooldown allows.
   */
  async keyFor(kid: string | undefined): Promise<PinnedKey | undefined> {
    if (this.loading) await this.loading;
    const known = this.lookUp(kid);
    if (known || Date.now() - this.lastUnknownKidRefresh < this.options.unknownKidCooldownMs) return known;
    this.lastUnknownKidRefresh = Date.now();
    await this.refresh();
    return this.lookUp(kid);
  }

  /** The last JWKS document fetched, as the issuer served it; undefined before the first success. */
  async published(): Promise<string | undefined> {
    if (this.loading) await this.loading;
    return this.document;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private lookUp(kid: string | undefined): PinnedKey | undefined {
    if (kid !== undefined) return this.keys.get(kid);
    return this.keys.size === 1 ? [...this.keys.values()][0] : undefined;
  }

  /** One fetch at a time: callers arriving while one runs wait for it instead of starting another. */
  private refresh(): Promise<void> {
    this.loading ??= this.load().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async load(): Promise<void> {
    const problems: string[] = [];
    for (const url of this.urls) {
      try {
        const text = await fetchText(url, this.options);
        this.keys = parseKeySet(text);
        this.document = text;
        return;
      } catch (error) {
        problems.push(`${url}: ${(error as Error).message}`);
      }
    }
    this.options.log.warn({ problems, keptKeys: this.keys.size }, 'JWKS refresh failed; keeping the keys already known');
  }
}

async function fetchText(url: string, { timeoutMs, maxBytes }: KeySetOptions): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' }, redirect: 'error' });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`answered ${response.status}`);
  }
  if (Number(response.headers.get('content-length')) > maxBytes) {
    await response.body?.cancel();
    throw new Error(`the document is larger than ${maxBytes} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += (chunk as Uint8Array).length;
    if (size > maxBytes) throw new Error(`the document is larger than ${maxBytes} bytes`);
    chunks.push(chunk as Uint8Array);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The usable signing keys of a JWKS document by kid; throws when it is not a JWKS at all. */
export function parseKeySet(text: string): Map<string, PinnedKey> {
  const document = JSON.parse(text) as { keys?: unknown };
  if (!document || typeof document !== 'object' || !Array.isArray(document.keys)) throw new Error('not a JWKS document ({"keys": [...]})');
  const keys = new Map<string, PinnedKey>();
  for (const jwk of document.keys.slice(0, MAX_KEYS) as JsonWebKey[]) {
    const pinned = pinnedKeyOf(jwk);
    // A key without a kid can serve only tokens without one, and only as the set's single key.
    if (pinned) keys.set(typeof jwk.kid === 'string' ? jwk.kid : '', pinned);
  }
  return keys;
}

/** A JWK as a public key pinned to one algorithm, or undefined for keys that must not verify tokens. */
function pinnedKeyOf(jwk: JsonWebKey): PinnedKey | undefined {
  if (!jwk || typeof jwk !== 'object' || (jwk.use !== undefined && jwk.use !== 'sig')) return undefined;
  const alg = jwk.alg ?? defaultAlgorithm(jwk);
  if (!(ASYMMETRIC as readonly unknown[]).includes(alg)) return undefined;
  let key: KeyObject;
  try {
    // Only the public members: a JWKS that leaks a private part must not make us hold it.
    const { kty, crv, x, y, n, e } = jwk;
    key = createPublicKey({ key: { kty, crv, x, y, n, e }, format: 'jwk' });
  } catch {
    return undefined;
  }
  return fits(key, alg as AsymmetricAlgorithm) ? { key, alg: alg as AsymmetricAlgorithm } : undefined;
}

/** What a JWK without `alg` signs with, by its type and curve (what the common issuers publish). */
function defaultAlgorithm(jwk: JsonWebKey): string | undefined {
  if (jwk.kty === 'RSA') return 'RS256';
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  if (jwk.kty === 'EC') return ({ 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' } as Record<string, string>)[jwk.crv ?? ''];
  return undefined;
}

/** The key's type agrees with the algorithm it is pinned to (an `alg` cannot claim another key type). */
function fits(key: KeyObject, alg: AsymmetricAlgorithm): boolean {
  if (alg.startsWith('RS') || alg.startsWith('PS')) return key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= MIN_RSA_BITS;
  if (alg.startsWith('ES')) return key.asymmetricKeyType === 'ec';
  return key.asymmetricKeyType === 'ed25519';
}
