import { readCacheSettings, type CacheSettings } from '../../shared/cache-store';
import { EnvReader, readHttpSettings, type Env, type HttpSettings } from '../../shared/config';
import { readDatabaseSettings, readDataDir, type DatabaseSettings } from '../../shared/database/config';
import { readSubgraphProofSettings, type SubgraphProofSettings } from '../../shared/subgraph-proof';

export interface ProductConfig {
  /** `HOST` @default "127.0.0.1" (subgraphs are reached through the gateway); `PORT` @default 19093; `METRICS_PORT` @default 19193 */
  http: HttpSettings;
  database: DatabaseSettings;
  /** The list cache's store: `REDIS_URL` (shared by every instance), else in-memory per instance. */
  cache: CacheSettings;
  /** Lifetime of a cached list page, in seconds; 0 disables. `PRODUCT_LIST_CACHE_SECONDS`, @default 60 */
  listCacheSeconds: number;
  /** The key that checks the gateway's proof on every request (docs/hardening.md#subgraph-trust). */
  subgraphProof: SubgraphProofSettings;
}

/** Reads and validates the product subgraph's settings once; run a second instance with `PORT=19094`. */
export function loadProductConfig(env: Env = process.env): Readonly<ProductConfig> {
  const reader = new EnvReader(env);
  const dataDir = readDataDir(reader);
  return reader.finish({
    http: readHttpSettings(reader, { host: '127.0.0.1', port: 19093, metricsPort: 19193 }),
    database: readDatabaseSettings(reader, dataDir),
    cache: readCacheSettings(reader),
    listCacheSeconds: reader.int('PRODUCT_LIST_CACHE_SECONDS', 60, { min: 0, max: 86_400 }),
    subgraphProof: readSubgraphProofSettings(reader, dataDir),
  });
}
