import { join } from 'node:path';

/** Every subgraph of the supergraph: its name, where the gateway routes to by default, and its SDL. */
export const subgraphs = [
  { name: 'auth', routingUrl: 'http://127.0.0.1:19095/graphql', schemaFile: 'subgraphs/auth/schema.graphql' },
  { name: 'order', routingUrl: 'http://127.0.0.1:19092/graphql', schemaFile: 'subgraphs/order/schema.graphql' },
  // The second instance (19094) is added by the gateway's SUBGRAPH_PRODUCT_URLS default.
  { name: 'product', routingUrl: 'http://127.0.0.1:19093/graphql', schemaFile: 'subgraphs/product/schema.graphql' },
] as const;

export const ROOT = join(__dirname, '..');
export const SUPERGRAPH_FILE = join(ROOT, 'schema', 'supergraph.graphql');
