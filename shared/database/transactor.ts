import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource, EntityManager } from 'typeorm';
import { isTransientConflict } from './failures';

/** Runs `work` in one transaction. `work` may run more than once: it must not act outside the transaction. */
export type Transactor = <T>(work: (manager: EntityManager) => Promise<T>) => Promise<T>;

/** Runs of one transaction that keeps losing lock conflicts before its error is let through. */
const MAX_ATTEMPTS = 4;
/** Pause before the second run, in ms; doubled before each further one, plus up to as much again at random. */
const FIRST_PAUSE_MS = 10;

/**
 * Runs a transaction again when it lost a lock conflict (a MySQL deadlock or lock wait timeout, a
 * stale SQLite snapshot): it was rolled back whole, so nothing of it was written, and the next
 * run usually goes through. The pauses are short and random, so two transactions that deadlocked
 * do not meet again at once. Past MAX_ATTEMPTS the conflict is answered as DATABASE_UNAVAILABLE.
 */
async function withRetries<T>(transaction: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await transaction();
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS || !isTransientConflict(error)) throw error;
      const pause = FIRST_PAUSE_MS * 2 ** (attempt - 1);
      await sleep(pause + Math.random() * pause);
    }
  }
}

/**
 * Runs writes in transactions, each retried after a lost lock conflict. MySQL gives each
 * transaction its own pooled connection. TypeORM's SQLite driver shares one connection per
 * process, so there two overlapping transactions would interleave (one's rollback undoing the
 * other's insert): writes are queued one at a time in the process, and SQLite's file lock (with
 * the busy timeout) orders them across processes.
 */
export function createTransactor(dataSource: DataSource): Transactor {
  const transaction: Transactor = (work) => withRetries(() => dataSource.transaction(work));
  if (dataSource.options.type !== 'better-sqlite3') return transaction;
  let tail: Promise<unknown> = Promise.resolve();
  return (work) => {
    const run = tail.then(() => transaction(work));
    tail = run.catch(() => undefined);
    return run;
  };
}
