import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sendHttp } from '../shared/http-client';
import { runnable } from './fixtures/processes';

// shared/http-client.ts takes undici's agent and `request` from their own files, not from the
// package's index (which loads fetch, WebSocket and cookies, and through them Node's own copy of
// undici). These tests fail the day an undici release moves those files or changes what they are.

const ROOT = join(__dirname, '..');

test("the files it loads are the very agent and request undici's index exports", () => {
  const undici = require('undici') as typeof import('undici');
  expect(require('undici/lib/dispatcher/agent')).toBe(undici.Agent);
  expect(require('undici/lib/api/api-request')).toBe((require('undici/lib/api') as { request: unknown }).request);
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

  test('a malformed URL rejects, and sends nothing', async () => {
    await expect(sendHttp('not a url', {}, 5_000)).rejects.toThrow();
    expect(seen).toEqual([]);
  });
});
