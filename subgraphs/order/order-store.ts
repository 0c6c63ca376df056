import type { DataSource, Repository } from 'typeorm';
import { createTransactor, type Transactor } from '../../shared/database/transactor';
import { OrderEntity, type Order } from './entities/order';
import { OrderLineEntity, type OrderLine } from './entities/order-line';

/** An order with its product ids, in the order the lines were added. */
export interface OrderView extends Order {
  productIds: number[];
}

/** Order reads and writes; the only module that touches `orders` and `order_lines`. */
export class OrderStore {
  private readonly orders: Repository<Order>;
  private readonly lines: Repository<OrderLine>;
  private readonly write: Transactor;

  constructor(dataSource: DataSource) {
    this.orders = dataSource.getRepository(OrderEntity);
    this.lines = dataSource.getRepository(OrderLineEntity);
    this.write = createTransactor(dataSource);
  }

  /** The order if it exists and belongs to `userId`; another user's order is as absent as a missing one. */
  async findOwned(id: number, userId: string): Promise<OrderView | null> {
    const order = await this.orders.findOneBy({ id, userId });
    return order && this.withLines(order);
  }

  /** Inserts the order and its lines in one transaction: all of it is written, or none. */
  create(name: string, userId: string, productIds: readonly number[]): Promise<OrderView> {
    return this.write(async (manager) => {
      const order = await manager.save(OrderEntity, manager.create(OrderEntity, { name, userId }));
      const lines = productIds.map((productId) => manager.create(OrderLineEntity, { orderId: order.id, productId }));
      if (lines.length > 0) await manager.insert(OrderLineEntity, lines);
      return { ...order, productIds: [...productIds] };
    });
  }

  /**
   * Appends one line a product id, in the order given, with one insert in one transaction: all of
   * them or none. Inserts only, so concurrent additions to one order never overwrite each other.
   */
  async addLines(order: Order, productIds: readonly number[]): Promise<OrderView> {
    await this.write((manager) => manager.insert(OrderLineEntity, productIds.map((productId) => ({ orderId: order.id, productId }))));
    return this.withLines(order);
  }

  private async withLines(order: Order): Promise<OrderView> {
    const lines = await this.lines.find({ where: { orderId: order.id }, order: { id: 'ASC' }, select: { productId: true } });
    return { ...order, productIds: lines.map((line) => line.productId) };
  }
}
