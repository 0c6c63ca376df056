import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Every subgraph of the supergraph: its name, where the gateway routes to by default, and its SDL. */
export const subgraphs = [
  { name: 'auth', routingUrl: 'http://127.0.0.1:19095/graphql', schemaFile: 'subgraphs/auth/schema.graphql' },
  { name: 'order', routingUrl: 'http://127.0.0.1:19092/graphql', schemaFile: 'subgraphs/order/schema.graphql' },
  // The second instance (19094) is added by the gateway's SUBGRAPH_PRODUCT_URLS default.
  { name: 'product', routingUrl: 'http://127.0.0.1:19093/graphql', schemaFile: 'subgraphs/product/schema.graphql' },
] as const;

/**
 * The project's root: the nearest folder above this module with a package.json. This module runs
 * from schema/ under tsx and from dist/schema/ once compiled (`npm run build`); either way the
 * .graphql files are read from the source tree, so the build copies none of them.
 */
export const ROOT = projectRoot(__dirname);

function projectRoot(from: string): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}
export const SUPERGRAPH_FILE = join(ROOT, 'schema', 'supergraph.graphql');

/** A subgraph's SDL file, absolute. */
export function subgraphSchemaFile(name: (typeof subgraphs)[number]['name']): string {
  return join(ROOT, subgraphs.find((subgraph) => subgraph.name === name)!.schemaFile);
}
