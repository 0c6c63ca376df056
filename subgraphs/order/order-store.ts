import type { DataSource } from 'typeorm';
import { createTransactor, type Transactor } from '../../shared/database/transactor';
import { OrderEntity, type Order } from './entities/order';
import { OrderLineEntity } from './entities/order-line';

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
      const order = await manager.save(OrderEntity, manager.create(OrderEntity, { name, userId }));
      const lines = productIds.map((productId) => manager.create(OrderLineEntity, { orderId: order.id, productId }));
      if (lines.length > 0) await manager.insert(OrderLineEntity, lines);
      return { id: order.id, name: order.name, userId: order.userId, productIds: [...productIds] };
    });
  }

  /**
   * Appends one line a product id, in the order given, with one insert in one transaction: all of
   * them or none. Inserts only, so concurrent additions to one order never overwrite each other.
   */
  async addLines(order: OrderView, productIds: readonly number[]): Promise<OrderView> {
    await this.write((manager) => manager.insert(OrderLineEntity, productIds.map((productId) => ({ orderId: order.id, productId }))));
    const lines = (await this.dataSource.query(LINES_SQL, [order.id])) as { product_id: number }[];
    return { id: order.id, name: order.name, userId: order.userId, productIds: lines.map((line) => line.product_id) };
  }
}
