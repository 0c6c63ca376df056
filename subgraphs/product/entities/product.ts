import { EntitySchema } from 'typeorm';

export interface Product {
  id: number;
  name: string;
  supplyPrice: number;
  createdAt: Date;
}

export const ProductEntity = new EntitySchema<Product>({
  name: 'Product',
  tableName: 'products',
  columns: {
    id: { type: 'integer', primary: true, generated: 'increment' },
    name: { type: 'varchar', length: 255 },
    supplyPrice: { name: 'supply_price', type: 'integer' },
    createdAt: { name: 'created_at', type: 'datetime', createDate: true },
  },
});
