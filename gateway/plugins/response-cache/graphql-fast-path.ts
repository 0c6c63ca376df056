import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { ClientDocument, GraphQLBody } from '../../graphql-documents';
import type { GatewayMetrics } from '../../metrics';
import { withinRateLimit, type UserRateCheck } from '../rate-limit';
import type { RequestLog } from '../request-log';
import { ageOf, type Lookup, type ResponseCache } from './cache';
import { graphqlBodyOf, graphqlHitHeaders, lookUpRead, readQuery, type ReadQuery } from './graphql-reads';

export interface GraphQLFastPathOptions {
  graphqlRoute: string;
  /** The gateway's document reader, as every stage reads a text: within the limits, parsed once. */
  readDocument(query: string): ClientDocument;
  /** The trusted-documents stage's answer before any stage runs: the plain request a body stands for, or undefined. */
  plainRequest(body: unknown): GraphQLBody | undefined;
  /** The largest body read here; a longer one goes on to Fastify unread. */
  maxBodyBytes: number;
}

/** What the cached-read fast path shares with this part of it. */
export interface FastPathShared {
  cache: ResponseCache;
  authenticate(header: string | undefined): string | undefined;
  rateCheck?: UserRateCheck;
  requestLog: RequestLog;
  metrics?: GatewayMetrics;
}

/** The headers this path reads, in one pass over the raw headers (`request.headers` would build them all). */
interface Heads {
  authorization?: string;
  contentType?: string;
  contentLength?: string;
  /** A Content-Encoding or Transfer-Encoding: the body is not read here. */
  encoded: boolean;
}

function headsOf(request: IncomingMessage): Heads {
  const raw = request.rawHeaders;
  const heads: Heads = { encoded: false };
  for (let index = 0; index < raw.length; index += 2) {
    const name = raw[index]!.toLowerCase();
    if (name === 'authorization') heads.authorization = raw[index + 1];
    else if (name === 'content-type') heads.contentType = raw[index + 1]!.toLowerCase();
    else if (name === 'content-length') heads.contentLength = raw[index + 1];
    else if (name === 'content-encoding' || name === 'transfer-encoding') heads.encoded = true;
  }
  return heads;
}

/** The content types read here: Fastify's JSON parser takes these, and others are left to it. */
const JSON_TYPES = new Set(['application/json', 'application/json; charset=utf-8', 'application/json;charset=utf-8']);

/**
 * What the strict JSON parser (shared/http-app.ts) refuses or the stages would treat otherwise:
 * such a body goes on to Fastify, which gives its usual answer.
 */
const POISONING = /__proto__|constructor/;

/** The body, whole; undefined when the request failed while it arrived (the connection is gone). */
function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
    };
    const finish = (body: Buffer | undefined) => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
      resolve(body);
    };
    const onEnd = () => finish(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    const onError = () => finish(undefined);
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
  });
}

/**
 * The GraphQL side of the cached-read fast path: a signed-in client's cached query on
 * `POST /graphql` (its text, or a trusted document's hash), answered before Fastify as the GraphQL
 * front (graphql-front.ts) answers it after the stages: same lookup, body and headers. A hit needs
 * the token check, reading and parsing the small body, the cache lookup and the rate-limit count;
 * Fastify's routing, hooks and reply cost several times that (bench/README.md#where-the-time-went).
 *
 * The body has to be read to know, so a request this path does not answer (a miss, a mutation, a
 * body the trusted-documents stage has to look at, one over the rate limit) goes on to Fastify with
 * its bytes kept: `replayBodies` hands them to Fastify's body parser in place of the spent stream,
 * so the stages see the request exactly as it came.
 */
