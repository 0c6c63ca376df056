import { defineConfig } from '@graphql-hive/gateway';

/** Stock Hive Gateway exactly as The Guild's benchmark configures it (gateways/hive-gateway/gateway.config.ts): JIT and inbound (client) request deduplication. */
export const gatewayConfig = defineConfig({ jit: true, inboundInflightRequestDeduplication: true });
