import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConfigError } from '../shared/config';
import { loadTracingSettings } from '../shared/tracing/config';
import { HttpClient } from './fixtures/http';
import { waitFor } from './fixtures/net';
import { runnable, startProcessStack, type ProcessStack, type RunningProcess } from './fixtures/processes';
import { startZipkinReceiver, type ZipkinReceiver, type ZipkinSpan } from './fixtures/zipkin';

/** Seven processes start, six of them loading the OpenTelemetry SDK: on two shared cores that takes a while. */
const START_TIMEOUT_MS = 120_000;

let zipkin: ZipkinReceiver;
/** The stack's start, which may outlive a timed-out beforeAll: afterAll still stops what it started. */
let starting: Promise<ProcessStack> | undefined;
let stack: ProcessStack;
let token: string;
let productIds: number[];
/** Two more gateways over the same subgraphs: one that samples nothing itself, one that exports nothing. */
let sparse: RunningProcess;
let untraced: RunningProcess;

beforeAll(async () => {
  zipkin = await startZipkinReceiver();
  stack = await (starting = startProcessStack({ ZIPKIN_URL: zipkin.url, TRACE_EXPORT_DELAY_MS: '100' }));
  const createProducts = async () => {
    token = await stack.signIn('tracer');
    productIds = [];
    for (const name of ['Traced keyboard', 'Traced mouse']) {
      productIds.push((await stack.gateway.post('/products', { name, supply_price: 100 }, { token })).body.product_id);
    }
  };
  [sparse, untraced] = await Promise.all([stack.startGateway('sparse-gateway', { TRACE_SAMPLE_RATIO: '0' }), stack.startGateway('untraced-gateway', { ZIPKIN_URL: '' }), createProducts()]);
}, START_TIMEOUT_MS);

afterAll(async () => {
  await (await starting?.catch(() => undefined))?.close();
  await zipkin?.close();
}, START_TIMEOUT_MS);

const service = (span: ZipkinSpan) => span.localEndpoint.serviceName;
const tag = (span: ZipkinSpan, name: string) => span.tags?.[name];

/** A fresh W3C trace context, as a calling service would send it. */
function traceparent() {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, header: `00-${traceId}-${spanId}-01` };
}

/** Every parent is a span of the same trace, except the roots, whose parent (if any) is `outsideParent`. */
function rootsOf(spans: ZipkinSpan[], outsideParent?: string): ZipkinSpan[] {
  const ids = new Set(spans.map((span) => span.id));
  return spans.filter((span) => span.parentId === undefined || span.parentId === outsideParent || !ids.has(span.parentId));
}

const childrenOf = (spans: ZipkinSpan[], parent: ZipkinSpan) => spans.filter((span) => span.parentId === parent.id);

function descendantsOf(spans: ZipkinSpan[], ancestor: ZipkinSpan): ZipkinSpan[] {
  const children = childrenOf(spans, ancestor);
  return [...children, ...children.flatMap((child) => descendantsOf(spans, child))];
}

function only(spans: ZipkinSpan[], match: (span: ZipkinSpan) => boolean, what: string): ZipkinSpan {
  const found = spans.filter(match);
  if (found.length !== 1) throw new Error(`expected one ${what}, found ${found.length}: ${spans.map((span) => `${service(span)}:${span.name}`).join(', ')}`);
  return found[0]!;
}

/** The product instance behind a client span: the server span it caused, and the port it says it listens on. */
function answeringInstance(spans: ZipkinSpan[], client: ZipkinSpan) {
  const server = only(childrenOf(spans, client), (span) => span.kind === 'SERVER', `server span under ${client.name}`);
  return { server, instance: tag(server, 'service.instance.id') };
}

const sqlSpans = (spans: ZipkinSpan[]) => spans.filter((span) => tag(span, 'db.query.text') !== undefined);

