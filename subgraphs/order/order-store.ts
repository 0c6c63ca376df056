import type { DataSource, EntityManager } from 'typeorm';
import { insertedId } from '../../shared/database/inserted-id';
import { createTransactor, type Transactor } from '../../shared/database/transactor';
import type { Order } from './entities/order';

/** An order with its product ids, in the order the lines were added. */
export interface OrderView extends Omit<Order, 'createdAt'> {
  productIds: number[];
}

/**
 * An order and its lines in one statement, lines in the order they were added; one row with a
 * null product id for an order without lines. Written once as SQL (plain identifiers, `?`
 * placeholders: the same text for SQLite and MySQL), so the driver reuses its prepared statement:
 * TypeORM's find methods built and rewrote the SQL of their two queries on every read, which cost
 * the order subgraph more than SQLite running them (bench/README.md#where-the-time-went).
 */
const OWNED_ORDER_SQL =
  'SELECT o.id AS id, o.name AS name, o.user_id AS user_id, l.product_id AS product_id FROM orders o ' +
  'LEFT JOIN order_lines l ON l.order_id = o.id WHERE o.id = ? AND o.user_id = ? ORDER BY l.id ASC';

const LINES_SQL = 'SELECT product_id FROM order_lines WHERE order_id = ? ORDER BY id ASC';

/**
 * The writes, as SQL with placeholders for the same reason. TypeORM's `save` and `insert` wrote
 * each order's id and product ids into the text of their statements (the lines' INSERT, and a
 * SELECT reloading `created_at` after the order's INSERT, which nothing reads): on SQLite every
 * write prepared statements no other write could reuse, and they pushed the fixed ones (BEGIN, the
 * order's INSERT, COMMIT) out of the driver's cache of 100, so those were prepared again too; on
 * MySQL the reload was one more query a write.
 * `created_at` takes its column default (CURRENT_TIMESTAMP), as TypeORM's `datetime('now')` did.
 */
const ORDER_INSERT_SQL = 'INSERT INTO orders (name, user_id) VALUES (?, ?)';

/** One INSERT of `count` lines: one text per count, reused by every write of that many products. */
function linesInsertSql(count: number): string {
  return `INSERT INTO order_lines (order_id, product_id) VALUES ${Array.from({ length: count }, () => '(?, ?)').join(', ')}`;
}

/** Inserts one line a product id, in the order given, in one statement. */
async function insertLines(manager: EntityManager, orderId: number, productIds: readonly number[]): Promise<void> {
  if (productIds.length === 0) return;
  await manager.query(linesInsertSql(productIds.length), productIds.flatMap((productId) => [orderId, productId]));
}

interface OwnedOrderRow {
  id: number;
  name: string;
  user_id: string;
  product_id: number | null;
}

/** Order reads and writes; the only module that touches `orders` and `order_lines`. */
export class OrderStore {
  private readonly write: Transactor;

  constructor(private readonly dataSource: DataSource) {
    this.write = createTransactor(dataSource);
  }

  /** The order if it exists and belongs to `userId`; another user's order is as absent as a missing one. */
  async findOwned(id: number, userId: string): Promise<OrderView | null> {
    const rows = (await this.dataSource.query(OWNED_ORDER_SQL, [id, userId])) as OwnedOrderRow[];
    const [first] = rows;
    if (!first) return null;
    const productIds = first.product_id === null ? [] : rows.map((row) => row.product_id!);
    return { id: first.id, name: first.name, userId: first.user_id, productIds };
  }

  /** Inserts the order and its lines in one transaction: all of it is written, or none. */
  create(name: string, userId: string, productIds: readonly number[]): Promise<OrderView> {
    return this.write(async (manager) => {
      const id = insertedId(await manager.query(ORDER_INSERT_SQL, [name, userId]), 'orders');
      await insertLines(manager, id, productIds);
      return { id, name, userId, productIds: [...productIds] };
    });
  }

  /**
   * Appends one line a product id, in the order given, with one insert in one transaction: all of
   * them or none. Inserts only, so concurrent additions to one order never overwrite each other.
   */
  async addLines(order: OrderView, productIds: readonly number[]): Promise<OrderView> {
    await this.write((manager) => insertLines(manager, order.id, productIds));
    const lines = (await this.dataSource.query(LINES_SQL, [order.id])) as { product_id: number }[];
    return { id: order.id, name: order.name, userId: order.userId, productIds: lines.map((line) => line.product_id) };
  }
}
