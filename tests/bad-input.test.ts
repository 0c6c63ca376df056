import type { HttpClient, HttpResponse } from './fixtures/http';
import { LEAKS } from './fixtures/leaks';
import { startStack, type Stack } from './fixtures/stack';

/**
 * The one table of hostile and malformed input, REST and GraphQL: every case must be a 4xx with a
 * stable code and a message, show no stack trace or SQL, and write nothing.
 */

const BODY_LIMIT_BYTES = 16 * 1024;
const MAX_ID = 2_147_483_647;
const JSON_TYPE = { 'content-type': 'application/json' };

interface Case {
  method: string;
  path: string;
  /** JSON-encoded unless `raw` is set. */
  body?: unknown;
  raw?: string | Uint8Array;
  headers?: Record<string, string>;
  status: number;
  code: string;
  /** No token sent (the routes open without one). */
  anonymous?: boolean;
}

/** Placeholders filled in once the fixture data exists. */
let productId = 0;
let orderId = 0;
/** Stands for the known product's id in a JSON body, as a number. */
const KNOWN_PRODUCT = -424242;
const fill = (text: string) => text.replace('{product}', String(productId)).replace('{order}', String(orderId));

const cases = new Map<string, Case>();
const add = (name: string, value: Case) => {
  if (cases.has(name)) throw new Error(`duplicate case ${name}`);
  cases.set(name, value);
};
const badRequest = { status: 400, code: 'BAD_USER_INPUT' };
/** `{"name": "a\xFFb", "supply_price": 1}`: a byte no UTF-8 text holds, which a lenient decoder turns into U+FFFD. */
const INVALID_UTF8 = Uint8Array.from([...Buffer.from('{"name": "a'), 0xff, ...Buffer.from('b", "supply_price": 1, "product_ids": [], "product_id": 1}')]);
/** The same with "/" encoded in two bytes (0xC0 0xAF), which strict decoders refuse. */
const OVERLONG_UTF8 = Uint8Array.from([...Buffer.from('{"name": "a'), 0xc0, 0xaf, ...Buffer.from('b", "supply_price": 1, "product_ids": [], "product_id": 1}')]);
/** Text that breaks the text rule (shared/input.ts requireText) in each way, with the client's intent around it. */
const BAD_TEXTS = [
  ['a NUL', 'a\u0000b'],
  ['a lone high surrogate', 'a\ud800b'],
  ['a lone low surrogate', 'a\udc00'],
  ['a line break', 'first\nsecond'],
  ['a terminal escape', '\u001b[31mred'],
  ['a DEL', 'a\u007f'],
  ['a C1 control', 'a\u0085b'],
] as const;

