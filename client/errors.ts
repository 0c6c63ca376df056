import type { ErrorCode } from '../shared/errors';

/** One entry of a GraphQL response's `errors`, as the gateway formats it. */
export interface GraphQLErrorEntry {
  message: string;
  path?: readonly (string | number)[];
  extensions?: { code?: string; [key: string]: unknown };
}

/**
 * Codes a request can fail with: the gateway's error catalogue (docs/errors.md#catalogue),
 * `NETWORK_ERROR` when no response arrived, `UNEXPECTED_RESPONSE` when it was not GraphQL JSON.
 * Open-ended so that a code added on the server still type-checks here.
 */
export type ClientErrorCode = ErrorCode | 'NETWORK_ERROR' | 'UNEXPECTED_RESPONSE' | (string & {});

/** A failed request: the first GraphQL error's `extensions.code` and message, with all errors kept. */
export class GraphQLClientError extends Error {
  override readonly name = 'GraphQLClientError';

  constructor(
    readonly code: ClientErrorCode,
    message: string,
    /** The HTTP status, or 0 when no response arrived. */
    readonly status: number,
    readonly errors: readonly GraphQLErrorEntry[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The first error's extensions, e.g. `productIds` of UNKNOWN_PRODUCTS. */
  get extensions(): Readonly<Record<string, unknown>> {
    return this.errors[0]?.extensions ?? {};
  }
}
