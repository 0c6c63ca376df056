import { createServer } from 'node:http';

/**
 * The ceiling of `npm run bench`: a plain Node http server answering a fixed JSON body of
 * `BODY_BYTES` bytes on `PORT`, doing nothing else.
 */
const size = Number(process.env.BODY_BYTES ?? 64);
const body = Buffer.from(JSON.stringify({ padding: 'x'.repeat(Math.max(0, size - 15)) }));
createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
  response.end(body);
}).listen(Number(process.env.PORT ?? 0), '127.0.0.1');
