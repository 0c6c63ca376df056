import { startStack, type Stack } from './fixtures/stack';

const portOf = (url: string) => new URL(url).port;

describe('round-robin over two product instances', () => {
  let stack: Stack;
  let token: string;

  beforeAll(async () => {
    stack = await startStack();
    token = await stack.signIn();
    await stack.gateway.post('/products', { name: 'Keyboard', supply_price: 1000 }, { token });
  });
  afterAll(() => stack?.close());

  test('two GET /products in a row show both instances in Server-Port', async () => {
    const first = await stack.gateway.get('/products', { token });
    const second = await stack.gateway.get('/products', { token });
    const ports = [first.headers.get('server-port'), second.headers.get('server-port')];
    expect(new Set(ports)).toEqual(new Set(stack.productUrls.map(portOf)));
  });

  test('GET /products/{id} and GraphQL responses carry Server-Port too', async () => {
    const rest = await stack.gateway.get('/products/1', { token });
    expect(stack.productUrls.map(portOf)).toContain(rest.headers.get('server-port'));
    const graphql = await stack.gateway.graphql('{ products { id } }', {}, token);
    expect(stack.productUrls.map(portOf)).toContain(graphql.headers.get('server-port'));
  });

  test('each instance serves half of the requests', async () => {
    stack.resetHits();
    for (let index = 0; index < 10; index += 1) expect((await stack.gateway.get('/products', { token })).status).toBe(200);
    expect(stack.hits['product-0']!.queries).toHaveLength(5);
    expect(stack.hits['product-1']!.queries).toHaveLength(5);
  });
});

describe('failover', () => {
  let stack: Stack;
  let token: string;
  let productId: number;

  beforeAll(async () => {
    stack = await startStack();
    token = await stack.signIn();
    productId = (await stack.gateway.post('/products', { name: 'Mouse', supply_price: 500 }, { token })).body.product_id;
  });
  afterAll(() => stack?.close());

  test('with one instance stopped, every request succeeds on the other', async () => {
    await stack.stopProduct(0);
    const survivor = portOf(stack.productUrls[1]!);
    for (let index = 0; index < 6; index += 1) {
      const response = await stack.gateway.get('/products', { token });
      expect(response.status).toBe(200);
      expect(response.headers.get('server-port')).toBe(survivor);
    }
    expect((await stack.gateway.post('/products', { name: 'Pad', supply_price: 5 }, { token })).status).toBe(200);
    // The order service's own product check fails over the same way.
    const order = await stack.gateway.post('/order', { name: 'o', product_ids: [productId] }, { token });
    expect(order.status).toBe(200);
  });

  test('with every instance stopped, 503 UPSTREAM_UNAVAILABLE, and nothing hangs', async () => {
    await stack.stopProduct(1);
    const rest = await stack.gateway.get('/products', { token });
    expect(rest.status).toBe(503);
    expect(rest.body.error.code).toBe('UPSTREAM_UNAVAILABLE');
    const graphql = await stack.gateway.graphql('{ products { id } }', {}, token);
    expect(graphql.body.errors[0].extensions.code).toBe('UPSTREAM_UNAVAILABLE');
    const order = await stack.gateway.post('/order', { name: 'o', product_ids: [productId] }, { token });
    expect(order.status).toBe(503);
    expect(order.body.error.code).toBe('UPSTREAM_UNAVAILABLE');
  });
});
