import { connect } from 'node:net';
import { errorCatalogue } from '../shared/errors';
import { startStack, type Stack } from './fixtures/stack';

/**
 * What Node's HTTP server refuses before any route runs is answered from the catalogue too, in the
 * `{"error": {"code", "message"}}` shape, or in the GraphQL shape when the request line says
 * `/graphql`, by the gateway and the subgraphs alike (one HTTP app, one error door).
 */
let stack: Stack;
beforeAll(async () => (stack = await startStack({ productInstances: 1 })));
afterAll(() => stack?.close());

/** Sends `raw` bytes on a new connection and returns everything the server wrote before closing it. */
function exchange(url: string, raw: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(raw));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

function parse(answer: string) {
  const [head = '', body = ''] = answer.split('\r\n\r\n');
  return { status: Number(head.split(' ')[1]), contentType: /content-type: ([^\r]+)/i.exec(head)?.[1], body: JSON.parse(body) };
}

test.each([
  ['a request line that is not HTTP', 400, 'MALFORMED_REQUEST', 'HELLO\r\n\r\n'],
  ['a header name with a space', 400, 'MALFORMED_REQUEST', 'GET /health HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n'],
  ['a chunk size that is not hexadecimal', 400, 'MALFORMED_REQUEST', 'POST /products HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
  ['headers over 16 KiB', 431, 'HEADERS_TOO_LARGE', `GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: ${'x'.repeat(17 * 1024)}\r\n\r\n`],
])('%s → %i %s, on the gateway and on a subgraph', async (_case, status, code, raw) => {
  for (const url of [stack.gateway.baseUrl, stack.subgraphUrls.auth!]) {
    const answer = parse(await exchange(url, raw));
    expect(answer).toEqual({ status, contentType: 'application/json; charset=utf-8', body: { error: { code, message: errorCatalogue[code as keyof typeof errorCatalogue].message } } });
  }
});

test.each([
  ['a header name with a space', 400, 'MALFORMED_REQUEST', 'POST /graphql HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n'],
  ['headers over 16 KiB', 431, 'HEADERS_TOO_LARGE', `GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: x\r\nX-Padding: ${'x'.repeat(17 * 1024)}\r\n\r\n`],
])('on /graphql, %s → %i %s in the GraphQL shape', async (_case, status, code, raw) => {
  for (const url of [stack.gateway.baseUrl, stack.subgraphUrls.auth!]) {
    const answer = parse(await exchange(url, raw));
    const message = errorCatalogue[code as keyof typeof errorCatalogue].message;
    expect(answer).toEqual({ status, contentType: 'application/json; charset=utf-8', body: { errors: [{ message, extensions: { code } }] } });
  }
});
