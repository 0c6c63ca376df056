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

/** The ids of a product list, each checked, with at least `min` and at most MAX_PRODUCTS_PER_ORDER of them. */
function requireProductIds(ids: readonly string[], field: string, min: number): number[] {
  if (ids.length > MAX_PRODUCTS_PER_ORDER) {
    throw new AppError('BAD_USER_INPUT', `${field} holds at most ${MAX_PRODUCTS_PER_ORDER} product ids`, { field });
  }
  if (ids.length < min) throw new AppError('BAD_USER_INPUT', `${field} must hold at least ${min} product id`, { field });
  return ids.map((id) => requireId(id, field));
}

async function requireProductsExist(products: ProductDirectory, ids: readonly number[]): Promise<void> {
  const missing = await products.missing(ids);
  if (missing.length > 0) {
    throw new AppError('UNKNOWN_PRODUCTS', `Unknown product ids: ${missing.join(', ')}`, { productIds: missing });
  }
}

/** Appends the products to the caller's order once the order is found and every id is known; else writes nothing. */
async function addProducts(context: OrderContext, orderId: number, productIds: readonly number[]): Promise<OrderView> {
  const order = await context.store.findOwned(orderId, requireUser(context));
  if (!order) throw new AppError('ORDER_NOT_FOUND', `No order with id ${orderId}`);
  await requireProductsExist(context.products, productIds);
  return context.store.addLines(order, productIds);
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
      const productIds = requireProductIds(input.productIds, 'productIds', 0);
      await requireProductsExist(context.products, productIds);
      return context.store.create(name, userId, productIds);
    },
    addProductToOrder: (_parent, args: { orderId: string; productId: string }, context) =>
      addProducts(context, requireId(args.orderId, 'orderId'), [requireId(args.productId, 'productId')]),
    addProductsToOrder: (_parent, args: { orderId: string; productIds: string[] }, context) =>
      addProducts(context, requireId(args.orderId, 'orderId'), requireProductIds(args.productIds, 'productIds', 1)),
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
