import { readFileSync } from 'node:fs';
import { compileBuild, type Build } from './fixtures/build';
import { startProcessStack, type ProcessStack } from './fixtures/processes';

/**
 * Production (the container image, `npm start`) runs the JavaScript `npm run build` compiles, not
 * the TypeScript the other tests run under tsx. Here the five processes run from such a build, to
 * show that it serves the same contract and finds every file it reads beside the source: the
 * supergraph, the subgraph schemas, the REST bridge's and the playground's operations.
 */
const START_TIMEOUT_MS = 120_000;

let build: Build;
/** The stack's start, which may outlive a timed-out beforeAll: afterAll still stops what it started. */
let starting: Promise<ProcessStack> | undefined;
let stack: ProcessStack;

beforeAll(async () => {
  build = compileBuild('test');
  stack = await (starting = startProcessStack({ LOG_LEVEL: 'warn' }, { build: build.dir }));
}, START_TIMEOUT_MS);

afterAll(async () => {
  await (await starting?.catch(() => undefined))?.close();
  build?.remove();
}, START_TIMEOUT_MS);

test('every process runs compiled JavaScript with plain node, without a TypeScript loader', () => {
  for (const running of Object.values(stack.processes)) {
    const commandLine = readFileSync(`/proc/${running.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    expect({ name: running.name, args: commandLine.slice(1) }).toEqual({ name: running.name, args: [expect.stringMatching(/\.js$/)] });
    expect(commandLine[1]!.startsWith(build.dir)).toBe(true);
  }
});

test('the compiled stack serves REST and federated GraphQL', async () => {
  const token = await stack.signIn('compiled');
  const product = await stack.gateway.post('/products', { name: 'Lamp', supply_price: 1200 }, { token });
  expect(product.status).toBe(200);
  const order = await stack.gateway.post('/order', { name: 'compiled order', product_ids: [product.body.product_id] }, { token });
  expect(order.status).toBe(200);
  const rest = await stack.gateway.get(`/order/${order.body.order_id}`, { token });
  expect(rest.status).toBe(200);
  const graphql = await stack.gateway.graphql('query ($id: ID!) { order(id: $id) { name products { name supplyPrice } } }', { id: String(order.body.order_id) }, token);
  expect(graphql.body).toEqual({ data: { order: { name: 'compiled order', products: [{ name: 'Lamp', supplyPrice: 1200 }] } } });
});

test('the compiled gateway finds the playground and its example operations', async () => {
  const page = await stack.gateway.get('/graphql', { headers: { accept: 'text/html' } });
  expect(page.status).toBe(200);
  expect(page.body).toContain('renderYogaGraphiQL');
  expect(page.body).toContain('mutation SignIn');
});
