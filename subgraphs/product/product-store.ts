import DataLoader from 'dataloader';
import { In, MoreThan, type DataSource, type Repository } from 'typeorm';
import { createTransactor, type Transactor } from '../../shared/database/transactor';
import { ProductEntity, type Product } from './entities/product';

/** Product reads and writes; the only module that touches the `products` table. */
export class ProductStore {
  private readonly products: Repository<Product>;
  private readonly write: Transactor;

  constructor(dataSource: DataSource) {
    this.products = dataSource.getRepository(ProductEntity);
    this.write = createTransactor(dataSource);
  }

  findById(id: number): Promise<Product | null> {
    return this.products.findOneBy({ id });
  }

  /** Every product after `afterId` in id order, at most `limit` of them when given. */
  list(limit: number | undefined, afterId = 0): Promise<Product[]> {
    return this.products.find({ where: afterId > 0 ? { id: MoreThan(afterId) } : {}, order: { id: 'ASC' }, take: limit });
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
