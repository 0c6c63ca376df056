import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import gql from 'graphql-tag';
import { createSubgraphApp } from '../../shared/subgraph-app';
import type { AuthConfig } from './config';
import { resolvers, type AuthContext } from './resolvers';

export const typeDefs = gql(readFileSync(join(__dirname, 'schema.graphql'), 'utf8'));

/** The auth subgraph: issues JWTs; keeps no state of its own. */
export function createAuthServer(config: AuthConfig): Promise<FastifyInstance> {
  return createSubgraphApp<AuthContext>({ ...config.http, typeDefs, resolvers, proof: config.subgraphProof, context: async () => ({ jwt: config.jwt }) });
}
