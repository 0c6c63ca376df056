import type { GraphQLRequestListener } from '@apollo/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CacheStore } from '../../shared/cache-store';
import { graphqlRequestError, sendError } from '../../shared/error-response';
import { AppError } from '../../shared/errors';
import type { GatewayContext } from '../context';
import { plainBody, type ClientDocument, type GraphQLBody } from '../graphql-documents';
import { documentHash, type TrustedDocuments } from '../persisted-documents';
import type { GatewayPlugin } from '../pipeline';
import { userOf } from './jwt-auth';

export interface PersistedDocumentsSettings {
  /**
   * Which operations `/graphql` executes. "only": the trusted documents alone (the typed
   * client's manifest, the REST bridge's operations and `PERSISTED_DOCUMENTS_MANIFESTS`), named by
   * their hash or sent as their exact text; anything else is refused with DOCUMENT_NOT_TRUSTED or
   * PERSISTED_QUERY_NOT_IN_LIST, and APQ cannot register new documents. "allow": any operation,
   * and APQ registers new ones (development). `PERSISTED_DOCUMENTS`, @default "allow", or "only"
   * when `NODE_ENV` is "production"
   */
  mode: 'only' | 'allow';
  /**
   * Manifest files of trusted documents (JSON: sha256 hex to text), comma-separated, relative to
   * the working directory. `PERSISTED_DOCUMENTS_MANIFESTS`, @default "client/generated/persisted-documents.json"
   * (the typed client's, written by `npm run codegen`)
   */
  manifests: string[];
  /**
   * How long a document registered through APQ ("allow" mode) is kept in the gateway's cache
   * store (Redis when `REDIS_URL` is set), in seconds. `PERSISTED_QUERY_TTL_SECONDS`, @default 86400
   */
  registrationTtlSeconds: number;
}

/** The stage, and what the fast path asks of it before any stage has run. */
export interface TrustedDocumentsStage extends GatewayPlugin {
  plainRequest(body: unknown): GraphQLBody | undefined;
}

export interface TrustedDocumentsOptions {
  graphqlRoute: string;
  mode: PersistedDocumentsSettings['mode'];
  documents: TrustedDocuments;
  /** Where APQ registrations live: the gateway's cache store, shared by every instance with Redis. */
  store: CacheStore;
  registrationTtlSeconds: number;
  /** The gateway's document reader: only a document within the limits is registered. */
  readDocument: (query: string) => ClientDocument;
  /** The operation limits' batch size: a longer batch is left to them to refuse, unread (each hash could cost a store read). */
  maxBatch: number;
}

/** Apollo's APQ extension: `{"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}`. */
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The store's key for a registered document. */
const registrationKey = (hash: string) => `apq:${hash}`;

const notTrusted = (what: string) =>
  new AppError('DOCUMENT_NOT_TRUSTED', `${what}: this gateway runs PERSISTED_DOCUMENTS=only and executes only its trusted documents`);

/** What the playground says above its editor when the gateway runs "only": its edits will be refused. */
export const ONLY_MODE_NOTICE =
  'This gateway runs PERSISTED_DOCUMENTS=only: it executes only its trusted documents (the typed client\'s and the REST bridge\'s ' +
  'operations, as generated), so an operation written or edited here is refused with DOCUMENT_NOT_TRUSTED. ' +
  'Use a gateway with PERSISTED_DOCUMENTS=allow to explore.';

/** A document a request registered, stored once the request has been answered with success. */
interface Registration {
  hash: string;
  text: string;
}

/** The hash a body's persisted-query extension names; undefined without one, an AppError for a malformed one. */
function persistedHash(extensions: unknown): string | AppError | undefined {
  if (!extensions || typeof extensions !== 'object') return undefined;
  const persisted = (extensions as Record<string, unknown>).persistedQuery;
  if (persisted === undefined) return undefined;
  const { version, sha256Hash } = (persisted ?? {}) as Record<string, unknown>;
  if (version !== 1) return new AppError('BAD_REQUEST', 'Unsupported persisted query version: only version 1 is known');
  if (typeof sha256Hash !== 'string' || !SHA256_HEX.test(sha256Hash)) {
    return new AppError('BAD_REQUEST', 'persistedQuery.sha256Hash must be the lowercase sha256 hex of the document');
  }
  return sha256Hash;
}

/** The body's extensions without `persistedQuery`: the request then reads as the plain text request it stands for. */
function dropPersistedQuery(body: Record<string, unknown>): void {
  const { persistedQuery: _resolved, ...rest } = body.extensions as Record<string, unknown>;
  if (Object.keys(rest).length > 0) body.extensions = rest;
  else delete body.extensions;
}

function refuse(reply: FastifyReply, error: AppError) {
  // As Apollo answers a missing APQ document: 200 (the catalogue's status), never cached, so the client resends with the text.
  if (error.code === 'PERSISTED_QUERY_NOT_FOUND') reply.header('cache-control', 'private, no-cache, must-revalidate');
  return sendError(reply, error.code, error.message);
}

/**
 * Trusted documents and automatic persisted queries (APQ) on `graphqlRoute`, the stage right after
 * authentication's token check. Its Fastify side runs once the body is parsed (a `preValidation`
 * hook, before authentication's look at anonymous documents, the limits, the response cache's
 * GraphQL front and deduplication, all `preHandler` or later). A request naming a document by hash
 * is turned into the plain request with that document's text, so every later stage sees a
 * hash-only request exactly as the same text: same auth, limits, cache entries and deduplication.
 * Apollo's own APQ must be off (`persistedQueries: false`, gateway/apollo.ts): this is the one door.
 *
 * In "only" mode a hash that names no trusted document, a new registration and a signed-in
 * request's untrusted text are refused here; its Apollo side refuses every source that is not
 * trusted, however it came (an anonymous body, a query string, the REST bridge), before anything
 * executes. An anonymous client still gets the 401 any anonymous request gets.
 */
