import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import gql from 'graphql-tag';
import { connectWithCurrentSchema, createDataSource } from '../../shared/database/data-source';
import { createSubgraphApp } from '../../shared/subgraph-app';
import type { ProductConfig } from './config';
import { ProductEntity } from './entities/product';
import { ProductStore } from './product-store';
import { resolvers, type ProductContext } from './resolvers';

export const typeDefs = gql(readFileSync(join(__dirname, 'schema.graphql'), 'utf8'));

/** The product subgraph, connected to its database but not listening. */
export async function createProductServer(config: ProductConfig): Promise<FastifyInstance> {
  const dataSource = await connectWithCurrentSchema(createDataSource(config.database, [ProductEntity]));
  const store = new ProductStore(dataSource);
  const app = await createSubgraphApp<ProductContext>({
    ...config.http,
    typeDefs,
    resolvers,
    context: async () => ({ store, productById: store.loader() }),
  });
  // Shows which instance answered; the gateway passes it on so round-robin is visible to clients.
  app.addHook('onSend', async (request, reply) => {
    reply.header('server-port', String(request.socket.localPort));
  });
  app.addHook('onClose', () => dataSource.destroy());
  return app;
}
