import DataLoader from 'dataloader';
import type { DataSource, Repository } from 'typeorm';
import { insertedId } from '../../shared/database/inserted-id';
import { createTransactor, type Transactor } from '../../shared/database/transactor';
import type { CacheStore } from '../../shared/cache-store';
import { containsIgnoringCase, containsPattern } from '../../shared/database/text-match';
import { ProductEntity, type Product } from './entities/product';
import { ProductListCache, type ListCacheStatus, type ProductPage, type ProductSummary } from './product-list-cache';

const PRODUCT_INSERT_SQL = 'INSERT INTO products (name, supply_price) VALUES (?, ?)';

/** Product reads and writes; the only module that touches the `products` table. */
export class ProductStore {
  private readonly products: Repository<Product>;
  private readonly write: Transactor;
  private readonly listCache: ProductListCache | undefined;
  private readonly databaseType: string;
  private readonly dataSource: DataSource;

  /** With `listCache`, list pages are cached (see ProductListCache); ttlSeconds 0 turns that off. */
  constructor(dataSource: DataSource, listCache?: { store: CacheStore; ttlSeconds: number }) {
    this.dataSource = dataSource;
    this.products = dataSource.getRepository(ProductEntity);
    this.databaseType = dataSource.options.type;
    this.write = createTransactor(dataSource);
    this.listCache = listCache && listCache.ttlSeconds > 0 ? new ProductListCache(this.products, listCache.store, listCache.ttlSeconds) : undefined;
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

  /**
   * One INSERT with placeholders, as the order subgraph writes (subgraphs/order/order-store.ts):
   * TypeORM's `save` then reloaded `created_at`, which nothing reads, with the new id written into
   * the SELECT's text, a statement no other write could reuse, pushing the reads' prepared ones
   * out of the driver's cache. `created_at` takes its column default (CURRENT_TIMESTAMP).
   */
  create(name: string, supplyPrice: number): Promise<ProductSummary> {
    return this.write(async (manager) => ({ id: insertedId(await manager.query(PRODUCT_INSERT_SQL, [name, supplyPrice]), 'products'), name, supplyPrice }));
  }

  /**
   * A per-request loader: every product reference in one GraphQL request becomes one `IN (…)`
   * query, written as SQL (productsByIdSql) rather than built by TypeORM's find methods, which
   * cost more per call than SQLite running the query (bench/README.md#where-the-time-went).
   */
  loader(): DataLoader<number, ProductSummary | null> {
    return new DataLoader(async (ids) => {
      const rows = (await this.dataSource.query(productsByIdSql(ids.length), [...ids])) as ProductRow[];
      const byId = new Map(rows.map((row) => [row.id, { id: row.id, name: row.name, supplyPrice: row.supply_price }]));
      return ids.map((id) => byId.get(id) ?? null);
    });
  }
}

interface ProductRow {
  id: number;
  name: string;
  supply_price: number;
}

/**
 * `count` products by id: plain identifiers and `?` placeholders, the same text for SQLite and
 * MySQL, and the same text for the same count, so the driver reuses its prepared statement.
 */
function productsByIdSql(count: number): string {
  return `SELECT id, name, supply_price FROM products WHERE id IN (${Array.from({ length: count }, () => '?').join(', ')})`;
}
