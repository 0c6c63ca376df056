import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import type { FastifyInstance } from 'fastify';
import { GraphQLError, type ValidationContext, type ValidationRule } from 'graphql';
import { AppError, type ErrorCode } from '../../shared/errors';
import { failSpan } from '../../shared/tracing/span';

export interface OperationLimits {
  /** Deepest selection nesting an operation may have (introspection not counted). @default 8 */
  maxDepth: number;
  /**
   * Highest cost an operation may have, as graphql-armor counts it: 1 a scalar, 2 an object, ×1.5
   * a level, an object's cost times a literal `first`. @default 10000 (a full page of 1000 products)
   */
  maxCost: number;
  /** Most aliases an operation may use (`__typename` aliases are free). @default 15 */
  maxAliases: number;
  /** Most operations in one batched HTTP request; 0 turns batching off (a JSON array is refused). @default 0 */
  maxBatch: number;
}

/** graphql-armor prefixes its messages as if they were parse errors; ours say what was exceeded. */
const reject = (code: ErrorCode) => (context: ValidationContext | null, error: GraphQLError) => {
  const message = error.message.replace(/^Syntax Error: /, '');
  // Apollo re-wraps validation errors as GRAPHQL_VALIDATION_FAILED; the AppError inside keeps our code (see maskErrors).
  context?.reportError(new GraphQLError(message, { originalError: new AppError(code, message) }));
};

/** The validation rules enforcing depth, cost and alias limits; Apollo answers their errors with a 400. */
export function operationLimitRules({ maxDepth, maxCost, maxAliases }: OperationLimits): ValidationRule[] {
  const callbacks = (code: ErrorCode) => ({ propagateOnRejection: false, onReject: [reject(code)] });
  return [
    maxDepthRule({ n: maxDepth, ...callbacks('QUERY_TOO_DEEP') }),
    costLimitRule({ maxCost, ...callbacks('QUERY_TOO_COSTLY') }),
    maxAliasesRule({ n: maxAliases, ...callbacks('TOO_MANY_ALIASES') }),
  ];
}

/**
 * Caps the operations of one batched request on `graphqlRoute` before any of them runs; with
 * `maxBatch` 0 every array body is refused, with the same code. Apollo's
 * `allowBatchedHttpRequests` must be set from `maxBatch > 0`.
 */
export function useOperationLimits(app: FastifyInstance, { graphqlRoute, maxBatch }: { graphqlRoute: string; maxBatch: number }): void {
  app.addHook('preHandler', async (request, reply) => {
    if (request.routeOptions.url !== graphqlRoute || !Array.isArray(request.body) || request.body.length <= maxBatch) return;
    failSpan('BATCH_TOO_LARGE');
    const message =
      maxBatch === 0 ? 'Batched operations are not accepted: send one operation a request' : `A batch may hold at most ${maxBatch} operations, got ${request.body.length}`;
    return reply.code(400).send({ errors: [{ message, extensions: { code: 'BATCH_TOO_LARGE' } }] });
  });
}
