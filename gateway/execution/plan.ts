import { assert, type Operation } from '@apollo/federation-internals';
import { evaluateCondition, type PlanNode, type QueryPlan, type ResponsePath, type SubscriptionNode } from '@apollo/query-planner';
import { executeFetch, type Cursor, type PlanRun } from './fetch';

/**
 * Runs a query plan's nodes as @apollo/gateway's executeNode does: Sequence one after another,
 * Parallel at once, Flatten on the objects under its path, Fetch (errors collected, not thrown),
 * Condition on the request's variables. Defer and Subscription nodes never reach it (`isExecutable`).
 */
export async function executeNode(run: PlanRun, operation: Operation, node: PlanNode, cursor: Cursor): Promise<void> {
  switch (node.kind) {
    case 'Sequence':
      for (const child of node.nodes) await executeNode(run, operation, child, cursor);
      return;
    case 'Parallel':
      await Promise.all(node.nodes.map((child) => executeNode(run, operation, child, cursor)));
      return;
    case 'Flatten': {
      const data = flattenResultsAtPath(cursor.data, node.path, 0);
      if (data) await executeNode(run, operation, node.node, { path: cursor.path.concat(node.path), data, fullResult: cursor.fullResult });
      return;
    }
    case 'Fetch':
      try {
        await executeFetch(run, node, cursor);
      } catch (error) {
        run.errors.push(error as never);
      }
      return;
    case 'Condition': {
      const branch = evaluateCondition(node, operation.variableDefinitions, run.requestContext.request.variables) ? node.ifClause : node.elseClause;
      if (branch) await executeNode(run, operation, branch, cursor);
      return;
    }
    case 'Defer':
      throw new Error('@defer support is not available in the gateway');
  }
}

/** True when every node of the plan is one `executeNode` runs (no @defer, no subscription). */
export function isExecutable(plan: QueryPlan): boolean {
  const walk = (node: PlanNode | SubscriptionNode): boolean => {
    switch (node.kind) {
      case 'Sequence':
      case 'Parallel':
        return node.nodes.every(walk);
      case 'Flatten':
        return walk(node.node);
      case 'Condition':
        return (!node.ifClause || walk(node.ifClause)) && (!node.elseClause || walk(node.elseClause));
      case 'Fetch':
        return true;
      default:
        return false;
    }
  };
  return !plan.node || walk(plan.node);
}

/**
 * Apollo's flattenResultsAtPath: the value at `path` from index `from` on, every list on the way
 * (`@`) flattened into one list of what its items hold there.
 */
function flattenResultsAtPath(value: unknown, path: ResponsePath, from: number): unknown {
  if (from === path.length) return value;
  if (value === undefined || value === null) return value;
  const current = path[from];
  if (current === '@') {
    const flattened: unknown[] = [];
    for (const item of value as unknown[]) {
      const found = flattenResultsAtPath(item, path, from + 1);
      if (Array.isArray(found)) for (const each of found) flattened.push(each);
      else flattened.push(found);
    }
    return flattened;
  }
  assert(typeof current === 'string', () => `Unexpected ${typeof current} found in path`);
  assert(!Array.isArray(value), () => `Unexpected array in result for path element ${current}`);
  const object = value as Record<string, unknown>;
  return flattenResultsAtPath(Object.prototype.hasOwnProperty.call(object, current) ? object[current] : undefined, path, from + 1);
}