export function useTrustedDocuments(options: TrustedDocumentsOptions): TrustedDocumentsStage {
  const onlyTrusted: GraphQLRequestListener<GatewayContext> = {
    async didResolveOperation({ source }) {
      if (!options.documents.trusts(source)) throw graphqlRequestError('DOCUMENT_NOT_TRUSTED', notTrusted('The document is not trusted').message);
    },
  };
  return {
    name: 'trusted documents',
    plainRequest: (body) => plainRequest(body, options),
    fastify: ({ app }) => resolveDocuments(app, options),
    apollo: [{ requestDidStart: async () => (options.mode === 'only' ? onlyTrusted : undefined) }],
  };
}

/**
 * The plain request a body stands for, when it can be told at once and this stage would let it
 * through unchanged: a text this mode runs, or a manifest document named by its hash alone. Anything
 * else (an APQ registration, a hash the store may know, a refusal) is undefined: the Fastify side decides.
 */
function plainRequest(body: unknown, { mode, documents }: TrustedDocumentsOptions): GraphQLBody | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  if ((body as Record<string, unknown>).extensions === undefined) {
    const plain = plainBody(body);
    return plain && (mode === 'allow' || documents.trusts(plain.query)) ? plain : undefined;
  }
  const { extensions, ...rest } = body as Record<string, unknown>;
  if (rest.query !== undefined || !extensions || typeof extensions !== 'object' || Object.keys(extensions).length !== 1) return undefined;
  const hash = persistedHash(extensions);
  const text = typeof hash === 'string' ? documents.textOf(hash) : undefined;
  return text === undefined ? undefined : plainBody({ ...rest, query: text });
}

/** The Fastify side: resolves hashes to their text, refuses what "only" mode does not trust, stores APQ registrations. */
function resolveDocuments(app: FastifyInstance, options: TrustedDocumentsOptions): void {
  const { graphqlRoute, mode, documents, store } = options;
  const registrations = new WeakMap<FastifyRequest, Registration[]>();

  /** Resolves one operation of a body in place; the refusal, if any. */
  const resolve = async (request: FastifyRequest, operation: unknown): Promise<AppError | undefined> => {
    if (!operation || typeof operation !== 'object') return undefined; // Apollo answers a malformed body
    const body = operation as Record<string, unknown>;
    const hash = persistedHash(body.extensions);
    if (hash instanceof AppError) return hash;
    if (hash === undefined) {
      // A signed-in request's text is held to the list here, before the cache front could answer it
      // from an entry a gateway in "allow" mode stored in a shared Redis. An anonymous one is left
      // to authentication (its 401 comes first) and then to the Apollo plugin.
      const refused = mode === 'only' && userOf(request) !== undefined && typeof body.query === 'string' && !documents.trusts(body.query);
      return refused ? notTrusted('The document is not trusted') : undefined;
    }
    if (typeof body.query === 'string') {
      if (documentHash(body.query) !== hash) return new AppError('PERSISTED_QUERY_HASH_MISMATCH');
      if (!documents.trusts(body.query)) {
        if (mode === 'only') return notTrusted('New persisted queries cannot be registered');
        if (options.readDocument(body.query).queryHash) registrations.set(request, [...(registrations.get(request) ?? []), { hash, text: body.query }]);
      }
    } else if (body.query !== undefined && body.query !== null) {
      return new AppError('BAD_REQUEST', 'query must be a string');
    } else {
      const text = documents.textOf(hash) ?? (mode === 'allow' ? await registered(hash) : undefined);
      if (text === undefined) {
        return mode === 'only' ? new AppError('PERSISTED_QUERY_NOT_IN_LIST') : new AppError('PERSISTED_QUERY_NOT_FOUND');
      }
      body.query = text;
    }
    dropPersistedQuery(body);
    return undefined;
  };

  /** A registered document, checked against its hash: the store may be shared, and a lie must not run. */
  const registered = async (hash: string) => {
    const text = await store.get(registrationKey(hash));
    return text !== undefined && documentHash(text) === hash ? text : undefined;
  };

  app.addHook('preValidation', async (request, reply) => {
    if (request.routeOptions.url !== graphqlRoute) return;
    if (request.method === 'GET') {
      const refusal = queryStringRefusal(request.query as Record<string, unknown>);
      return refusal ? refuse(reply, refusal) : undefined;
    }
    if (Array.isArray(request.body) && request.body.length > options.maxBatch) return;
    for (const operation of Array.isArray(request.body) ? request.body : [request.body]) {
      const refusal = await resolve(request, operation);
      if (refusal) return refuse(reply, refusal);
    }
  });

  /**
   * GET carries no persisted queries (APQ clients post by default). Its text is left to the stage's
   * Apollo side: Apollo reads the query string itself, and that is the text to hold to the list.
   */
  const queryStringRefusal = ({ extensions }: Record<string, unknown>): AppError | undefined =>
    // A repeated parameter comes as an array, of which Apollo reads the first.
    [extensions].flat().some((value) => typeof value === 'string' && value.includes('persistedQuery'))
      ? new AppError('BAD_REQUEST', 'Persisted queries are taken by POST only')
      : undefined;

  // A registration is stored once the request succeeded: it passed authentication, the limits and
  // Apollo's validation, as Apollo's own APQ registers only a valid document.
  app.addHook('onResponse', async (request, reply) => {
    const pending = registrations.get(request);
    if (!pending || reply.statusCode !== 200) return;
    await Promise.all(pending.map(({ hash, text }) => store.set(registrationKey(hash), text, options.registrationTtlSeconds)));
  });
}
