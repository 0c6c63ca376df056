import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import gql from 'graphql-tag';
import { useReadiness } from '../../shared/readiness';
import { jwksOf } from '../../shared/signing-keys';
import { createSubgraphApp } from '../../shared/subgraph-app';
import type { AuthConfig } from './config';
import { resolvers, type AuthContext } from './resolvers';
import { subgraphSchemaFile } from '../../schema/subgraphs';

export const typeDefs = gql(readFileSync(subgraphSchemaFile('auth'), 'utf8'));

/** Where resource servers (the gateway, others) fetch the public keys; open, as public keys are. */
export const JWKS_ROUTE = '/.well-known/jwks.json';

/** The auth subgraph: issues JWTs; keeps no state of its own. */
export async function createAuthServer(config: AuthConfig): Promise<FastifyInstance> {
  const { tokens } = config;
  const app = await createSubgraphApp<AuthContext>({ ...config.http, name: 'auth', typeDefs, resolvers, proof: config.subgraphProof, context: async () => ({ tokens }) });
  if (tokens.mode === 'jwks') {
    const jwks = JSON.stringify(jwksOf(tokens.signing));
    // Short enough that a key published for rotation reaches caches that honour it within the gateways' refresh interval.
    app.get(JWKS_ROUTE, async (_request, reply) => reply.header('cache-control', 'public, max-age=60').type('application/json').send(jwks));
  }
  // Signing needs only the keys it was started with: ready as soon as it serves.
  useReadiness(app, {});
  return app;
}
