import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import gql from 'graphql-tag';
import { createCacheStore } from '../../shared/cache-store';
import { connectWithCurrentSchema, createDataSource } from '../../shared/database/data-source';
import { databaseCheck, useReadiness } from '../../shared/readiness';
import { useDatabaseMetrics } from '../../shared/subgraph-metrics';
import { createSubgraphApp } from '../../shared/subgraph-app';
import type { ProductConfig } from './config';
import { ProductEntity } from './entities/product';
import { ProductStore } from './product-store';
import { resolvers, type ProductContext } from './resolvers';
import { subgraphSchemaFile } from '../../schema/subgraphs';

export const typeDefs = gql(readFileSync(subgraphSchemaFile('product'), 'utf8'));

/** The product subgraph, connected to its database but not listening. */
export async function createProductServer(config: ProductConfig): Promise<FastifyInstance> {
  const dataSource = await connectWithCurrentSchema(createDataSource(config.database, [ProductEntity]));
  const listCacheStatus = new WeakMap<FastifyRequest, ProductContext['listCache']>();
  const app = await createSubgraphApp<ProductContext>({
    ...config.http,
    name: 'product',
    typeDefs,
    resolvers,
    proof: config.subgraphProof,
    context: async (request) => {
      const listCache = {};
      listCacheStatus.set(request, listCache);
      return { store, productById: store.loader(), listCache };
    },
  });
  const cacheStore = createCacheStore(config.cache, app.log, 'product');
  const store = new ProductStore(dataSource, { store: cacheStore, ttlSeconds: config.listCacheSeconds });
  // Shows which instance answered; the gateway passes it on so round-robin is visible to clients.
  app.addHook('onSend', async (request, reply) => {
    reply.header('server-port', String(request.socket.localPort));
    const status = listCacheStatus.get(request)?.status;
    if (status) reply.header('x-cache', status);
  });
  useDatabaseMetrics(app, dataSource);
  useReadiness(app, {
    database: databaseCheck(dataSource),
    cache: { required: false, check: () => cacheStore.ping() },
  });
  app.addHook('onClose', async () => {
    await cacheStore.close();
    await dataSource.destroy();
  });
  return app;
}
