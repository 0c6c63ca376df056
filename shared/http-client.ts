import { Agent, request } from 'undici';

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
  const { statusCode, headers, body } = await request(url, {
    method: (init.method ?? 'GET') as 'GET',
    headers: init.headers as Record<string, string> | undefined,
    body: init.body as string | Buffer | undefined,
    signal: init.signal ?? undefined,
    dispatcher: agent,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  return { status: statusCode, headers, body: await body.text() };
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

/** `value` and everything in it, frozen. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    Object.freeze(value);
    for (const item of Object.values(value)) if (item !== null && typeof item === 'object') deepFreeze(item);
  }
  return value;
}
