import { loadGatewayConfig } from '../gateway/config';
import type { Env } from '../shared/config';
import { readMigrateSettings } from '../shared/database/migrate';
import { loadTracingSettings } from '../shared/tracing/config';
import { loadAuthConfig } from '../subgraphs/auth/config';
import { loadOrderConfig } from '../subgraphs/order/config';
import { loadProductConfig } from '../subgraphs/product/config';

export type ConfigLoader = (env: Env) => object;

/** One process's config module: where it is, the entry file that loads it, and the loader. */
export interface ConfigModule {
  file: string;
  /** The entry file that calls it (tracing: every long-running one, first). */
  entry: string;
  load: ConfigLoader;
}

/** Every process's settings, by process; tracing's are read by each long-running process too. */
export const CONFIG_LOADERS: Record<string, ConfigModule> = {
  gateway: { file: 'gateway/config.ts', entry: 'gateway/index.ts', load: loadGatewayConfig },
  auth: { file: 'subgraphs/auth/config.ts', entry: 'subgraphs/auth/index.ts', load: loadAuthConfig },
  product: { file: 'subgraphs/product/config.ts', entry: 'subgraphs/product/index.ts', load: loadProductConfig },
  order: { file: 'subgraphs/order/config.ts', entry: 'subgraphs/order/index.ts', load: loadOrderConfig },
  migrate: { file: 'shared/database/migrate.ts', entry: 'shared/database/migrate.ts', load: readMigrateSettings },
  tracing: { file: 'shared/tracing/config.ts', entry: 'every process above but migrate', load: loadTracingSettings },
};
