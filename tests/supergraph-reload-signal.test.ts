import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { restRoutes } from '../gateway/rest/routes';
import { clientContract, restContract } from '../gateway/supergraph/contract';
import { useSupergraphHotReload } from '../gateway/supergraph/hot-reload';
import { fileOrigin } from '../gateway/supergraph/origin';
import { CLIENT_OPERATIONS_DIR } from '../schema/operations/client/playground-tabs';
import { ROOT, SUPERGRAPH_FILE } from '../schema/subgraphs';
import { HttpClient } from './fixtures/http';
import { waitFor } from './fixtures/net';
import { freePort, spawnProcess } from './fixtures/processes';
import { supergraphHash, supergraphWithout } from './fixtures/supergraphs';

const full = readFileSync(SUPERGRAPH_FILE, 'utf8');
/** A new supergraph with the same schema: a recomposition that changed only a comment. */
const recomposed = `${full}# recomposed\n`;
const withoutSupplyPrice = supergraphWithout('product', { type: 'Product', field: 'supplyPrice' });
/** What GraphQL says about the REST bridge's Product operation on `withoutSupplyPrice`. */
const PRODUCT_BROKEN = 'REST GET /products/:productId (schema/operations/rest/Product.graphql): Cannot query field "supplyPrice" on type "Product".';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'supergraph-reload-'));
  path = join(dir, 'supergraph.graphql');
  writeFileSync(path, full);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('the reload module: the same supergraph is a no-op, a refusal is counted once however often offered, SIGHUP reloads', async () => {
  const lines: { level: number; msg: string; problems?: string[] }[] = [];
  const { log } = Fastify({ logger: { level: 'info', stream: { write: (line: string) => lines.push(JSON.parse(line)) } } });
  const reload = useSupergraphHotReload({
    origin: fileOrigin(path, { watchFolder: false, log }),
    contract: [...restContract(restRoutes, join(ROOT, 'schema', 'operations', 'rest')), ...clientContract(CLIENT_OPERATIONS_DIR)],
    validationRules: [],
    log,
  });
  const updates: string[] = [];
  const listenersBefore = process.listenerCount('SIGHUP');
  const { supergraphSdl, cleanup } = await reload.manager.initialize({
    update: (text) => updates.push(text),
    healthCheck: async () => undefined,
    getDataSource: () => {
      throw new Error('not used');
    },
  });
  expect(supergraphSdl).toBe(full);
  expect(reload.status()).toMatchObject({ source: path, hash: supergraphHash(full), reloads: 0, refusals: { unreadable: 0, invalid: 0, 'breaks-operations': 0 } });

  expect(await reload.reload('watch')).toBe('unchanged');
  expect(updates).toEqual([]);

  writeFileSync(path, withoutSupplyPrice);
  expect(await reload.reload('watch')).toBe('refused');
  expect(await reload.reload('watch')).toBe('refused');
  expect(updates).toEqual([]);
  expect(reload.status()).toMatchObject({ hash: supergraphHash(full), refusals: { 'breaks-operations': 1 }, refused: { hash: supergraphHash(withoutSupplyPrice), reason: 'breaks-operations' } });
  const refusals = lines.filter(({ msg }) => msg.includes('refused'));
  expect(refusals).toHaveLength(1);
  expect(refusals[0]!.problems).toContain(PRODUCT_BROKEN);

  rmSync(path);
  expect(await reload.reload('watch')).toBe('refused');
  expect(reload.status()).toMatchObject({ hash: supergraphHash(full), refusals: { unreadable: 1 }, refused: { reason: 'unreadable' } });

  writeFileSync(path, recomposed);
  process.emit('SIGHUP');
  await waitFor(async () => reload.status().hash === supergraphHash(recomposed), 'the SIGHUP reload');
  expect(updates).toEqual([recomposed]);
  expect(reload.status()).toMatchObject({ reloads: 1, refusals: { unreadable: 1, invalid: 0, 'breaks-operations': 1 } });
  expect(reload.status().refused).toBeUndefined();
  expect(lines.map(({ msg }) => msg)).toContain(`supergraph ${supergraphHash(recomposed)} is live (was ${supergraphHash(full)})`);

  await cleanup!();
  expect(process.listenerCount('SIGHUP')).toBe(listenersBefore);
});

test('SIGHUP to a gateway of two workers: the primary lives on, each worker reloads, and a breaking supergraph is refused with its reasons in the log', async () => {
  const closed = `http://127.0.0.1:${await freePort()}/graphql`;
  const gateway = await spawnProcess('gateway', 'gateway/index.ts', {
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    DATA_DIR: dir,
    JWT_SECRET: randomBytes(32).toString('hex'),
    SUBGRAPH_SECRET: randomBytes(32).toString('hex'),
    // No subgraph is needed to load a supergraph; none listens here, whatever else runs on this machine.
    SUBGRAPH_AUTH_URLS: closed,
    SUBGRAPH_ORDER_URLS: closed,
    SUBGRAPH_PRODUCT_URLS: closed,
    SUPERGRAPH_PATH: path,
    // Only the signal reloads.
    SUPERGRAPH_WATCH: 'off',
    GATEWAY_WORKERS: '2',
    RESPONSE_CACHE: 'off',
  });
  const client = new HttpClient(`http://127.0.0.1:${gateway.port}`);
  // Ready or not (no subgraph answers), `checks` say which supergraph is live.
  const live = async () => {
    const { body } = await client.get('/ready');
    return ((body.checks ?? body.error.checks).supergraph as { live: string }).live;
  };
  const count = (text: string) => gateway.output().split(text).length - 1;
  try {
    // The primary passes signals on to listening workers only: one still starting reads the file anyway.
    await waitFor(async () => count(`supergraph ${supergraphHash(full)} is live`) === 2 && count('Server listening at') === 2, 'both workers to listen');
    writeFileSync(path, recomposed);
    gateway.child.kill('SIGHUP');
    await waitFor(async () => count(`supergraph ${supergraphHash(recomposed)} is live (was ${supergraphHash(full)})`) === 2, 'both workers to reload');
    expect(await live()).toBe(supergraphHash(recomposed));

    writeFileSync(path, withoutSupplyPrice);
    gateway.child.kill('SIGHUP');
    await waitFor(async () => count(`supergraph ${supergraphHash(withoutSupplyPrice)} refused (breaks-operations): still serving ${supergraphHash(recomposed)}`) === 2, 'both workers to refuse');
    expect(gateway.output()).toContain(JSON.stringify(PRODUCT_BROKEN));
    expect(await live()).toBe(supergraphHash(recomposed));
    expect(gateway.child.exitCode).toBeNull();
  } finally {
    if (gateway.child.exitCode === null && gateway.child.signalCode === null) {
      const exited = new Promise((resolve) => gateway.child.once('exit', resolve));
      gateway.child.kill('SIGTERM');
      await exited;
    }
  }
}, 60_000);
