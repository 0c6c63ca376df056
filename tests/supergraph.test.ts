import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { composeServices } from '@apollo/composition';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import gql from 'graphql-tag';
import jwt from 'jsonwebtoken';
import { loadGatewayConfig } from '../gateway/config';
import { createGatewayServer } from '../gateway/server';
import { SUPERGRAPH_FILE } from '../schema/subgraphs';
import { composeSupergraph, GENERATED_HEADER, KUBERNETES_SUPERGRAPH_FILE } from '../scripts/compose';
import { HttpClient } from './fixtures/http';

test('schema/supergraph.graphql and its copy in deploy/k8s are what `npm run compose` makes of the subgraph schemas', () => {
  const checkedIn = readFileSync(SUPERGRAPH_FILE, 'utf8');
  expect(checkedIn.startsWith(GENERATED_HEADER)).toBe(true);
  // A failure here means a subgraph schema changed: run `npm run compose` and commit the result.
  expect(checkedIn).toBe(composeSupergraph());
  // The ConfigMap's copy too (deploy/k8s).
  expect(readFileSync(KUBERNETES_SUPERGRAPH_FILE, 'utf8')).toBe(checkedIn);
});

test('the gateway serves a foreign supergraph, routing to the URLs inside it', async () => {
  const inventory = new ApolloServer({
    schema: buildSubgraphSchema({
      typeDefs: gql`
        extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
        type Item @key(fields: "sku") { sku: ID! stock: Int! }
        type Query { items: [Item!]! }
      `,
      resolvers: { Query: { items: () => [{ sku: 'a-1', stock: 3 }] } },
    }),
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  const { url } = await startStandaloneServer(inventory, { listen: { port: 0, host: '127.0.0.1' } });
  const composed = composeServices([
    {
      name: 'inventory',
      url,
      typeDefs: gql`
        extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
        type Item @key(fields: "sku") { sku: ID! stock: Int! }
        type Query { items: [Item!]! }
      `,
    },
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'foreign-supergraph-'));
  const secret = randomBytes(32).toString('hex');
  writeFileSync(join(dir, 'supergraph.graphql'), composed.supergraphSdl!);
  const gatewayApp = await createGatewayServer(
    // A supergraph without our auth subgraph: the shared-secret mode lets the test sign its own token.
    loadGatewayConfig({ SUPERGRAPH_PATH: join(dir, 'supergraph.graphql'), JWT_MODE: 'hs256', JWT_SECRET: secret, DATA_DIR: dir, LOG_LEVEL: 'silent' }),
  );
  try {
    await gatewayApp.listen({ host: '127.0.0.1', port: 0 });
    const address = gatewayApp.server.address() as { port: number };
    const token = jwt.sign({}, secret, { algorithm: 'HS256', subject: 'tester', issuer: 'federation-platform', expiresIn: 60 });
    const response = await new HttpClient(`http://127.0.0.1:${address.port}`).graphql('{ items { sku stock } }', {}, token);
    expect(response.body).toEqual({ data: { items: [{ sku: 'a-1', stock: 3 }] } });
  } finally {
    await gatewayApp.close();
    await inventory.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
