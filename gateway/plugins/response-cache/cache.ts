import { hash, randomFillSync } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { GraphQLSchema, OperationDefinitionNode } from 'graphql';
import type { CacheStore } from '../../../shared/cache-store';
import type { GatewayMetrics } from '../../metrics';
import { readTags, writeTags } from './tags';

export interface ResponseCacheOptions {
  store: CacheStore;
  /** No entry lives longer than this, whatever the schema's hints say, in seconds. */
  maxTtlSeconds: number;
  log: FastifyBaseLogger;
  /** Counts stores and invalidations (hits and misses are counted where responses are sent). */
  metrics?: GatewayMetrics;
}

/** The longest caller fingerprint `peek` remembers a key by. */
const MAX_FINGERPRINT_CHARS = 1024;

/** Tag versions outlive every entry, so an expired version can never resurrect a stale entry. */
const TAG_TTL_SECONDS = 24 * 3600;

/** Random bytes of one tag version: 72 bits, 12 base64url characters. */
const VERSION_BYTES = 9;
/**
 * The system's randomness for the next 256 tag versions. What the system's generator costs is per
 * call, not per byte: `randomBytes(9)` 5–6 µs on Node 24 and 20, a fill of 9 or of 2,304 bytes
 * 3.5–4.4 µs. A write bumps two or three tags; one fill serves 256 (bench/README.md#where-the-time-went).
 */
const versionRandomness = Buffer.alloc(VERSION_BYTES * 256);
let versionOffset = versionRandomness.length;

/**
 * A new version of a tag: 72 random bits, so a bump never repeats an earlier version. Not
 * `randomUUID()`: each of its strings kept some 480 bytes of heap alive (measured), and every
 * write leaves a tag in the in-memory store, so its versions were most of that store's memory.
 */
export function newTagVersion(): string {
  if (versionOffset === versionRandomness.length) {
    randomFillSync(versionRandomness);
    versionOffset = 0;
  }
  versionOffset += VERSION_BYTES;
  return versionRandomness.toString('base64url', versionOffset - VERSION_BYTES, versionOffset);
}

/** A lookup's result: the entry's key (undefined when the read cannot be cached now) and the entry, if stored. */
export interface Lookup {
  key: string | undefined;
  hit: CachedEntry | undefined;
}

export interface CachedEntry {
  data: Record<string, unknown>;
  storedAt: number;
}

/** What identifies one cached response. */
export interface QueryIdentity {
  /** sha256 hex of the query text, as Apollo computes it. */
  queryHash: string;
  operationName: string | null;
  variables: Record<string, unknown>;
  userId: string;
  operation: OperationDefinitionNode;
}

/**
 * Whole-response cache for queries, driven by the subgraphs' cache hints (the gateway's overall
 * cache policy): a query is stored only when every subgraph answered with a cacheable
 * Cache-Control, no error occurred and no root field is null (not found). Entries are always
 * keyed by the signed-in user, so no user is ever served another's response.
 *
 * Invalidation uses versioned tags. A query reads tags derived from its root fields before it
 * runs (`Order:5` for `order(id: 5)`, `Product:list` for `products`, and `Order:*` for either);
 * their current versions are part of the key. A mutation that returns entities bumps `Type:id`
 * and `Type:list` for each (or `Type:*` when it did not select `id`) before its response is sent,
 * so the next read misses: on every instance when the store is Redis. Nested entities (an
 * order's products) are not tagged. If a bump cannot be written, reads bypass the cache for
 * `maxTtlSeconds`, the longest any stale entry could live.
 */
export class ResponseCache {
  private bypassUntil = 0;
  /** Entries lately parsed, with the stored text they came from: a hot entry is parsed once, not on every hit. */
  private readonly parsed = new LRUCache<string, { stored: string; entry: CachedEntry }>({ max: 1000 });
  /** Entry keys by caller fingerprint, with the tag versions they were derived from (see `peek`). */
  private readonly recentKeys = new LRUCache<string, { tagKeys: string[]; versions: (string | undefined)[]; key: string }>({ max: 10_000 });
  /** The API schema, set when the gateway loads its supergraph. */
  private schema: GraphQLSchema | undefined;
  /**
   * The live supergraph's hash, part of every key: an entry is served only under the supergraph
   * that validated and ran its query, so a query a new supergraph refuses is not answered from the
   * cache, and a hot reload starts from an empty cache (gateways on other supergraphs share none).
   */
  private supergraphHash = '';

  constructor(private readonly options: ResponseCacheOptions) {}

  /** Follows the gateway's supergraph, on its first load and on every hot reload. */
  useSchema(schema: GraphQLSchema, supergraphSdl: string): void {
    this.schema = schema;
    this.supergraphHash = hash('sha256', supergraphSdl, 'base64url');
    this.recentKeys.clear();
  }

