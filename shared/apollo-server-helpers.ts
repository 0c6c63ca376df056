import { createHash, hash, type BinaryLike, type BinaryToTextEncoding, type Encoding, type Hash } from 'node:crypto';
import { requireAs, unlessMissing } from './package-require';

/**
 * Two helpers Apollo Server calls on every request, made cheaper without changing what they
 * return (bench/README.md#where-the-time-went). Every process of ours runs Apollo Server (the
 * gateway, and each subgraph for every call the gateway makes), so each saving is paid back once
 * per request per process:
 *
 * - *Accept negotiation.* Apollo builds a `Negotiator` three times a request and asks each for its
 *   preferred media type among a fixed list, re-parsing the `Accept` header each time (some 3 µs
 *   each on Node 24, even with no header). The answer depends only on the header and the list:
 *   it is remembered for the last `MEMO_SIZE` pairs.
 * - *The query's SHA-256.* Apollo hashes each request's text through `@apollo/utils.createhash`,
 *   which looks `crypto` up again through `module.require` on every call, then streams the text
 *   through a `Hash` object: a one-shot `crypto.hash` of the same text gives the same digest in a
 *   fifth of the time (0.4 against 2 µs on Node 24).
 *
 * Both are installed on the modules Apollo itself loads (resolved from its packages, so an
 * upgrade that moves them is found by tests/apollo-server-helpers.test.ts), and neither stops a
 * process when its module is missing: this only saves time.
 */
export function installApolloServerHelpers(): void {
  if (installed) return;
  installed = true;
  const requireAsServer = unlessMissing(() => requireAs('@apollo/server'));
  const negotiator = requireAsServer && unlessMissing(() => requireAsServer('negotiator') as NegotiatorClass);
  if (negotiator) rememberMediaTypes(negotiator);
  // Apollo Server and Apollo Gateway each have a copy of createhash (different versions).
  for (const owner of ['@apollo/server', '@apollo/gateway']) {
    const requireAsOwner = unlessMissing(() => requireAs(owner));
    const hashes = requireAsOwner && unlessMissing(() => requireAsOwner('@apollo/utils.createhash') as { createHash: unknown });
    if (hashes) hashes.createHash = oneShotCreateHash;
  }
}

let installed = false;

/** The `Accept` header and media-type lists whose answer is remembered; more are answered anew. */
export const MEMO_SIZE = 64;
/** Longer headers are not remembered: a client's junk should not push the usual ones out. */
const MEMO_HEADER_LENGTH = 256;

interface NegotiatorClass {
  prototype: {
    request: { headers: Record<string, unknown> };
    mediaType(available?: readonly string[]): string | undefined;
  };
}

/** Memoises `Negotiator#mediaType(list)` by header and list (`negotiator` 1.x: a pure function of both); once a process (`installed`). */
function rememberMediaTypes(Negotiator: NegotiatorClass): void {
  const prototype = Negotiator.prototype;
  const negotiate = prototype.mediaType;
  const chosen = new Map<string, string | undefined>();
  prototype.mediaType = function mediaType(this: NegotiatorClass['prototype'], available?: readonly string[]) {
    const accept = this.request?.headers?.accept;
    // No header and an empty one answer differently: the key tells them apart.
    const header = accept === undefined ? '\u0000' : typeof accept === 'string' && accept.length <= MEMO_HEADER_LENGTH ? `\u0001${accept}` : undefined;
    if (header === undefined || !Array.isArray(available)) return negotiate.call(this, available);
    const key = `${header}\u0000${available.join('\u0000')}`;
    if (chosen.has(key)) return chosen.get(key);
    const answer = negotiate.call(this, available);
    if (chosen.size >= MEMO_SIZE) chosen.delete(chosen.keys().next().value!);
    chosen.set(key, answer);
    return answer;
  };
}

/**
 * `@apollo/utils.createhash`'s `createHash`, for callers that only `update` and `digest`, as all
 * of Apollo's do: text is gathered and hashed once by `crypto.hash` (the digest of the
 * concatenation is that of the updates in turn); anything else (bytes, another encoding) turns it
 * into a real `Hash` fed what came before.
 */
export function oneShotCreateHash(algorithm: string): OneShotHash {
  return new OneShotHash(algorithm);
}

export class OneShotHash {
  private text = '';
  private streaming?: Hash;

  constructor(private readonly algorithm: string) {}

  update(data: BinaryLike, encoding?: Encoding): this {
    if (!this.streaming && typeof data === 'string' && (encoding === undefined || encoding === 'utf8' || encoding === 'utf-8')) {
      this.text += data;
      return this;
    }
    this.streaming ??= createHash(this.algorithm).update(this.text);
    if (typeof data === 'string') this.streaming.update(data, encoding ?? 'utf8');
    else this.streaming.update(data);
    return this;
  }

  digest(): Buffer;
  digest(encoding: BinaryToTextEncoding): string;
  digest(encoding?: BinaryToTextEncoding): Buffer | string {
    if (this.streaming) return encoding === undefined ? this.streaming.digest() : this.streaming.digest(encoding);
    return hash(this.algorithm, this.text, encoding ?? 'buffer');
  }
}
