import { errorCatalogue, isErrorCode } from '../shared/errors';
import { startStack, type Stack } from './fixtures/stack';

/** Runs with SQLite by default and with MariaDB under TEST_DATABASE_URL=mysql://… (as CI does). */
let stack: Stack;
let token: string;
const productIds: number[] = [];

beforeAll(async () => {
  stack = await startStack();
  token = await stack.signIn();
  for (let index = 0; index < 200; index += 1) {
    const created = await stack.gateway.post('/products', { name: `Part ${index}`, supply_price: index }, { token });
    productIds.push(created.body.product_id);
  }
}, 120_000);
afterAll(() => stack?.close());

/** A failure under load is allowed only as a clean, catalogued 4xx or 503, never a 500 or an untyped body. */
function expectCleanFailure(response: { status: number; body: any }) {
  expect([400, 404, 409, 413, 429, 503]).toContain(response.status);
  const code = response.body?.error?.code;
  expect(isErrorCode(code)).toBe(true);
  expect(errorCatalogue[code as keyof typeof errorCatalogue].status).toBe(response.status);
}

test('200 concurrent PUT /order/{id}, each adding a different product: the order holds all 200', async () => {
  const order = (await stack.gateway.post('/order', { name: 'bulk', product_ids: [] }, { token })).body.order_id;
  const responses = await Promise.all(productIds.map((product_id) => stack.gateway.put(`/order/${order}`, { product_id }, { token })));
  expect(responses.map((response) => response.status)).toEqual(productIds.map(() => 200));

  const final = await stack.gateway.get(`/order/${order}`, { token });
  expect([...final.body.product_ids].sort((a: number, b: number) => a - b)).toEqual([...productIds].sort((a, b) => a - b));
  const rows = await stack.db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM order_lines WHERE order_id = ${order}`);
  expect(Number(rows[0]!.n)).toBe(200);
}, 120_000);

test('100 concurrent POST /order and POST /products: every 200 is stored, failures are clean, ids unique', async () => {
  const orders = Array.from({ length: 100 }, (_, index) =>
    stack.gateway.post('/order', { name: `concurrent-${index}`, product_ids: [productIds[index]!, productIds[index + 1]!] }, { token }),
  );
  const products = Array.from({ length: 100 }, (_, index) => stack.gateway.post('/products', { name: `concurrent-${index}`, supply_price: index }, { token }));
  const [orderResponses, productResponses] = await Promise.all([Promise.all(orders), Promise.all(products)]);

  for (const response of [...orderResponses, ...productResponses]) if (response.status !== 200) expectCleanFailure(response);
  const createdOrders = orderResponses.filter((response) => response.status === 200).map((response) => response.body);
  const createdProducts = productResponses.filter((response) => response.status === 200).map((response) => response.body);
  // On a healthy stack nothing should fail at all; the clean-failure check above guards the rest.
  expect(createdOrders).toHaveLength(100);
  expect(createdProducts).toHaveLength(100);

  const orderIds = createdOrders.map((order) => order.order_id as number);
  expect(new Set(orderIds).size).toBe(orderIds.length);
  const storedOrders = await stack.db.query<{ id: number }>(`SELECT id FROM orders WHERE id IN (${orderIds.join(',')})`);
  expect(storedOrders.map((row) => Number(row.id)).sort((a, b) => a - b)).toEqual([...orderIds].sort((a, b) => a - b));
  const lines = await stack.db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM order_lines WHERE order_id IN (${orderIds.join(',')})`);
  expect(Number(lines[0]!.n)).toBe(200);

  const newProductIds = createdProducts.map((product) => product.product_id as number);
  expect(new Set(newProductIds).size).toBe(newProductIds.length);
  const storedProducts = await stack.db.query<{ id: number; name: string }>(`SELECT id, name FROM products WHERE id IN (${newProductIds.join(',')})`);
  expect(storedProducts).toHaveLength(100);
  for (const product of createdProducts) {
    expect(storedProducts.find((row) => Number(row.id) === product.product_id)?.name).toBe(product.name);
  }
}, 120_000);
