import { readFileSync } from 'node:fs';
import { Supergraph } from '@apollo/federation-internals';
import type { GraphQLSchema } from 'graphql';
import { SUPERGRAPH_FILE } from './subgraphs';

/**
 * The schema clients see: the supergraph without federation's `join__`/`link__` machinery and
 * without `@inaccessible` elements, derived exactly as Apollo Gateway derives the schema it serves.
 */
export function apiSchema(supergraphPath: string = SUPERGRAPH_FILE): GraphQLSchema {
  return Supergraph.build(readFileSync(supergraphPath, 'utf8')).apiSchema().toGraphQLJSSchema();
}
