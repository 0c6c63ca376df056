import { defineConfig } from '@graphql-hive/gateway';

/** Stock Hive Gateway as The Guild's benchmark runs it (gateways/hive-gateway: `--jit`), without inbound request deduplication. */
export const gatewayConfig = defineConfig({ jit: true });
