import type { Operation } from '@apollo/federation-internals';
import { evaluateCondition, type PlanNode, type QueryPlan, type ResponsePath, type SubscriptionNode } from '@apollo/query-planner';
import { executeFetch, type Cursor, type PlanRun } from './fetch';
import { own } from './result-tree';

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
 * (`@`) flattened into one list of what its items hold there. Gathered into one list, where
 * Apollo's builds a list per list met on the way and flattens them. The fetch under it merges
 * into what it reaches, so what is frozen on the way is copied into place (result-tree.ts's `own`).
 */
function flattenResultsAtPath(value: unknown, path: ResponsePath, from: number): unknown {
  for (let index = from; index < path.length; index += 1) {
    if (value === undefined || value === null) return value;
    const current = path[index];
    if (current === '@') {
      const flattened: unknown[] = [];
      eachOwnItem(value, (item) => gather(item, path, index + 1, flattened));
      return flattened;
    }
    value = step(value, current);
  }
  return value;
}

/** Adds to `into` what flattenResultsAtPath(value, path, from) is, its items if it is a list. */
function gather(value: unknown, path: ResponsePath, from: number, into: unknown[]): void {
  for (let index = from; index < path.length; index += 1) {
    if (value === undefined || value === null) break;
    const current = path[index];
    if (current === '@') {
      eachOwnItem(value, (item) => gather(item, path, index + 1, into));
      return;
    }
    value = step(value, current);
  }
  if (Array.isArray(value)) eachOwnItem(value, (item) => into.push(item));
  else into.push(value);
}

/** Each item of `list` (iterated as Apollo's `for…of` does), as `own` gives it. */
function eachOwnItem(list: unknown, visit: (item: unknown) => void): void {
  let index = 0;
  for (const _item of list as unknown[]) visit(own(list as unknown[], index++));
}

/** One field of a path, with Apollo's checks and messages, as `own` gives it. */
function step(value: unknown, current: string | number | undefined): unknown {
  if (typeof current !== 'string') throw new Error(`Unexpected ${typeof current} found in path`);
  if (Array.isArray(value)) throw new Error(`Unexpected array in result for path element ${current}`);
  const object = value as Record<string, unknown>;
  return Object.prototype.hasOwnProperty.call(object, current) ? own(object, current) : undefined;
}
