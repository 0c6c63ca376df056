import { createServer } from 'node:http';
import { startStack } from '../tests/fixtures/stack';

/**
 * One benchmark target per process, so the load generator and the server under test never share
 * a core: `stack` (gateway + subgraphs, SQLite, in-memory cache) or `bare <bytes>` (a plain Node
 * http server answering a fixed JSON body of that size, the ceiling on this machine). Prints one
 * JSON line describing itself, then serves until killed.
 */
async function main(): Promise<void> {
  const [kind, size] = process.argv.slice(2);
  if (kind === 'bare') {
    const body = Buffer.from(JSON.stringify({ padding: 'x'.repeat(Math.max(0, Number(size) - 15)) }));
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
      response.end(body);
    });
    server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}` })));
    return;
  }
  const stack = await startStack();
  const token = await stack.signIn('bench');
  const ids: number[] = [];
  for (const name of ['Keyboard', 'Mouse', 'Monitor']) ids.push((await stack.gateway.post('/products', { name, supply_price: 1000 }, { token })).body.product_id);
  const order = await stack.gateway.post('/order', { name: 'benchmark order', product_ids: ids }, { token });
  console.log(JSON.stringify({ url: stack.gateway.baseUrl, token, orderId: order.body.order_id }));
}

void main();