export function graphqlFastPath(options: GraphQLFastPathOptions, shared: FastPathShared) {
  const { graphqlRoute, readDocument, plainRequest, maxBodyBytes } = options;
  const { cache, authenticate, rateCheck, requestLog, metrics } = shared;
  const kept = new WeakMap<IncomingMessage, Buffer>();
  // The request series of each operation label, looked up once (metrics on).
  const counters = new Map<string, (seconds: number) => void>();
  const counted = (operationName: string | undefined) => {
    if (!metrics) return undefined;
    const label = metrics.operationLabel(operationName);
    let count = counters.get(label);
    if (!count) counters.set(label, (count = metrics.fastPathHit('POST', 'graphql', label)));
    return count;
  };

  const answer = (response: ServerResponse, { hit }: Lookup, userId: string, operationName: string | undefined, started: number): boolean => {
    if (!hit) return false;
    const body = graphqlBodyOf(hit);
    response.writeHead(200, graphqlHitHeaders(body.length, ageOf(hit)));
    response.end(body);
    requestLog.nameSpan('POST', graphqlRoute, userId, 'HIT');
    requestLog.completed('POST', graphqlRoute, 200, userId, 'HIT');
    counted(operationName)?.((performance.now() - started) / 1000);
    return true;
  };

  const answerWithin = (response: ServerResponse, lookup: Lookup, userId: string, operationName: string | undefined, started: number): boolean | Promise<boolean> =>
    lookup.hit ? withinRateLimit(rateCheck, userId, () => answer(response, lookup, userId, operationName, started)) : false;

  /** Answers the hit, or keeps the bytes for Fastify and declines. */
  const serve = async (request: IncomingMessage, response: ServerResponse, raw: Buffer, userId: string, started: number): Promise<boolean> => {
    // Kept first: whatever happens below (a throw included), Fastify gets the body it would have read.
    kept.set(request, raw);
    const lookup = lookUpBody(raw, userId);
    if (!lookup) return false;
    const answered = await answerWithin(response, lookup.found instanceof Promise ? await lookup.found : lookup.found, userId, lookup.operationName, started);
    if (answered) kept.delete(request);
    return answered;
  };

  /**
   * A body text's query, read once per text (parsing, the trusted-documents check, the document),
   * with a number no other text is ever given: the text determines the query, its name and its
   * variables, so that number and the user name the cache entry, in a short fingerprint that keeps
   * no client's text alive in the cache's recent keys.
   */
  const readBodies = new LRUCache<string, { read: ReadQuery; serial: number } | false>({ max: 1000, maxSize: 4 * 1024 * 1024, sizeCalculation: (_read, text) => text.length + 1 });
  let serials = 0;
  const readText = (text: string): ReadQuery | undefined => {
    if (POISONING.test(text)) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return undefined;
    }
    const body = plainRequest(parsed);
    return body && readQuery(readDocument, body);
  };

  const lookUpBody = (raw: Buffer, userId: string) => {
    if (!isUtf8(raw)) return undefined;
    const text = raw.toString('utf8');
    let known = readBodies.get(text);
    if (known === undefined) {
      const read = readText(text);
      readBodies.set(text, (known = read ? { read, serial: (serials += 1) } : false));
    }
    return known ? lookUpRead(known.read, cache, userId, `body\n${known.serial}\n${userId}`) : undefined;
  };

  return {
    fastPath(request: IncomingMessage, response: ServerResponse): boolean | Promise<boolean> {
      if (request.url !== graphqlRoute) return false;
      const heads = headsOf(request);
      const length = Number(heads.contentLength);
      if (heads.encoded || !heads.contentType || !JSON_TYPES.has(heads.contentType) || !(length > 0 && length <= maxBodyBytes)) return false;
      const userId = authenticate(heads.authorization);
      if (userId === undefined) return false;
      const started = metrics ? performance.now() : 0;
      return readBody(request).then((raw) => {
        // The client went away mid-body: nothing is left to answer, or to hand on.
        if (raw === undefined) return true;
        return serve(request, response, raw, userId, started);
      });
    },

    /** Gives Fastify's body parser the bytes this path read and declined, in place of the spent stream. */
    replayBodies(app: FastifyInstance): void {
      app.addHook('preParsing', (request, _reply, payload, done) => {
        const raw = kept.get(request.raw);
        if (!raw) return done(null, payload);
        kept.delete(request.raw);
        const replay = Readable.from([raw], { objectMode: false }) as Readable & { receivedEncodedLength?: number };
        // What Fastify compares with Content-Length (a preParsing stream has to say it).
        replay.receivedEncodedLength = raw.length;
        done(null, replay);
      });
    },
  };
}
