import { describeWithMysql } from './fixtures/servers';
import mysql from 'mysql2/promise';
import type { DataSource, EntityManager } from 'typeorm';
import { connectWithCurrentSchema, createDataSource } from '../shared/database/data-source';
import { isDatabaseUnavailable, isTransientConflict } from '../shared/database/failures';
import { loadSqliteModule } from '../shared/database/sqlite-module';
import { createTransactor } from '../shared/database/transactor';
import { createTestDatabase, type TestDatabase } from './fixtures/database';
import { freePort } from './fixtures/processes';
import { startStack } from './fixtures/stack';
import { startTcpProxy } from './fixtures/tcp-proxy';

/**
 * Real failures from the real drivers, each classified as the request that meets it will be
 * answered: DATABASE_UNAVAILABLE (503) for a database that cannot be used now, a retry for a lost
 * lock conflict, an internal error for anything else. MySQL's part needs TEST_DATABASE_URL.
 */
const mysqlUrl = process.env.TEST_DATABASE_URL;
const describeSqlite = mysqlUrl ? describe.skip : describe;

/** What `run` rejected with; fails the test when it resolved. */
async function failureOf(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describeSqlite(`SQLite${mysqlUrl ? ' (skipped: TEST_DATABASE_URL selects MySQL)' : ''}`, () => {
  let db: TestDatabase;
  beforeAll(async () => (db = await createTestDatabase()));
  afterAll(() => db.drop());

  test('a write while another process holds the lock is SQLITE_BUSY: unavailable, not a conflict to retry (the busy timeout already waited)', async () => {
    const Database = loadSqliteModule();
    const file = db.url.slice('sqlite:'.length);
    const holder = new Database(file);
    const writer = new Database(file, { timeout: 0 });
    holder.exec('BEGIN IMMEDIATE');
    try {
      const error = await failureOf(async () => writer.prepare("INSERT INTO products (name, supply_price) VALUES ('x', 1)").run());
      expect((error as { code: string }).code).toBe('SQLITE_BUSY');
      expect([isDatabaseUnavailable(error), isTransientConflict(error)]).toEqual([true, false]);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
      writer.close();
    }
  });

  test('a wrong query or a broken constraint is not an outage', async () => {
    const Database = loadSqliteModule();
    const connection = new Database(db.url.slice('sqlite:'.length));
    try {
      const syntax = await failureOf(async () => connection.prepare('SELEC 1').run());
      const constraint = await failureOf(async () => connection.prepare('INSERT INTO products (name) VALUES (NULL)').run());
      expect([isDatabaseUnavailable(syntax), isDatabaseUnavailable(constraint)]).toEqual([false, false]);
    } finally {
      connection.close();
    }
  });

  test('through the stack: a product write held up past the busy timeout by another process is a 503 DATABASE_UNAVAILABLE and writes nothing', async () => {
    const stack = await startStack({ productInstances: 1 });
    const holder = new (loadSqliteModule())(stack.db.url.slice('sqlite:'.length));
    try {
      const token = await stack.signIn('busy');
      holder.exec('BEGIN EXCLUSIVE');
      const response = await stack.gateway.post('/products', { name: 'held up', supply_price: 1 }, { token });
      expect([response.status, response.body.error?.code]).toEqual([503, 'DATABASE_UNAVAILABLE']);
      holder.exec('ROLLBACK');
      expect(await stack.db.query("SELECT id FROM products WHERE name = 'held up'")).toEqual([]);
      expect((await stack.gateway.post('/products', { name: 'after', supply_price: 1 }, { token })).status).toBe(200);
    } finally {
      if (holder.inTransaction) holder.exec('ROLLBACK');
      holder.close();
      await stack.close();
    }
  }, 30_000);
});

describeWithMysql('MySQL', () => {
  let db: TestDatabase;
  beforeAll(async () => (db = await createTestDatabase()));
  afterAll(() => db.drop());

  test('a refused connection is unavailable', async () => {
    const url = new URL(db.url);
    url.port = String(await freePort());
    expect(isDatabaseUnavailable(await failureOf(() => mysql.createConnection(url.toString())))).toBe(true);
  });

  test('a connection reset mid-query, through TypeORM, and the pool afterwards are unavailable', async () => {
    const proxy = await startTcpProxy(Number(new URL(db.url).port || 3306));
    const url = new URL(db.url);
    url.host = `127.0.0.1:${proxy.port}`;
    const dataSource = await connectWithCurrentSchema(createDataSource({ kind: 'mysql', url: url.toString(), poolSize: 2 }, []));
    try {
      const query = failureOf(() => dataSource.query('SELECT SLEEP(2)'));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(proxy.kill()).toBe(1);
      const reset = await query;
      expect((reset as Error).constructor.name).toBe('QueryFailedError');
      expect(isDatabaseUnavailable(reset)).toBe(true);
      expect(isDatabaseUnavailable(await failureOf(() => dataSource.query('SELECT 1')))).toBe(true);
    } finally {
      await dataSource.destroy().catch(() => undefined);
      await proxy.close();
    }
  });

  test("mysql2's pool errors (no connection free, queue full, pool closed) are unavailable", async () => {
    const strict = mysql.createPool({ uri: db.url, connectionLimit: 1, waitForConnections: false });
    const queued = mysql.createPool({ uri: db.url, connectionLimit: 1, queueLimit: 1 });
    const held = [await strict.getConnection(), await queued.getConnection()];
    const waiting = queued.getConnection();
    try {
      expect(isDatabaseUnavailable(await failureOf(() => strict.getConnection()))).toBe(true);
      expect(isDatabaseUnavailable(await failureOf(() => queued.getConnection()))).toBe(true);
    } finally {
      for (const connection of held) connection.release();
      (await waiting).release();
      await Promise.all([strict.end(), queued.end()]);
    }
    expect(isDatabaseUnavailable(await failureOf(() => strict.query('SELECT 1')))).toBe(true);
  });

  test('a wrong query or a duplicate key is not an outage', async () => {
    const pool = mysql.createPool({ uri: db.url, connectionLimit: 1 });
    try {
      expect(isDatabaseUnavailable(await failureOf(() => pool.query('SELEC 1')))).toBe(false);
      expect(isDatabaseUnavailable(await failureOf(() => pool.query('INSERT INTO products (id, name, supply_price) VALUES (1, "a", 1), (1, "b", 1)')))).toBe(false);
    } finally {
      await pool.end();
    }
  });

  describe('the transactor runs a transaction again after a lost lock conflict', () => {
    let dataSource: DataSource;
    let ids: [number, number];
    beforeAll(async () => {
      dataSource = await connectWithCurrentSchema(createDataSource({ kind: 'mysql', url: db.url, poolSize: 4 }, []));
      const inserted = await dataSource.query("INSERT INTO products (name, supply_price) VALUES ('a', 1), ('b', 1)");
      ids = [inserted.insertId, inserted.insertId + 1];
    });
    afterAll(() => dataSource.destroy());

    const rename = (manager: EntityManager, id: number, name: string) => manager.query('UPDATE products SET name = ? WHERE id = ?', [name, id]);
    /** Resolves once `count` calls arrived; each call waits for all of them. */
    const barrier = (count: number) => {
      let arrived = 0;
      let open!: () => void;
      const opened = new Promise<void>((resolve) => (open = resolve));
      return () => {
        arrived += 1;
        if (arrived === count) open();
        return opened;
      };
    };

    test('a deadlock: InnoDB rolls one back, which runs again and succeeds; both changes are stored', async () => {
      const transaction = createTransactor(dataSource);
      const bothLocked = barrier(2);
      const runs = { first: 0, second: 0 };
      const crosswise = (key: keyof typeof runs, [a, b]: number[]) =>
        transaction(async (manager) => {
          runs[key] += 1;
          await rename(manager, a!, `${key}-${runs[key]}`);
          if (runs[key] === 1) await bothLocked();
          await rename(manager, b!, `${key}-${runs[key]}`);
          return runs[key];
        });
      const results = await Promise.all([crosswise('first', ids), crosswise('second', [ids[1], ids[0]])]);
      expect(results.sort()).toEqual([1, 2]);
      expect(runs.first + runs.second).toBe(3);
      const names = await dataSource.query('SELECT name FROM products WHERE id IN (?, ?)', ids);
      expect(new Set(names.map((row: { name: string }) => row.name)).size).toBe(1);
    });

    test('a lock wait timeout: the waiting transaction runs again once the lock is free', async () => {
      const transaction = createTransactor(dataSource);
      let holding!: () => void;
      const held = new Promise<void>((resolve) => (holding = resolve));
      const holder = transaction(async (manager) => {
        await rename(manager, ids[0], 'holder');
        holding();
        await new Promise((resolve) => setTimeout(resolve, 1500));
      });
      await held;
      let runs = 0;
      await transaction(async (manager) => {
        runs += 1;
        await manager.query('SET SESSION innodb_lock_wait_timeout = 1');
        await rename(manager, ids[0], 'waiter');
      });
      await holder;
      expect(runs).toBe(2);
      expect(await dataSource.query('SELECT name FROM products WHERE id = ?', [ids[0]])).toEqual([{ name: 'waiter' }]);
    });
  });
});
