import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sendHttp } from '../shared/http-client';
import { runnable } from './fixtures/processes';

// shared/http-client.ts takes undici's agent and header parser from their own files, not from the
// package's index (which loads fetch, WebSocket and cookies, and through them Node's own copy of
// undici). These tests fail the day an undici release moves those files or changes what they are.

const ROOT = join(__dirname, '..');

test("the files it loads are the very agent undici's index exports, and the header parser its request uses", () => {
  const undici = require('undici') as typeof import('undici');
  expect(require('undici/lib/dispatcher/agent')).toBe(undici.Agent);
  const { parseHeaders } = require('undici/lib/core/util') as { parseHeaders(raw: Buffer[]): unknown };
  const raw = ['Content-Type', 'application/json', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2'].map((text) => Buffer.from(text));
  expect(parseHeaders(raw)).toEqual({ 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] });
});

test("a process that loads it loads neither undici's index and its fetch nor Node's bundled undici", async () => {
  const client = runnable('shared/http-client.ts');
  const script = [
    `require(${JSON.stringify(client.file)});`,
    // Node's own undici is an internal module: it shows in the list of what the process loaded.
    `console.log(JSON.stringify({ files: Object.keys(require.cache), internal: process.moduleLoadList }));`,
  ].join('\n');
  const { stdout } = await promisify(execFile)(process.execPath, [...client.loader, '-e', script], { cwd: ROOT });
  const { files, internal } = JSON.parse(stdout) as { files: string[]; internal: string[] };
  const undiciFiles = files.filter((file) => file.includes('/node_modules/undici/'));
  expect(undiciFiles).toContain(require.resolve('undici/lib/dispatcher/agent'));
  expect(undiciFiles).not.toContain(require.resolve('undici'));
  expect(undiciFiles.filter((file) => file.includes('/lib/web/'))).toEqual([]);
  expect(internal.filter((name) => name.includes('deps/undici'))).toEqual([]);
}, 60_000);

describe('sendHttp', () => {
  const seen: { method?: string; url?: string; header?: string; body: string }[] = [];
  let server: Server;
  let origin: string;

  beforeAll(async () => {
    server = createServer((request: IncomingMessage, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        seen.push({ method: request.method, url: request.url, header: request.headers['x-probe'] as string | undefined, body });
        response.writeHead(request.url?.startsWith('/missing') ? 404 : 200, { 'content-type': 'application/json', 'x-answer': 'yes' });
        response.end(JSON.stringify({ path: request.url }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => (seen.length = 0));

  test('sends the method, path with its query, headers and body of each URL, however often the same origin is called', async () => {
    const first = await sendHttp(`${origin}/graphql?a=1`, { method: 'POST', headers: { 'x-probe': 'one' }, body: '{"q":1}' }, 5_000);
    const again = await sendHttp(`${origin}/graphql?a=1`, { method: 'POST', headers: { 'x-probe': 'two' }, body: '{"q":2}' }, 5_000);
    const other = await sendHttp(`${origin}/health`, {}, 5_000);
    const missing = await sendHttp(`${origin}/missing/1`, {}, 5_000);
    expect(seen).toEqual([
      { method: 'POST', url: '/graphql?a=1', header: 'one', body: '{"q":1}' },
      { method: 'POST', url: '/graphql?a=1', header: 'two', body: '{"q":2}' },
      { method: 'GET', url: '/health', header: undefined, body: '' },
      { method: 'GET', url: '/missing/1', header: undefined, body: '' },
    ]);
    expect([first.status, again.status, other.status, missing.status]).toEqual([200, 200, 200, 404]);
    expect(JSON.parse(other.body)).toEqual({ path: '/health' });
    expect(first.headers['x-answer']).toBe('yes');
  });

  test('a refused connection rejects with ECONNREFUSED on the error, as callers read it', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(sendHttp(`http://127.0.0.1:${port}/graphql`, {}, 5_000)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  test("reads the answer as undici's request and text() did: repeated headers as a list, a body in many chunks whole, a byte-order mark dropped", async () => {
    const odd = createServer((request, response) => {
      request.resume();
      response.setHeader('set-cookie', ['a=1', 'b=2']);
      response.writeHead(201, { 'content-type': 'application/json' });
      if (request.url === '/bom') return response.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"ok":"é"}')]));
      // Chunked, written 10 ms apart so that they arrive apart, each cut inside a two-byte character
      // (the 9 bytes of `{"text":"` put every ü at an odd offset).
      const bytes = Buffer.from(`{"text":"${'ü'.repeat(40_000)}"}`);
      const cut = [0, 1000, 50_000, bytes.length];
      let index = 0;
      const next = () => {
        response.write(bytes.subarray(cut[index], cut[index + 1]));
        index += 1;
        if (index < cut.length - 1) setTimeout(next, 10);
        else response.end();
      };
      next();
    });
    await new Promise<void>((resolve) => odd.listen(0, '127.0.0.1', resolve));
    const at = `http://127.0.0.1:${(odd.address() as { port: number }).port}`;
    try {
      const long = await sendHttp(`${at}/long`, {}, 5_000);
      expect(long.status).toBe(201);
      expect(long.headers['set-cookie']).toEqual(['a=1', 'b=2']);
      expect(long.headers['transfer-encoding']).toBe('chunked');
      expect(JSON.parse(long.body)).toEqual({ text: 'ü'.repeat(40_000) });
      const bom = await sendHttp(`${at}/bom`, {}, 5_000);
      expect(bom.body).toBe('{"ok":"é"}');
    } finally {
      await new Promise((resolve) => odd.close(resolve));
    }
  });

  test('an abort through the signal rejects with its reason, before the call is sent and while it waits for the answer', async () => {
    const sent: string[] = [];
    const silent = createServer((request) => sent.push(request.url ?? '')); // never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const at = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    try {
      const early = new AbortController();
      early.abort(new Error('stopped before'));
      await expect(sendHttp(`${at}/early`, { signal: early.signal }, 5_000)).rejects.toThrow('stopped before');
      const late = new AbortController();
      const waiting = sendHttp(`${at}/late`, { signal: late.signal }, 5_000);
      await waitUntil(() => sent.includes('/late'));
      late.abort(new Error('stopped while waiting'));
      await expect(waiting).rejects.toThrow('stopped while waiting');
      expect(sent).toEqual(['/late']);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  test('no answer within the timeout rejects with the headers-timeout code', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      await expect(sendHttp(`http://127.0.0.1:${(silent.address() as { port: number }).port}/`, {}, 200)).rejects.toMatchObject({ code: 'UND_ERR_HEADERS_TIMEOUT' });
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  test('a header value undici refuses rejects, and sends nothing', async () => {
    await expect(sendHttp(`${origin}/graphql`, { headers: { 'x-probe': 'line\nbreak' } }, 5_000)).rejects.toMatchObject({ code: 'UND_ERR_INVALID_ARG' });
    expect(seen).toEqual([]);
  });

  test('a malformed URL rejects, and sends nothing', async () => {
    await expect(sendHttp('not a url', {}, 5_000)).rejects.toThrow();
    expect(seen).toEqual([]);
  });
});

async function waitUntil(done: () => boolean): Promise<void> {
  for (let tries = 0; !done(); tries += 1) {
    if (tries > 500) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
