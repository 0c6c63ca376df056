import { isAbsolute, join, resolve } from 'node:path';
import type { EnvReader } from '../config';

export type DatabaseSettings =
  | { readonly kind: 'sqlite'; readonly file: string }
  | { readonly kind: 'mysql'; readonly url: string; readonly poolSize: number };

/** Where the embedded defaults (SQLite file, generated JWT and subgraph secrets) live. `DATA_DIR`, @default "./data" */
export function readDataDir(env: EnvReader): string {
  const dir = env.string('DATA_DIR', 'data');
  return isAbsolute(dir) ? dir : resolve(process.cwd(), dir);
}

/**
 * `DATABASE_URL=mysql://user:pass@host:3306/db` selects MySQL/MariaDB through mysql2, and
 * `sqlite:path/to/file.sqlite` another SQLite file; unset, the embedded default is one SQLite file
 * in the data directory, shared by every process (WAL mode).
 * `DATABASE_POOL_SIZE` (@default 10) bounds each process's MySQL connections.
 */
export function readDatabaseSettings(env: EnvReader, dataDir: string): DatabaseSettings {
  const url = env.optionalString('DATABASE_URL');
  const poolSize = env.int('DATABASE_POOL_SIZE', 10, { min: 1, max: 200 });
  if (url === undefined) return { kind: 'sqlite', file: join(dataDir, 'federation.sqlite') };
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length).replace(/^\/\//, '');
    return { kind: 'sqlite', file: isAbsolute(file) ? file : resolve(process.cwd(), file) };
  }
  if (!/^(mysql|mariadb):\/\/[^/]+\/\w+/.test(url)) {
    env.problem('DATABASE_URL must look like mysql://user:password@host:3306/database or sqlite:path/to/file.sqlite');
  }
  return { kind: 'mysql', url: url.replace(/^mariadb:/, 'mysql:'), poolSize };
}

/** The settings without credentials, for logs. */
export function describeDatabase(settings: DatabaseSettings): string {
  if (settings.kind === 'sqlite') return `sqlite ${settings.file}`;
  const url = new URL(settings.url);
  return `mysql ${url.host}${url.pathname}`;
}