test('POST /order is one trace: gateway, GraphQL operation, query-plan fetch, order, its product check and the SQL', async () => {
  const created = await stack.gateway.post('/order', { name: 'Traced order', product_ids: productIds }, { token });
  expect(created.status).toBe(200);

  const root = await zipkin.waitForSpan(
    (span) => service(span) === 'gateway' && span.name === 'POST /order' && tag(span, 'http.response.status_code') === '200',
    'the gateway span of POST /order',
  );
  const spans = await zipkin.waitForTrace(
    root.traceId,
    (trace) => rootsOf(trace).length === 1 && trace.some((span) => span.name === 'query ExistingProducts') && sqlSpans(trace).some((span) => service(span) === 'order' && span.name === 'COMMIT'),
    'the whole POST /order trace',
  );

  expect(new Set(spans.map(service))).toEqual(new Set(['gateway', 'order', 'product']));
  expect(rootsOf(spans)).toEqual([root]);
  expect(root).toMatchObject({ kind: 'SERVER', tags: expect.objectContaining({ 'http.route': '/order', 'enduser.id': 'tracer' }) });
  expect(JSON.stringify(spans)).not.toContain(token);

  const operation = only(spans, (span) => span.name === 'gateway.request', 'GraphQL operation span');
  expect(operation.parentId).toBe(root.id);
  expect(tag(operation, 'graphql.operation.name')).toBe('CreateOrder');
  const fetch = only(spans, (span) => span.name === 'gateway.fetch', 'query-plan fetch');
  expect(tag(fetch, 'service')).toBe('order');
  expect(descendantsOf(spans, operation)).toContain(fetch);

  const toOrder = only(childrenOf(spans, fetch), (span) => span.kind === 'CLIENT', 'call to the order subgraph');
  const { server: orderServer, instance: orderInstance } = answeringInstance(spans, toOrder);
  expect(orderInstance).toBe(`order-${stack.processes.order!.port}`);
  expect(orderServer.name).toBe('POST /graphql');
  const resolver = only(descendantsOf(spans, orderServer), (span) => span.name === 'graphql.resolve createOrder', 'createOrder resolver span');

  const toProduct = only(descendantsOf(spans, resolver), (span) => service(span) === 'order' && span.kind === 'CLIENT' && tag(span, 'db.query.text') === undefined, 'product check');
  const { server: productServer, instance } = answeringInstance(spans, toProduct);
  expect(instance).toBe(`product-${tag(toProduct, 'server.port')}`);
  expect(descendantsOf(spans, productServer).map((span) => span.name)).toContain('query ExistingProducts');
  expect(sqlSpans(descendantsOf(spans, productServer)).map((span) => span.name)).toContain('SELECT');

  const system = stack.db.kind === 'mysql' ? 'mysql' : 'sqlite';
  const orderSql = sqlSpans(descendantsOf(spans, resolver));
  expect(orderSql.every((span) => tag(span, 'db.system.name') === system)).toBe(true);
  const insert = only(orderSql, (span) => /^INSERT INTO .?orders\b/.test(tag(span, 'db.query.text')!), 'insert into orders');
  expect(tag(insert, 'db.query.text')).toContain('?');
  // The lines too, whatever the order's id and products: one text per count of lines, placeholders only.
  const lines = only(orderSql, (span) => /^INSERT INTO .?order_lines\b/.test(tag(span, 'db.query.text')!), 'insert into order_lines');
  expect(tag(lines, 'db.query.text')).toMatch(/VALUES \(\?, \?\)(, \(\?, \?\))*$/);
  // Statements are recorded with their placeholders: no value sent with them appears in a span.
  expect(sqlSpans(spans).some((span) => /Traced order|tracer/.test(tag(span, 'db.query.text')!))).toBe(false);

  const gatewayLog = () => stack.processes.gateway!.output();
  await waitFor(async () => gatewayLog().includes(`"trace_id":"${root.traceId}"`), 'a gateway log line with the trace id');
});

test('GET /products names the product instance that answered, and honours an incoming B3 header', async () => {
  const caller = traceparent();
  const listed = await stack.gateway.get('/products', { token, headers: { b3: `${caller.traceId}-${caller.spanId}-1` } });
  expect(listed.status).toBe(200);
  const port = listed.headers.get('server-port');

  // Each process sends its own batch: wait for the gateway's request span (it ends last) as well as the product's SQL.
  const spans = await zipkin.waitForTrace(
    caller.traceId,
    (trace) => sqlSpans(trace).some((span) => service(span) === 'product') && trace.some((span) => service(span) === 'gateway' && span.name === 'GET /products'),
    'the GET /products trace',
  );
  const root = only(spans, (span) => span.name === 'GET /products', 'gateway span');
  expect(root.parentId).toBe(caller.spanId);
  expect(rootsOf(spans, caller.spanId)).toEqual([root]);
  expect(tag(root, 'http.route')).toBe('/products');
  const fetch = only(spans, (span) => span.name === 'gateway.fetch', 'query-plan fetch');
  expect(tag(fetch, 'service')).toBe('product');
  expect(tag(fetch, 'app.server_port')).toBe(port);
  const client = only(childrenOf(spans, fetch), (span) => span.kind === 'CLIENT', 'call to the product subgraph');
  expect(answeringInstance(spans, client).instance).toBe(`product-${port}`);
});

test('the response cache decision is on the request span: MISS, then HIT (W3C traceparent honoured)', async () => {
  const created = await stack.gateway.post('/order', { name: 'Cached order', product_ids: productIds.slice(0, 1) }, { token });
  const decisions: (string | undefined)[] = [];
  for (let read = 0; read < 2; read += 1) {
    const caller = traceparent();
    const response = await stack.gateway.get(`/order/${created.body.order_id}`, { token, headers: { traceparent: caller.header } });
    expect(response.status).toBe(200);
    const root = await zipkin.waitForSpan((span) => span.traceId === caller.traceId && span.parentId === caller.spanId, 'the GET /order/:orderId span');
    expect(root.name).toBe('GET /order/:orderId');
    expect(tag(root, 'app.cache')).toBe(response.headers.get('x-cache'));
    decisions.push(tag(root, 'app.cache'));
  }
  expect(decisions).toEqual(['MISS', 'HIT']);
});

