import { EnvReader, readHttpSettings, type Env, type HttpSettings } from '../../shared/config';
import { readDatabaseSettings, readDataDir, type DatabaseSettings } from '../../shared/database/config';

export interface ProductConfig {
  /** `HOST` @default "127.0.0.1" (subgraphs are reached through the gateway); `PORT` @default 19093 */
  http: HttpSettings;
  database: DatabaseSettings;
}

/** Reads and validates the product subgraph's settings once; run a second instance with `PORT=19094`. */
export function loadProductConfig(env: Env = process.env): Readonly<ProductConfig> {
  const reader = new EnvReader(env);
  const dataDir = readDataDir(reader);
  return reader.finish({
    http: readHttpSettings(reader, { host: '127.0.0.1', port: 19093 }),
    database: readDatabaseSettings(reader, dataDir),
  });
}
