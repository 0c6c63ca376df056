import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GraphQLError, type ValidationContext, type ValidationRule } from 'graphql';
import { AppError, type ErrorCode } from '../../shared/errors';
import { sendError } from '../../shared/error-response';
import type { ClientDocument } from '../graphql-documents';
import type { GatewayPlugin } from '../pipeline';

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
  /**
   * Most lexical tokens (names, punctuation, values; not comments) in a document, counted while it
   * is parsed, which stops there. @default 1000 (five times the IDE's introspection query)
   */
  maxTokens: number;
  /** Most directives in a document. @default 50 */
  maxDirectives: number;
  /** Most fragment definitions in a document. @default 50 */
  maxFragments: number;
  /**
   * Most fields one selection set may select under the same response name, counting those of the
   * fragments it spreads and of the same-named fields' merged sub-selections: validation compares
   * every pair of them. @default 30
   */
  maxRepeatedFields: number;
}

/** graphql-armor prefixes its messages as if they were parse errors; ours say what was exceeded. */
const reject = (code: ErrorCode) => (context: ValidationContext | null, error: GraphQLError) => {
  const message = error.message.replace(/^Syntax Error: /, '');
  // Apollo re-wraps validation errors as GRAPHQL_VALIDATION_FAILED; the AppError inside keeps our code (see maskErrors).
  context?.reportError(new GraphQLError(message, { originalError: new AppError(code, message) }));
};

/**
 * An operation whose type the schema has no root for (a subscription here: the supergraph has no
 * Subscription type) is invalid, as graphql-js 17's KnownOperationTypesRule says; graphql-js 16
 * lets it through validation, and the query planner then fails it as an internal error.
 */
export const knownOperationTypesRule: ValidationRule = (context) => ({
  OperationDefinition(node) {
    if (context.getSchema().getRootType(node.operation)) return;
    context.reportError(new GraphQLError(`The schema has no ${node.operation} root type: ${node.operation}s are not supported`, { nodes: node }));
  },
});

/** The validation rules enforcing depth, cost and alias limits; Apollo answers their errors with a 400. */
export function operationLimitRules({ maxDepth, maxCost, maxAliases }: Pick<OperationLimits, 'maxDepth' | 'maxCost' | 'maxAliases'>): ValidationRule[] {
  const callbacks = (code: ErrorCode) => ({ propagateOnRejection: false, onReject: [reject(code)] });
  return [
    maxDepthRule({ n: maxDepth, ...callbacks('QUERY_TOO_DEEP') }),
    costLimitRule({ maxCost, ...callbacks('QUERY_TOO_COSTLY') }),
    maxAliasesRule({ n: maxAliases, ...callbacks('TOO_MANY_ALIASES') }),
  ];
}

export interface OperationLimitsOptions {
  graphqlRoute: string;
  maxBatch: number;
  /** The gateway's document reader, which applies the token, directive, fragment and repeated-field limits. */
  readDocument: (query: string) => ClientDocument;
}

/** The query texts of a GraphQL request: one, or one per operation of a batch. */
function queriesOf(request: FastifyRequest): unknown[] {
  const source = request.method === 'GET' ? request.query : request.body;
  const operations = Array.isArray(source) ? source : [source];
  return operations.map((operation) => (operation && typeof operation === 'object' ? (operation as { query?: unknown }).query : undefined));
}

/**
 * Refuses on `graphqlRoute`, before validation or anything else runs, a batch over `maxBatch`
 * operations (with 0, every array body) and a document over the limits its reader enforces, so
 * that validation's work stays linear in a document of at most `maxTokens` tokens. Apollo's
 * `allowBatchedHttpRequests` must be set from `maxBatch > 0`, and its `parseOptions.maxTokens` from
 * `maxTokens`, for the documents it parses itself.
 */
export function useOperationLimits(options: OperationLimitsOptions): GatewayPlugin {
  return { name: 'operation limits', fastify: ({ app }) => limitOperations(app, options) };
}

function limitOperations(app: FastifyInstance, { graphqlRoute, maxBatch, readDocument }: OperationLimitsOptions): void {
  app.addHook('preHandler', async (request, reply) => {
    if (request.routeOptions.url !== graphqlRoute) return;
    if (Array.isArray(request.body) && request.body.length > maxBatch) {
      const message =
        maxBatch === 0 ? 'Batched operations are not accepted: send one operation a request' : `A batch may hold at most ${maxBatch} operations, got ${request.body.length}`;
      return sendError(reply, 'BATCH_TOO_LARGE', message);
    }
    for (const query of queriesOf(request)) {
      const refusal = typeof query === 'string' ? readDocument(query).refusal : undefined;
      if (refusal) return sendError(reply, refusal.code, refusal.message);
    }
  });
}