test('an error sets the span status: the gateway span carries the error code, the failing resolver its error', async () => {
  const caller = traceparent();
  const refused = await stack.gateway.post('/order', { name: 'Bad order', product_ids: [987654] }, { token, headers: { traceparent: caller.header } });
  expect(refused.status).toBe(400);

  const spans = await zipkin.waitForTrace(caller.traceId, (trace) => trace.some((span) => span.name === 'graphql.resolve createOrder') && trace.some((span) => span.name === 'POST /order'), 'the failed POST /order trace');
  const root = only(spans, (span) => span.name === 'POST /order', 'gateway span');
  expect(root.tags).toMatchObject({ 'otel.status_code': 'ERROR', error: 'UNKNOWN_PRODUCTS', 'error.type': 'UNKNOWN_PRODUCTS', 'http.response.status_code': '400' });
  const resolver = only(spans, (span) => span.name === 'graphql.resolve createOrder', 'createOrder resolver span');
  expect(tag(resolver, 'otel.status_code')).toBe('ERROR');
});

test('TRACE_SAMPLE_RATIO=0 starts no trace, but still records a request that arrives sampled', async () => {
  const client = new HttpClient(`http://127.0.0.1:${sparse.port}`);
  const instance = `gateway-${sparse.port}`;
  expect((await client.get('/products', { token })).status).toBe(200);
  const caller = traceparent();
  expect((await client.get('/products', { token, headers: { traceparent: caller.header } })).status).toBe(200);

  await zipkin.waitForTrace(
    caller.traceId,
    (trace) => trace.some((span) => service(span) === 'product') && trace.some((span) => tag(span, 'service.instance.id') === instance),
    'the sampled request, from the product instance and from the sparse gateway',
  );
  const fromSparse = zipkin.spans.filter((span) => tag(span, 'service.instance.id') === instance);
  expect(fromSparse.length).toBeGreaterThan(0);
  expect(fromSparse.every((span) => span.traceId === caller.traceId)).toBe(true);
});

test('with ZIPKIN_URL unset, a gateway exports nothing, passes no trace context on, and still serves', async () => {
  const client = new HttpClient(`http://127.0.0.1:${untraced.port}`);
  const before = new Set(zipkin.spans.map((span) => span.id));
  const caller = traceparent();
  const listed = await client.get('/products', { token, headers: { traceparent: caller.header } });
  expect(listed.status).toBe(200);

  // The product instance traces on its own: with no context from the gateway, its span is a root.
  await zipkin.waitForSpan((span) => !before.has(span.id) && service(span) === 'product' && span.kind === 'SERVER' && span.parentId === undefined, 'the product span of the untraced call');
  expect(zipkin.spans.filter((span) => span.traceId === caller.traceId)).toEqual([]);
  expect(zipkin.spans.filter((span) => tag(span, 'service.instance.id') === `gateway-${untraced.port}`)).toEqual([]);
  expect(untraced.output()).not.toContain('trace_id');
});

test('with ZIPKIN_URL unset, starting tracing loads no OpenTelemetry module at all', async () => {
  const tracing = runnable('shared/tracing/index.ts');
  const script = `require(${JSON.stringify(tracing.file)}).startTracing('auth'); console.log(JSON.stringify(Object.keys(require.cache).filter((file) => file.includes('@opentelemetry')).length))`;
  const loaded = async (env: Record<string, string>) => {
    const { stdout } = await promisify(execFile)(process.execPath, [...tracing.loader, '-e', script], { cwd: join(__dirname, '..'), env: { ...process.env, ...env } });
    return Number(stdout.trim());
  };
  expect(await loaded({ ZIPKIN_URL: '' })).toBe(0);
  expect(await loaded({ ZIPKIN_URL: zipkin.url })).toBeGreaterThan(0);
}, 60_000);

test('tracing settings: defaults, and every bad value reported at once', () => {
  expect(loadTracingSettings({})).toEqual({ zipkinUrl: undefined, sampleRatio: 1, exportDelayMs: 5000 });
  expect(loadTracingSettings({ ZIPKIN_URL: 'http://zipkin:9411/api/v2/spans', TRACE_SAMPLE_RATIO: '0.25' })).toMatchObject({ sampleRatio: 0.25 });
  expect(() => loadTracingSettings({ ZIPKIN_URL: 'zipkin:9411', TRACE_SAMPLE_RATIO: '1.5' })).toThrow(ConfigError);
  expect(() => loadTracingSettings({ ZIPKIN_URL: 'zipkin:9411', TRACE_SAMPLE_RATIO: '1.5' })).toThrow(/ZIPKIN_URL[\s\S]*TRACE_SAMPLE_RATIO/);
});
