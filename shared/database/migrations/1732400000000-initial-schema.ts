import { Table, TableIndex, TableForeignKey, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Products, orders and order lines. An order's products are rows of `order_lines`, so concurrent
 * additions are independent inserts and cannot overwrite each other. `order_lines.product_id` has
 * no foreign key: products belong to the product service, which the order service asks instead.
 */
export class InitialSchema1732400000000 implements MigrationInterface {
  name = 'InitialSchema1732400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'products',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'name', type: 'varchar', length: '255' },
          { name: 'supply_price', type: 'integer' },
          { name: 'created_at', type: 'datetime', default: 'CURRENT_TIMESTAMP' },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'orders',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'name', type: 'varchar', length: '255' },
          { name: 'user_id', type: 'varchar', length: '128' },
          { name: 'created_at', type: 'datetime', default: 'CURRENT_TIMESTAMP' },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'order_lines',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'order_id', type: 'integer' },
          { name: 'product_id', type: 'integer' },
        ],
      }),
    );
    await queryRunner.createIndex('order_lines', new TableIndex({ name: 'idx_order_lines_order', columnNames: ['order_id', 'id'] }));
    await queryRunner.createForeignKey(
      'order_lines',
      new TableForeignKey({ columnNames: ['order_id'], referencedTableName: 'orders', referencedColumnNames: ['id'], onDelete: 'CASCADE' }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('order_lines');
    await queryRunner.dropTable('orders');
    await queryRunner.dropTable('products');
  }
}
