/**
 * Uses the typed client against a running stack: `npm start`, then `npx tsx client/example.ts`.
 * The endpoint comes from GRAPHQL_URL (default http://localhost:19091/graphql).
 */
import { createClient, GraphQLClientError } from './index';

export async function runExample(url: string, log: (line: string) => void = console.log): Promise<void> {
  const client = createClient({ url });
  const { expiresIn } = await client.signIn('example-user');
  log(`signed in for ${expiresIn} s`);

  const keyboard = await client.createProduct({ name: 'Keyboard', supplyPrice: 1000 });
  const mouse = await client.createProduct({ name: 'Mouse', supplyPrice: 400 });
  log(`created products ${keyboard.id} and ${mouse.id}`);
  const firstPage = await client.products({ first: 10 });
  log(`first page: ${firstPage.map((product) => product.name).join(', ')}`);

  const created = await client.createOrder({ name: 'example order', productIds: [keyboard.id] });
  await client.addProductToOrder(created.id, mouse.id);
  const order = await client.order(created.id);
  const total = order?.products.reduce((sum, product) => sum + product.supplyPrice, 0);
  log(`order ${created.id}: ${order?.products.map((product) => product.name).join(' + ')} = ${total}`);

  try {
    await client.createOrder({ name: 'impossible', productIds: ['999999999'] });
  } catch (error) {
    if (!(error instanceof GraphQLClientError) || error.code !== 'UNKNOWN_PRODUCTS') throw error;
    log(`refused: ${error.code} ${JSON.stringify(error.extensions.productIds)}`);
  }
}

if (require.main === module) {
  // A script, not a service: its one setting is read here rather than through a config module.
  runExample(process.env.GRAPHQL_URL ?? 'http://localhost:19091/graphql').catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
