/**
 * What a database error means for the request that met it: the database cannot be used right now
 * (503 DATABASE_UNAVAILABLE, never a 500), or a transaction lost a lock conflict and may simply be
 * run again. Everything else is a bug and stays an internal error.
 */

/** Driver error codes meaning "the database cannot be reached or used right now", not "the query is wrong". */
const UNAVAILABLE_CODES = new Set([
  // The socket to MySQL: reset, refused, broken, timed out, or the host cannot be found.
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  // mysql2: the connection was lost, a command was sent on a dead one, or the server stopped answering.
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
  // The server refuses or drops connections: too many, shutting down, killed, or read-only for maintenance.
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_OPTION_PREVENTS_STATEMENT',
  'ER_CLIENT_INTERACTION_TIMEOUT',
  // Lock conflicts that outlasted the retries (see TRANSIENT_CONFLICT_CODES).
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
]);

/** SQLite: locked by another process past the busy timeout, or the file cannot be opened, read or written. */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY)/;

/** mysql2's pool errors, which carry no code: closed, or no connection to be had. */
const POOL_MESSAGES = new Set(['Pool is closed.', 'No connections available.', 'Queue limit reached.']);

/**
 * Conflicts after which the server has rolled the transaction back (a deadlock victim) or the
 * transactor does (a lock wait timeout, a stale SQLite snapshot): running it again is safe.
 */
const TRANSIENT_CONFLICT_CODES = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'SQLITE_BUSY_SNAPSHOT']);

interface DriverError {
  code?: unknown;
  fatal?: unknown;
  message?: unknown;
}

/**
 * The driver's own error inside what reached us: TypeORM wraps it as `driverError` (and copies its
 * code), graphql-js wraps a thrown non-Error (mysql2's pool rejects with plain objects) as
 * `thrownValue`, and GraphQL errors hold theirs as `originalError`.
 */
function* layersOf(error: unknown): Generator<DriverError> {
  let layer = error;
  for (let depth = 0; depth < 5 && layer !== null && typeof layer === 'object'; depth += 1) {
    yield layer as DriverError;
    const { driverError, thrownValue, originalError, cause } = layer as Record<string, unknown>;
    layer = driverError ?? thrownValue ?? originalError ?? cause;
  }
}

/** True when `error` says the database cannot be used right now. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (const { code, fatal, message } of layersOf(error)) {
    // mysql2 marks every error that ended its connection as fatal, whatever its code.
    if (fatal === true) return true;
    if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || SQLITE_UNAVAILABLE.test(code))) return true;
    if (typeof message === 'string' && POOL_MESSAGES.has(message)) return true;
  }
  return false;
}

/** True when the transaction that failed with `error` was rolled back by a lock conflict and may run again. */
export function isTransientConflict(error: unknown): boolean {
  for (const { code } of layersOf(error)) if (typeof code === 'string' && TRANSIENT_CONFLICT_CODES.has(code)) return true;
  return false;
}
