import type { DataSource, EntityManager } from 'typeorm';

export type Transactor = <T>(work: (manager: EntityManager) => Promise<T>) => Promise<T>;

/**
 * Runs writes in transactions. MySQL gives each transaction its own pooled connection. TypeORM's
 * SQLite driver shares one connection per process, so there two overlapping transactions would
 * interleave (one's rollback undoing the other's insert): writes are queued one at a time in the
 * process, and SQLite's file lock (with the busy timeout) orders them across processes.
 */
export function createTransactor(dataSource: DataSource): Transactor {
  if (dataSource.options.type !== 'better-sqlite3') return (work) => dataSource.transaction(work);
  let tail: Promise<unknown> = Promise.resolve();
  return (work) => {
    const run = tail.then(() => dataSource.transaction(work));
    tail = run.catch(() => undefined);
    return run;
  };
}
