import assert from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import type { FastifyInstance } from 'fastify';
import { BENCHMARK_QUERY } from './fixtures/foreign/query';
import { OUR_GATEWAY_SETTINGS } from './fixtures/foreign/settings';
import { startForeignSubgraphs, type ForeignSubgraphs } from './fixtures/foreign/subgraphs';
import { writeForeignSupergraph } from './fixtures/foreign/supergraph';
import { loadGatewayConfig } from '../gateway/config';
import { createGatewayServer } from '../gateway/server';
import { issueAccessToken } from '../shared/jwt';
import { HttpClient } from './fixtures/http';

/**
 * Our gateway, unchanged, on a supergraph that is not ours: The Guild's gateways benchmark
 * (tests/fixtures/foreign, also served by bench/foreign), its four subgraphs knowing nothing of our gateway (no proof, no /health).
 */
let subgraphs: ForeignSubgraphs;
let supergraphFile: string;
let dataDir: string;
let gatewayApp: FastifyInstance;
let gateway: HttpClient;
let token: string;

beforeAll(async () => {
  subgraphs = await startForeignSubgraphs();
  supergraphFile = writeForeignSupergraph(subgraphs.urls);
  dataDir = mkdtempSync(join(tmpdir(), 'foreign-benchmark-'));
  // Health checks every 50 ms, so that several have run by the readiness test.
  const config = loadGatewayConfig({ ...OUR_GATEWAY_SETTINGS, SUPERGRAPH_PATH: supergraphFile, DATA_DIR: dataDir, LOG_LEVEL: 'silent', HEALTH_CHECK_INTERVAL_MS: '50' });
  gatewayApp = await createGatewayServer(config);
  await gatewayApp.listen({ host: '127.0.0.1', port: 0 });
  gateway = new HttpClient(`http://127.0.0.1:${(gatewayApp.server.address() as { port: number }).port}`);
  token = issueAccessToken(config.jwt.sharedSecret!, 'bench').accessToken;
});

afterAll(async () => {
  await gatewayApp?.close();
  await subgraphs?.close();
  for (const dir of [dataDir, supergraphFile && dirname(supergraphFile)]) if (dir) rmSync(dir, { recursive: true, force: true });
});

const table = { upc: '1', name: 'Table', price: 899, weight: 100, inStock: true, shippingEstimate: null };
const urigo = { id: '1', username: 'urigo', name: 'Uri Goldshtein' };

test('answers The Guild benchmark query with their data and no errors', async () => {
  const response = await gateway.graphql(BENCHMARK_QUERY, {}, token);
  expect(response.status).toBe(200);
  expect(response.body.errors).toBeUndefined();
  const { users, topProducts } = response.body.data;

  expect(users.map((user: { username: string }) => user.username)).toEqual(['urigo', 'dotansimha', 'kamilkisiela', 'ardatan', 'gilgardosh', 'laurin']);
  // Every user has the first two reviews, both of the Table, which has reviews 1 to 4, all by urigo.
  const [first] = users[0].reviews;
  expect(users[0]).toMatchObject(urigo);
  expect(first).toMatchObject({ id: '1', product: table });
  expect(first.body).toMatch(/^Lorem ipsum/);
  expect(first.product.reviews.map((review: { id: string }) => review.id)).toEqual(['1', '2', '3', '4']);
  // The author's username comes from the reviews subgraph (@provides), the name from accounts.
  expect(first.product.reviews[0].author).toMatchObject(urigo);
  expect(first.product.reviews[0].author.reviews[1]).toMatchObject({ id: '2', product: table });

  expect(topProducts.map((product: { name: string }) => product.name)).toEqual(['Table', 'Couch', 'Glass', 'Chair', 'TV']);
  expect(topProducts[0]).toMatchObject(table);
  expect(topProducts[1]).toMatchObject({ upc: '2', price: 1299, weight: 1000, inStock: false, shippingEstimate: null });
  expect(topProducts.map((product: { reviews: unknown[] }) => product.reviews.length)).toEqual([4, 4, 1, 2, 0]);
  expect(topProducts[3].reviews[1].author).toMatchObject(urigo);
});

test('gives the same answer as a stock Apollo Gateway on the same supergraph', async () => {
  const stock = new ApolloServer({ gateway: new ApolloGateway({ supergraphSdl: readFileSync(supergraphFile, 'utf8') }) });
  await stock.start();
  try {
    const expected = await stock.executeOperation({ query: BENCHMARK_QUERY });
    assert(expected.body.kind === 'single');
    expect(expected.body.singleResult.errors).toBeUndefined();
    const ours = await gateway.graphql(BENCHMARK_QUERY, {}, token);
    expect(ours.body).toEqual(JSON.parse(JSON.stringify(expected.body.singleResult)));
  } finally {
    await stock.stop();
  }
});

test('keeps subgraphs without a /health route in rotation, and stays ready', async () => {
  // The foreign subgraphs answer 404 there: alive, just without the route. Idle, so only the checks decide.
  await new Promise((resolve) => setTimeout(resolve, 400));
  const ready = await gateway.get('/ready');
  expect(ready.status).toBe(200);
  expect(Object.values(ready.body.checks.healthyInstances).flat()).toHaveLength(4);
});
