import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '../client';
import { ProductsDocument, SignInDocument } from '../client/generated/graphql';
import { loadGatewayConfig } from '../gateway/config';
import { CLIENT_MANIFEST_FILE, documentHash, loadTrustedDocuments, type Manifest } from '../gateway/persisted-documents';
import { brokenOperations, manifestContract } from '../gateway/supergraph/contract';
import { apiSchema } from '../schema/api-schema';
import { ConfigError } from '../shared/config';
import type { HttpClient } from './fixtures/http';
import { waitFor } from './fixtures/net';
import { describeWithRedis, testRedisUrl } from './fixtures/servers';
import { startStack, type Stack } from './fixtures/stack';
import { configMapMount, supergraphWithout } from './fixtures/supergraphs';

/**
 * Trusted documents and APQ (gateway/plugins/trusted-documents.ts): with PERSISTED_DOCUMENTS=only
 * the gateway executes only the manifests' and the REST bridge's operations, by hash or exact
 * text; with "allow" anything, and APQ registers new documents in the gateway's cache store.
 */
const manifest = JSON.parse(readFileSync(CLIENT_MANIFEST_FILE, 'utf8')) as Manifest;
const PRODUCTS = ProductsDocument.__meta__!.hash as string;
const SIGN_IN = SignInDocument.__meta__!.hash as string;
const persisted = (sha256Hash: string) => ({ persistedQuery: { version: 1, sha256Hash } });
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

let stack: Stack;
let only: HttpClient;
let token: string;
beforeAll(async () => {
  stack = await startStack();
  only = await stack.startGateway({ PERSISTED_DOCUMENTS: 'only' });
  token = await stack.signIn('trusted');
});
afterAll(() => stack?.close());

const post = (gateway: HttpClient, body: unknown, bearer: string | null = token) => gateway.post('/graphql', body, bearer ? { token: bearer } : {});
/** Waits for a new gateway's cache store to answer: a write before it connects to Redis would turn its response cache off for a while. */
const cacheReady = (gateway: HttpClient) => waitFor(async () => (await gateway.get('/ready')).body.checks?.cache === 'up', 'the cache store');
const codeOf = (response: { body: { errors?: { extensions?: { code?: string } }[] } }) => response.body.errors?.[0]?.extensions?.code;

