import type { ApolloGateway, GraphQLDataSource } from '@apollo/gateway';
import { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types';
import { applyRewrites, isObjectOfType } from '@apollo/gateway/dist/dataRewrites';
import { generateHydratedPaths } from '@apollo/gateway/dist/executeQueryPlan';
import { ERRORS, errorCodeDef } from '@apollo/federation-internals';
import { getResponseName, type FetchNode, type QueryPlanSelectionNode, type ResponsePath } from '@apollo/query-planner';
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { hasOwn, merge } from './result-tree';
import { inSpan } from './spans';

/** What Apollo Server hands a gateway's executor. */
export type RequestContext = Parameters<Awaited<ReturnType<ApolloGateway['load']>>['executor']>[0];

type Data = Record<string, unknown>;

/** One execution of a query plan: what its fetches share. */
export interface PlanRun {
  requestContext: RequestContext;
  services: Readonly<Record<string, GraphQLDataSource>>;
  supergraphSchema: GraphQLSchema;
  /** Fetch errors, in the order Apollo's executor collects them. */
  errors: GraphQLError[];
}

/** A data source that can give an answer read only, so shared among the callers of a merged call (gateway/upstream/subgraph-data-source.ts). */
type ReadOnlyDataSource = GraphQLDataSource & { processReadOnly?: GraphQLDataSource['process'] };

/** Where a plan node works: the data at `path` (an object, or the list of objects a Flatten gathered). */
export interface Cursor {
  path: ResponsePath;
  data: unknown;
  fullResult: Data;
}

/**
 * A Fetch node, as @apollo/gateway's executeFetch does it: the entities under the cursor, their
 * representations when the fetch `requires` them, one call through the subgraph's data source,
 * then its answer merged into them; the subgraph's errors are collected with their paths in the
 * client's response. Throws what Apollo's throws (the caller collects it as Apollo's does).
 * The answer is read only, as it may be shared with other executions (result-tree.ts): what the
 * rewrites change, they change in a copy of a shared answer.
 */
export function executeFetch(run: PlanRun, fetch: FetchNode, cursor: Cursor): Promise<void> {
  return inSpan('gateway.fetch', { service: fetch.serviceName }, () => fetchInto(run, fetch, cursor));
}

async function fetchInto(run: PlanRun, fetch: FetchNode, cursor: Cursor): Promise<void> {
  const service = run.services[fetch.serviceName];
  if (!service) throw new Error(`Couldn't find service with name "${fetch.serviceName}"`);
  const entities = (Array.isArray(cursor.data) ? cursor.data.filter((entity) => entity !== null && entity !== undefined) : [cursor.data]) as Data[];
  if (entities.length < 1) return;
  const variables: Data = Object.create(null);
  const provided = run.requestContext.request.variables;
  for (const name of fetch.variableUsages ?? []) {
    if (provided && hasOwn(provided, name) && provided[name] !== undefined) variables[name] = provided[name];
  }
  const rewrites = fetch.outputRewrites?.length ? fetch.outputRewrites : undefined;
  if (!fetch.requires) {
    let received = await send(run, fetch, cursor, variables);
    if (received && rewrites) applyRewrites(run.supergraphSchema, rewrites, (received = writable(received)));
    for (const entity of entities) merge(entity, received);
    return;
  }
  const representations: Data[] = [];
  const entityOf: number[] = [];
  for (let index = 0; index < entities.length; index += 1) {
    const representation = representationOf(run.supergraphSchema, entities[index]!, fetch.requires);
    if (representation && representation.__typename) {
      applyRewrites(run.supergraphSchema, fetch.inputRewrites, representation);
      representations.push(representation);
      entityOf.push(index);
    }
  }
  if (representations.length < 1) return;
  if ('representations' in variables) throw new Error(`Variables cannot contain key "representations"`);
  const received = await send(run, fetch, cursor, { ...variables, representations });
  if (!received) return;
  const receivedEntities = received._entities;
  if (!Array.isArray(receivedEntities)) throw new Error(`Expected "data._entities" in response to be an array`);
  if (receivedEntities.length !== representations.length) throw new Error(`Expected "data._entities" to contain ${representations.length} elements`);
  for (let index = 0; index < representations.length; index += 1) {
    let receivedEntity = receivedEntities[index] as Data | null;
    const existing = entities[entityOf[index]!]!;
    // The entity's own __typename, which the rewrites' type conditions read (merged, it changes nothing: the entity has it).
    if (receivedEntity && rewrites) {
      receivedEntity = writable(receivedEntity);
      if (!receivedEntity.__typename) receivedEntity.__typename = existing.__typename;
      applyRewrites(run.supergraphSchema, rewrites, receivedEntity);
    }
    merge(existing, receivedEntity);
  }
}

/** `answer`, or a copy of it that may be changed when it is frozen (shared). */
function writable(answer: Data): Data {
  return Object.isFrozen(answer) ? structuredClone(answer) : answer;
}

async function send(run: PlanRun, fetch: FetchNode, cursor: Cursor, variables: Data): Promise<Data | null | undefined> {
  const { requestContext } = run;
  const service: ReadOnlyDataSource = run.services[fetch.serviceName]!;
  const response = await (service.processReadOnly ?? service.process).call(service, {
    kind: GraphQLDataSourceRequestKind.INCOMING_OPERATION,
    request: { query: fetch.operation, variables, operationName: fetch.operationName, http: undefined },
    incomingRequestContext: requestContext,
    context: requestContext.context,
    document: fetch.operationDocumentNode,
    pathInIncomingRequest: cursor.path,
  });
  if (response.errors) {
    const pathOf = errorPaths(fetch, cursor);
    for (const error of response.errors) run.errors.push(downstreamServiceError(error, fetch.serviceName, pathOf));
    if (!response.extensions?.ftv1) {
      const paths = response.errors.map((error) => ({ subgraph: fetch.serviceName, path: error.path }));
      const metrics = requestContext.metrics;
      if (metrics.nonFtv1ErrorPaths) metrics.nonFtv1ErrorPaths.push(...paths);
      else metrics.nonFtv1ErrorPaths = paths;
    }
  }
  return response.data;
}

/** A subgraph error's path in the client's response (Apollo's makeLazyErrorPathGenerator). */
function errorPaths(fetch: FetchNode, cursor: Cursor) {
  let hydrated: ResponsePath[] | undefined;
  return (errorPath: GraphQLFormattedError['path']): ResponsePath | undefined => {
    if (fetch.requires && typeof errorPath?.[1] === 'number') {
      if (!hydrated) {
        hydrated = [];
        generateHydratedPaths([], cursor.path, cursor.fullResult, hydrated);
      }
      return [...(hydrated[errorPath[1]] ?? []), ...errorPath.slice(2)];
    }
    return errorPath ? [...cursor.path, ...errorPath.slice()] : undefined;
  };
}

/** Apollo's downstreamServiceError: the subgraph's message and extensions, plus `serviceName`, at the client's path. */
function downstreamServiceError(original: GraphQLFormattedError, serviceName: string, pathOf: (path: GraphQLFormattedError['path']) => ResponsePath | undefined): GraphQLError {
  const message = original.message || `Error while fetching subquery from service "${serviceName}"`;
  const { extensions } = original;
  const options = { originalError: original as Error, path: pathOf(original.path), extensions: { ...extensions, serviceName } };
  const codeDefinition = errorCodeDef(original);
  if (!codeDefinition && extensions?.code) return new GraphQLError(message, options);
  return (codeDefinition ?? ERRORS.DOWNSTREAM_SERVICE_ERROR).err(message, options);
}

/** Apollo's executeSelectionSet: an entity's representation, or null when it lacks a required field. */
function representationOf(schema: GraphQLSchema, source: Data | null, selections: readonly QueryPlanSelectionNode[]): Data | null {
  if (source === null) return null;
  // A plain object, not Apollo's Object.create(null): serialised into the subgraph call much
  // faster, and safe, as schema field names never start with `__` (no `__proto__`).
  const result: Data = {};
  for (const selection of selections) {
    if (selection.kind === 'Field') {
      const name = getResponseName(selection);
      const value = hasOwn(source, name) ? source[name] : undefined;
      if (value === undefined) return null;
      const subselections = selection.selections;
      if (Array.isArray(value)) result[name] = value.map((item) => (subselections ? representationOf(schema, item as Data | null, subselections) : item));
      else if (subselections) result[name] = representationOf(schema, value as Data | null, subselections);
      else result[name] = value;
    } else if (selection.typeCondition && source && isObjectOfType(schema, source, selection.typeCondition)) {
      // Made here, so never frozen: merged in place.
      merge(result, representationOf(schema, source, selection.selections));
    }
  }
  return result;
}
