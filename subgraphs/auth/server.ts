import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import gql from 'graphql-tag';
import { useReadiness } from '../../shared/readiness';
import { createSubgraphApp } from '../../shared/subgraph-app';
import type { AuthConfig } from './config';
import { resolvers, type AuthContext } from './resolvers';
import { subgraphSchemaFile } from '../../schema/subgraphs';

export const typeDefs = gql(readFileSync(subgraphSchemaFile('auth'), 'utf8'));

/** The auth subgraph: issues JWTs; keeps no state of its own. */
export async function createAuthServer(config: AuthConfig): Promise<FastifyInstance> {
  const app = await createSubgraphApp<AuthContext>({ ...config.http,
    name: 'auth', typeDefs, resolvers, proof: config.subgraphProof, context: async () => ({ jwt: config.jwt }) });
  // Signing needs only the key it was started with: ready as soon as it serves.
  useReadiness(app, {});
  return app;
}
