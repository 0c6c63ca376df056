import type { GraphQLResponse } from '@apollo/server';
import type { FastifyRequest } from 'fastify';
import type { GraphQLExecution } from '../../shared/graphql-http';
import { SpanAttribute, annotateSpan } from '../../shared/tracing/span';
import type { GatewayContext } from '../context';
import { operationOf, plainBody, type ClientDocument } from '../graphql-documents';
import type { GatewayMetrics } from '../metrics';
import type { GatewayPlugin } from '../pipeline';
import { userOf } from './jwt-auth';

/**
 * One execution shared by identical requests while it is in flight. The first request of a key
 * (the leader) runs and is remembered until its result is in; a request with the same key that
 * arrives meanwhile (a follower) waits for that result instead of running. Nothing is kept
 * afterwards: a later request runs again (caching is the response cache's job).
 *
 * A follower never depends on the leader for more than its result: if the leader's execution
 * rejects, or its result cannot be handed to anyone else (a stream is read once), each follower
 * runs its own. A leader whose client went away still finishes its execution, so its followers
 * get the answer.
 */
export class InFlight<T> {
  private readonly executions = new Map<string, Promise<T>>();

  constructor(
    private readonly shareable: (result: T) => boolean,
    /** Told of each request answered with another's result (metrics). */
    private readonly onFollowed?: () => void,
  ) {}

  /**
   * Runs `execute`, or follows the execution of `key` in flight. `mayFollow` says whether this
   * request may be merged at all (a query, not a mutation); it is only asked when there is an
   * execution to follow, so requests that meet no twin pay nothing for it.
   */
  run(key: string, execute: () => Promise<T>, mayFollow: () => boolean): Promise<T> {
    const leader = this.executions.get(key);
    if (leader === undefined) return this.lead(key, execute);
    // The same key means the same text and operation name, so the leader's operation type is this one's.
    return mayFollow() ? this.follow(leader, execute) : execute();
  }

  /** How many executions are in flight now. */
  get size(): number {
    return this.executions.size;
  }

  /** Nobody follows the executions in flight now any more; they still finish for their own requests. */
  forgetAll(): void {
    this.executions.clear();
  }

  private lead(key: string, execute: () => Promise<T>): Promise<T> {
    const started = execute();
    this.executions.set(key, started);
    // Gone as soon as the result is in, success or not; a later identical request runs again.
    const forget = () => {
      if (this.executions.get(key) === started) this.executions.delete(key);
    };
    started.then(forget, forget);
    return started;
  }

  private async follow(leader: Promise<T>, execute: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await leader;
    } catch {
      return execute(); // the leader's failure is its own: nothing says this request would fail too
    }
    if (!this.shareable(result)) return execute();
    annotateSpan({ [SpanAttribute.deduplicated]: true });
    this.onFollowed?.();
    return result;
  }
}

/**
 * JSON with every object's keys sorted, so variables that differ only in key order name the same
 * execution. Its output has no raw line break (JSON escapes them), which keeps keys unambiguous.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const record = value as Record<string, unknown>;
  const fields = Object.keys(record)
    .filter((name) => record[name] !== undefined)
    .sort()
    .map((name) => `${JSON.stringify(name)}:${canonicalJson(record[name])}`);
  return `{${fields.join(',')}}`;
}

/**
 * What makes two `POST /graphql` requests the same execution: the user scope (the verified token
 * subject; null for anonymous requests, which reach subgraphs with no user), the operation name,
 * the variables, the headers Apollo's answer depends on (`accept` picks the response's content
 * type; `content-type` decides whether Apollo takes the body) and, last, the query text. Nothing
 * else of a request reaches the subgraphs: the gateway's proof is made of the user and the
 * subgraph operation, which the text determines. Undefined for what is never merged: other
 * methods, batches, bodies with extensions (persisted queries), and clients that accept
 * incremental (multipart) responses, which are streamed and read once.
 */
function graphqlKey(request: FastifyRequest): { key: string; query: string; operationName: string | null | undefined } | undefined {
  if (request.method !== 'POST') return undefined;
  const body = plainBody(request.body);
  const { accept, 'content-type': contentType } = request.headers;
  if (!body || accept?.includes('multipart/mixed')) return undefined;
  const head = JSON.stringify([userOf(request) ?? null, body.operationName ?? null, accept ?? null, contentType ?? null]);
  return { key: `${head}\n${canonicalJson(body.variables ?? {})}\n${body.query}`, query: body.query, operationName: body.operationName };
}

/** What makes two REST bridge reads the same execution: the route, the user scope and the variables. */
function restKey(route: string, userId: string | undefined, variables: Record<string, unknown>): string {
  return `${JSON.stringify([route, userId ?? null])}\n${canonicalJson(variables)}`;
}

export interface ClientDeduplication extends GatewayPlugin {
  /** Nobody follows the executions in flight now any more (a mutation was answered: response-cache/after-write.ts). */
  forgetAll(): void;
  /** For `mountGraphQL`'s `execution`: shares one execution among identical `POST /graphql` queries in flight. */
  graphql(request: FastifyRequest, execute: () => Promise<GraphQLExecution<GatewayContext>>): Promise<GraphQLExecution<GatewayContext>>;
  /**
   * For the REST bridge's reads: shares one execution of a route's stored query among identical
   * requests (same route, user and variables) in flight. Only for query operations.
   */
  rest(route: string, userId: string | undefined, variables: Record<string, unknown>, execute: () => Promise<RestExecution>): Promise<RestExecution>;
}

/** A REST bridge read's result: Apollo's response and the context it ran with (for `Server-Port`). */
export interface RestExecution {
  response: GraphQLResponse;
  context: GatewayContext;
}

/**
 * Client-side counterpart of the subgraph deduplication (`CLIENT_DEDUPLICATION`): identical
 * queries in flight from one user scope run Apollo's pipeline once, and every request gets that
 * execution's status, body and headers (`X-Cache` and `Age` included: a follower's answer is the
 * leader's response, so it says what happened to it, MISS for a fresh execution). Errors are
 * shared too, since they come from the same execution. Followers still pass every check before
 * execution on their own (token, rate limit, operation limits, the cache front), and keep their
 * own rate-limit headers.
 */
export function useClientDeduplication(readDocument: (query: string) => ClientDocument, metrics?: GatewayMetrics): ClientDeduplication {
  // Only followers ask: a text is read here only when two identical requests met, and then from the reader's cache.
  const typeOf = (query: string, operationName: string | null | undefined) => operationOf(readDocument(query), operationName)?.operation;
  const graphql = new InFlight<GraphQLExecution<GatewayContext>>(({ response }) => response.body.kind === 'complete', metrics && (() => metrics.clientDeduplicated('graphql')));
  const rest = new InFlight<RestExecution>(({ response }) => response.body.kind === 'single', metrics && (() => metrics.clientDeduplicated('rest')));
  return {
    // No hooks of its own: it wraps the executions of the REST bridge and the GraphQL endpoint, which are given it.
    name: 'client deduplication',
    forgetAll() {
      graphql.forgetAll();
      rest.forgetAll();
    },
    graphql(request, execute) {
      const identity = graphqlKey(request);
      if (identity === undefined) return execute();
      return graphql.run(identity.key, execute, () => typeOf(identity.query, identity.operationName) === 'query');
    },
    rest(route, userId, variables, execute) {
      // The bridge asks only for its GET routes of queries: every one may follow.
      return rest.run(restKey(route, userId, variables), execute, () => true);
    },
  };
}
