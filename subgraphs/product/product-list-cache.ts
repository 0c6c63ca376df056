import type { Repository } from 'typeorm';
import type { CacheStore } from '../../shared/cache-store';
import type { Product } from './entities/product';

export type ProductSummary = Pick<Product, 'id' | 'name' | 'supplyPrice'>;

/** One page of the product list: what a list read asks for, and so what its cached copy is keyed by. */
export interface ProductPage {
  /** At most this many products; all of them when undefined. */
  limit: number | undefined;
  /** Only products with a greater id; 0 for the first page. */
  afterId: number;
  /** Only products whose name contains this text, ignoring case; every product when empty or undefined. */
  nameContains?: string;
}
export type ListCacheStatus = 'HIT' | 'MISS';

/**
 * Caches product list pages under the table's current version: its row count and highest id.
 * Products are only ever added, so any addition, through any instance, changes the version and
 * the very next read builds a fresh page; no invalidation message has to reach other instances,
 * which is what lets each instance keep its own in-memory store by default (or share Redis). The
 * version costs one index-only query; the page it saves grows with the list.
 */
export class ProductListCache {
  constructor(
    private readonly products: Repository<Product>,
    private readonly store: CacheStore,
    private readonly ttlSeconds: number,
  ) {}

  async page({ limit, afterId, nameContains }: ProductPage, load: () => Promise<Product[]>): Promise<{ products: ProductSummary[]; status: ListCacheStatus }> {
    const version = await this.version();
    // The filter goes last and JSON-quoted, so no filter text can make one page's key another's.
    const key = `products:${version}:${limit ?? 'all'}:${afterId}:${JSON.stringify(nameContains || '')}`;
    const cached = await this.store.get(key);
    if (cached !== undefined) return { products: JSON.parse(cached) as ProductSummary[], status: 'HIT' };
    const products = (await load()).map(({ id, name, supplyPrice }) => ({ id, name, supplyPrice }));
    // A version read before a concurrent insert is never reused once the insert lands, so storing late is safe.
    await this.store.set(key, JSON.stringify(products), this.ttlSeconds);
    return { products, status: 'MISS' };
  }

  private async version(): Promise<string> {
    const [row] = await this.products
      .createQueryBuilder('product')
      .select('COUNT(*)', 'count')
      .addSelect('MAX(product.id)', 'maxId')
      .getRawMany<{ count: number | string; maxId: number | string | null }>();
    return `${row?.count ?? 0}.${row?.maxId ?? 0}`;
  }
}