// Body-level problems, the same on every route that takes a body.
for (const [method, path] of [['POST', '/products'], ['POST', '/order'], ['PUT', '/order/{order}']] as const) {
  const at = `${method} ${path}`;
  add(`${at}: malformed JSON`, { method, path, raw: '{"name": "x",', headers: JSON_TYPE, status: 400, code: 'INVALID_JSON' });
  add(`${at}: empty JSON body`, { method, path, raw: '', headers: JSON_TYPE, status: 400, code: 'INVALID_JSON' });
  add(`${at}: JSON null`, { method, path, raw: 'null', headers: JSON_TYPE, ...badRequest });
  // PUT /order/{id} takes a bare array of product ids (the original services' dialect): its own cases are below.
  if (method !== 'PUT') add(`${at}: an array body`, { method, path, body: [1, 2], ...badRequest });
  add(`${at}: text/plain`, { method, path, raw: 'name=x', headers: { 'content-type': 'text/plain' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
  add(`${at}: a form`, { method, path, raw: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
  add(`${at}: over BODY_LIMIT_BYTES`, { method, path, body: { name: 'x'.repeat(BODY_LIMIT_BYTES) }, status: 413, code: 'PAYLOAD_TOO_LARGE' });
  add(`${at}: a __proto__ key`, { method, path, raw: '{"__proto__": {"admin": true}, "name": "x"}', headers: JSON_TYPE, status: 400, code: 'INVALID_JSON' });
  add(`${at}: bytes that are not UTF-8`, { method, path, raw: INVALID_UTF8, headers: JSON_TYPE, status: 400, code: 'INVALID_JSON' });
  add(`${at}: an overlong UTF-8 encoding`, { method, path, raw: OVERLONG_UTF8, headers: JSON_TYPE, status: 400, code: 'INVALID_JSON' });
}

// POST /products fields.
const product = (body: object) => ({ method: 'POST', path: '/products', body });
for (const [name, body] of [
  ['missing name', { supply_price: 1 }],
  ['missing price', { name: 'x' }],
  ['price as a string', { name: 'x', supply_price: '1000' }],
  ['price as a boolean', { name: 'x', supply_price: true }],
  ['price null', { name: 'x', supply_price: null }],
  ['fractional price', { name: 'x', supply_price: 10.5 }],
  ['negative price', { name: 'x', supply_price: -1 }],
  ['price beyond 32 bits', { name: 'x', supply_price: MAX_ID + 1 }],
  ['huge price', { name: 'x', supply_price: 1e308 }],
  ['empty name', { name: '', supply_price: 1 }],
  ['blank name', { name: ' \t\n ', supply_price: 1 }],
  ['name of 256 characters', { name: 'n'.repeat(256), supply_price: 1 }],
  ['very long name', { name: 'n'.repeat(BODY_LIMIT_BYTES / 2), supply_price: 1 }],
  ['name as a number', { name: 42, supply_price: 1 }],
  ['name as an object', { name: { first: 'x' }, supply_price: 1 }],
  ['unknown field', { name: 'x', supply_price: 1, supplyPrice: 1 }],
] as const) {
  add(`POST /products: ${name}`, { ...product(body), ...badRequest });
}
for (const [name, text] of BAD_TEXTS) {
  add(`POST /products: a name with ${name}`, { ...product({ name: text, supply_price: 1 }), ...badRequest });
  add(`POST /order: a name with ${name}`, { method: 'POST', path: '/order', body: { name: text, product_ids: [] }, ...badRequest });
}

// POST /order fields.
for (const [name, body, code = 'BAD_USER_INPUT'] of [
  ['missing product_ids', { name: 'x' }],
  ['missing name', { product_ids: [] }],
  ['empty name', { name: '', product_ids: [] }],
  ['name of 256 characters', { name: 'n'.repeat(256), product_ids: [] }],
  ['product_ids not an array', { name: 'x', product_ids: '1' }],
  ['a product id as a string', { name: 'x', product_ids: ['{product}'] }],
  ['a product id of 0', { name: 'x', product_ids: [0] }],
  ['a negative product id', { name: 'x', product_ids: [-1] }],
  ['a product id beyond 32 bits', { name: 'x', product_ids: [MAX_ID + 1] }],
  ['a fractional product id', { name: 'x', product_ids: [1.5] }],
  ['1001 product ids', { name: 'x', product_ids: Array.from({ length: 1001 }, () => 1) }],
  ['orderItemsList and product_ids both', { name: 'x', orderItemsList: [KNOWN_PRODUCT], product_ids: [KNOWN_PRODUCT] }],
  ['an orderItemsList id of 0', { name: 'x', orderItemsList: [0] }],
  ['an unknown orderItemsList id', { name: 'x', orderItemsList: [KNOWN_PRODUCT, MAX_ID] }, 'UNKNOWN_PRODUCTS'],
  ['an unknown product id', { name: 'x', product_ids: [MAX_ID] }, 'UNKNOWN_PRODUCTS'],
  ['a known and an unknown product id', { name: 'x', product_ids: [KNOWN_PRODUCT, MAX_ID - 1] }, 'UNKNOWN_PRODUCTS'],
] as const) {
  add(`POST /order: ${name}`, { method: 'POST', path: '/order', body, status: 400, code });
}

// PUT /order/{id}.
for (const [name, path, body, status, code] of [
  ['missing product_id', '/order/{order}', {}, 400, 'BAD_USER_INPUT'],
  ['product_id as a string', '/order/{order}', { product_id: '{product}' }, 400, 'BAD_USER_INPUT'],
  ['product_id of 0', '/order/{order}', { product_id: 0 }, 400, 'BAD_USER_INPUT'],
  ['an unknown product_id', '/order/{order}', { product_id: MAX_ID }, 400, 'UNKNOWN_PRODUCTS'],
  ['product_id and product_ids both', '/order/{order}', { product_id: KNOWN_PRODUCT, product_ids: [KNOWN_PRODUCT] }, 400, 'BAD_USER_INPUT'],
  ['an empty array', '/order/{order}', [], 400, 'BAD_USER_INPUT'],
  ['an array of objects', '/order/{order}', [{ product_id: KNOWN_PRODUCT }], 400, 'BAD_USER_INPUT'],
  ['an array of 1001 ids', '/order/{order}', Array.from({ length: 1001 }, () => KNOWN_PRODUCT), 400, 'BAD_USER_INPUT'],
  ['an array with an unknown id', '/order/{order}', [KNOWN_PRODUCT, MAX_ID], 400, 'UNKNOWN_PRODUCTS'],
  ['a non-numeric order id', '/order/abc', { product_id: 1 }, 400, 'BAD_USER_INPUT'],
  ['an order id of 0', '/order/0', { product_id: 1 }, 400, 'BAD_USER_INPUT'],
  ['a negative order id', '/order/-1', { product_id: 1 }, 400, 'BAD_USER_INPUT'],
  ['an order id beyond 32 bits', `/order/${MAX_ID + 1}`, { product_id: 1 }, 400, 'BAD_USER_INPUT'],
  ['an unknown order', `/order/${MAX_ID}`, { product_id: 1 }, 404, 'ORDER_NOT_FOUND'],
] as const) {
  add(`PUT ${path}: ${name}`, { method: 'PUT', path, body, status, code });
}

// Reads: ids and query strings.
for (const [path, status, code] of [
  ['/products/abc', 400, 'BAD_USER_INPUT'],
  ['/products/0', 400, 'BAD_USER_INPUT'],
  ['/products/1e3', 400, 'BAD_USER_INPUT'],
  ['/products/0x10', 400, 'BAD_USER_INPUT'],
  ['/products/1.5', 400, 'BAD_USER_INPUT'],
  [`/products/${'9'.repeat(400)}`, 400, 'BAD_USER_INPUT'],
  ['/products/%00', 400, 'BAD_USER_INPUT'],
  ['/products/%E0%A4%A', 400, 'BAD_USER_INPUT'],
  [`/products/${MAX_ID}`, 404, 'PRODUCT_NOT_FOUND'],
  ['/order/abc', 400, 'BAD_USER_INPUT'],
  ['/order/99999999999', 400, 'BAD_USER_INPUT'],
  ['/products?limit=0', 400, 'BAD_USER_INPUT'],
  ['/products?limit=abc', 400, 'BAD_USER_INPUT'],
  ['/products?limit=1001', 400, 'BAD_USER_INPUT'],
  ['/products?after=-1', 400, 'BAD_USER_INPUT'],
  ['/products?limit=%FF', 400, 'BAD_USER_INPUT'],
  ['/products?limit=5&x=%E0%A4%A', 400, 'BAD_USER_INPUT'],
] as const) {
  add(`GET ${path}`, { method: 'GET', path, status, code });
}
// Past Node's 16 KiB for the request line and headers, answered before any route from the catalogue.
add('GET a URL over 16 KiB', { method: 'GET', path: `/products?limit=5&pad=${'x'.repeat(17 * 1024)}`, status: 431, code: 'HEADERS_TOO_LARGE' });
add('GET with headers over 16 KiB', { method: 'GET', path: '/products', headers: { 'x-padding': 'x'.repeat(17 * 1024) }, status: 431, code: 'HEADERS_TOO_LARGE' });
add('POST with headers over 16 KiB', { method: 'POST', path: '/products', body: { name: 'x', supply_price: 1 }, headers: { 'x-padding': 'x'.repeat(17 * 1024) }, status: 431, code: 'HEADERS_TOO_LARGE' });
for (const [path, name] of [
  ['/auth/signIn', 'no user_id'],
  ['/auth/signIn?user_id=', 'an empty user_id'],
  ['/auth/signIn?user_id=%20%20', 'a blank user_id'],
  [`/auth/signIn?user_id=${'u'.repeat(129)}`, 'a user_id over 128 characters'],
  [`/auth/signIn?user_id=${'u'.repeat(8000)}`, 'a very long user_id'],
  ['/auth/signIn?user_id=%FF', 'an undecodable user_id'],
  ['/auth/signIn?user_id=a%ED%A0%80b', 'a user_id with an encoded lone surrogate'],
  ['/auth/signIn?user_id=a%00b', 'a user_id with a NUL'],
  ['/auth/signIn?user_id=a%0Ab', 'a user_id with a line break'],
  ['/auth/signIn?user_id=a%1B%5B2J', 'a user_id with a terminal escape'],
  ['/auth/signIn?user_id=%C0%AF', 'a user_id with an overlong encoding'],
] as const) {
  add(`GET /auth/signIn: ${name}`, { method: 'GET', path, status: 400, code: 'BAD_USER_INPUT', anonymous: true });
}

// Unknown routes and methods.
for (const [method, path] of [
  ['GET', '/nope'],
  ['GET', '/products/1/extra'],
  ['DELETE', '/products/1'],
  ['PATCH', '/order/1'],
  ['POST', '/products/1'],
  ['PUT', '/graphql'],
  ['GET', '/../../etc/passwd'],
] as const) {
  add(`${method} ${path}: unknown route`, { method, path, status: 404, code: 'ROUTE_NOT_FOUND' });
}

// GraphQL: the same mistakes through /graphql, answered with `extensions.code`.
const gql = (query: string, variables: Record<string, unknown> = {}) => ({ method: 'POST', path: '/graphql', body: { query, variables } });
const createProduct = 'mutation ($input: CreateProductInput!) { createProduct(input: $input) { id } }';
const createOrder = 'mutation ($input: CreateOrderInput!) { createOrder(input: $input) { id } }';
const addProduct = 'mutation ($orderId: ID!, $productId: ID!) { addProductToOrder(orderId: $orderId, productId: $productId) { id } }';
for (const [name, request, status, code] of [
  ['malformed JSON', { method: 'POST', path: '/graphql', raw: '{"query": ', headers: JSON_TYPE }, 400, 'INVALID_JSON'],
  ['text/plain', { method: 'POST', path: '/graphql', raw: '{"query": "{ __typename }"}', headers: { 'content-type': 'text/plain' } }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ['over BODY_LIMIT_BYTES', gql(`{ products(first: 1) { id } } # ${'x'.repeat(BODY_LIMIT_BYTES)}`), 413, 'PAYLOAD_TOO_LARGE'],
  ['no query', { method: 'POST', path: '/graphql', body: { variables: {} } }, 400, 'BAD_REQUEST'],
  ['query not a string', { method: 'POST', path: '/graphql', body: { query: 5 } }, 400, 'BAD_REQUEST'],
  ['variables not an object', { method: 'POST', path: '/graphql', body: { query: '{ __typename }', variables: 'x' } }, 400, 'BAD_REQUEST'],
  ['a syntax error', gql('{ products(first: 1) { id '), 400, 'GRAPHQL_PARSE_FAILED'],
  ['an unknown field', gql('{ products(first: 1) { id price } }'), 400, 'GRAPHQL_VALIDATION_FAILED'],
  ['an unknown operation name', { method: 'POST', path: '/graphql', body: { query: 'query A { __typename }', operationName: 'B' } }, 400, 'OPERATION_RESOLUTION_FAILURE'],
  ['a mutation over GET', { method: 'GET', path: `/graphql?query=${encodeURIComponent('mutation { signIn(userId: "x") { accessToken } }')}`, headers: { 'apollo-require-preflight': 'true' } }, 405, 'BAD_REQUEST'],
  ['a price literal beyond 32 bits', gql(`mutation { createProduct(input: { name: "x", supplyPrice: ${MAX_ID + 1} }) { id } }`), 400, 'GRAPHQL_VALIDATION_FAILED'],
  ['a price variable as a string', gql(createProduct, { input: { name: 'x', supplyPrice: '1000' } }), 400, 'BAD_USER_INPUT'],
  ['a fractional price variable', gql(createProduct, { input: { name: 'x', supplyPrice: 1.5 } }), 400, 'BAD_USER_INPUT'],
  ['a missing name variable', gql(createProduct, { input: { supplyPrice: 1 } }), 400, 'BAD_USER_INPUT'],
  ['a negative price', gql(createProduct, { input: { name: 'x', supplyPrice: -1 } }), 400, 'BAD_USER_INPUT'],
  ['an empty name', gql(createProduct, { input: { name: '', supplyPrice: 1 } }), 400, 'BAD_USER_INPUT'],
  ['a name of 256 characters', gql(createProduct, { input: { name: 'n'.repeat(256), supplyPrice: 1 } }), 400, 'BAD_USER_INPUT'],
  ['a very long name', gql(createProduct, { input: { name: 'n'.repeat(BODY_LIMIT_BYTES / 2), supplyPrice: 1 } }), 400, 'BAD_USER_INPUT'],
  ['a non-numeric product id', gql('query ($id: ID!) { product(id: $id) { id } }', { id: 'abc' }), 400, 'BAD_USER_INPUT'],
  ['a product id beyond 32 bits', gql('query ($id: ID!) { product(id: $id) { id } }', { id: String(MAX_ID + 1) }), 400, 'BAD_USER_INPUT'],
  ['a page size of 0', gql('{ products(first: 0) { id } }'), 400, 'BAD_USER_INPUT'],
  ['an order with an unknown product', gql(createOrder, { input: { name: 'x', productIds: ['{product}', String(MAX_ID)] } }), 400, 'UNKNOWN_PRODUCTS'],
  ['an order with a product id of 0', gql(createOrder, { input: { name: 'x', productIds: ['0'] } }), 400, 'BAD_USER_INPUT'],
  ['an order with an empty name', gql(createOrder, { input: { name: ' ', productIds: [] } }), 400, 'BAD_USER_INPUT'],
  ['adding to a non-numeric order id', gql(addProduct, { orderId: 'x', productId: '{product}' }), 400, 'BAD_USER_INPUT'],
  ['adding an unknown product', gql(addProduct, { orderId: '{order}', productId: String(MAX_ID) }), 400, 'UNKNOWN_PRODUCTS'],
  ['adding to an unknown order', gql(addProduct, { orderId: String(MAX_ID), productId: '{product}' }), 404, 'ORDER_NOT_FOUND'],
  ['bytes that are not UTF-8', { method: 'POST', path: '/graphql', raw: INVALID_UTF8, headers: JSON_TYPE }, 400, 'INVALID_JSON'],
  ['a subscription', gql('subscription { product(id: "1") { id } }'), 400, 'GRAPHQL_VALIDATION_FAILED'],
  ['a subscription beside a query', { method: 'POST', path: '/graphql', body: { query: 'query Q { __typename } subscription S { product(id: "1") { id } }', operationName: 'S' } }, 400, 'GRAPHQL_VALIDATION_FAILED'],
  ['a subscription without a token', { ...gql('subscription { signIn(userId: "x") { accessToken } }'), anonymous: true }, 401, 'UNAUTHENTICATED'],
  ['a document over GRAPHQL_MAX_TOKENS', gql(`{ products(first: 1) { ${'id '.repeat(1000)}} }`), 400, 'TOO_MANY_TOKENS'],
  ['nesting 3000 levels deep', gql(`${'{ a '.repeat(3000)}${'}'.repeat(3000)}`), 400, 'TOO_MANY_TOKENS'],
  ['a field selected 31 times', gql(`{ products(first: 1) { ${'id '.repeat(31)}} }`), 400, 'TOO_MANY_REPEATED_FIELDS'],
  ['a field selected 31 times through fragments', gql(`{ products(first: 1) { ${Array.from({ length: 31 }, (_, i) => `...F${i}`).join(' ')} } } ${Array.from({ length: 31 }, (_, i) => `fragment F${i} on Product { id }`).join(' ')}`), 400, 'TOO_MANY_REPEATED_FIELDS'],
  ['same-named fields whose merged selections repeat', gql(`{ ${'product(id: "1") { id id id id id id } '.repeat(6)}}`), 400, 'TOO_MANY_REPEATED_FIELDS'],
  ['51 directives', gql(`{ products(first: 1) { id ${'@include(if: true) '.repeat(51)}} }`), 400, 'TOO_MANY_DIRECTIVES'],
  ['51 unused fragments', gql(`{ __typename } ${Array.from({ length: 51 }, (_, i) => `fragment F${i} on Query { __typename }`).join(' ')}`), 400, 'TOO_MANY_FRAGMENTS'],
  ['a product name with a NUL', gql(createProduct, { input: { name: 'a\u0000b', supplyPrice: 1 } }), 400, 'BAD_USER_INPUT'],
  ['a product name with a lone surrogate', gql(createProduct, { input: { name: 'a\ud800b', supplyPrice: 1 } }), 400, 'BAD_USER_INPUT'],
  ['an order name with a NUL', gql(createOrder, { input: { name: '\u0000', productIds: [] } }), 400, 'BAD_USER_INPUT'],
  ['an order name with a lone surrogate', gql(createOrder, { input: { name: 'x\udfff', productIds: [] } }), 400, 'BAD_USER_INPUT'],
  ['a user id with a lone surrogate', { ...gql('mutation ($u: ID!) { signIn(userId: $u) { accessToken } }', { u: 'a\ud800' }), anonymous: true }, 400, 'BAD_USER_INPUT'],
  ['a user id with a NUL', { ...gql('mutation ($u: ID!) { signIn(userId: $u) { accessToken } }', { u: 'a\u0000' }), anonymous: true }, 400, 'BAD_USER_INPUT'],
] as const) {
  add(`GraphQL: ${name}`, { ...(request as Omit<Case, 'status' | 'code'>), status, code });
}

/** Placeholders inside JSON bodies, e.g. `["{product}"]`: strings stay strings, as sent. */
function withIds(value: unknown): unknown {
  if (typeof value === 'string') return fill(value);
  if (value === KNOWN_PRODUCT) return productId;
  if (Array.isArray(value)) return value.map(withIds);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, withIds(inner)]));
  return value;
}

let stack: Stack;
let gateway: HttpClient;
let token: string;

beforeAll(async () => {
  stack = await startStack({ productInstances: 1, gatewayEnv: { BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES) } });
  gateway = stack.gateway;
  token = await stack.signIn('bad-input');
  productId = (await gateway.post('/products', { name: 'Real', supply_price: 5 }, { token })).body.product_id;
  orderId = (await gateway.post('/order', { name: 'Real', product_ids: [productId] }, { token })).body.order_id;
  expect([productId > 0, orderId > 0]).toEqual([true, true]);
});
afterAll(() => stack?.close());

const rowCounts = async () => {
  const count = async (table: string) => Number((await stack.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))[0]!.n);
  return { products: await count('products'), orders: await count('orders'), orderLines: await count('order_lines') };
};

function send(request: Case): Promise<HttpResponse> {
  const path = fill(request.path);
  const options = { token: request.anonymous ? undefined : token, headers: request.headers };
  if (request.raw !== undefined) return gateway.request(request.method, path, { ...options, rawBody: request.raw });
  return gateway.request(request.method, path, { ...options, body: request.body === undefined ? undefined : withIds(request.body) });
}

test('the table is large enough to mean something', () => {
  expect(cases.size).toBeGreaterThanOrEqual(40);
});

test.each([...cases].map(([name, request]) => [name, request] as const))('%s', async (_name, request) => {
  const before = await rowCounts();
  const response = await send(request);
  expect({ status: response.status }).toEqual({ status: request.status });
  const text = typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
  const graphql = request.path.startsWith('/graphql') && request.method !== 'PUT';
  const error = graphql ? response.body.errors?.[0] : response.body.error;
  const code = graphql ? error?.extensions?.code : error?.code;
  expect({ code, message: typeof error?.message }).toEqual({ code: request.code, message: 'string' });
  expect(error.message.length).toBeGreaterThan(0);
  expect(error.message.length).toBeLessThan(500);
  if (graphql) expect(Object.values(response.body.data ?? {}).filter((value) => value !== null)).toEqual([]);
  for (const leak of LEAKS) expect(text).not.toMatch(leak);
  expect(await rowCounts()).toEqual(before);
});
