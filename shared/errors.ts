import { GraphQLError } from 'graphql';

/**
 * The error catalogue: every error a client can see, with its stable code, HTTP status and a
 * default message. GraphQL errors carry the code in `extensions.code`; the REST layer maps codes
 * to statuses through `statusOf`, and nowhere else.
 */
export const errorCatalogue = {
  UNAUTHENTICATED: { status: 401, message: 'A valid bearer token is required' },
  GATEWAY_PROOF_REQUIRED: { status: 403, message: "Subgraphs answer only requests that carry the gateway's proof" },
  BAD_USER_INPUT: { status: 400, message: 'The input is not valid' },
  INVALID_JSON: { status: 400, message: 'The request body is not valid JSON' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The request body must be application/json' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large' },
  HEADERS_TOO_LARGE: { status: 431, message: 'The request line or headers are too large' },
  MALFORMED_REQUEST: { status: 400, message: 'The HTTP request is malformed' },
  REQUEST_TIMEOUT: { status: 408, message: 'The request was not received in time' },
  UNKNOWN_PRODUCTS: { status: 400, message: 'Some product ids do not exist' },
  PRODUCT_NOT_FOUND: { status: 404, message: 'No such product' },
  ORDER_NOT_FOUND: { status: 404, message: 'No such order' },
  ROUTE_NOT_FOUND: { status: 404, message: 'No such route' },
  GRAPHQL_PARSE_FAILED: { status: 400, message: 'The GraphQL document cannot be parsed' },
  GRAPHQL_VALIDATION_FAILED: { status: 400, message: 'The GraphQL operation is not valid for this schema' },
  BAD_REQUEST: { status: 400, message: 'The GraphQL request is malformed' },
  OPERATION_RESOLUTION_FAILURE: { status: 400, message: 'The operation name names no operation in the document' },
  QUERY_TOO_DEEP: { status: 400, message: 'The operation nests selections too deeply' },
  QUERY_TOO_COSTLY: { status: 400, message: 'The operation selects too much' },
  TOO_MANY_ALIASES: { status: 400, message: 'The operation uses too many aliases' },
  TOO_MANY_TOKENS: { status: 400, message: 'The GraphQL document is too long' },
  TOO_MANY_DIRECTIVES: { status: 400, message: 'The GraphQL document uses too many directives' },
  TOO_MANY_FRAGMENTS: { status: 400, message: 'The GraphQL document defines too many fragments' },
  TOO_MANY_REPEATED_FIELDS: { status: 400, message: 'A selection set selects one field too many times' },
  BATCH_TOO_LARGE: { status: 400, message: 'The batch holds too many operations' },
  // 200, as Apollo's APQ protocol answers it: the client is to resend the hash with the document's text.
  PERSISTED_QUERY_NOT_FOUND: { status: 200, message: 'No document is known under this hash: send it again with the query text' },
  PERSISTED_QUERY_NOT_IN_LIST: { status: 400, message: 'No trusted document has this hash (PERSISTED_DOCUMENTS=only)' },
  PERSISTED_QUERY_HASH_MISMATCH: { status: 400, message: 'persistedQuery.sha256Hash is not the sha256 of the query text' },
  DOCUMENT_NOT_TRUSTED: { status: 400, message: 'Only trusted documents are executed here (PERSISTED_DOCUMENTS=only)' },
  RATE_LIMITED: { status: 429, message: 'Too many requests: retry after the Retry-After header\'s seconds' },
  SIGNING_KEYS_UNAVAILABLE: { status: 503, message: "The auth subgraph's public keys (JWKS) could not be fetched yet" },
  UPSTREAM_UNAVAILABLE: { status: 503, message: 'A backing service is unavailable' },
  DATABASE_UNAVAILABLE: { status: 503, message: 'The database is unavailable' },
  NOT_READY: { status: 503, message: 'A dependency this process needs is unavailable' },
  SHUTTING_DOWN: { status: 503, message: 'The server is shutting down: retry on another instance' },
  INTERNAL_SERVER_ERROR: { status: 500, message: 'Internal server error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(errorCatalogue, code);
}

/** The HTTP status for a code; codes outside the catalogue are internal errors. */
export function statusOf(code: unknown): number {
  return isErrorCode(code) ? errorCatalogue[code].status : errorCatalogue.INTERNAL_SERVER_ERROR.status;
}

/** An error that is safe to show to clients: its message and details are written for them. */
export class AppError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string = errorCatalogue[code].message,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'AppError';
    this.status = errorCatalogue[code].status;
  }

  toGraphQLError(): GraphQLError {
    return new GraphQLError(this.message, { extensions: { ...this.details, code: this.code } });
  }
}

/** The REST error body: `{"error": {"code", "message", ...details}}`. */
export function restErrorBody(code: ErrorCode, message: string, details: Readonly<Record<string, unknown>> = {}) {
  return { error: { code, message, ...details } };
}
