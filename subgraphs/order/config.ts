import { EnvReader, readHttpSettings, type Env, type HttpSettings } from '../../shared/config';
import { readDatabaseSettings, readDataDir, type DatabaseSettings } from '../../shared/database/config';
import { readSubgraphProofSettings, type SubgraphProofSettings } from '../../shared/subgraph-proof';

export interface OrderConfig {
  /** `HOST` @default "127.0.0.1"; `PORT` @default 19092; `METRICS_PORT` @default 19192 */
  http: HttpSettings;
  database: DatabaseSettings;
  /** Product subgraph instances the order service asks which product ids exist. `PRODUCT_URLS`, @default both local instances */
  productUrls: string[];
  /** Per-attempt timeout for those calls, in ms. `UPSTREAM_TIMEOUT_MS`, @default 10000 */
  upstreamTimeoutMs: number;
  /** Cache hint on order reads (private to the user), in seconds; 0 disables. `ORDER_CACHE_MAX_AGE_SECONDS`, @default 60 */
  orderCacheMaxAgeSeconds: number;
  /** The key that checks the gateway's proof, and signs the calls to the product subgraph (docs/hardening.md#subgraph-trust). */
  subgraphProof: SubgraphProofSettings;
}

export const DEFAULT_PRODUCT_URLS = ['http://127.0.0.1:19093/graphql', 'http://127.0.0.1:19094/graphql'];

export function loadOrderConfig(env: Env = process.env): Readonly<OrderConfig> {
  const reader = new EnvReader(env);
  const dataDir = readDataDir(reader);
  return reader.finish({
    http: readHttpSettings(reader, { host: '127.0.0.1', port: 19092, metricsPort: 19192 }),
    database: readDatabaseSettings(reader, dataDir),
    productUrls: reader.urlList('PRODUCT_URLS', DEFAULT_PRODUCT_URLS),
    upstreamTimeoutMs: reader.int('UPSTREAM_TIMEOUT_MS', 10_000, { min: 100, max: 300_000 }),
    orderCacheMaxAgeSeconds: reader.int('ORDER_CACHE_MAX_AGE_SECONDS', 60, { min: 0, max: 86_400 }),
    subgraphProof: readSubgraphProofSettings(reader, dataDir),
  });
}
