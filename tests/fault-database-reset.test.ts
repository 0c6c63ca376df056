import { describeWithMysql } from './fixtures/servers';
import type { HttpResponse } from './fixtures/http';
import { waitFor } from './fixtures/net';
import { startStack, type Stack } from './fixtures/stack';
import { startTcpProxy, type TcpProxy } from './fixtures/tcp-proxy';

/**
 * The network to MySQL fails under load (issue 18): the services reach MariaDB through a TCP
 * proxy that the test kills with queries in flight (every connection reset), then starts again.
 * Reads and writes keep coming meanwhile. Before the fix, a reset query (`START TRANSACTION`, the
 * list's version query) was a 500; now every failure is a 503 DATABASE_UNAVAILABLE, every write
 * answered 200 is in the database, and the services recover without a restart. The list cache
 * stays on, so the list's version query runs; the gateway's response cache is off.
 */
const mysqlUrl = process.env.TEST_DATABASE_URL;
// Connection resets are MySQL's failure mode (SQLite has no connection to cut): see tests/database-failures.test.ts.

/** Each answer from MariaDB waits this long in the proxy, so that queries are in flight when it is killed. */
const LATENCY_MS = 25;
const WRITE_EVERY_MS = 50;
const READ_EVERY_MS = 100;
const ORDER_EVERY_MS = 200;

interface Outcome {
  kind: 'product' | 'list' | 'order';
  status: number;
  body: any;
  name?: string;
}

describeWithMysql('a MySQL connection reset under load', () => {
  let proxy: TcpProxy;
  let stack: Stack;
  let token: string;

  beforeAll(async () => {
    proxy = await startTcpProxy(Number(new URL(mysqlUrl!).port || 3306), { latencyMs: LATENCY_MS });
    stack = await startStack({
      serviceDatabaseUrl: (url) => {
        const proxied = new URL(url);
        proxied.host = `127.0.0.1:${proxy.port}`;
        return proxied.toString();
      },
      gatewayEnv: { RESPONSE_CACHE: 'off' },
      orderEnv: { ORDER_CACHE_MAX_AGE_SECONDS: '0' },
    });
    token = await stack.signIn('reset');
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await proxy?.close();
  });

  test('no 500, every failure a 503 DATABASE_UNAVAILABLE, no acknowledged write lost, recovery without a restart', async () => {
    const productId = (await stack.gateway.post('/products', { name: 'before', supply_price: 1 }, { token })).body.product_id;
    expect(productId).toEqual(expect.any(Number));
    const outcomes: Outcome[] = [];
    const pending: Promise<unknown>[] = [];
    const record = (kind: Outcome['kind'], sent: Promise<HttpResponse>, name?: string) =>
      pending.push(sent.then(({ status, body }) => outcomes.push({ kind, status, body, name })));
    let sequence = 0;
    const timers = [
      setInterval(() => {
        const name = `write-${(sequence += 1)}`;
        record('product', stack.gateway.post('/products', { name, supply_price: sequence }, { token }), name);
      }, WRITE_EVERY_MS),
      setInterval(() => record('list', stack.gateway.get('/products?limit=5', { token })), READ_EVERY_MS),
      setInterval(() => {
        const name = `order-${(sequence += 1)}`;
        record('order', stack.gateway.post('/order', { name, product_ids: [productId] }, { token }), name);
      }, ORDER_EVERY_MS),
    ];
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    await sleep(1000);
    const cut = await proxy.killMidRequest();
    await sleep(1200);
    await proxy.start();
    await sleep(1200);
    for (const timer of timers) clearInterval(timer);
    await Promise.all(pending);

    // The kill cut queries midway, and some requests failed: the outage was real.
    expect(cut).toBeGreaterThan(0);
    const failed = outcomes.filter(({ status }) => status >= 300);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.map(({ status, body }) => [status, body.error?.code])).toEqual(failed.map(() => [503, 'DATABASE_UNAVAILABLE']));
    expect(failed.some(({ kind }) => kind === 'order')).toBe(true);

    // Every write answered 200 is stored, as it was answered.
    const acknowledged = outcomes.filter(({ kind, status }) => kind !== 'list' && status === 200);
    expect(acknowledged.length).toBeGreaterThan(0);
    const stored = new Set(
      [
        ...(await stack.db.query<{ name: string }>('SELECT name FROM products')),
        ...(await stack.db.query<{ name: string }>('SELECT name FROM orders')),
      ].map(({ name }) => name),
    );
    expect(acknowledged.filter(({ name }) => !stored.has(name!))).toEqual([]);

    // The same services serve again once the network is back.
    await waitFor(async () => (await stack.gateway.get('/products?limit=5', { token })).status === 200, 'reads to succeed again', 20_000);
    const after = await stack.gateway.post('/order', { name: 'after', product_ids: [productId] }, { token });
    expect(after.status).toBe(200);
  }, 60_000);
});
