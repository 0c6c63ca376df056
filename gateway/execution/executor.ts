import { ApolloGateway, buildOperationContext } from '@apollo/gateway';
import { prettyFormatQueryPlan, type QueryPlan } from '@apollo/query-planner';
import { getVariableValues, GraphQLError } from 'graphql';
import type { PlanRun, RequestContext } from './fetch';
import { executeNode } from './plan';
import { PreparedOperations, readGatewayState, type GatewayState, type OperationContext, type PreparedOperation } from './prepared-operations';
import { shapeResponse } from './response-shape';
import { inSpan } from './spans';

type Executor = Awaited<ReturnType<ApolloGateway['load']>>['executor'];
type ExecutionResult = Awaited<ReturnType<Executor>>;
type Executable = Extract<PreparedOperation, { executable: true }>;

const errorsOf = (result: ExecutionResult) => result.errors;

/**
 * Apollo Gateway with its query planner and its executor's contract, executing the plans itself
 * (`QUERY_PLAN_EXECUTOR=own`, docs/architecture.md#query-plan-executor): the same plan, the same subgraph calls
 * through the same data sources, the same response, errors included (tests/query-plan-executor.test.ts
 * proves it against Apollo's executor). What differs is the cost per request: the plan and the
 * response's compiled shape are kept per operation, instead of Apollo's executor rebuilding the
 * operation and hashing the query for its plan store on every request, and shaping the response
 * takes no per-value bookkeeping. Operations it does not take (introspection, @defer,
 * subscriptions, usage-reporting traces) go to Apollo's executor.
 */
export class PlanExecutingGateway extends ApolloGateway {
  private readonly prepared = new PreparedOperations();

  /** Operations planned and kept by this executor (metrics). */
  get preparedOperations(): number {
    return this.prepared.size;
  }

  override async load(options?: Parameters<ApolloGateway['load']>[0]): Promise<Awaited<ReturnType<ApolloGateway['load']>>> {
    const loaded = await super.load(options);
    const state = readGatewayState(this);
    const apolloExecutor = loaded.executor;
    const executor: Executor = (requestContext) =>
      requestContext.metrics.captureTraces ? apolloExecutor(requestContext) : this.execute(state, requestContext, apolloExecutor);
    return { ...loaded, executor };
  }

  private execute(state: GatewayState, requestContext: RequestContext, apolloExecutor: Executor): Promise<ExecutionResult> {
    const prepared = this.prepared.get(state, requestContext);
    if (prepared && !prepared.executable) return apolloExecutor(requestContext);
    return inSpan(
      'gateway.request',
      requestAttributes(state, requestContext),
      async (span) => {
        const operationContext = prepared?.operationContext ?? buildOperationContext({ schema: state.schema, operationDocument: requestContext.document, operationName: requestContext.request.operationName });
        span?.setAttributes({ 'graphql.operation.type': operationContext.operation.operation });
        const invalidVariables = validateVariables(state, requestContext, operationContext);
        if (invalidVariables.length > 0) return { errors: invalidVariables };
        const ready = prepared ?? this.prepared.prepare(state, requestContext, operationContext);
        if (!ready.executable) return apolloExecutor(requestContext);
        const services = this.prepared.services(state);
        state.experimental_didResolveQueryPlan?.({ queryPlan: ready.queryPlan, serviceMap: services, requestContext, operationContext });
        const result = await inSpan('gateway.execute', {}, () => executePlan(state, requestContext, ready, services), errorsOf, state.config.telemetry);
        return exposeQueryPlan(state, requestContext, ready.queryPlan, result);
      },
      errorsOf,
      state.config.telemetry,
    );
  }
}

/** Apollo's attributes of its gateway.request span. */
function requestAttributes(state: GatewayState, requestContext: RequestContext): Record<string, string> {
  const attributes: Record<string, string> = {};
  if (requestContext.operationName) attributes.operationName = attributes['graphql.operation.name'] = requestContext.operationName;
  if (state.config.telemetry?.includeDocument && requestContext.source) attributes['graphql.document'] = requestContext.source;
  return attributes;
}

/** The variables' values against their definitions (Apollo's gateway.validate); errors are the answer. */
function validateVariables(state: GatewayState, requestContext: RequestContext, operationContext: OperationContext): readonly GraphQLError[] {
  const definitions = operationContext.operation.variableDefinitions;
  if (!definitions) return [];
  return inSpan('gateway.validate', {}, () => getVariableValues(operationContext.schema, definitions, requestContext.request.variables ?? {}).errors ?? [], (errors) => errors, state.config.telemetry);
}

async function executePlan(state: GatewayState, requestContext: RequestContext, prepared: Executable, services: PlanRun['services']): Promise<ExecutionResult> {
  if ('invalid' in prepared) return { errors: [prepared.invalid] };
  const run: PlanRun = { requestContext, services, supergraphSchema: state.supergraphSchema, errors: [] };
  const data: Record<string, unknown> = Object.create(null);
  const root = prepared.queryPlan.node;
  if (root && root.kind !== 'Subscription') await executeNode(run, prepared.operation, root, { path: [], data, fullResult: data });
  return inSpan('gateway.postprocessing', {}, () => shape(run, prepared, data), errorsOf, state.config.telemetry);
}

/** Apollo's post-processing: shaping errors are reported only when the fetches had none, and as an extension. */
function shape(run: PlanRun, prepared: Extract<Executable, { shape: unknown }>, input: Record<string, unknown>): ExecutionResult {
  let shaped: ReturnType<typeof shapeResponse>;
  try {
    shaped = shapeResponse(prepared.shape, input, run.requestContext.request.variables);
  } catch (error) {
    if (error instanceof GraphQLError) return { errors: [error] };
    if (error instanceof Error) return { errors: [new GraphQLError(error.message, { originalError: error })] };
    run.requestContext.logger.error(`Unexpected error during query plan execution: ${error}`);
    return { errors: [new GraphQLError('Unexpected error during query plan execution')] };
  }
  if (run.errors.length === 0 && shaped.errors.length > 0) return { extensions: { valueCompletion: shaped.errors }, data: shaped.data };
  return run.errors.length === 0 ? { data: shaped.data } : { errors: run.errors, data: shaped.data };
}

/** Apollo Gateway's `Apollo-Query-Plan-Experimental` request header (outside production) and `debug` logging. */
function exposeQueryPlan(state: GatewayState, requestContext: RequestContext, queryPlan: QueryPlan, result: ExecutionResult): ExecutionResult {
  const headers = requestContext.request.http?.headers;
  const requested = state.config.__exposeQueryPlanExperimental && headers?.get('Apollo-Query-Plan-Experimental');
  const serialized = queryPlan.node && (state.config.debug || requested) ? prettyFormatQueryPlan(queryPlan) : null;
  if (state.config.debug && serialized) state.logger.debug(serialized);
  if (!requested) return result;
  const format = headers?.has('Apollo-Query-Plan-Experimental-Format') ? headers.get('Apollo-Query-Plan-Experimental-Format') : 'prettified';
  return { ...result, extensions: { __queryPlanExperimental: format === 'prettified' ? serialized || true : format === 'internal' ? queryPlan : true } };
}