describe('PERSISTED_DOCUMENTS', () => {
  test('is "allow" by default and "only" when NODE_ENV is production; nothing else is taken', () => {
    const secret = { JWT_SECRET: 's'.repeat(40) };
    expect(loadGatewayConfig(secret).persistedDocuments.mode).toBe('allow');
    expect(loadGatewayConfig({ ...secret, NODE_ENV: 'production' }).persistedDocuments.mode).toBe('only');
    expect(loadGatewayConfig({ ...secret, NODE_ENV: 'production', PERSISTED_DOCUMENTS: 'allow' }).persistedDocuments.mode).toBe('allow');
    expect(() => loadGatewayConfig({ ...secret, PERSISTED_DOCUMENTS: 'strict' })).toThrow(ConfigError);
    expect(loadGatewayConfig(secret).persistedDocuments.manifests).toEqual([CLIENT_MANIFEST_FILE]);
  });

  test('a manifest whose hash is not its text\'s, or that is not a manifest, stops the gateway at start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'manifest-'));
    try {
      const lying = join(dir, 'lying.json');
      writeFileSync(lying, JSON.stringify({ [documentHash('{ a }')]: '{ b }' }));
      expect(() => loadTrustedDocuments([lying], [])).toThrow(/is not the sha256 of its document/);
      const list = join(dir, 'list.json');
      writeFileSync(list, '["{ a }"]');
      expect(() => loadTrustedDocuments([list], [])).toThrow(/not a map of sha256 hashes/);
      await expect(stack.startGateway({ PERSISTED_DOCUMENTS_MANIFESTS: join(dir, 'missing.json') })).rejects.toThrow(/cannot be read/);
      // A client preset manifest (bare map, sha256: prefix) is read as it is.
      const preset = join(dir, 'preset.json');
      writeFileSync(preset, JSON.stringify({ [`sha256:${documentHash('{ __typename }')}`]: '{ __typename }' }));
      expect(loadTrustedDocuments([preset], []).textOf(documentHash('{ __typename }'))).toBe('{ __typename }');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test("other clients' manifests join the supergraph contract: a new supergraph must keep serving their documents", () => {
  const dir = mkdtempSync(join(tmpdir(), 'manifest-'));
  const mount = configMapMount('supergraph.graphql', supergraphWithout('product', { type: 'Product', field: 'supplyPrice' }));
  try {
    const other = join(dir, 'other-client.json');
    const text = 'query OtherClient { products(first: 5) { id supplyPrice } }';
    writeFileSync(other, JSON.stringify({ [documentHash(text)]: text }));
    const documents = loadTrustedDocuments([CLIENT_MANIFEST_FILE, other], ['query Stored { products { id } }']);
    const contract = manifestContract(documents.entries(), CLIENT_MANIFEST_FILE);
    expect(contract.map(({ label }) => label)).toEqual([`trusted document ${documentHash(text).slice(0, 12)} (${other})`]);
    expect(brokenOperations(apiSchema(), contract, [])).toEqual([]);
    expect(brokenOperations(apiSchema(mount.path), contract, []).map(({ label }) => label)).toEqual([contract[0]!.label]);
  } finally {
    mount.remove();
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('PERSISTED_DOCUMENTS=only', () => {
  test('a manifest operation runs by its hash alone, and by its exact text', async () => {
    const byHash = await post(only, { variables: { first: 1 }, extensions: persisted(PRODUCTS) });
    expect(byHash.status).toBe(200);
    expect(byHash.body.data.products).toEqual(expect.any(Array));
    const byText = await post(only, { query: manifest.documents[PRODUCTS], variables: { first: 1 } });
    expect(byText.status).toBe(200);
    expect(byText.body).toEqual(byHash.body);
    // The hash and its own text together are a request for the same trusted document.
    const both = await post(only, { query: manifest.documents[PRODUCTS], variables: { first: 1 }, extensions: persisted(PRODUCTS) });
    expect(both.body).toEqual(byHash.body);
  });

  test('an unknown text is refused before any subgraph is called, even one space away from a trusted one; after authentication', async () => {
    stack.resetHits();
    for (const query of ['{ products { id } }', `${manifest.documents[PRODUCTS]} `]) {
      const refused = await post(only, { query });
      expect([refused.status, codeOf(refused)]).toEqual([400, 'DOCUMENT_NOT_TRUSTED']);
      expect(refused.body.errors[0].message).toContain('PERSISTED_DOCUMENTS=only');
      expect(refused.body.data).toBeUndefined();
    }
    expect(Object.values(stack.hits).flatMap((hit) => hit.queries)).toEqual([]);
    const anonymous = await post(only, { query: '{ products { id } }' }, null);
    expect([anonymous.status, codeOf(anonymous)]).toEqual([401, 'UNAUTHENTICATED']);
    // Introspection is no trusted document either.
    expect(codeOf(await post(only, { query: '{ __schema { queryType { name } } }' }))).toBe('DOCUMENT_NOT_TRUSTED');
  });

  test('an unknown hash is refused with PERSISTED_QUERY_NOT_IN_LIST', async () => {
    const refused = await post(only, { extensions: persisted(documentHash('{ products { id } }')) });
    expect([refused.status, codeOf(refused)]).toEqual([400, 'PERSISTED_QUERY_NOT_IN_LIST']);
  });

  test('APQ cannot register a new document: the registration is refused and the hash stays unknown', async () => {
    const query = '{ products { id name } }';
    const registration = await post(only, { query, extensions: persisted(documentHash(query)) });
    expect([registration.status, codeOf(registration)]).toEqual([400, 'DOCUMENT_NOT_TRUSTED']);
    expect(codeOf(await post(only, { extensions: persisted(documentHash(query)) }))).toBe('PERSISTED_QUERY_NOT_IN_LIST');
  });

  test('a text over GET is held to the same list, and GET takes no persisted queries', async () => {
    const headers = { 'apollo-require-preflight': 'true' };
    const untrusted = await only.get(`/graphql?query=${encodeURIComponent('{ products { id } }')}`, { token, headers });
    expect([untrusted.status, codeOf(untrusted)]).toEqual([400, 'DOCUMENT_NOT_TRUSTED']);
    const trusted = await only.get(`/graphql?query=${encodeURIComponent(manifest.documents[PRODUCTS]!)}&variables=${encodeURIComponent('{"first":1}')}`, {
      token,
      headers,
    });
    expect(trusted.status).toBe(200);
    expect(trusted.body.data.products).toEqual(expect.any(Array));
    const extensions = encodeURIComponent(JSON.stringify(persisted(PRODUCTS)));
    for (const search of [`extensions=${extensions}`, `extensions=${extensions}&extensions=%7B%7D`]) {
      const hashed = await only.get(`/graphql?${search}`, { token, headers });
      expect([hashed.status, codeOf(hashed)]).toEqual([400, 'BAD_REQUEST']);
    }
  });

  test('a hash-only request is authenticated as its text is: sign-in is open, anything else needs a token', async () => {
    const signIn = await post(only, { variables: { userId: 'anonymous-hash' }, extensions: persisted(SIGN_IN) }, null);
    expect(signIn.status).toBe(200);
    expect(signIn.body.data.signIn.accessToken).toEqual(expect.any(String));
    const products = await post(only, { variables: {}, extensions: persisted(PRODUCTS) }, null);
    expect([products.status, codeOf(products)]).toEqual([401, 'UNAUTHENTICATED']);
  });

  test('the REST bridge keeps working: its operations are trusted', async () => {
    const signIn = await only.get('/auth/signIn?user_id=rest-only');
    expect(signIn.status).toBe(200);
    const bearer = signIn.body.access_token as string;
    const created = await only.post('/products', { name: 'Trusted lamp', supply_price: 12 }, { token: bearer });
    expect(created.status).toBe(200);
    const id = created.body.product_id as number;
    expect((await only.get(`/products/${id}`, { token: bearer })).body).toMatchObject({ name: 'Trusted lamp' });
    const order = await only.post('/order', { name: 'trusted', product_ids: [id] }, { token: bearer });
    expect(order.status).toBe(200);
    expect((await only.get(`/order/${order.body.order_id}`, { token: bearer })).body).toMatchObject({ name: 'trusted' });
  });

  test('the typed client works against it: it sends hashes', async () => {
    const sent: unknown[] = [];
    const client = createClient({
      url: `${only.baseUrl}/graphql`,
      fetch: (input, init) => {
        sent.push(JSON.parse(String(init?.body)));
        return fetch(input, init);
      },
    });
    await client.signIn('typed-only');
    const product = await client.createProduct({ name: 'Hashed', supplyPrice: 3 });
    expect(await client.product(product.id)).toEqual(product);
    expect(sent).toHaveLength(3);
    for (const body of sent) {
      expect(body).not.toHaveProperty('query');
      const hash = (body as { extensions: { persistedQuery: { sha256Hash: string } } }).extensions.persistedQuery.sha256Hash;
      expect(manifest.documents).toHaveProperty(hash);
    }
  });

  test('the playground says so, above the editor', async () => {
    const page = await only.get('/graphql', { headers: { accept: BROWSER_ACCEPT } });
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/<div id="notice" role="alert"[^>]*>This gateway runs PERSISTED_DOCUMENTS=only/);
    const development = await stack.gateway.get('/graphql', { headers: { accept: BROWSER_ACCEPT } });
    expect(development.body).toContain('renderYogaGraphiQL');
    expect(development.body).not.toContain('id="notice"');
  });
});

/** APQ in "allow" mode: the same contract whichever store holds the registrations. */
function apqSuite(env: () => Record<string, string>) {
  let gateway: HttpClient;
  beforeAll(async () => {
    gateway = await stack.startGateway(env());
    await cacheReady(gateway);
  });

  test('any text runs; an unknown hash is PERSISTED_QUERY_NOT_FOUND (200, not cached); hash and text register it', async () => {
    const query = `{ products(first: 1) { id } } # ${randomBytes(4).toString('hex')}`;
    const hash = documentHash(query);
    expect((await post(gateway, { query })).status).toBe(200);
    const missing = await post(gateway, { extensions: persisted(hash) });
    expect([missing.status, codeOf(missing)]).toEqual([200, 'PERSISTED_QUERY_NOT_FOUND']);
    expect(missing.headers.get('cache-control')).toContain('no-cache');
    const registered = await post(gateway, { query, extensions: persisted(hash) });
    expect(registered.status).toBe(200);
    const used = await post(gateway, { extensions: persisted(hash) });
    expect(used.status).toBe(200);
    expect(used.body).toEqual(registered.body);
  });

  test('a hash that is not the text\'s is a 400 PERSISTED_QUERY_HASH_MISMATCH, and registers nothing', async () => {
    const query = `{ products(first: 2) { id } } # ${randomBytes(4).toString('hex')}`;
    const wrong = documentHash(`${query} `);
    const mismatch = await post(gateway, { query, extensions: persisted(wrong) });
    expect([mismatch.status, codeOf(mismatch)]).toEqual([400, 'PERSISTED_QUERY_HASH_MISMATCH']);
    expect(codeOf(await post(gateway, { extensions: persisted(wrong) }))).toBe('PERSISTED_QUERY_NOT_FOUND');
    const version = await post(gateway, { query, extensions: { persistedQuery: { version: 2, sha256Hash: documentHash(query) } } });
    expect([version.status, codeOf(version)]).toEqual([400, 'BAD_REQUEST']);
    // A batch over GRAPHQL_MAX_BATCH (0: any) is refused as one, its hashes unread.
    const batch = await post(gateway, [{ extensions: persisted(wrong) }, { extensions: persisted(wrong) }]);
    expect([batch.status, batch.body.errors?.[0]?.extensions?.code]).toEqual([400, 'BATCH_TOO_LARGE']);
  });

  test('a registration that fails authentication or the limits is not stored', async () => {
    const query = `{ products(first: 3) { id } } # ${randomBytes(4).toString('hex')}`;
    const anonymous = await post(gateway, { query, extensions: persisted(documentHash(query)) }, null);
    expect([anonymous.status, codeOf(anonymous)]).toEqual([401, 'UNAUTHENTICATED']);
    expect(codeOf(await post(gateway, { extensions: persisted(documentHash(query)) }))).toBe('PERSISTED_QUERY_NOT_FOUND');
    const long = `{ products { ${Array.from({ length: 600 }, (_, index) => `a${index}: id`).join(' ')} } }`;
    const tooLong = await post(gateway, { query: long, extensions: persisted(documentHash(long)) });
    expect([tooLong.status, codeOf(tooLong)]).toEqual([400, 'TOO_MANY_TOKENS']);
    expect(codeOf(await post(gateway, { extensions: persisted(documentHash(long)) }))).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  test('a hash-only request shares the cache entries of its text: the text fills the cache, the hash hits it', async () => {
    const id = (await gateway.post('/order', { name: 'apq', product_ids: [] }, { token })).body.order_id as number;
    const query = 'query ApqOrder($id: ID!) { order(id: $id) { id name } }';
    const variables = { id: String(id) };
    expect((await post(gateway, { query, variables })).headers.get('x-cache')).toBe('MISS');
    const registered = await post(gateway, { query, variables, extensions: persisted(documentHash(query)) });
    expect(registered.headers.get('x-cache')).toBe('HIT');
    const byHash = await post(gateway, { variables, extensions: persisted(documentHash(query)) });
    expect(byHash.headers.get('x-cache')).toBe('HIT');
    expect(byHash.body).toEqual({ data: { order: { id: String(id), name: 'apq' } } });
  });
}

describe('APQ in allow mode, registrations in memory', () => apqSuite(() => ({ CACHE_NAMESPACE: `apq-${randomBytes(4).toString('hex')}` })));

describeWithRedis('APQ in allow mode, registrations in Redis', () => {
  const env = { CACHE_NAMESPACE: `apq-${randomBytes(4).toString('hex')}` };
  apqSuite(() => ({ ...env, REDIS_URL: testRedisUrl() }));

  test('a document registered through one gateway runs by hash on another sharing the Redis', async () => {
    const [first, second] = [await stack.startGateway({ ...env, REDIS_URL: testRedisUrl() }), await stack.startGateway({ ...env, REDIS_URL: testRedisUrl() })];
    const query = `{ products(first: 1) { name } } # ${randomBytes(4).toString('hex')}`;
    expect(codeOf(await post(second, { extensions: persisted(documentHash(query)) }))).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect((await post(first, { query, extensions: persisted(documentHash(query)) })).status).toBe(200);
    const shared = await post(second, { extensions: persisted(documentHash(query)) });
    expect(shared.status).toBe(200);
    expect(shared.body.data.products).toEqual(expect.any(Array));
  });
});

describeWithRedis('PERSISTED_DOCUMENTS=only beside an "allow" gateway sharing the Redis cache', () => {
  test("the cache front does not answer an untrusted text from the other gateway's entry", async () => {
    const env = { CACHE_NAMESPACE: `apq-${randomBytes(4).toString('hex')}`, REDIS_URL: testRedisUrl() };
    const [allow, strict] = [await stack.startGateway(env), await stack.startGateway({ ...env, PERSISTED_DOCUMENTS: 'only' })];
    await cacheReady(allow);
    const id = (await allow.post('/order', { name: 'shared', product_ids: [] }, { token })).body.order_id as number;
    const body = { query: 'query Shared($id: ID!) { order(id: $id) { id name } }', variables: { id: String(id) } };
    await post(allow, body);
    expect((await post(allow, body)).headers.get('x-cache')).toBe('HIT');
    const refused = await post(strict, body);
    expect([refused.status, codeOf(refused), refused.headers.get('x-cache')]).toEqual([400, 'DOCUMENT_NOT_TRUSTED', null]);
  });
});

describe('the typed client in allow mode', () => {
  test('sends the hash, and the text (then and from then on) to a gateway that does not know it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'manifest-'));
    try {
      const empty = join(dir, 'empty.json');
      writeFileSync(empty, JSON.stringify({ generated: 'test', documents: {} }));
      const gateway = await stack.startGateway({ PERSISTED_DOCUMENTS_MANIFESTS: empty });
      const sent: Record<string, unknown>[] = [];
      const client = createClient({
        url: `${gateway.baseUrl}/graphql`,
        token,
        fetch: (input, init) => {
          sent.push(JSON.parse(String(init?.body)));
          return fetch(input, init);
        },
      });
      expect(await client.products({ first: 1 })).toEqual(expect.any(Array));
      expect(await client.products({ first: 1 })).toEqual(expect.any(Array));
      expect(sent.map((body) => (body.query ? 'text' : 'hash'))).toEqual(['hash', 'text', 'text']);
      expect(sent[1]!.query).toBe(ProductsDocument.toString());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
