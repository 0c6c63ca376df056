import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildSchema } from 'graphql';
import { loadGatewayConfig } from '../gateway/config';
import { createDocumentReader } from '../gateway/graphql-documents';
import { documentHash, loadTrustedDocuments } from '../gateway/persisted-documents';
import { ResponseCache, useCachedReadFastPath } from '../gateway/plugins/response-cache';
import { lookUpQuery, readQuery } from '../gateway/plugins/response-cache/graphql-reads';
import { useRequestLog } from '../gateway/plugins/request-log';
import { useTrustedDocuments } from '../gateway/plugins/trusted-documents';
import { createCacheStore } from '../shared/cache-store';
import { createHttpApp, setFastPath } from '../shared/http-app';

/**
 * The GraphQL side of the cached-read fast path (gateway/plugins/response-cache/graphql-fast-path.ts),
 * on a real HTTP server in front of a Fastify app whose `/graphql` route echoes the body it parsed:
 * a hit is answered before Fastify sees the request; everything else reaches Fastify with its body
 * exactly as sent, so the stages behind decide as they always did. The whole gateway's answers are
 * checked against Apollo's in tests/graphql-cache-front.test.ts, whose hits this path now answers.
 */

const TRUSTED = 'query Order($id: ID!) { order(id: $id) { id name } }';
const UNTRUSTED = 'query Other($id: ID!) { order(id: $id) { name } }';
const ORDER = { order: { id: '1', name: 'Desk' } };

interface Server {
  url: string;
  cache: ResponseCache;
  readDocument: ReturnType<typeof createDocumentReader>;
  /** Requests Fastify saw, and the bodies its `/graphql` route parsed. */
  fastify: { requests: number; bodies: unknown[] };
  /** What the rate-limit stage's check answers. */
  rate: { within: boolean };
  app: FastifyInstance;
}

const servers: Server[] = [];
afterAll(async () => {
  for (const server of servers) await server.app.close();
});

