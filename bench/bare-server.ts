import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

/**
 * The ceiling of `npm run bench`: a plain Node http server answering a fixed JSON body on `PORT`,
 * doing nothing else. The body is `BODY_FILE`'s bytes (a gateway's real answer), or else a JSON
 * object padded to `BODY_BYTES` bytes. `BODY_AS=string` writes it as a JS string, as a server that
 * serialises each answer must; by default it is written as the Buffer it was read into once.
 */
const size = Number(process.env.BODY_BYTES ?? 64);
const text = process.env.BODY_FILE ? readFileSync(process.env.BODY_FILE, 'utf8') : JSON.stringify({ padding: 'x'.repeat(Math.max(0, size - 15)) });
const body: string | Buffer = process.env.BODY_AS === 'string' ? text : Buffer.from(text);
const length = Buffer.byteLength(body);
createServer((request, response) => {
  // Read the request to its end, as every server answering a POST does.
  request.resume();
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': length });
    response.end(body);
  });
}).listen(Number(process.env.PORT ?? 0), '127.0.0.1');
