/** The character that escapes `%`, `_` and itself in LIKE patterns: one that needs no quoting in either dialect's SQL. */
const LIKE_ESCAPE = '!';

/** The SQLite function that lower-cases text as JavaScript does; SQLite's own `lower()` knows ASCII only. */
const SQLITE_LOWER = 'lower_unicode';

/**
 * Adds the SQL functions `containsIgnoringCase` needs to a better-sqlite3 connection (TypeORM's
 * `prepareDatabase` hook). Deterministic, so SQLite may evaluate it once per distinct value.
 */
export function registerSqliteTextFunctions(db: { function(name: string, options: { deterministic: boolean }, fn: (value: unknown) => unknown): unknown }): void {
  db.function(SQLITE_LOWER, { deterministic: true }, (value) => (typeof value === 'string' ? value.toLowerCase() : value));
}

/** A LIKE pattern matching any text that contains `text` literally: its `%`, `_` and escape characters are escaped. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[!%_]/g, (character) => `${LIKE_ESCAPE}${character}`)}%`;
}

/**
 * A condition that is true when `column` contains the LIKE pattern in `:parameter` (see
 * `containsPattern`), ignoring case. Both sides are lower-cased by the same database, so each is
 * consistent with itself: SQLite with JavaScript's Unicode mapping, MySQL/MariaDB with its
 * collation's. MySQL then compares them byte for byte (`utf8mb4_bin`), not by the column's
 * collation, which would also equate accented and plain letters where SQLite does not.
 */
export function containsIgnoringCase(databaseType: string, column: string, parameter: string): string {
  if (databaseType === 'better-sqlite3') return `${SQLITE_LOWER}(${column}) LIKE ${SQLITE_LOWER}(:${parameter}) ESCAPE '${LIKE_ESCAPE}'`;
  return `LOWER(${column}) LIKE LOWER(:${parameter}) COLLATE utf8mb4_bin ESCAPE '${LIKE_ESCAPE}'`;
}
