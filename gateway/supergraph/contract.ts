import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse, specifiedRules, validate, type DocumentNode, type GraphQLSchema, type ValidationRule } from 'graphql';
import { ROOT } from '../../schema/subgraphs';
import { manifestName } from '../persisted-documents';
import type { RestRoute } from '../rest/routes';

/**
 * The operations a new supergraph must keep serving: the REST bridge's (the legacy contract) and
 * the typed client's. Each is checked the way Apollo Server checks a request, so "valid" here
 * means a request running it would pass validation.
 */
export interface ContractOperation {
  /** Who depends on it and where it is, for the log: `REST GET /products/{productId} (schema/operations/rest/Product.graphql)`. */
  label: string;
  document: DocumentNode;
}

/** A contract operation a schema cannot run, with GraphQL's reasons. */
export interface BrokenOperation {
  label: string;
  errors: string[];
}

/** Every `.graphql` operation file of `dir`, parsed; `usedBy` names who depends on one (by its name). */
export function loadContractOperations(dir: string, usedBy: (name: string) => string): ContractOperation[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.graphql'))
    .sort()
    .map((file) => {
      const path = join(dir, file);
      return { label: `${usedBy(file.replace(/\.graphql$/, ''))} (${relative(ROOT, path)})`, document: parse(readFileSync(path, 'utf8')) };
    });
}

/** The REST bridge's operations, each named after the routes it serves. */
export function restContract(routes: readonly RestRoute[], dir: string): ContractOperation[] {
  return loadContractOperations(dir, (name) => {
    const serving = routes.filter((route) => route.operation === name).map((route) => `${route.method} ${route.url}`);
    return serving.length > 0 ? `REST ${serving.join(', ')}` : `REST operation ${name}`;
  });
}

/** The typed client's operations (`client/`), which it sends as they are written. */
export function clientContract(dir: string): ContractOperation[] {
  return loadContractOperations(dir, (name) => `client operation ${name}`);
}

/**
 * The trusted documents of manifests other than `except` (other clients' manifests, listed in
 * `PERSISTED_DOCUMENTS_MANIFESTS`): the gateway promised to run them, so a new supergraph must too.
 * The typed client's manifest is `except`: its source files are in the contract already, under
 * better names.
 */
export function manifestContract(documents: readonly { hash: string; text: string; source: string }[], except: string): ContractOperation[] {
  const skipped = new Set(['stored operation', manifestName(except)]);
  return documents
    .filter(({ source }) => !skipped.has(source))
    .map(({ hash, text, source }) => ({ label: `trusted document ${hash.slice(0, 12)} (${source})`, document: parse(text) }));
}

/**
 * The operations that `schema` cannot run: GraphQL's own rules plus `rules`, the gateway's
 * operation limits, as Apollo Server applies them to every request.
 */
export function brokenOperations(schema: GraphQLSchema, operations: readonly ContractOperation[], rules: readonly ValidationRule[]): BrokenOperation[] {
  const allRules = [...specifiedRules, ...rules];
  return operations.flatMap(({ label, document }) => {
    const errors = validate(schema, document, allRules);
    return errors.length > 0 ? [{ label, errors: errors.map((error) => error.message) }] : [];
  });
}
