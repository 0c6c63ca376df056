import { startStack, type Stack } from './fixtures/stack';

let stack: Stack;
let alice: string;
let bob: string;
let productIds: number[];

beforeAll(async () => {
  stack = await startStack();
  alice = await stack.signIn('alice');
  bob = await stack.signIn('bob');
  productIds = [];
  for (const [name, price] of [['Keyboard', 1000], ['Mouse', 500], ['Monitor', 20000]] as const) {
    productIds.push((await stack.gateway.post('/products', { name, supply_price: price }, { token: alice })).body.product_id);
  }
});
afterAll(() => stack?.close());

const countRows = async (table: string) => Number((await stack.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))[0]!.n);

describe('POST /order', () => {
  test('creates an order for the caller and answers 200 with it, its ids under both names', async () => {
    const response = await stack.gateway.post('/order', { name: 'first', product_ids: [productIds[0], productIds[1]] }, { token: alice });
    expect(response.status).toBe(200);
    const ids = [productIds[0], productIds[1]];
    expect(response.body).toEqual({ order_id: expect.any(Number), name: 'first', orderItemIds: ids, product_ids: ids });
    expect(response.headers.get('location')).toBe(`/order/${response.body.order_id}`);
    const [row] = await stack.db.query<{ user_id: string }>(`SELECT user_id FROM orders WHERE id = ${response.body.order_id}`);
    expect(row!.user_id).toBe('alice');
    expect(await stack.db.query(`SELECT product_id FROM order_lines WHERE order_id = ${response.body.order_id} ORDER BY id`)).toEqual([
      { product_id: productIds[0] },
      { product_id: productIds[1] },
    ]);
  });

  test('unknown product ids → 400 naming them, and nothing is written', async () => {
    const [orders, lines] = [await countRows('orders'), await countRows('order_lines')];
    const response = await stack.gateway.post('/order', { name: 'bad', product_ids: [productIds[0], 424242, 434343] }, { token: alice });
    expect(response.status).toBe(400);
    expect(response.body.error).toEqual({ code: 'UNKNOWN_PRODUCTS', message: 'Unknown product ids: 424242, 434343', product_ids: [424242, 434343] });
    expect([await countRows('orders'), await countRows('order_lines')]).toEqual([orders, lines]);
  });

  test('the largest order, 1,000 products, is written whole with its creation time; 1,000 more are added to it in the order sent', async () => {
    const many = Array.from({ length: 1000 }, (_, index) => productIds[index % 3]!);
    const response = await stack.gateway.post('/order', { name: 'largest', product_ids: many }, { token: alice });
    expect([response.status, response.body.product_ids]).toEqual([200, many]);
    const orderId = response.body.order_id as number;
    // Its creation time is the column's default, now by the database's clock.
    const age = await stack.db.createdSecondsAgo('orders', orderId);
    expect(age).toEqual(expect.any(Number));
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(600);
    const more = Array.from({ length: 1000 }, (_, index) => productIds[2 - (index % 3)]!);
    const added = await stack.gateway.put(`/order/${orderId}`, { product_ids: more }, { token: alice });
    expect([added.status, added.body.product_ids]).toEqual([200, [...many, ...more]]);
    const read = await stack.gateway.get(`/order/${orderId}`, { token: alice });
    expect(read.body.product_ids).toEqual([...many, ...more]);
  });

  test('an empty product list is a valid, empty order', async () => {
    const response = await stack.gateway.post('/order', { name: 'empty', product_ids: [] }, { token: alice });
    expect(response.status).toBe(200);
    expect(response.body.product_ids).toEqual([]);
  });

  test.each([
    ['missing name', { product_ids: [1] }, /name is required/],
    ['missing product_ids', { name: 'x' }, /product_ids \(or body.orderItemsList\) is required/],
    ['both product_ids and orderItemsList', { name: 'x', product_ids: [1], orderItemsList: [1] }, /orderItemsList and body.product_ids/],
    ['product_ids not an array', { name: 'x', product_ids: '1,2' }, /product_ids must be array/],
    ['string ids', { name: 'x', product_ids: ['1'] }, /product_ids.0 must be integer/],
    ['zero id', { name: 'x', product_ids: [0] }, /must be >= 1/],
    ['blank name', { name: '', product_ids: [] }, /name must not be empty/],
    ['more than 1000 ids', { name: 'x', product_ids: Array.from({ length: 1001 }, () => 1) }, /must NOT have more than 1000 items/],
  ])('%s → 400, nothing written', async (_case, body, message) => {
    const [orders, lines] = [await countRows('orders'), await countRows('order_lines')];
    const response = await stack.gateway.post('/order', body, { token: alice });
    expect([await countRows('orders'), await countRows('order_lines')]).toEqual([orders, lines]);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('BAD_USER_INPUT');
    expect(response.body.error.message).toMatch(message);
  });
});

