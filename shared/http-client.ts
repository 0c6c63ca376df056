import type { Agent as AgentType, Dispatcher } from 'undici';
import { deepFreeze } from './config';

/**
 * undici's agent and its `request`, from their own files rather than from the package's index: the
 * index also loads fetch, WebSocket, the cache stores and cookies, and the cookies module reads
 * `globalThis.Headers`, which loads Node's own bundled copy of undici beside ours. Neither is used
 * here; loading the gateway's modules took 3 MB more heap and 6–7 MB more RSS with them, on Node
 * 20 and 24 alike (bench/README.md#memory), and each call parsed its URL again.
 * undici has no `exports` map, so these paths are public to Node; tests/http-client.test.ts fails
 * the day a release moves them.
 */
const Agent = require('undici/lib/dispatcher/agent') as typeof AgentType;
const dispatchRequest = require('undici/lib/api/api-request') as (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;

/**
 * The HTTP client for calls between our services (gateway → subgraphs, order → product): undici's
 * `request` over one keep-alive agent per process, answered as a small Fetch-style response.
 *
 * Why not the global `fetch`: it is the same undici underneath, but its WHATWG layer streams a
 * string body through web streams (cloned, teed, then written chunk by chunk) and builds Request,
 * Headers, AbortSignal and Response stream objects per call. Profiled in the gateway, that was
 * over a third of its CPU per federated query; `request` writes headers and body in one go.
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
 * `UND_ERR_BODY_TIMEOUT`, a refused connection with `ECONNREFUSED` (as `error.code`).
 */
export async function sendHttp(url: string, init: RequestInit, timeoutMs: number): Promise<BufferedAnswer> {
  const { origin, path } = targetOf(url);
  const { statusCode, headers, body } = await dispatchRequest.call(agent, {
    origin,
    path,
    method: (init.method ?? 'GET') as 'GET',
    headers: init.headers as Record<string, string> | undefined,
    body: init.body as string | Buffer | undefined,
    signal: init.signal ?? undefined,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  return { status: statusCode, headers, body: await body.text() };
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
