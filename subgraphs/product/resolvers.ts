import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import type DataLoader from 'dataloader';
import { AppError } from '../../shared/errors';
import { MAX_ID, MAX_NAME_LENGTH, requireId, requireName, toDatabaseId } from '../../shared/input';
import type { ProductSummary } from './product-list-cache';
import type { ProductStore } from './product-store';

export interface ProductContext {
  store: ProductStore;
  /** Batches every product lookup of one request, including the gateway's `_entities` calls. */
  productById: DataLoader<number, ProductSummary | null>;
  /** Whether the list cache served this request, reported as the `X-Cache` response header. */
  listCache: { status?: 'HIT' | 'MISS' };
}

const MAX_PAGE_SIZE = 1000;

export const resolvers: GraphQLResolverMap<ProductContext> = {
  Query: {
    product: (_parent, { id }: { id: string }, { productById }) => productById.load(requireId(id, 'id')),
    products: async (_parent, { first, after, nameContains }: { first?: number | null; after?: string | null; nameContains?: string | null }, { store, listCache }) => {
      if (first != null && (first < 1 || first > MAX_PAGE_SIZE)) {
        throw new AppError('BAD_USER_INPUT', `first must be from 1 to ${MAX_PAGE_SIZE}`, { field: 'first' });
      }
      // No name is longer, so a longer filter could match nothing: it is a mistake, said as one.
      if (nameContains != null && [...nameContains].length > MAX_NAME_LENGTH) {
        throw new AppError('BAD_USER_INPUT', `nameContains must be at most ${MAX_NAME_LENGTH} characters`, { field: 'nameContains' });
      }
      const page = await store.list({
        limit: first ?? undefined,
        afterId: after == null ? 0 : requireId(after, 'after'),
        nameContains: nameContains ?? undefined,
      });
      listCache.status = page.status;
      return page.products;
    },
  },
  Mutation: {
    createProduct: (_parent, { input }: { input: { name: string; supplyPrice: number } }, { store }) => {
      const name = requireName(input.name, 'name');
      if (input.supplyPrice < 0) {
        throw new AppError('BAD_USER_INPUT', `supplyPrice must be from 0 to ${MAX_ID}`, { field: 'supplyPrice' });
      }
      return store.create(name, input.supplyPrice);
    },
  },
  Product: {
    __resolveReference: (reference: { id: unknown }, { productById }: ProductContext) => {
      const id = toDatabaseId(reference.id);
      return id === undefined ? null : productById.load(id);
    },
  },
};
