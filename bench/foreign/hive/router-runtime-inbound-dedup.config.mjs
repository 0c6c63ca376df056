import { defineConfig } from '@graphql-hive/gateway';
import { unifiedGraphHandler } from '@graphql-hive/router-runtime';

/** As router-runtime.config.mjs, with Hive Gateway's inbound (client) request deduplication on. */
export const gatewayConfig = defineConfig({ unifiedGraphHandler, inboundInflightRequestDeduplication: true });
