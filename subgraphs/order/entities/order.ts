import { EntitySchema } from 'typeorm';

export interface Order {
  id: number;
  name: string;
  /** The token subject of the user who created the order; only that user can see or change it. */
  userId: string;
  createdAt: Date;
}

export const OrderEntity = new EntitySchema<Order>({
  name: 'Order',
  tableName: 'orders',
  columns: {
    id: { type: 'integer', primary: true, generated: 'increment' },
    name: { type: 'varchar', length: 255 },
    userId: { name: 'user_id', type: 'varchar', length: 128 },
    createdAt: { name: 'created_at', type: 'datetime', createDate: true },
  },
});
