import { spawn } from 'node:child_process';
import autocannon from 'autocannon';
import { startProcessStack, freePort } from '../tests/fixtures/processes';
import { isListening, waitFor } from '../tests/fixtures/net';
async function main() {
  const secret = 'y'.repeat(40);
  const stack = await startProcessStack({ LOG_LEVEL: 'silent', JWT_SECRET: secret });
  const token = await stack.signIn('bench');
  const ids: number[] = [];
  for (const n of ['a', 'b', 'c']) ids.push((await stack.gateway.post('/products', { name: n, supply_price: 1 }, { token })).body.product_id);
  const order = (await stack.gateway.post('/order', { name: 'o', product_ids: ids }, { token })).body.order_id;
  const port = await freePort();
  const u = (n: string) => `http://127.0.0.1:${stack.processes[n]!.port}/graphql`;
  const child = spawn(process.execPath, ['--cpu-prof', '--cpu-prof-dir=/tmp/gwprof', '--import', 'tsx', 'gateway/index.ts'], { env: { ...process.env, LOG_LEVEL: 'silent', JWT_SECRET: secret, PORT: String(port), HOST: '127.0.0.1', RESPONSE_CACHE: 'off', GRAPHQL_IDE: 'off', SUBGRAPH_AUTH_URLS: u('auth'), SUBGRAPH_ORDER_URLS: u('order'), SUBGRAPH_PRODUCT_URLS: [u('product-a'), u('product-b')].join(',') }, stdio: 'inherit' });
  await waitFor(() => isListening(port), 'gw', 30000);
  const body = JSON.stringify({ query: process.env.Q === 'order' ? 'query O($id: ID!) { order(id: $id) { id name products { id name supplyPrice } } }' : 'query Product($id: ID!) { product(id: $id) { id name supplyPrice } }', variables: { id: String(process.env.Q === 'order' ? order : ids[0]) } });
  const r = await autocannon({ url: `http://127.0.0.1:${port}/graphql`, method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body, connections: 8, duration: 12, overallRate: 200 });
  console.log(r.requests.average, 'rps p50', r.latency.p50, 'errors', r.errors, r.non2xx);
  await new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); });
  await stack.close();
}
void main();
