import type { Agent as AgentType, Dispatcher } from 'undici';
import { deepFreeze } from './config';

/**
 * undici's agent and its header parser, from their own files rather than from the package's
 * index: the index also loads fetch, WebSocket, the cache stores and cookies, and the cookies
 * module reads `globalThis.Headers`, which loads Node's own bundled copy of undici beside ours.
 * Neither is used here; loading the gateway's modules took 3 MB more heap and 6–7 MB more RSS with
 * them, on Node 20 and 24 alike (bench/README.md#memory), and each call parsed its URL again.
 * undici has no `exports` map, so these paths are public to Node; tests/http-client.test.ts fails
 * the day a release moves them.
 */
const Agent = require('undici/lib/dispatcher/agent') as typeof AgentType;
const { parseHeaders } = require('undici/lib/core/util') as { parseHeaders(raw: Buffer[]): Record<string, string | string[]> };

/**
 * The HTTP client for calls between our services (gateway → subgraphs, order → product): undici's
 * agent, one keep-alive agent per process, driven through `dispatch` with a handler that keeps the
 * answer's bytes, answered as a small Fetch-style response.
 *
 * Why not the global `fetch`: it is the same undici underneath, but its WHATWG layer streams a
 * string body through web streams (cloned, teed, then written chunk by chunk) and builds Request,
 * Headers, AbortSignal and Response stream objects per call. Profiled in the gateway, that was
 * over a third of its CPU per federated query. Why not undici's `request` either: it hands the
 * body over as a Readable stream (an async resource, stream state, events) that `text()` then
 * drains, where every caller here wants the whole answer at once: 7–15 µs more CPU per call
 * (bench/README.md#where-the-time-went).
 */
const agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, connect: { noDelay: true } });

/** A whole answer, read: what several callers of one deduplicated request can share. */
export interface BufferedAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * Sends one request and reads the whole answer. `timeoutMs` bounds the wait for the response
 * headers and for each gap in the body; a timeout rejects with code `UND_ERR_HEADERS_TIMEOUT` or
 * `UND_ERR_BODY_TIMEOUT`, a refused connection with `ECONNREFUSED` (as `error.code`), an abort
 * through `init.signal` with the signal's reason.
 */
export function sendHttp(url: string, init: RequestInit, timeoutMs: number): Promise<BufferedAnswer> {
  return new Promise((resolve, reject) => {
    const { origin, path } = targetOf(url);
    const reader = new AnswerReader(resolve, reject, init.signal ?? undefined);
    agent.dispatch(
      {
        origin,
        path,
        method: (init.method ?? 'GET') as 'GET',
        headers: init.headers as Record<string, string> | undefined,
        body: init.body as string | Buffer | undefined,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      },
      reader,
    );
  });
}

/**
 * undici's dispatch handler for one call: keeps the status, the headers (parsed by undici's own
 * parser, as `request` gives them) and the body's chunks, and settles once the answer is whole or
 * the call fails. undici calls `onError` for anything that goes wrong after dispatch, its own
 * validation of the request included, and at most once.
 */
class AnswerReader implements Dispatcher.DispatchHandler {
  private status = 0;
  private headers: Record<string, string | string[] | undefined> = {};
  private readonly chunks: Buffer[] = [];
  private abort?: (reason?: Error) => void;
  private aborted?: Error;
  private readonly stopListening?: () => void;

