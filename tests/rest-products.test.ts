import { startStack, type Stack } from './fixtures/stack';

let stack: Stack;
let token: string;

beforeAll(async () => {
  stack = await startStack();
  token = await stack.signIn('alice');
});
afterAll(() => stack?.close());

const createProduct = (body: unknown) => stack.gateway.post('/products', body, { token });

describe('POST /products', () => {
  test('creates a product and answers 200 with it and its location', async () => {
    const response = await createProduct({ name: 'Keyboard', supply_price: 1000 });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ product_id: expect.any(Number), name: 'Keyboard', supply_price: 1000 });
    expect(response.headers.get('location')).toBe(`/products/${response.body.product_id}`);
    const stored = await stack.db.query<{ name: string; supply_price: number }>(`SELECT name, supply_price FROM products WHERE id = ${response.body.product_id}`);
    expect(stored).toEqual([{ name: 'Keyboard', supply_price: 1000 }]);
    // The creation time is the column's default, now by the database's clock: the INSERT names only the name and the price.
    const age = await stack.db.createdSecondsAgo('products', response.body.product_id);
    expect(age).toEqual(expect.any(Number));
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(600);
  });

  test('trims the name and accepts a price of 0', async () => {
    const response = await createProduct({ name: '  Free sample  ', supply_price: 0 });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ name: 'Free sample', supply_price: 0 });
  });

  test.each([
    ['missing name', { supply_price: 1 }, 'BAD_USER_INPUT', /name is required/],
    ['missing price', { name: 'x' }, 'BAD_USER_INPUT', /supply_price is required/],
    ['price as a string', { name: 'x', supply_price: '1000' }, 'BAD_USER_INPUT', /supply_price must be integer/],
    ['fractional price', { name: 'x', supply_price: 10.5 }, 'BAD_USER_INPUT', /supply_price must be integer/],
    ['negative price', { name: 'x', supply_price: -1 }, 'BAD_USER_INPUT', /supply_price must be >= 0/],
    ['price beyond 32 bits', { name: 'x', supply_price: 2 ** 31 }, 'BAD_USER_INPUT', /supply_price must be <= 2147483647/],
    ['blank name', { name: '   ', supply_price: 1 }, 'BAD_USER_INPUT', /name must not be empty/],
    ['name over 255 characters', { name: 'n'.repeat(256), supply_price: 1 }, 'BAD_USER_INPUT', /at most 255/],
    ['name of the wrong type', { name: 42, supply_price: 1 }, 'BAD_USER_INPUT', /name must be string/],
    ['unknown field', { name: 'x', supply_price: 1, supplyPrice: 1 }, 'BAD_USER_INPUT', /supplyPrice is not a known field/],
    ['an array body', [1, 2], 'BAD_USER_INPUT', /body must be object/],
    ['product_id not a number', { product_id: '1', name: 'x', supply_price: 1 }, 'BAD_USER_INPUT', /product_id must be integer or null/],
  ])('%s → 400 with a clear message, nothing written', async (_case, body, code, message) => {
    const before = await stack.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM products');
    const response = await createProduct(body);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe(code);
    expect(response.body.error.message).toMatch(message);
    expect(await stack.db.query('SELECT COUNT(*) AS n FROM products')).toEqual(before);
  });

  test('malformed JSON → 400 INVALID_JSON', async () => {
    const response = await stack.gateway.request('POST', '/products', { token, rawBody: '{"name": "x",', headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(400);
    expect(response.body.error).toEqual({ code: 'INVALID_JSON', message: expect.any(String) });
  });

  test('a non-JSON content type → 415', async () => {
    const response = await stack.gateway.request('POST', '/products', { token, rawBody: 'name=x', headers: { 'content-type': 'text/plain' } });
    expect(response.status).toBe(415);
    expect(response.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('GET /products', () => {
  test('lists every product with the legacy field names, in id order', async () => {
    const created = await createProduct({ name: 'Listed', supply_price: 7 });
    const response = await stack.gateway.get('/products', { token });
    expect(response.status).toBe(200);
    expect(response.body).toContainEqual(created.body);
    const ids = (response.body as { product_id: number }[]).map((product) => product.product_id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    for (const product of response.body) expect(Object.keys(product).sort()).toEqual(['name', 'product_id', 'supply_price']);
  });

  test('pages with limit and after', async () => {
    for (const name of ['p1', 'p2', 'p3']) await createProduct({ name, supply_price: 1 });
    const all = (await stack.gateway.get('/products', { token })).body as { product_id: number }[];
    const first = await stack.gateway.get('/products?limit=2', { token });
    expect(first.body).toEqual(all.slice(0, 2));
    const next = await stack.gateway.get(`/products?limit=2&after=${all[1]!.product_id}`, { token });
    expect(next.body).toEqual(all.slice(2, 4));
  });

  test('filters by name, ignoring case, combined with limit and after', async () => {
    for (const name of ['Blue Chair', 'armchair', 'Table']) await createProduct({ name, supply_price: 1 });
    const chairs = (await stack.gateway.get('/products?name=CHAIR', { token })).body as { product_id: number; name: string }[];
    expect(chairs.map((product) => product.name)).toEqual(['Blue Chair', 'armchair']);
    const page = await stack.gateway.get(`/products?name=chair&limit=1&after=${chairs[0]!.product_id}`, { token });
    expect(page.body).toEqual([chairs[1]]);
  });

  test.each(['0', '1001', 'ten', '-1'])('limit=%s → 400', async (limit) => {
    const response = await stack.gateway.get(`/products?limit=${limit}`, { token });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('BAD_USER_INPUT');
  });
});

describe('GET /products/{productId}', () => {
  test('answers the product', async () => {
    const created = await createProduct({ name: 'Mouse', supply_price: 500 });
    const response = await stack.gateway.get(`/products/${created.body.product_id}`, { token });
    expect(response.status).toBe(200);
    expect(response.body).toEqual(created.body);
  });

  test('404 PRODUCT_NOT_FOUND for an id with no product', async () => {
    const response = await stack.gateway.get('/products/999999', { token });
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('PRODUCT_NOT_FOUND');
  });

  test.each(['abc', '0', '-3', '1.5', '99999999999'])('non-id %s → 400', async (id) => {
    const response = await stack.gateway.get(`/products/${id}`, { token });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('productId') });
  });
});

test('an unknown route → 404 ROUTE_NOT_FOUND', async () => {
  const response = await stack.gateway.get('/nothing/here', { token });
  expect(response.status).toBe(404);
  expect(response.body.error.code).toBe('ROUTE_NOT_FOUND');
});
