import { isUtf8 } from 'node:buffer';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { isErrorCode } from '../shared/errors';
import type { HttpResponse } from './fixtures/http';
import { LEAKS } from './fixtures/leaks';
import { startStack, type Stack } from './fixtures/stack';

/**
 * tests/bad-input.test.ts lists the malformed input we thought of; this generates the rest: a
 * seeded run of malformed REST bodies, paths and query strings, and mutated or random GraphQL
 * documents and variables. Whatever comes in, the answer is never a 5xx, an error always carries
 * a catalogue code and no stack trace or SQL, a refused request writes no row, a body that is not
 * UTF-8 is never accepted, and every name accepted follows the text rule and is stored as
 * answered. A failure
 * prints the case and the seed; `FUZZ_SEED=<seed>` replays the run.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 18_2026);
const RUNS = 2000;

/** Stands for the fixture's product and order ids wherever an id goes. */
let productId = 0;
let orderId = 0;
const KNOWN_PRODUCT = -424242;
const KNOWN_ORDER = -434343;

// Text: any UTF-16 code unit (lone surrogates included), biased to the ones that break things.
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
const tricky = fc.constantFrom('\u0000', '\ud800', '\udfff', '\u001b[2J', '\n', '\t', '\u0085', '\u007f', '\u202e', '\ufeff', '\ufffd', '"', '\\', '%', '%FF', '{', '}', ' ', '😀', 'é');
const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: fc.oneof(codeUnit, tricky, fc.constantFrom('a', 'b', '1', ' ')), maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 300 }) },
  { weight: 1, arbitrary: fc.constantFrom('', '   ', 'fuzzed', 'n'.repeat(256)) },
);
const id = fc.oneof(fc.constantFrom(KNOWN_PRODUCT, KNOWN_ORDER, 0, 1, 2_147_483_647, 2_147_483_648), fc.integer({ min: -3, max: 2 ** 32 }));
const anyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  text,
  id,
  fc.double(),
  fc.constantFrom(null, true, [], {}, '1', '0x10', '1e3', 1e308, -0),
);

/** Mostly valid values, so that requests get past the shape checks to the deeper ones. */
const mostly = <T>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<unknown>, odds = 3) => fc.oneof({ weight: odds, arbitrary: valid }, { weight: 1, arbitrary: invalid });
const price = mostly(fc.integer({ min: 0, max: 1000 }), fc.oneof(id, anyJson));
const knownIds = fc.array(fc.constantFrom(KNOWN_PRODUCT), { maxLength: 3 });

/** A body with `fields`, now and then one of them missing or an unknown one added. */
const body = (fields: Record<string, fc.Arbitrary<unknown>>) =>
  fc.tuple(fc.record(fields), fc.nat(Object.keys(fields).length * 4), fc.option(anyJson, { freq: 8 })).map(([record, drop, extra]) => {
    const shaped: Record<string, unknown> = { ...record };
    delete shaped[Object.keys(fields)[drop] ?? ''];
    if (extra !== null) shaped.extra = extra;
    return shaped;
  });
// REST: each route's body with every field possibly wrong, missing or extra.
const productBody = body({ name: mostly(text, anyJson), supply_price: price });
const orderBody = body({ name: mostly(text, anyJson), product_ids: mostly(knownIds, fc.oneof(fc.array(fc.oneof(id, anyJson), { maxLength: 5 }), anyJson)) });
const lineBody = body({ product_id: mostly(fc.constant(KNOWN_PRODUCT), fc.oneof(id, anyJson)) });

/** Bytes of a body: its JSON, cut short, one byte broken, poisoned, or just random. */
const encoded = (body: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 6, arbitrary: body.map((value) => JSON.stringify(withIds(value)) ?? '') },
    { weight: 1, arbitrary: fc.tuple(body, fc.nat()).map(([value, cut]) => { const json = JSON.stringify(withIds(value)) ?? ''; return json.slice(0, cut % (json.length + 1)); }) },
    { weight: 1, arbitrary: fc.tuple(body, fc.nat(), fc.integer({ min: 0x80, max: 0xff })).map(([value, at, byte]) => {
      const bytes = Buffer.from(JSON.stringify(withIds(value)) ?? '{}');
      bytes[at % bytes.length] = byte;
      return new Uint8Array(bytes);
    }) },
    { weight: 1, arbitrary: body.map((value) => `{"__proto__": {"admin": true}, ${JSON.stringify(withIds(value)).slice(1)}`) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  );
