import { defineConfig } from '@graphql-hive/gateway';
import { unifiedGraphHandler } from '@graphql-hive/router-runtime';

/** Hive Gateway on Hive Router's query planner and executor, as The Guild's benchmark configures it. */
export const gatewayConfig = defineConfig({ unifiedGraphHandler });
