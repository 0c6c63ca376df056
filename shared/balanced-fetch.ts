import { AppError } from './errors';
import { AnswerResponse, sendHttp } from './http-client';

/** Errors raised before a request reached the server: safe to retry on another instance, even for mutations. */
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

export interface BalancedFetchOptions {
  /** A name for error messages, e.g. the subgraph name. */
  name: string;
  /** Every instance's URL; requests rotate over them. */
  urls: readonly string[];
  /** Per-attempt timeout in milliseconds. */
  timeoutMs: number;
}

export type FetchLike = (url: string, init?: RequestInit) => Promise<AnswerResponse>;

/** A fetch bound to its instances (kept for logs and health reports). */
export type BalancedFetch = FetchLike & { readonly urls: readonly string[] };

/**
 * A fetch that ignores the URL it is given and sends the request round-robin over `urls`.
 * An instance that refuses the connection is skipped and the next one tried, so a stopped
 * instance costs clients nothing; when none answers, an UPSTREAM_UNAVAILABLE AppError is thrown.
 */
export function createBalancedFetch({ name, urls, timeoutMs }: BalancedFetchOptions): BalancedFetch {
  if (urls.length === 0) throw new Error(`${name}: at least one URL is required`);
  let cursor = 0;
  const balanced = async (_url: string, init: RequestInit = {}): Promise<AnswerResponse> => {
    const start = cursor;
    cursor = (cursor + 1) % urls.length;
    for (let attempt = 0; attempt < urls.length; attempt += 1) {
      const url = urls[(start + attempt) % urls.length]!;
      try {
        return new AnswerResponse(await sendHttp(url, init, timeoutMs), url);
      } catch (error) {
        if (!isConnectError(error)) throw upstreamError(name, error);
      }
    }
    throw new AppError('UPSTREAM_UNAVAILABLE', `No instance of the ${name} service is reachable`);
  };
  return Object.assign(balanced, { urls });
}

/** undici's `request` puts the code on the error itself; fetch put it on `cause`. */
function errorCode(error: unknown): unknown {
  const failure = error as { code?: unknown; cause?: { code?: unknown } } | undefined;
  return failure?.code ?? failure?.cause?.code;
}

function isConnectError(error: unknown): boolean {
  const code = errorCode(error);
  return typeof code === 'string' && CONNECT_ERRORS.has(code);
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function upstreamError(name: string, error: unknown): AppError {
  const timedOut = TIMEOUT_CODES.has(String(errorCode(error))) || (error instanceof DOMException && error.name === 'TimeoutError');
  return new AppError('UPSTREAM_UNAVAILABLE', timedOut ? `The ${name} service did not answer in time` : `The ${name} service failed to answer`);
}
