import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { FOREIGN_SUBGRAPHS, schemaFile, type ForeignSubgraph } from './subgraphs';

/**
 * The supergraph of The Guild's benchmark, composed from bench/foreign/schema with the routing URLs
 * of the subgraphs just started. Composed at every start, so nothing generated is committed and it
 * cannot go stale.
 */
export function composeForeignSupergraph(urls: Record<ForeignSubgraph, string>): string {
  const result = composeServices(FOREIGN_SUBGRAPHS.map((name) => ({ name, url: urls[name], typeDefs: parse(readFileSync(schemaFile(name), 'utf8')) })));
  if (result.errors) throw new Error(`Composition failed:\n${result.errors.map((error) => `  - ${error.message}`).join('\n')}`);
  return result.supergraphSdl;
}

/** Writes the composed supergraph into a fresh temporary directory; returns the file's path. */
export function writeForeignSupergraph(urls: Record<ForeignSubgraph, string>): string {
  const file = join(mkdtempSync(join(tmpdir(), 'foreign-supergraph-')), 'supergraph.graphql');
  writeFileSync(file, composeForeignSupergraph(urls));
  return file;
}
