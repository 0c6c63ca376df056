import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { EnvReader } from './config';
import { AppError } from './errors';
import { embeddedSecret, MIN_SECRET_LENGTH } from './secrets';

/**
 * The gateway's proof on every subgraph call: `v1.<expiry>.<user>.<mac>`, where the user is the
 * verified token subject in base64url (empty for the anonymous sign-in) and the mac is an
 * HMAC-SHA256 over version, expiry, user and the operation text. Subgraphs execute nothing
 * without a valid one, so a request that reaches a subgraph port directly cannot choose a user.
 */
export const PROOF_HEADER = 'x-gateway-proof';
const VERSION = 'v1';
const SECRET_FILE = 'subgraph-secret';
/** Long enough for any clock difference between hosts; short enough that a captured proof soon dies. */
export const PROOF_LIFETIME_SECONDS = 30;

export interface SubgraphProofSettings {
  /**
   * HMAC key shared by the gateway, which signs, and every subgraph, which verifies; the order
   * subgraph signs its own calls to the product subgraph. Not the JWT key: a leaked user-facing
   * key must not open the subgraphs, nor the other way round. `SUBGRAPH_SECRET`, at least 32
   * characters; default: generated once into `<DATA_DIR>/subgraph-secret`.
   */
  readonly secret: string;
}

export function readSubgraphProofSettings(env: EnvReader, dataDir: string): SubgraphProofSettings {
  const secret = env.optionalString('SUBGRAPH_SECRET');
  if (secret !== undefined && secret.length < MIN_SECRET_LENGTH) env.problem(`SUBGRAPH_SECRET must be at least ${MIN_SECRET_LENGTH} characters`);
  return { secret: secret ?? embeddedSecret(dataDir, SECRET_FILE) };
}

const keys = new WeakMap<SubgraphProofSettings, KeyObject>();

function keyOf(settings: SubgraphProofSettings): KeyObject {
  let key = keys.get(settings);
  if (!key) keys.set(settings, (key = createSecretKey(Buffer.from(settings.secret, 'utf8'))));
  return key;
}

function mac(settings: SubgraphProofSettings, signed: string, query: string): Buffer {
  return createHmac('sha256', keyOf(settings)).update(signed).update('\n').update(query).digest();
}

/** What a proof signs besides the operation: version, expiry and user. */
function signedPart(userId: string | undefined, now: number): string {
  const expiry = Math.floor(now / 1000) + PROOF_LIFETIME_SECONDS;
  return `${VERSION}.${expiry}.${Buffer.from(userId ?? '', 'utf8').toString('base64url')}`;
}

/** The proof for one subgraph call of `query`, on behalf of `userId` (undefined: no user). */
export function signProof(settings: SubgraphProofSettings, userId: string | undefined, query: string, now = Date.now()): string {
  const signed = signedPart(userId, now);
  return `${signed}.${mac(settings, signed, query).toString('base64url')}`;
}

/** Operations whose last proof a ProofSigner keeps; past that it starts afresh. */
const MAX_REMEMBERED_OPERATIONS = 1000;

/**
 * `signProof` for the gateway's many calls: a proof depends only on the second, the user and the
 * operation text, so it keeps the last proof of each operation and signs again only when the
 * second or the user changed. A federated query's calls, and a busy user's requests within a
 * second, then share one HMAC each, where every call computed its own.
 */
export class ProofSigner {
  private readonly last = new Map<string, { signed: string; proof: string }>();

  constructor(private readonly settings: SubgraphProofSettings) {}

  sign(userId: string | undefined, query: string, now = Date.now()): string {
    const signed = signedPart(userId, now);
    const remembered = this.last.get(query);
    if (remembered?.signed === signed) return remembered.proof;
    const proof = `${signed}.${mac(this.settings, signed, query).toString('base64url')}`;
    if (!remembered && this.last.size >= MAX_REMEMBERED_OPERATIONS) this.last.clear();
    this.last.set(query, { signed, proof });
    return proof;
  }
}

export interface VerifiedProof {
  /** The user the gateway verified; undefined for the anonymous sign-in. */
  userId: string | undefined;
}

/** The proof's user, or a GATEWAY_PROOF_REQUIRED error when it is missing, forged, for another operation or expired. */
export function verifyProof(settings: SubgraphProofSettings, header: string | undefined, query: string, now = Date.now()): VerifiedProof {
  return { userId: checkProof(settings, header, query, now).userId };
}

/** `verifyProof`, with the proof's expiry (ms since the epoch) as read from the header. */
function checkProof(settings: SubgraphProofSettings, header: string | undefined, query: string, now: number): VerifiedProof & { expiresAt: number } {
  if (header === undefined) throw new AppError('GATEWAY_PROOF_REQUIRED');
  const match = /^(v1\.(\d{1,12})\.([A-Za-z0-9_-]*))\.([A-Za-z0-9_-]{43})$/.exec(header);
  const given = match && Buffer.from(match[4]!, 'base64url');
  if (!match || !given || !timingSafeEqual(given, mac(settings, match[1]!, query))) {
    throw new AppError('GATEWAY_PROOF_REQUIRED', 'The gateway proof is not valid');
  }
  const expiresAt = Number(match[2]) * 1000;
  if (expiresAt <= now) throw new AppError('GATEWAY_PROOF_REQUIRED', 'The gateway proof has expired');
  const userId = Buffer.from(match[3]!, 'base64url').toString('utf8');
  return { userId: userId === '' ? undefined : userId, expiresAt };
}

/** Proofs a ProofVerifier keeps; past that it starts afresh. */
const MAX_REMEMBERED_PROOFS = 1000;

/**
 * `verifyProof` for a subgraph's many requests: the gateway sends one proof for all the calls of
 * an operation by a user within a second (ProofSigner), so a proof that verified is kept with the
 * operation text it covers, and the same proof for the same text is not checked again, only its
 * expiry is: one HMAC a second and user where every request computed its own. Anything else (an
 * unknown header, another text, an expired proof) goes through `verifyProof`, with its errors. The
 * lookup is by the whole header, so it tells a forger nothing about a valid mac.
 */
export class ProofVerifier {
  private readonly verified = new Map<string, { query: string; expiresAt: number; proof: VerifiedProof }>();

  constructor(private readonly settings: SubgraphProofSettings) {}

  verify(header: string | undefined, query: string, now = Date.now()): VerifiedProof {
    const known = header === undefined ? undefined : this.verified.get(header);
    if (known !== undefined && known.query === query && known.expiresAt > now) return known.proof;
    const { userId, expiresAt } = checkProof(this.settings, header, query, now);
    const proof = Object.freeze({ userId });
    if (this.verified.size >= MAX_REMEMBERED_PROOFS) this.verified.clear();
    // checkProof threw unless there was a header.
    this.verified.set(header!, { query, expiresAt, proof });
    return proof;
  }
}
