import type BetterSqlite3 from 'better-sqlite3';

/** The first Node major on which better-sqlite3 13 (Node-API) works; it crashes on Node 20. */
const NAPI_FROM_NODE_MAJOR = 22;

/**
 * The better-sqlite3 module for this Node. Version 12 (the one TypeORM declares) is built against
 * the running Node's headers, and on Node 24.19+ its Statement destructor aborts the process during
 * garbage collection (ObjectWrap cleanup hooks); version 13 (Node-API, installed as
 * `better-sqlite3-napi`) fixes that but needs Node 22+. So: 13 where it runs, 12 on Node 20.
 */
export function loadSqliteModule(): typeof BetterSqlite3 {
  const major = Number(process.versions.node.split('.')[0]);
  return major >= NAPI_FROM_NODE_MAJOR ? require('better-sqlite3-napi') : require('better-sqlite3');
}
