import { HttpClient } from './fixtures/http';
import { waitFor } from './fixtures/net';
import { createPrivateMariadb, PRIVATE_MARIADB_BINARIES, type PrivateMariadb } from './fixtures/private-mariadb';
import { describeWithMysql } from './fixtures/servers';
import { startStack, type Stack } from './fixtures/stack';

/**
 * A real MariaDB restart: the stack runs on a private mariadbd (own data directory and port), which
 * is shut down and started again while the services keep running. The shared server is not touched.
 * Caches are off so that every read needs the database.
 */
describeWithMysql('a MariaDB restart', () => {
  let mariadb: PrivateMariadb;
  let stack: Stack;
  let token: string;

  beforeAll(async () => {
    mariadb = await createPrivateMariadb();
    stack = await startStack({
      databaseServerUrl: mariadb.url,
      gatewayEnv: { RESPONSE_CACHE: 'off' },
      productEnv: { PRODUCT_LIST_CACHE_SECONDS: '0' },
      orderEnv: { ORDER_CACHE_MAX_AGE_SECONDS: '0' },
    });
    token = await stack.signIn();
  }, 60_000);
  afterAll(async () => {
    // Running again even if the test stopped mid-outage, so the stack can drop its database.
    await mariadb?.start();
    await stack?.close();
    await mariadb?.remove();
  });

  const readyOf = (graphqlUrl: string) => new HttpClient(graphqlUrl.replace(/\/graphql$/, '')).get('/ready');

  test('while MariaDB is down every request fails fast with 503 DATABASE_UNAVAILABLE; after its restart all succeed, no service restarted', async () => {
    const productId = (await stack.gateway.post('/products', { name: 'Durable', supply_price: 7 }, { token })).body.product_id;
    const orderId = (await stack.gateway.post('/order', { name: 'before', product_ids: [productId] }, { token })).body.order_id;
    expect(orderId).toEqual(expect.any(Number));

    await mariadb.stop();
    const during = [
      () => stack.gateway.get('/products', { token }),
      () => stack.gateway.get(`/products/${productId}`, { token }),
      () => stack.gateway.post('/products', { name: 'Lost?', supply_price: 1 }, { token }),
      () => stack.gateway.get(`/order/${orderId}`, { token }),
      () => stack.gateway.put(`/order/${orderId}`, { product_id: productId }, { token }),
    ];
    for (const request of during) {
      const started = performance.now();
      const response = await request();
      expect(performance.now() - started).toBeLessThan(5000);
      expect([response.status, response.body.error?.code]).toEqual([503, 'DATABASE_UNAVAILABLE']);
    }
    const graphql = await stack.gateway.graphql('{ products { id } }', {}, token);
    expect(graphql.body.errors[0].extensions.code).toBe('DATABASE_UNAVAILABLE');
    const productReady = await readyOf(stack.productUrls[0]!);
    expect([productReady.status, productReady.body.error?.checks?.database]).toEqual([503, 'down']);
    expect((await readyOf(stack.gatewaySettings.SUBGRAPH_ORDER_URLS!)).status).toBe(503);

    await mariadb.start();
    await waitFor(async () => (await stack.gateway.get('/products', { token })).status === 200, 'reads to succeed again', 20_000);
    expect((await readyOf(stack.productUrls[0]!)).status).toBe(200);
    expect((await readyOf(stack.productUrls[1]!)).status).toBe(200);
    const created = await stack.gateway.post('/products', { name: 'After', supply_price: 2 }, { token });
    expect(created.status).toBe(200);
    const added = await stack.gateway.put(`/order/${orderId}`, { product_id: created.body.product_id }, { token });
    expect(added.status).toBe(200);
    // What was written before the outage survived it; what failed during it was not written.
    expect(added.body.product_ids).toEqual([productId, created.body.product_id]);
    expect(await stack.db.query(`SELECT name FROM products WHERE name = 'Lost?'`)).toEqual([]);
  }, 90_000);
}, PRIVATE_MARIADB_BINARIES);
