import { startStack, type Stack } from './fixtures/stack';

let stack: Stack;
let token: string;

beforeAll(async () => {
  stack = await startStack();
  token = await stack.signIn('alice');
});
afterAll(() => stack?.close());

const CREATE_PRODUCT = 'mutation($input: CreateProductInput!) { createProduct(input: $input) { id name supplyPrice } }';

async function createProducts(count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const response = await stack.gateway.graphql(CREATE_PRODUCT, { input: { name: `Product ${index}`, supplyPrice: 100 * (index + 1) } }, token);
    ids.push(response.body.data.createProduct.id);
  }
  return ids;
}

test('one query fetches an order with its products, through one batched _entities call', async () => {
  const ids = await createProducts(5);
  const created = await stack.gateway.graphql(
    'mutation($input: CreateOrderInput!) { createOrder(input: $input) { id name productIds } }',
    { input: { name: 'federated', productIds: ids } },
    token,
  );
  expect(created.body.data.createOrder).toEqual({ id: expect.any(String), name: 'federated', productIds: ids });

  stack.resetHits();
  const response = await stack.gateway.graphql(
    'query($id: ID!) { order(id: $id) { id name productIds products { id name supplyPrice } } }',
    { id: created.body.data.createOrder.id },
    token,
  );
  expect(response.body.errors).toBeUndefined();
  expect(response.body.data.order.products).toEqual(ids.map((id, index) => ({ id, name: `Product ${index}`, supplyPrice: 100 * (index + 1) })));
  const productCalls = [...stack.hits['product-0']!.queries, ...stack.hits['product-1']!.queries];
  expect(productCalls).toHaveLength(1);
  expect(productCalls[0]).toContain('_entities');
  expect(stack.hits.order!.queries).toHaveLength(1);
});

test('addProductToOrder appends, and unknown ids surface as error codes', async () => {
  const [first, second] = await createProducts(2);
  const created = await stack.gateway.graphql('mutation { createOrder(input: {name: "g", productIds: ["' + first + '"]}) { id } }', {}, token);
  const orderId = created.body.data.createOrder.id;
  const added = await stack.gateway.graphql(
    'mutation($o: ID!, $p: ID!) { addProductToOrder(orderId: $o, productId: $p) { productIds } }',
    { o: orderId, p: second },
    token,
  );
  expect(added.body.data.addProductToOrder.productIds).toEqual([first, second]);

  const unknownProduct = await stack.gateway.graphql('mutation($o: ID!) { addProductToOrder(orderId: $o, productId: "777777") { id } }', { o: orderId }, token);
  expect(unknownProduct.body.errors[0].extensions).toMatchObject({ code: 'UNKNOWN_PRODUCTS', productIds: [777777] });
  const unknownOrder = await stack.gateway.graphql('mutation($p: ID!) { addProductToOrder(orderId: "777777", productId: $p) { id } }', { p: first }, token);
  expect(unknownOrder.body.errors[0].extensions.code).toBe('ORDER_NOT_FOUND');
});

test('addProductsToOrder appends every id in order, or nothing: unknown ids, bad lists and other users write nothing', async () => {
  const [first, second] = await createProducts(2);
  const ADD = 'mutation($o: ID!, $p: [ID!]!) { addProductsToOrder(orderId: $o, productIds: $p) { id productIds } }';
  const orderId = (await stack.gateway.graphql('mutation($p: [ID!]!) { createOrder(input: {name: "many", productIds: $p}) { id } }', { p: [first] }, token)).body.data.createOrder.id;
  const lines = async () => (await stack.db.query<{ product_id: number }>(`SELECT product_id FROM order_lines WHERE order_id = ${orderId} ORDER BY id`)).map((row) => String(row.product_id));

  const added = await stack.gateway.graphql(ADD, { o: orderId, p: [second, first, second] }, token);
  expect(added.body.data.addProductsToOrder).toEqual({ id: orderId, productIds: [first, second, first, second] });
  expect(await lines()).toEqual([first, second, first, second]);

  const bob = await stack.signIn('bob');
  for (const [variables, code, caller] of [
    [{ o: orderId, p: [second, '777777'] }, 'UNKNOWN_PRODUCTS', token],
    [{ o: orderId, p: [] }, 'BAD_USER_INPUT', token],
    [{ o: orderId, p: Array.from({ length: 1001 }, () => first) }, 'BAD_USER_INPUT', token],
    [{ o: orderId, p: [second, '0'] }, 'BAD_USER_INPUT', token],
    [{ o: orderId, p: [second] }, 'ORDER_NOT_FOUND', bob],
  ] as const) {
    const response = await stack.gateway.graphql(ADD, variables, caller);
    expect(response.body.errors[0].extensions.code).toBe(code);
  }
  expect(await lines()).toEqual([first, second, first, second]);
});

test('products(nameContains) filters by name, ignoring case, and pages with first/after', async () => {
  const names = ['Blue Cup', 'cupboard', 'Plate', 'CUP_2', 'CUPx2'];
  for (const name of names) await stack.gateway.graphql(CREATE_PRODUCT, { input: { name, supplyPrice: 1 } }, token);
  const list = async (variables: Record<string, unknown>) =>
    (await stack.gateway.graphql('query($n: String, $f: Int, $a: ID) { products(nameContains: $n, first: $f, after: $a) { id name } }', variables, token)).body.data
      .products as { id: string; name: string }[];
  expect((await list({ n: 'cUp' })).map((product) => product.name)).toEqual(['Blue Cup', 'cupboard', 'CUP_2', 'CUPx2']);
  expect((await list({ n: 'cup_' })).map((product) => product.name)).toEqual(['CUP_2']);
  const firstPage = await list({ n: 'cup', f: 2 });
  expect(firstPage.map((product) => product.name)).toEqual(['Blue Cup', 'cupboard']);
  expect((await list({ n: 'cup', f: 2, a: firstPage[1]!.id })).map((product) => product.name)).toEqual(['CUP_2', 'CUPx2']);
  const tooLong = await stack.gateway.graphql('query($n: String) { products(nameContains: $n) { id } }', { n: 'x'.repeat(256) }, token);
  expect(tooLong.body.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'nameContains' });
});

test('products pages with first/after, product(id) is null when absent', async () => {
  await createProducts(3);
  const all = (await stack.gateway.graphql('{ products { id } }', {}, token)).body.data.products as { id: string }[];
  const page = await stack.gateway.graphql('query($a: ID) { products(first: 2, after: $a) { id } }', { a: all[0]!.id }, token);
  expect(page.body.data.products).toEqual(all.slice(1, 3));
  const tooMany = await stack.gateway.graphql('{ products(first: 1001) { id } }', {}, token);
  expect(tooMany.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  const missing = await stack.gateway.graphql('{ product(id: "999999") { id } }', {}, token);
  expect(missing.body).toEqual({ data: { product: null } });
});

test('invalid GraphQL is a client error with a code, not a 500', async () => {
  const invalid = await stack.gateway.graphql('{ product(id: "1") { nope } }', {}, token);
  expect(invalid.status).toBe(400);
  expect(invalid.body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  const unparsable = await stack.gateway.graphql('{ product(', {}, token);
  expect(unparsable.status).toBe(400);
  expect(unparsable.body.errors[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
  const badInput = await stack.gateway.graphql(CREATE_PRODUCT, { input: { name: 'x', supplyPrice: -5 } }, token);
  expect(badInput.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  expect(JSON.stringify(badInput.body)).not.toMatch(/stacktrace|SELECT|INSERT/i);
});
