import DataLoader from 'dataloader';
import { In, type DataSource, type Repository } from 'typeorm';
import { createTransactor, type Transactor } from '../../shared/database/transactor';
import type { CacheStore } from '../../shared/cache-store';
import { containsIgnoringCase, containsPattern } from '../../shared/database/text-match';
import { ProductEntity, type Product } from './entities/product';
import { ProductListCache, type ListCacheStatus, type ProductPage, type ProductSummary } from './product-list-cache';

/** Product reads and writes; the only module that touches the `products` table. */
export class ProductStore {
  private readonly products: Repository<Product>;
  private readonly write: Transactor;
  private readonly listCache: ProductListCache | undefined;
  private readonly databaseType: string;

  /** With `listCache`, list pages are cached (see ProductListCache); ttlSeconds 0 turns that off. */
  constructor(dataSource: DataSource, listCache?: { store: CacheStore; ttlSeconds: number }) {
    this.products = dataSource.getRepository(ProductEntity);
    this.databaseType = dataSource.options.type;
    this.write = createTransactor(dataSource);
    this.listCache = listCache && listCache.ttlSeconds > 0 ? new ProductListCache(this.products, listCache.store, listCache.ttlSeconds) : undefined;
  }

  findById(id: number): Promise<Product | null> {
    return this.products.findOneBy({ id });
  }

  /**
   * Every product after `afterId` in id order whose name contains `nameContains` (ignoring case;
   * see `containsIgnoringCase`), at most `limit` of them when given, and whether the cache served it.
   */
  async list(page: ProductPage): Promise<{ products: ProductSummary[]; status?: ListCacheStatus }> {
    const load = () => this.load(page);
    return this.listCache ? this.listCache.page(page, load) : { products: await load() };
  }

  private load({ limit, afterId, nameContains }: ProductPage): Promise<Product[]> {
    const query = this.products.createQueryBuilder('product').orderBy('product.id', 'ASC');
    if (afterId > 0) query.andWhere('product.id > :afterId', { afterId });
    if (nameContains) {
      query.andWhere(containsIgnoringCase(this.databaseType, 'product.name', 'pattern'), { pattern: containsPattern(nameContains) });
    }
    if (limit !== undefined) query.limit(limit);
    return query.getMany();
  }

  create(name: string, supplyPrice: number): Promise<Product> {
    return this.write((manager) => manager.save(ProductEntity, manager.create(ProductEntity, { name, supplyPrice })));
  }

  /** A per-request loader: every product reference in one GraphQL request becomes one `IN (…)` query. */
  loader(): DataLoader<number, Product | null> {
    return new DataLoader(async (ids) => {
      const rows = await this.products.findBy({ id: In([...ids]) });
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => byId.get(id) ?? null);
    });
  }
}
