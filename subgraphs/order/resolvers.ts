import { cacheControlFromInfo } from '@apollo/cache-control-types';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import type { GraphQLResolveInfo } from 'graphql';
import { AppError } from '../../shared/errors';
import { requireId, requireName, toDatabaseId } from '../../shared/input';
import type { OrderStore, OrderView } from './order-store';
import type { ProductDirectory } from './product-directory';

export interface OrderContext {
  store: OrderStore;
  products: ProductDirectory;
  /** The verified token subject the gateway passed on; absent when no user is signed in. */
  userId: string | undefined;
  /** How long an order read may be cached, privately (ORDER_CACHE_MAX_AGE_SECONDS). */
  cacheMaxAgeSeconds: number;
}

/** Bounds one order's size and the one `_entities` call that checks its products. */
export const MAX_PRODUCTS_PER_ORDER = 1000;

/** Replaces the schema's default hint with the configured age; orders are per user, hence PRIVATE. */
function hintOrderCache(context: OrderContext, info: GraphQLResolveInfo): void {
  cacheControlFromInfo(info).setCacheHint({ maxAge: context.cacheMaxAgeSeconds, scope: 'PRIVATE' });
}

function requireUser({ userId }: OrderContext): string {
  if (userId === undefined) throw new AppError('UNAUTHENTICATED', 'Orders need a signed-in user');
  return userId;
}

async function requireProductsExist(products: ProductDirectory, ids: readonly number[]): Promise<void> {
  const missing = await products.missing(ids);
  if (missing.length > 0) {
    throw new AppError('UNKNOWN_PRODUCTS', `Unknown product ids: ${missing.join(', ')}`, { productIds: missing });
  }
}

export const resolvers: GraphQLResolverMap<OrderContext> = {
  Query: {
    order: (_parent, { id }: { id: string }, context, info) => {
      hintOrderCache(context, info);
      return context.store.findOwned(requireId(id, 'id'), requireUser(context));
    },
  },
  Mutation: {
    createOrder: async (_parent, { input }: { input: { name: string; productIds: string[] } }, context) => {
      const userId = requireUser(context);
      const name = requireName(input.name, 'name');
      if (input.productIds.length > MAX_PRODUCTS_PER_ORDER) {
        throw new AppError('BAD_USER_INPUT', `An order holds at most ${MAX_PRODUCTS_PER_ORDER} products`, { field: 'productIds' });
      }
      const productIds = input.productIds.map((id) => requireId(id, 'productIds'));
      await requireProductsExist(context.products, productIds);
      return context.store.create(name, userId, productIds);
    },
    addProductToOrder: async (_parent, args: { orderId: string; productId: string }, context) => {
      const orderId = requireId(args.orderId, 'orderId');
      const productId = requireId(args.productId, 'productId');
      const order = await context.store.findOwned(orderId, requireUser(context));
      if (!order) throw new AppError('ORDER_NOT_FOUND', `No order with id ${orderId}`);
      await requireProductsExist(context.products, [productId]);
      return context.store.addLine(order, productId);
    },
  },
  Order: {
    // Entity lookups take the type's schema hint; no subgraph references orders today.
    __resolveReference: (reference: { id: unknown }, context: OrderContext) => {
      const id = toDatabaseId(reference.id);
      return id === undefined ? null : context.store.findOwned(id, requireUser(context));
    },
    productIds: (order: OrderView) => order.productIds,
    products: (order: OrderView) => order.productIds.map((id) => ({ __typename: 'Product', id })),
  },
};