const contentType = fc.oneof(
  { weight: 9, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'application/graphql', 'multipart/form-data; boundary=x') },
);

/** A path segment or query value: an id, text percent-encoded as UTF-8, or raw percent-escapes that may not decode. */
const segment = fc.oneof(
  id.map((value) => String(placeholder(value))),
  text.map((value) => percentEncode(Buffer.from(value))),
  fc.uint8Array({ maxLength: 6 }).map((bytes) => percentEncode(Buffer.from(bytes))),
  fc.constantFrom('%', '%E0%A4%A', '%00', '..', '1e3', '0x10', '-1', '9'.repeat(40)),
);

interface FuzzCase {
  method: string;
  path: string;
  body?: string | Uint8Array;
  contentType?: string;
  anonymous: boolean;
  graphql: boolean;
  headers?: Record<string, string>;
}

const restCase: fc.Arbitrary<FuzzCase> = fc.oneof(
  fc.tuple(encoded(productBody), contentType).map(([body, type]) => ({ method: 'POST', path: '/products', body, contentType: type })),
  fc.tuple(encoded(orderBody), contentType).map(([body, type]) => ({ method: 'POST', path: '/order', body, contentType: type })),
  fc.tuple(segment, encoded(lineBody), contentType).map(([order, body, type]) => ({ method: 'PUT', path: `/order/${order}`, body, contentType: type })),
  segment.map((product) => ({ method: 'GET', path: `/products/${product}` })),
  segment.map((order) => ({ method: 'GET', path: `/order/${order}` })),
  fc.tuple(segment, segment).map(([limit, after]) => ({ method: 'GET', path: `/products?limit=${limit}&after=${after}` })),
  fc.tuple(segment, fc.boolean()).map(([user, anonymous]) => ({ method: 'GET', path: `/auth/signIn?user_id=${user}`, anonymous })),
  fc.tuple(fc.constantFrom('DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'POST', 'PUT'), fc.constantFrom('/products', '/products/1', '/order', '/order/1', '/auth/signIn', '/health', '/ready', '/nope'), encoded(anyJson)).map(
    ([method, path, value]) => ({ method, path, body: method === 'HEAD' ? undefined : value, contentType: 'application/json' }),
  ),
).map((request) => ({ anonymous: false, graphql: false, ...request }));

// GraphQL: stored operations and a few more, mutated with tokens that matter; or token soup.
const OPERATION_DIRS = [join(__dirname, '..', 'schema', 'operations', 'rest'), join(__dirname, '..', 'schema', 'operations', 'client')];
const SEEDS = [
  ...OPERATION_DIRS.flatMap((dir) => readdirSync(dir).filter((file) => file.endsWith('.graphql')).map((file) => readFileSync(join(dir, file), 'utf8'))),
  '{ products(first: 2) { id name supplyPrice } }',
  'query Q($id: ID!) { product(id: $id) { ...F } } fragment F on Product { id name }',
  'mutation { createProduct(input: { name: "fuzzed", supplyPrice: 1 }) { id } }',
  'subscription { product(id: "1") { id } }',
  '{ order(id: "1") { id products { id name } } }',
  '{ __type(name: "Product") { name fields { name type { name ofType { name } } } } }',
];
const TOKENS = [
  '{', '}', '(', ')', '[', ']', ':', '...', '@include(if: true)', '@skip(if: $v)', '@deprecated', 'fragment F on Product { id }', 'on',
  'id', 'name', '__typename', 'a: id', 'product(id: "1")', 'products(first: 2)', 'order(id: "1")', 'subscription', 'query', 'mutation',
  '$v', '$id: ID!', '"str"', '"""block"""', '#c\n', '1', '-1', '1e99', 'true', 'null', '"\\u0000"', '"\\ud800"', ',', '=', '!', '|', '&',
];
interface Edit {
  kind: 'insert' | 'delete' | 'repeat';
  at: number;
  length: number;
  token: string;
  times: number;
}
const edit: fc.Arbitrary<Edit> = fc.record({
  kind: fc.constantFrom('insert', 'delete', 'repeat'),
  at: fc.nat(),
  length: fc.integer({ min: 1, max: 40 }),
  token: fc.constantFrom(...TOKENS),
  times: fc.integer({ min: 2, max: 60 }),
});
function applyEdit(document: string, { kind, at, length, token, times }: Edit): string {
  const start = at % (document.length + 1);
  if (kind === 'insert') return `${document.slice(0, start)} ${token} ${document.slice(start)}`;
  if (kind === 'delete') return document.slice(0, start) + document.slice(start + length);
  return document.slice(0, start) + document.slice(start, start + length).repeat(times) + document.slice(start + length);
}
const documentText = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SEEDS) },
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...SEEDS), fc.array(edit, { maxLength: 2 })).map(([seed, edits]) => edits.reduce(applyEdit, seed)) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...SEEDS), fc.array(edit, { minLength: 3, maxLength: 8 })).map(([seed, edits]) => edits.reduce(applyEdit, seed)) },
  { weight: 2, arbitrary: fc.array(fc.constantFrom(...TOKENS), { maxLength: 150 }).map((tokens) => tokens.join(' ')) },
  { weight: 1, arbitrary: text },
);
const variables = mostly(
  fc.record(
    {
      input: fc.record({ name: text, supplyPrice: price, productIds: mostly(knownIds.map((ids) => ids.map(String)), fc.array(anyJson, { maxLength: 3 })) }, { requiredKeys: [] }),
      id: mostly(fc.constantFrom(KNOWN_PRODUCT, KNOWN_ORDER).map(String), anyJson),
      orderId: mostly(fc.constant(KNOWN_ORDER).map(String), anyJson),
      productId: mostly(fc.constant(KNOWN_PRODUCT).map(String), anyJson),
      userId: text,
    },
    { requiredKeys: [] },
  ),
  anyJson,
  10,
);
const graphqlBody = fc
  .record(
    {
      query: mostly(documentText, anyJson, 10),
      variables,
      operationName: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('Q', 'F', 'CreateProduct', '', null) }),
    },
    { requiredKeys: ['query'] },
  )
  .map((value) => withIds(value));
