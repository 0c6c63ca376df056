/**
 * The id the database gave the row an INSERT run through `EntityManager.query` added:
 * better-sqlite3's `lastInsertRowid` (what TypeORM's SQLite runner returns for a statement that
 * reads nothing), or the `insertId` of MySQL's result header. `table` names the INSERT in the
 * error thrown when neither is a row id.
 */
export function insertedId(raw: unknown, table: string): number {
  const id = typeof raw === 'object' && raw !== null && 'insertId' in raw ? (raw as { insertId: unknown }).insertId : raw;
  const value = Number(id);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`the INSERT into ${table} gave no row id (${String(id)})`);
  return value;
}