/** A server in `mode`, with alice's answers to both documents (id 1) in its cache. */
async function start(mode: 'only' | 'allow'): Promise<Server> {
  const config = loadGatewayConfig({});
  const app = createHttpApp({ logLevel: 'silent', bodyLimitBytes: 1_000_000 });
  const store = createCacheStore(config.cache, app.log, 'test');
  const cache = new ResponseCache({ store, maxTtlSeconds: 60, log: app.log });
  cache.useSchema(buildSchema('type Query { order(id: ID!): Order } type Order { id: ID! name: String }'), 'type Query');
  const readDocument = createDocumentReader(config.operationLimits);
  const documents = loadTrustedDocuments([], [TRUSTED]);
  const trusted = useTrustedDocuments({ graphqlRoute: '/graphql', mode, documents, store, registrationTtlSeconds: 60, readDocument, maxBatch: 10 });
  for (const query of [TRUSTED, UNTRUSTED]) {
    const { key } = await lookUpQuery(cache, readDocument, { query, variables: { id: '1' } }, 'alice')!.found;
    await cache.save(key!, ORDER, 60);
  }
  const rate = { within: true };
  const stage = useCachedReadFastPath({
    routes: [],
    cache,
    authenticate: (header) => ({ 'Bearer alice': 'alice', 'Bearer bob': 'bob' })[header ?? ''],
    rateCheck: () => rate.within,
    requestLog: useRequestLog(app.log),
    graphql: { graphqlRoute: '/graphql', readDocument, plainRequest: trusted.plainRequest, maxBodyBytes: 1024 },
  });
  const fastify = { requests: 0, bodies: [] as unknown[] };
  await stage.fastify!({ app, apollo: undefined as never, publicRoutes: new Set() });
  app.addHook('onRequest', async () => void (fastify.requests += 1));
  app.post('/graphql', async (request) => {
    fastify.bodies.push(request.body);
    return { echo: request.body };
  });
  setFastPath(app, stage.fastPath!);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const server = { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/graphql`, cache, readDocument, fastify, rate, app };
  servers.push(server);
  return server;
}

const post = (server: Server, body: string | Buffer, headers: Record<string, string> = {}) =>
  fetch(server.url, { method: 'POST', headers: { authorization: 'Bearer alice', 'content-type': 'application/json', ...headers }, body });

let allow: Server;
let only: Server;
beforeAll(async () => {
  [allow, only] = [await start('allow'), await start('only')];
});
beforeEach(() => {
  for (const server of [allow, only]) {
    server.fastify.requests = 0;
    server.fastify.bodies = [];
    server.rate.within = true;
  }
});

test("a hit is answered before Fastify, with the GraphQL front's body and headers", async () => {
  const response = await post(allow, JSON.stringify({ query: TRUSTED, variables: { id: '1' } }));
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ data: ORDER });
  expect([response.headers.get('x-cache'), response.headers.get('cache-control'), response.headers.get('content-type')]).toEqual(['HIT', 'no-store', 'application/json; charset=utf-8']);
  expect(response.headers.get('age')).toMatch(/^\d+$/);
  expect(allow.fastify.requests).toBe(0);
});

test('a trusted document named by its hash alone is a hit too; in "only" mode an untrusted text goes on to the stages', async () => {
  const byHash = { variables: { id: '1' }, extensions: { persistedQuery: { version: 1, sha256Hash: documentHash(TRUSTED) } } };
  for (const server of [allow, only]) expect(await (await post(server, JSON.stringify(byHash))).json()).toEqual({ data: ORDER });
  expect(await (await post(allow, JSON.stringify({ query: UNTRUSTED, variables: { id: '1' } }))).json()).toEqual({ data: ORDER });
  expect([allow.fastify.requests, only.fastify.requests]).toEqual([0, 0]);
  // Stored by a gateway in "allow" mode sharing the store: the trusted-documents stage refuses it, not this path.
  const untrusted = { query: UNTRUSTED, variables: { id: '1' } };
  expect(await (await post(only, JSON.stringify(untrusted))).json()).toEqual({ echo: untrusted });
  expect(only.fastify.requests).toBe(1);
});

test('whatever it does not answer reaches Fastify with the body as sent', async () => {
  const declined: [string, Record<string, unknown>, Record<string, string>?][] = [
    ['a miss', { query: TRUSTED, variables: { id: '2' } }],
    ['a mutation', { query: 'mutation { order(id: 1) { id } }' }],
    ['an unknown token', { query: TRUSTED, variables: { id: '1' } }, { authorization: 'Bearer mallory' }],
    // The same text as alice's hit (read once per text): bob's own entry is looked up, and missed.
    ['another user', { query: TRUSTED, variables: { id: '1' } }, { authorization: 'Bearer bob' }],
    ['a hash the manifest lacks', { extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } }],
    ['a batch', { 0: { query: TRUSTED } }],
    ['a body over the size read here', { query: TRUSTED, variables: { id: '1' }, padding: 'x'.repeat(2000) }],
    ['unicode', { query: TRUSTED, variables: { id: 'é€😀' } }],
  ];
  expect((await post(allow, JSON.stringify({ query: TRUSTED, variables: { id: '1' } }))).headers.get('x-cache')).toBe('HIT');
  for (const [, body, headers] of declined) {
    const response = await post(allow, JSON.stringify(body), headers);
    expect(await response.json()).toEqual({ echo: body });
  }
  expect(allow.fastify.bodies).toHaveLength(declined.length);
});

test('a hit over the rate limit goes on to the stages, body and all (the rate-limit stage answers its 429)', async () => {
  allow.rate.within = false;
  const body = { query: TRUSTED, variables: { id: '1' } };
  expect(await (await post(allow, JSON.stringify(body))).json()).toEqual({ echo: body });
  expect(allow.fastify.requests).toBe(1);
});

test('a body Fastify refuses is refused by Fastify as before: bad JSON, poisoning, bytes that are not UTF-8', async () => {
  const refused: (string | Buffer)[] = [
    '{"query": ',
    JSON.stringify({ query: TRUSTED, variables: { id: '1' } }).replace('{"query"', '{"__proto__": {"x": 1}, "query"'),
    JSON.stringify({ query: TRUSTED, variables: { id: '1' } }).replace('{"query"', '{"constructor": {"prototype": {"x": 1}}, "query"'),
    Buffer.concat([Buffer.from('{"query": "'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
  ];
  for (const body of refused) {
    const response = await post(allow, body);
    expect(response.status).toBe(400);
    // The GraphQL shape the error door gives on `/graphql`, with a catalogue code.
    expect(((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toEqual(expect.stringMatching(/^[A-Z_]+$/));
  }
  expect([allow.fastify.requests, allow.fastify.bodies.length]).toEqual([refused.length, 0]);
});

test("the cache remembers no long fingerprint: each lookup by one derives its own entry's key", async () => {
  const identity = (id: string) => () => {
    const { document, operation } = readQuery(allow.readDocument, { query: TRUSTED, variables: { id } })!;
    return { queryHash: document.queryHash, operationName: null, variables: { id }, userId: 'alice', operation };
  };
  // Fingerprints must name one identity; here one is given two on purpose, to see whether it was kept.
  for (const fingerprint of ['short', 'x'.repeat(2000)]) {
    const first = await allow.cache.lookUp(identity('1'), fingerprint);
    const second = await allow.cache.lookUp(identity('2'), fingerprint);
    expect(first.hit?.data).toEqual(ORDER);
    // Remembered, the short one names alice's entry for id 1 again; the long one is derived anew: id 2 is not stored.
    expect(second.hit?.data).toEqual(fingerprint === 'short' ? ORDER : undefined);
  }
});