/** True one time in `odds`. */
const oneIn = (odds: number) => fc.nat(odds - 1).map((draw) => draw === 0);
const graphqlCase: fc.Arbitrary<FuzzCase> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.tuple(graphqlBody, oneIn(6), oneIn(20)).map(([value, anonymous, batch]) => ({
      method: 'POST',
      path: '/graphql',
      body: JSON.stringify(batch ? [value] : value),
      contentType: 'application/json',
      anonymous,
      graphql: true,
    })),
  },
  { weight: 1, arbitrary: fc.tuple(encoded(graphqlBody), contentType).map(([value, type]) => ({ method: 'POST', path: '/graphql', body: value, contentType: type, anonymous: false, graphql: true })) },
  { weight: 1, arbitrary: documentText.map((query) => ({ method: 'GET', path: `/graphql?query=${percentEncode(Buffer.from(query))}`, headers: { 'apollo-require-preflight': 'true' }, anonymous: false, graphql: true })) },
);

function percentEncode(bytes: Buffer): string {
  return [...bytes].map((byte) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).padStart(2, '0')}`)).join('');
}

/** The fixture's id for a placeholder, as a number or (for GraphQL's IDs) as a string. */
function placeholder(value: unknown): unknown {
  if (value === KNOWN_PRODUCT || value === String(KNOWN_PRODUCT)) return typeof value === 'string' ? String(productId) : productId;
  if (value === KNOWN_ORDER || value === String(KNOWN_ORDER)) return typeof value === 'string' ? String(orderId) : orderId;
  return value;
}

/** The fixture's ids in place of their placeholders, wherever they are in a body. */
function withIds(value: unknown): any {
  if (Array.isArray(value)) return value.map(withIds);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, withIds(inner)]));
  return placeholder(value);
}

let stack: Stack;
let token: string;

beforeAll(async () => {
  stack = await startStack({ productInstances: 1 });
  token = await stack.signIn('fuzz');
  productId = (await stack.gateway.post('/products', { name: 'Real', supply_price: 5 }, { token })).body.product_id;
  orderId = (await stack.gateway.post('/order', { name: 'Real', product_ids: [productId] }, { token })).body.order_id;
  expect([productId > 0, orderId > 0]).toEqual([true, true]);
});
afterAll(() => stack?.close());

const rowCounts = async () =>
  (await stack.db.query('SELECT (SELECT COUNT(*) FROM products) AS products, (SELECT COUNT(*) FROM orders) AS orders, (SELECT COUNT(*) FROM order_lines) AS order_lines'))[0]!;

/** GraphQL calls every subgraph instance received so far (the stack counts them). */
const subgraphCalls = () => Object.values(stack.hits).reduce((sum, hits) => sum + hits.queries.length, 0);

function send(request: FuzzCase): Promise<HttpResponse> {
  const headers: Record<string, string> = { ...request.headers };
  if (request.contentType) headers['content-type'] = request.contentType;
  return stack.gateway.request(request.method, request.path, { token: request.anonymous ? undefined : token, rawBody: request.body, headers });
}

/** The errors of an answer, in either shape; none for a success. */
function errorsOf(request: FuzzCase, { status, body }: HttpResponse): { code?: unknown }[] {
  if (request.method === 'HEAD') return []; // answered without a body
  if (typeof body !== 'object' || body === null) return status >= 400 ? [{}] : [];
  if (request.graphql && !Array.isArray(body) && 'errors' in body) return body.errors.map((error: { extensions?: { code?: unknown } }) => ({ code: error?.extensions?.code }));
  if (Array.isArray(body)) return body.flatMap((item) => (item?.errors ?? []).map((error: { extensions?: { code?: unknown } }) => ({ code: error?.extensions?.code })));
  return 'error' in body ? [{ code: body.error?.code }] : [];
}

/** Refused: an error status, or a GraphQL answer with errors and no data at all. */
function refused(request: FuzzCase, { status, body }: HttpResponse): boolean {
  if (status >= 400) return true;
  if (!request.graphql || Array.isArray(body) || !body?.errors?.length) return false;
  return body.data == null || Object.values(body.data).every((value) => value === null);
}

/** Follows the text rule (shared/input.ts): trimmed, printable, well-formed, 1 to 255 characters. */
const followsTextRule = (name: unknown) => typeof name === 'string' && /^[^\p{Cc}\p{Cs}]+$/u.test(name) && name === name.trim() && [...name].length <= 255;

/** A REST creation answered with a name that follows the text rule, stored as answered (no character replaced on the way). */
async function expectStoredAsAnswered(request: FuzzCase, body: { name?: unknown; product_id?: number; order_id?: number }) {
  const [table, rowId] = request.path === '/products' ? ['products', body.product_id] : ['orders', body.order_id];
  expect({ name: body.name, follows: followsTextRule(body.name) }).toEqual({ name: body.name, follows: true });
  expect(await stack.db.query(`SELECT name FROM ${table} WHERE id = ${Number(rowId)}`)).toEqual([{ name: body.name }]);
}

test(`${RUNS} generated malformed requests: no 5xx, catalogue codes only, no leak, no row written by a refusal (seed ${SEED})`, async () => {
  let counts = await rowCounts();
  let calls = subgraphCalls();
  let requests = 0;
  let created = 0;
  await fc.assert(
    fc.asyncProperty(fc.oneof(restCase, graphqlCase), async (request) => {
      const response = await send(request);
      requests += 1;
      expect(response.status).toBeLessThan(500);
      if (request.body instanceof Uint8Array && !isUtf8(request.body)) expect(response.status).toBeGreaterThanOrEqual(400);
      const errors = errorsOf(request, response);
      for (const { code } of errors) {
        expect(isErrorCode(code) && code !== 'INTERNAL_SERVER_ERROR' ? 'a catalogue code' : code).toBe('a catalogue code');
      }
      if (errors.length > 0) {
        const text = JSON.stringify(response.body);
        for (const leak of LEAKS) expect(text).not.toMatch(leak);
      }
      // Only the subgraphs write: a request that reached none cannot have written a row.
      if (subgraphCalls() !== calls) {
        calls = subgraphCalls();
        const after = await rowCounts();
        if (refused(request, response)) expect(after).toEqual(counts);
        counts = after;
      }
      // Creations answer 200 with a Location, as the original services did.
      if (response.headers.get('location') !== null) {
        created += 1;
        await expectStoredAsAnswered(request, response.body);
      }
    }),
    { seed: SEED, numRuns: RUNS, endOnFailure: true },
  );
  expect(requests).toBe(RUNS);
  // Some generated bodies are valid creations: the stored-as-answered check above did run.
  expect(created).toBeGreaterThan(0);
  // Whatever the way in (GraphQL too), every name stored follows the text rule.
  const names = [...(await stack.db.query<{ name: string }>('SELECT name FROM products')), ...(await stack.db.query<{ name: string }>('SELECT name FROM orders'))];
  expect(names.filter(({ name }) => !followsTextRule(name))).toEqual([]);
}, 120_000);
