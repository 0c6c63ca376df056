import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import gql from 'graphql-tag';
import { createBalancedFetch } from '../../shared/balanced-fetch';
import { connectWithCurrentSchema, createDataSource } from '../../shared/database/data-source';
import { databaseCheck, useReadiness } from '../../shared/readiness';
import { useDatabaseMetrics } from '../../shared/subgraph-metrics';
import { createSubgraphApp, userIdOf } from '../../shared/subgraph-app';
import type { OrderConfig } from './config';
import { OrderEntity } from './entities/order';
import { OrderLineEntity } from './entities/order-line';
import { OrderStore } from './order-store';
import { ProductDirectory } from './product-directory';
import { resolvers, type OrderContext } from './resolvers';
import { subgraphSchemaFile } from '../../schema/subgraphs';

export const typeDefs = gql(readFileSync(subgraphSchemaFile('order'), 'utf8'));

/** The order subgraph, connected to its database but not listening. */
export async function createOrderServer(config: OrderConfig): Promise<FastifyInstance> {
  const dataSource = await connectWithCurrentSchema(createDataSource(config.database, [OrderEntity, OrderLineEntity]));
  const store = new OrderStore(dataSource);
  const productFetch = createBalancedFetch({ name: 'product', urls: config.productUrls, timeoutMs: config.upstreamTimeoutMs });
  const products = new ProductDirectory(productFetch, config.subgraphProof);
  const app = await createSubgraphApp<OrderContext>({
    ...config.http,
    name: 'order',
    typeDefs,
    resolvers,
    proof: config.subgraphProof,
    context: async (request) => ({ store, products, userId: userIdOf(request), cacheMaxAgeSeconds: config.orderCacheMaxAgeSeconds }),
  });
  useDatabaseMetrics(app, dataSource);
  useReadiness(app, {
    database: databaseCheck(dataSource),
    product: { required: true, check: () => productFetch.available() },
  });
  app.addHook('onClose', () => dataSource.destroy());
  return app;
}