  /** The entry's key, or undefined when this query cannot be cached or reads go around the cache. */
  async keyOf(identity: QueryIdentity): Promise<string | undefined> {
    const tags = this.tagsOf(identity);
    if (tags === undefined) return undefined;
    const versions = await Promise.all(tags.map((tag) => this.options.store.get(`tag:${tag}`)));
    return entryKey(this.supergraphHash, identity, tags, versions);
  }

  async get(key: string): Promise<CachedEntry | undefined> {
    return parseEntry(await this.options.store.get(key));
  }

  /**
   * `keyOf` then `get` with no promise in between, when the store answers in-process (memory);
   * undefined when it cannot (Redis): then use those two. A caller that can name the identity
   * by a cheaper string that determines it (a REST URL and its user) passes it as `fingerprint`:
   * while the versions of that identity's tags are unchanged, its key is reused instead of being
   * derived again (tags read from the operation, hashed), and `identityOf` is not called.
   */
  peek(identityOf: () => QueryIdentity, fingerprint?: string): Lookup | undefined {
    const { peek } = this.options.store;
    if (!peek) return undefined;
    if (!this.schema || Date.now() < this.bypassUntil) return { key: undefined, hit: undefined };
    // A long one (large variables, a long URL) is not remembered: 10,000 of them could hold a lot of memory.
    const remembered = fingerprint !== undefined && fingerprint.length <= MAX_FINGERPRINT_CHARS ? fingerprint : undefined;
    const recent = remembered === undefined ? undefined : this.recentKeys.get(remembered);
    let key = recent?.tagKeys.every((tagKey, index) => peek(tagKey) === recent.versions[index]) ? recent.key : undefined;
    if (key === undefined) {
      const identity = identityOf();
      const tags = readTags(this.schema, identity.operation, identity.variables);
      if (tags === undefined) return { key: undefined, hit: undefined };
      const tagKeys = tags.map((tag) => `tag:${tag}`);
      const versions = tagKeys.map((tagKey) => peek(tagKey));
      key = entryKey(this.supergraphHash, identity, tags, versions);
      if (remembered !== undefined) this.recentKeys.set(remembered, { tagKeys, versions, key });
    }
    const stored = peek(key);
    if (stored === undefined) return { key, hit: undefined };
    const known = this.parsed.get(key);
    if (known?.stored === stored) return { key, hit: known.entry };
    const entry = parseEntry(stored)!;
    this.parsed.set(key, { stored, entry });
    return { key, hit: entry };
  }

  /** `peek` when the store answers in-process, else `keyOf` then `get`: at once from memory, a promise from Redis. */
  lookUp(identityOf: () => QueryIdentity, fingerprint?: string): Lookup | Promise<Lookup> {
    return this.peek(identityOf, fingerprint) ?? this.lookUpRemote(identityOf());
  }

  private async lookUpRemote(identity: QueryIdentity): Promise<Lookup> {
    const key = await this.keyOf(identity);
    return { key, hit: key === undefined ? undefined : await this.get(key) };
  }

  private tagsOf({ operation, variables }: QueryIdentity): string[] | undefined {
    if (!this.schema || Date.now() < this.bypassUntil) return undefined;
    return readTags(this.schema, operation, variables);
  }

  async save(key: string, data: Record<string, unknown>, maxAgeSeconds: number): Promise<void> {
    const entry: CachedEntry = { data, storedAt: Date.now() };
    await this.options.store.set(key, JSON.stringify(entry), Math.min(maxAgeSeconds, this.options.maxTtlSeconds));
    this.options.metrics?.cacheStored();
  }

  /** Bumps the tags of the entities a mutation returned; if that fails, reads bypass the cache for a while. */
  async invalidate(operation: OperationDefinitionNode, data: Record<string, unknown>): Promise<void> {
    if (!this.schema) return;
    const tags = writeTags(this.schema, operation, data);
    const written = await Promise.all(tags.map((tag) => this.options.store.set(`tag:${tag}`, newTagVersion(), TAG_TTL_SECONDS)));
    this.options.metrics?.cacheInvalidated(tags);
    if (written.every(Boolean)) return;
    this.bypassUntil = Date.now() + this.options.maxTtlSeconds * 1000;
    this.options.log.warn({ tags }, 'could not invalidate cached responses: reading around the cache until they expire');
  }
}

/** The key of one response: the supergraph, its identity, and the current versions of the tags it depends on. */
function entryKey(supergraphHash: string, { queryHash, operationName, variables, userId }: QueryIdentity, tags: string[], versions: (string | undefined)[]): string {
  const parts = JSON.stringify([supergraphHash, queryHash, operationName, variables, userId, tags, versions]);
  return `resp:${hash('sha256', parts, 'base64url')}`;
}

function parseEntry(stored: string | undefined): CachedEntry | undefined {
  return stored === undefined ? undefined : (JSON.parse(stored) as CachedEntry);
}

/** Seconds since an entry was stored, for the `Age` header. */
export function ageOf(entry: CachedEntry): string {
  return String(Math.max(0, Math.floor((Date.now() - entry.storedAt) / 1000)));
}
