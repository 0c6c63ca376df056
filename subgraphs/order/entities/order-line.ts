import { EntitySchema } from 'typeorm';

/** One product in an order. Lines are only ever inserted, so concurrent additions never collide. */
export interface OrderLine {
  id: number;
  orderId: number;
  productId: number;
}

export const OrderLineEntity = new EntitySchema<OrderLine>({
  name: 'OrderLine',
  tableName: 'order_lines',
  columns: {
    id: { type: 'integer', primary: true, generated: 'increment' },
    orderId: { name: 'order_id', type: 'integer' },
    productId: { name: 'product_id', type: 'integer' },
  },
});