describe('PUT /order/{orderId}', () => {
  test('adds a product and answers the updated order', async () => {
    const created = await stack.gateway.post('/order', { name: 'grow', product_ids: [productIds[0]] }, { token: alice });
    const response = await stack.gateway.put(`/order/${created.body.order_id}`, { product_id: productIds[2] }, { token: alice });
    expect(response.status).toBe(200);
    const ids = [productIds[0], productIds[2]];
    expect(response.body).toEqual({ order_id: created.body.order_id, name: 'grow', orderItemIds: ids, product_ids: ids });
  });

  test('adds a list of products, in order, with {product_ids} or a bare array', async () => {
    const created = await stack.gateway.post('/order', { name: 'lists', product_ids: [] }, { token: alice });
    const listed = await stack.gateway.put(`/order/${created.body.order_id}`, { product_ids: [productIds[2], productIds[0]] }, { token: alice });
    expect([listed.status, listed.body.product_ids]).toEqual([200, [productIds[2], productIds[0]]]);
    const bare = await stack.gateway.put(`/order/${created.body.order_id}`, [productIds[1]], { token: alice });
    expect([bare.status, bare.body.orderItemIds]).toEqual([200, [productIds[2], productIds[0], productIds[1]]]);
  });

  test('unknown order → 404 ORDER_NOT_FOUND', async () => {
    const response = await stack.gateway.put('/order/987654', { product_id: productIds[0] }, { token: alice });
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('ORDER_NOT_FOUND');
  });

  test('unknown product → 400 UNKNOWN_PRODUCTS, order unchanged', async () => {
    const created = await stack.gateway.post('/order', { name: 'keep', product_ids: [productIds[1]] }, { token: alice });
    const response = await stack.gateway.put(`/order/${created.body.order_id}`, { product_id: 565656 }, { token: alice });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'UNKNOWN_PRODUCTS', product_ids: [565656] });
    expect((await stack.gateway.get(`/order/${created.body.order_id}`, { token: alice })).body.product_ids).toEqual([productIds[1]]);
  });

  test.each([
    ['missing product_id', {}],
    ['string product_id', { product_id: '3' }],
    ['negative product_id', { product_id: -3 }],
    ['product_id and product_ids', { product_id: 1, product_ids: [1] }],
    ['an empty array', []],
    ['an array of objects', [{ product_id: 1 }]],
  ])('%s → 400', async (_case, body) => {
    const response = await stack.gateway.put('/order/1', body, { token: alice });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('BAD_USER_INPUT');
  });

  test('concurrent additions to one order are all kept', async () => {
    const created = await stack.gateway.post('/order', { name: 'busy', product_ids: [] }, { token: alice });
    const additions = Array.from({ length: 30 }, (_, index) => productIds[index % productIds.length]!);
    const responses = await Promise.all(
      additions.map((productId) => stack.gateway.put(`/order/${created.body.order_id}`, { product_id: productId }, { token: alice })),
    );
    expect(responses.map((response) => response.status)).toEqual(additions.map(() => 200));
    const order = await stack.gateway.get(`/order/${created.body.order_id}`, { token: alice });
    expect([...order.body.product_ids].sort()).toEqual([...additions].sort());
  });
});

describe('GET /order/{orderId}', () => {
  test('answers the order with its product ids', async () => {
    const created = await stack.gateway.post('/order', { name: 'read me', product_ids: [productIds[2], productIds[2]] }, { token: alice });
    const response = await stack.gateway.get(`/order/${created.body.order_id}`, { token: alice });
    expect(response.status).toBe(200);
    const ids = [productIds[2], productIds[2]];
    expect(response.body).toEqual({ order_id: created.body.order_id, name: 'read me', orderItemIds: ids, product_ids: ids });
  });

  test('404 for an order that does not exist', async () => {
    const response = await stack.gateway.get('/order/999999', { token: alice });
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('ORDER_NOT_FOUND');
  });

  test("another user's order is 404 to read and to change", async () => {
    const created = await stack.gateway.post('/order', { name: "alice's", product_ids: [productIds[0]] }, { token: alice });
    expect((await stack.gateway.get(`/order/${created.body.order_id}`, { token: bob })).status).toBe(404);
    const put = await stack.gateway.put(`/order/${created.body.order_id}`, { product_id: productIds[1] }, { token: bob });
    expect(put.status).toBe(404);
    expect((await stack.gateway.get(`/order/${created.body.order_id}`, { token: alice })).body.product_ids).toEqual([productIds[0]]);
  });

  test.each(['abc', '0', '2147483648'])('non-id %s → 400', async (id) => {
    const response = await stack.gateway.get(`/order/${id}`, { token: alice });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('BAD_USER_INPUT');
  });
});