  constructor(
    private readonly resolve: (answer: BufferedAnswer) => void,
    private readonly reject: (error: unknown) => void,
    signal: AbortSignal | undefined,
  ) {
    if (signal?.aborted) {
      this.aborted = signal.reason as Error;
    } else if (signal) {
      const onAbort = () => {
        this.aborted = signal.reason as Error;
        this.abort?.(this.aborted);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.stopListening = () => signal.removeEventListener('abort', onAbort);
    }
  }

  onConnect(abort: (reason?: Error) => void): void {
    if (this.aborted) return abort(this.aborted);
    this.abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    // 1xx answers (100 Continue) come before the real one.
    if (statusCode < 200) return true;
    this.status = statusCode;
    this.headers = parseHeaders(rawHeaders);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    this.stopListening?.();
    this.resolve({ status: this.status, headers: this.headers, body: utf8Text(this.chunks) });
  }

  onError(error: Error): void {
    this.stopListening?.();
    this.reject(error);
  }
}

/** The body's text, as undici's `text()` reads it: UTF-8, a leading byte-order mark dropped. */
function utf8Text(chunks: Buffer[]): string {
  if (chunks.length === 0) return '';
  const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  const start = bytes.length > 2 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  return bytes.toString('utf8', start);
}

/** Origin and path of each URL called so far: a process calls the few URLs of its configuration, over and over. */
const targets = new Map<string, { origin: string; path: string }>();
const MAX_TARGETS = 1000;

/** `url`'s origin and path with its query, parsed once (undici's `request(url)` parses it on every call). */
function targetOf(url: string): { origin: string; path: string } {
  let target = targets.get(url);
  if (target) return target;
  const parsed = new URL(url);
  target = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
  if (targets.size >= MAX_TARGETS) targets.clear();
  targets.set(url, target);
  return target;
}

/** The shared parse of an answer several callers read (`readOnlyJson`), by the answer it was read from. */
const sharedBodies = new WeakMap<BufferedAnswer, unknown>();

/**
 * The Fetch `Response` surface our callers and Apollo's RemoteGraphQLDataSource use (status,
 * headers, text/json), over a read answer: no stream, so it costs an object, not a pipeline.
 */
export class AnswerResponse {
  private fetchHeaders?: Headers;
  readonly redirected = false;
  readonly type = 'basic';
  readonly statusText = '';
  readonly body = null;
  bodyUsed = false;

  constructor(
    private readonly answer: BufferedAnswer,
    readonly url: string,
    private readonly shared = false,
  ) {}

  /** The Fetch `Headers`, built on first use: the gateway's data source reads `header()` instead. */
  get headers(): Headers {
    if (!this.fetchHeaders) {
      this.fetchHeaders = new Headers();
      for (const [name, value] of Object.entries(this.answer.headers)) {
        if (Array.isArray(value)) for (const item of value) this.fetchHeaders.append(name, item);
        else if (value !== undefined) this.fetchHeaders.set(name, value);
      }
    }
    return this.fetchHeaders;
  }

  /** One response header by its lower-case name, several values joined as `Headers.get` joins them. */
  header(name: string): string | undefined {
    const value = this.answer.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  get status(): number {
    return this.answer.status;
  }

  get ok(): boolean {
    return this.answer.status >= 200 && this.answer.status < 300;
  }

  async text(): Promise<string> {
    this.bodyUsed = true;
    return this.answer.body;
  }

  async json(): Promise<any> {
    this.bodyUsed = true;
    return JSON.parse(this.answer.body);
  }

  /**
   * The parsed body, for a caller that never changes it. When this response is one of several
   * callers' over the same answer (`clone(true)`: the callers of one merged subgraph call,
   * gateway/upstream/subgraph-deduplication.ts), one parse that all of them share, frozen all
   * through, so that a change throws instead of reaching another caller; otherwise a parse of its
   * own, as `json` gives.
   */
  readOnlyJson(): unknown {
    this.bodyUsed = true;
    if (!this.shared) return JSON.parse(this.answer.body);
    let body = sharedBodies.get(this.answer);
    if (body === undefined) sharedBodies.set(this.answer, (body = deepFreeze(JSON.parse(this.answer.body))));
    return body;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    this.bodyUsed = true;
    const bytes = Buffer.from(this.answer.body);
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  /** A response of its own over the same answer; `shared` when other callers have one too (see `readOnlyJson`). */
  clone(shared = false): AnswerResponse {
    return new AnswerResponse(this.answer, this.url, shared);
  }
}
