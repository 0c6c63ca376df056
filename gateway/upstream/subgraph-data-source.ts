import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions, type ServiceEndpointDefinition } from '@apollo/gateway';
import { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types';
import { parseCacheControlHeader } from '@apollo/gateway/dist/datasources/parseCacheControlHeader';
import type { FetchLike } from '../../shared/balanced-fetch';
import { AppError } from '../../shared/errors';
import type { AnswerResponse } from '../../shared/http-client';
import { PROOF_HEADER, ProofSigner, type SubgraphProofSettings } from '../../shared/subgraph-proof';
import { SpanAttribute, annotateSpan } from '../../shared/tracing/span';
import type { GatewayContext } from '../context';
import type { GatewayMetrics } from '../metrics';
import type { BalancedSubgraph } from './load-balancing';
import { withSubgraphDeduplication, type SubgraphQueriesInFlight } from './subgraph-deduplication';

type Response = Awaited<ReturnType<RemoteGraphQLDataSource['process']>>;
type CacheHint = { maxAge: number; scope?: 'PRIVATE' | 'PUBLIC' };

export interface SubgraphServicesOptions {
  /** The balanced fetch of a subgraph (gateway/upstream/load-balancing.ts). */
  fetchOf(endpoint: ServiceEndpointDefinition): BalancedSubgraph;
  /** Merge identical in-flight subgraph queries (gateway/upstream/subgraph-deduplication.ts). */
  deduplicate: boolean;
  /** Signs the proof every subgraph requires. */
  proof: SubgraphProofSettings;
  /** The subgraph queries in flight, one table for every subgraph (a mutation to any of them ends merging). */
  inFlight: SubgraphQueriesInFlight;
  /** Told when a subgraph answered a mutation call (gateway/plugins/response-cache/after-write.ts). */
  writeAnswered(): void;
  /** Counts the queries each subgraph did not send because an identical one was in flight. */
  metrics?: GatewayMetrics;
}

/**
 * Apollo Gateway's `buildService`: every subgraph call of the gateway goes through the same three
 * layers, outermost first: this data source (proof, `Server-Port`, errors), the subgraph
 * deduplication (one merge table for every subgraph, since a mutation to any of them ends
 * merging), and the subgraph's balanced fetch.
 */
export function subgraphServices({ fetchOf, deduplicate, proof, inFlight, writeAnswered, metrics }: SubgraphServicesOptions) {
  return (endpoint: ServiceEndpointDefinition) => {
    const { url, fetch } = fetchOf(endpoint);
    const onMerged = metrics && (() => metrics.subgraphDeduplicated(endpoint.name));
    return new SubgraphDataSource(url, withSubgraphDeduplication(endpoint.name, fetch, { enabled: deduplicate, inFlight, writeAnswered, onMerged }), proof);
  };
}

/**
 * Calls one subgraph through `send` (deduplication, load balancing), with the verified user passed
 * on inside the gateway's signed proof, and reports the answering instance's `Server-Port`.
 *
 * It does what RemoteGraphQLDataSource's `process` does (the same request body and headers, the
 * same errors for a non-2xx or non-JSON answer, the subgraph's Cache-Control as a cache hint),
 * without its per-call Fetch objects: a node-fetch Request and two Headers built, parsed and
 * copied for every subgraph call, where a plain header record does.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  private readonly proof: ProofSigner;

  constructor(
    url: string | undefined,
    private readonly send: FetchLike,
    proof: SubgraphProofSettings,
  ) {
    super({ url });
    this.proof = new ProofSigner(proof);
  }

  override process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<Response> {
    return this.call(options, false);
  }

  /**
   * `process` for a caller that never changes the answer it is given (our plan executor,
   * gateway/execution/result-tree.ts): the callers of one merged subgraph call then share one
   * parsed body, frozen, instead of each parsing its own copy (`readOnlyJson`). Apollo's executor,
   * which merges into the answers it gets, calls `process`.
   */
  processReadOnly(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<Response> {
    return this.call(options, true);
  }

  private async call(options: GraphQLDataSourceProcessOptions<GatewayContext>, readOnly: boolean): Promise<Response> {
    const { request, context } = options;
    if (!request.query) throw new Error('Missing query');
    const headers: Record<string, string> = {};
    for (const [name, value] of request.http?.headers ?? []) headers[name.toLowerCase()] = value;
    headers['content-type'] = 'application/json';
    // Signed even without a user: the anonymous sign-in must still prove it came through the gateway.
    headers[PROOF_HEADER] = this.proof.sign((context as Partial<GatewayContext>).userId, request.query);
    const { http: _http, query, ...rest } = request;
    let answer: AnswerResponse;
    try {
      answer = await this.send(this.url!, { method: 'POST', headers, body: JSON.stringify({ query, ...rest }) });
    } catch (error) {
      // A catalogue error of the fetch (UPSTREAM_UNAVAILABLE) reaches the client as it is, code included.
      throw error instanceof AppError ? error.toGraphQLError() : error;
    }
    if (!answer.ok) throw await this.errorFromResponse(answer as never);
    const body = await parsed(answer, readOnly);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new Error(`Expected JSON response body, but received: ${body}`);
    this.report(answer, context);
    if (options.kind === GraphQLDataSourceRequestKind.INCOMING_OPERATION) restrictCachePolicy(options.incomingRequestContext.overallCachePolicy, answer);
    return { ...(body as Response), http: answer as never };
  }

  private report(answer: AnswerResponse, context: Partial<GatewayContext>): void {
    const port = answer.header('server-port');
    if (port && context.upstream) context.upstream.serverPort = port;
    // The active span is the gateway.fetch of this subgraph call.
    if (port) annotateSpan({ [SpanAttribute.serverPort]: port });
  }
}

/** RemoteGraphQLDataSource's parseBody: JSON when the answer says it is (read only, so maybe shared, when `readOnly`), text otherwise. */
function parsed(answer: AnswerResponse, readOnly: boolean): Promise<unknown> {
  const type = answer.header('content-type');
  const json = type !== undefined && (type.startsWith('application/json') || type.startsWith('application/graphql-response+json'));
  if (!json) return answer.text();
  return readOnly ? Promise.resolve(answer.readOnlyJson()) : answer.json();
}

/** The subgraph's Cache-Control as a hint on the client request's cache policy, as RemoteGraphQLDataSource reads it. */
function restrictCachePolicy(policy: { restrict?: (hint: CacheHint) => void } | undefined, answer: AnswerResponse): void {
  if (!policy || typeof policy.restrict !== 'function') return;
  const parsedHeader = parseCacheControlHeader(answer.header('cache-control'));
  const hint: CacheHint = { maxAge: 0 };
  const maxAge = parsedHeader['max-age'];
  if (typeof maxAge === 'string' && /^[0-9]+$/.test(maxAge)) hint.maxAge = Number(maxAge);
  if (parsedHeader.private === true) hint.scope = 'PRIVATE';
  if (parsedHeader.public === true) hint.scope = 'PUBLIC';
  policy.restrict(hint);
}
