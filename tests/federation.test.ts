import { startStack, type Stack } from './fixtures/stack';

let stack: Stack;
let token: string;

beforeAll(async () => {
  stack = await startStack();
  token = await stack.signIn('alice');
});
afterAll(() => stack.close());

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
