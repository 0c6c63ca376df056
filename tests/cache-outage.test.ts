import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { isListening, waitFor } from './fixtures/net';
import { freePort } from './fixtures/processes';
import { describeWithRedis, findExecutable } from './fixtures/servers';
import { startStack, type Stack } from './fixtures/stack';

/** A Redis of this test's own, on a free port, so it can be stopped and started again. */
async function startRedis(port: number): Promise<ChildProcess> {
  const redis = spawn(findExecutable('redis-server')!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitFor(() => isListening(port), 'redis-server to listen');
  return redis;
}

async function stopRedis(redis: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => redis.once('exit', resolve));
  redis.kill('SIGKILL');
  await exited;
}

/** Needs TEST_REDIS_URL like every Redis test, and redis-server to start a Redis of its own. */
describeWithRedis('a Redis outage', () => {
  let port: number;
  let redis: ChildProcess;
  let stack: Stack;
  let token: string;

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis(port);
    stack = await startStack({
      gatewayEnv: {
        REDIS_URL: `redis://127.0.0.1:${port}`,
        CACHE_NAMESPACE: `outage-${randomBytes(4).toString('hex')}`,
        CACHE_TIMEOUT_MS: '200',
        RESPONSE_CACHE_MAX_TTL_SECONDS: '1',
      },
    });
    token = await stack.signIn();
  });
  afterAll(async () => {
    await stack?.close();
    if (redis && redis.exitCode === null) await stopRedis(redis);
  });

  test('with Redis down requests are served uncached, and caching resumes when it returns', async () => {
    const product = (await stack.gateway.post('/products', { name: 'Resilient', supply_price: 1 }, { token })).body.product_id;
    const id = (await stack.gateway.post('/order', { name: 'outage', product_ids: [] }, { token })).body.order_id;
    const read = () => stack.gateway.get(`/order/${id}`, { token });
    await read();
    expect((await read()).headers.get('x-cache')).toBe('HIT');

    await stopRedis(redis);
    for (let index = 0; index < 3; index += 1) {
      const response = await read();
      expect(response.status).toBe(200);
      expect(response.headers.get('x-cache')).toBe('MISS');
    }
    const put = await stack.gateway.put(`/order/${id}`, { product_id: product }, { token });
    expect(put.status).toBe(200);
    expect((await read()).body.product_ids).toEqual([product]);

    redis = await startRedis(port);
    await waitFor(async () => (await read()).headers.get('x-cache') === 'HIT', 'caching to resume');
    expect((await read()).body.product_ids).toEqual([product]);
  });
}, ['redis-server']);
