import { buildOperationContext, type ApolloGateway, type GraphQLDataSource } from '@apollo/gateway';
import { operationFromDocument, type Operation, type Schema } from '@apollo/federation-internals';
import type { QueryPlan, QueryPlanner } from '@apollo/query-planner';
import { GraphQLError, Kind, type DocumentNode, type GraphQLSchema } from 'graphql';
import { LRUCache } from 'lru-cache';
import type { RequestContext } from './fetch';
import { isExecutable } from './plan';
import { compileResponseShape, type CompiledShape } from './response-shape';
import { inSpan } from './spans';

/**
 * The parts of ApolloGateway's state the executor reads. They are private in its typings, not at
 * run time: the planner is the one ApolloGateway built from the supergraph, the schemas and data
 * sources the ones it serves. `readGatewayState` checks they are there, so an @apollo/gateway
 * that renamed them stops the gateway at start with a message, not at the first request.
 */
export interface GatewayState {
  schema: GraphQLSchema;
  apiSchema: Schema;
  supergraphSchema: GraphQLSchema;
  queryPlanner: QueryPlanner;
  serviceMap: Record<string, { dataSource: GraphQLDataSource }>;
  config: NonNullable<ConstructorParameters<typeof ApolloGateway>[0]> & { __exposeQueryPlanExperimental?: boolean };
  logger: { debug(message: string): void };
  recursiveSelectionsLimitDisabled: boolean;
  nonLocalSelectionsLimitDisabled: boolean;
  experimental_didResolveQueryPlan?: (options: Record<string, unknown>) => void;
}

const STATE_FIELDS = ['schema', 'apiSchema', 'supergraphSchema', 'queryPlanner', 'serviceMap', 'config'] as const;

export function readGatewayState(gateway: ApolloGateway): GatewayState {
  const state = gateway as unknown as GatewayState;
  const missing = STATE_FIELDS.filter((field) => state[field] === undefined);
  if (missing.length > 0) {
    throw new Error(`QUERY_PLAN_EXECUTOR=own: this @apollo/gateway has no ${missing.join(', ')} after loading; set QUERY_PLAN_EXECUTOR=apollo`);
  }
  return state;
}

export type OperationContext = ReturnType<typeof buildOperationContext>;

/** What one operation of one document needs at every request, built at its first. */
export type PreparedOperation =
  | { executable: true; operationContext: OperationContext; queryPlan: QueryPlan; operation: Operation; shape: CompiledShape }
  | { executable: true; operationContext: OperationContext; queryPlan: QueryPlan; invalid: GraphQLError }
  /** Served by Apollo's executor: introspection fields, @defer, subscriptions, a field named `__proto__`. */
  | { executable: false };

/** Operations kept prepared, least recently used dropped first. */
const MAX_PREPARED_OPERATIONS = 500;

/**
 * Query plans and compiled response shapes by query and operation name (Apollo's query plan
 * store is keyed the same way), for the schema they were built on: a new supergraph starts afresh.
 */
export class PreparedOperations {
  private readonly cache = new LRUCache<string, PreparedOperation>({ max: MAX_PREPARED_OPERATIONS });
  private schema: Schema | undefined;
  private dataSources: Record<string, GraphQLDataSource> = {};

  /** Operations kept prepared now (metrics). */
  get size(): number {
    return this.cache.size;
  }

  get(state: GatewayState, requestContext: RequestContext): PreparedOperation | undefined {
    this.follow(state);
    return this.cache.get(keyOf(requestContext));
  }

  /** The data source of each subgraph, by name (ApolloGateway rebuilds them with the schema). */
  services(state: GatewayState): Readonly<Record<string, GraphQLDataSource>> {
    this.follow(state);
    return this.dataSources;
  }

  private follow(state: GatewayState): void {
    if (state.apiSchema === this.schema) return;
    this.cache.clear();
    this.schema = state.apiSchema;
    this.dataSources = Object.fromEntries(Object.entries(state.serviceMap).map(([name, { dataSource }]) => [name, dataSource]));
  }

  /** Plans (in a `gateway.plan` span, as Apollo does) and compiles the request's operation. */
  prepare(state: GatewayState, requestContext: RequestContext, operationContext: OperationContext): PreparedOperation {
    const { document, request } = requestContext;
    const queryPlan = inSpan(
      'gateway.plan',
      requestContext.operationName ? { 'graphql.operation.name': requestContext.operationName } : {},
      () =>
        state.queryPlanner.buildQueryPlan(operationFromDocument(state.apiSchema, document, { operationName: request.operationName }), {
          recursiveSelectionsLimitDisabled: state.recursiveSelectionsLimitDisabled,
          nonLocalSelectionsLimitDisabled: state.nonLocalSelectionsLimitDisabled,
        }),
      undefined,
      state.config.telemetry,
    );
    const prepared = compile(state, operationContext, queryPlan);
    this.cache.set(keyOf(requestContext), prepared);
    return prepared;
  }
}

function keyOf({ queryHash, request }: RequestContext): string {
  return request.operationName ? `${request.operationName}\n${queryHash}` : queryHash;
}

/** The operation as Apollo's executeQueryPlan builds it on every request (selected operation and fragments, unvalidated). */
function compile(state: GatewayState, operationContext: OperationContext, queryPlan: QueryPlan): PreparedOperation {
  if (!isExecutable(queryPlan)) return { executable: false };
  const document: DocumentNode = { kind: Kind.DOCUMENT, definitions: [operationContext.operation, ...Object.values(operationContext.fragments)] };
  let operation: Operation;
  try {
    operation = operationFromDocument(state.apiSchema, document, { validate: false });
  } catch (error) {
    if (error instanceof GraphQLError) return { executable: true, operationContext, queryPlan, invalid: error };
    throw error;
  }
  const shape = compileResponseShape(operation);
  return shape.supported ? { executable: true, operationContext, queryPlan, operation, shape } : { executable: false };
}
