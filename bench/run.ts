import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { PROOF_HEADER, signProof } from '../shared/subgraph-proof';
import { compileBuild } from '../tests/fixtures/build';
import { startProcessStack, type ProcessStack, type RunningProcess, type StackOptions } from '../tests/fixtures/processes';
import { interleave, measure, progressLine, runHeader, summarize, type Sample } from './measure';
import { describeForeignPlan, foreignEstimateSeconds, runForeignBenchmark } from './foreign/run';
import { printForeign, recordForeign, writeChart } from './foreign/report';
import { runGrowth, type GrowthRow } from './growth';
import { onBenchNode } from './node-runtime';
import { aboutMinutes, benchOptions, type BenchOptions } from './options';

/**
 * `npm run bench [-- --node=20 --seconds=2 --rounds=1 …]` (bench/options.ts, bench/node-runtime.ts):
 * our scenarios, each target measured `rounds` times, interleaved (A B C … A B C …), then the
 * growth scenario, then the foreign supergraph (bench/foreign/run.ts).
 */
const OPTIONS: BenchOptions = benchOptions();
const DURATION_SECONDS = OPTIONS.seconds;
const ROUNDS = OPTIONS.rounds;
const CONNECTIONS = OPTIONS.connections;
/** Sequential requests per case of the growth scenario. */
const GROWTH_REQUESTS = Number(process.env.BENCH_GROWTH_REQUESTS ?? 100);
/** With a MySQL `DATABASE_URL`, writes are measured on it too (a second stack, on a fresh database there). */
const MYSQL_URL = /^mysql:/.test(process.env.DATABASE_URL ?? '') ? process.env.DATABASE_URL : undefined;

interface Target {
  scenario: string;
  name: string;
  url: string;
  /** The process whose memory is reported. */
  process: RunningProcess;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

const ORDER_QUERY = 'query Order($id: ID!) { order(id: $id) { id name products { id name supplyPrice } } }';
const PRODUCT_QUERY = 'query Product($id: ID!) { product(id: $id) { id name supplyPrice } }';

function measureTarget(target: Target, seconds: number): Promise<Sample> {
  const { url, method = 'GET', headers, body } = target;
  return measure(target.process.pid, { url, method, headers, body, connections: CONNECTIONS, duration: seconds });
}

const graphql = (query: string, variables: Record<string, unknown>, headers: Record<string, string>) => ({
  method: 'POST' as const,
  headers: { ...headers, 'content-type': 'application/json' },
  body: JSON.stringify({ query, variables }),
});

/** Three products and an order of them, created through our gateway. */
async function seed(stack: ProcessStack, token: string) {
  const productIds: number[] = [];
  for (const name of ['Keyboard', 'Mouse', 'Monitor']) {
    const created = await stack.gateway.post('/products', { name, supply_price: 1000 }, { token });
    productIds.push(created.body.product_id);
  }
  const order = await stack.gateway.post('/order', { name: 'benchmark order', product_ids: productIds }, { token });
  if (order.status !== 200) throw new Error(`seeding failed: ${order.status} ${JSON.stringify(order.body)}`);
  return { productIds, productId: productIds[0]!, orderId: order.body.order_id as number };
}

/** Scenario 5's target: `POST /order` with 3 product ids, through the gateway of `stack`. */
async function writeTarget(stack: ProcessStack, database: string): Promise<Target> {
  const token = await stack.signIn('writer');
  const { productIds } = await seed(stack, token);
  const gateway = stack.processes.gateway!;
  return {
    scenario: 'writes',
    name: `POST /order, 3 product ids (${database})`,
    url: `http://127.0.0.1:${gateway.port}/order`,
    process: gateway,
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench write', product_ids: productIds }),
  };
}

async function startMysqlStack(options: StackOptions): Promise<ProcessStack | undefined> {
  if (!MYSQL_URL) return undefined;
  const previous = process.env.TEST_DATABASE_URL;
  process.env.TEST_DATABASE_URL = MYSQL_URL; // tests/fixtures/database.ts makes a fresh database there
  try {
    return await startProcessStack({ LOG_LEVEL: 'silent' }, options);
  } finally {
    if (previous === undefined) delete process.env.TEST_DATABASE_URL;
    else process.env.TEST_DATABASE_URL = previous;
  }
}

async function main(): Promise<void> {
  const subgraphSecret = randomBytes(32).toString('hex');
  // Every process runs compiled JavaScript, as production does (bench/README.md#memory); the baselines too.
  const build = compileBuild('bench', ['bench/stock-gateway.ts', 'bench/bare-server.ts']);
  const options = { build: build.dir };
  let stack: ProcessStack | undefined;
  let mysqlStack: ProcessStack | undefined;
  try {
    stack = await startProcessStack({ LOG_LEVEL: 'silent', SUBGRAPH_SECRET: subgraphSecret }, options);
    mysqlStack = await startMysqlStack(options);
    const userId = 'bench';
    const token = await stack.signIn(userId);
    const { productId, orderId } = await seed(stack, token);
    const auth = { authorization: `Bearer ${token}` };
    const cached = stack.processes.gateway!;
    const uncached = await stack.startGateway('gateway-uncached', { RESPONSE_CACHE: 'off' });
    // Without client deduplication: each request executes, identical subgraph calls still merge.
    const ownExecutions = await stack.startGateway('gateway-own-executions', { RESPONSE_CACHE: 'off', CLIENT_DEDUPLICATION: 'off' });
    // Without either deduplication: what the rest of the work is worth when no two requests are alike.
    const plain = await stack.startGateway('gateway-plain', { RESPONSE_CACHE: 'off', CLIENT_DEDUPLICATION: 'off', SUBGRAPH_DEDUPLICATION: 'off' });
    // V8's own heap growth instead of HEAP_GROWTH_PERCENT's default: what that setting saves
    // (bench/README.md#memory), beside the client-deduplication-off row, where every request executes.
    const v8Growth = await stack.startGateway('gateway-v8-growth', { RESPONSE_CACHE: 'off', CLIENT_DEDUPLICATION: 'off', HEAP_GROWTH_PERCENT: '0' });
    const stock = await stack.startBesideGateway('stock', 'bench/stock-gateway.ts', {});
    const restBytes = (await (await fetch(`http://127.0.0.1:${cached.port}/order/${orderId}`, { headers: auth })).arrayBuffer()).byteLength;
    const bare = await stack.startBesideGateway('bare', 'bench/bare-server.ts', { BODY_BYTES: String(restBytes) });
    const at = (running: RunningProcess, path: string) => `http://127.0.0.1:${running.port}${path}`;
    const productSubgraph = stack.processes['product-a']!;

    const targets: Target[] = [
      { scenario: 'ceiling', name: 'bare Node http, fixed JSON body', url: at(bare, '/'), process: bare },
      {
        scenario: 'product(id)',
        name: 'direct product subgraph',
        url: at(productSubgraph, '/graphql'),
        process: productSubgraph,
        // The subgraph asks for the gateway's proof; signed to outlast the whole run.
        ...graphql(PRODUCT_QUERY, { id: String(productId) }, { [PROOF_HEADER]: signProof({ secret: subgraphSecret }, undefined, PRODUCT_QUERY, Date.now() + 3_600_000) }),
      },
      { scenario: 'product(id)', name: 'our gateway (cache off)', url: at(uncached, '/graphql'), process: uncached, ...graphql(PRODUCT_QUERY, { id: String(productId) }, auth) },
      { scenario: 'product(id)', name: 'our gateway (cache off, client deduplication off)', url: at(ownExecutions, '/graphql'), process: ownExecutions, ...graphql(PRODUCT_QUERY, { id: String(productId) }, auth) },
      { scenario: 'product(id)', name: 'our gateway (cache off, deduplication off)', url: at(plain, '/graphql'), process: plain, ...graphql(PRODUCT_QUERY, { id: String(productId) }, auth) },
      { scenario: 'product(id)', name: 'stock Apollo Gateway', url: at(stock, '/'), process: stock, ...graphql(PRODUCT_QUERY, { id: String(productId) }, { 'x-user-id': userId }) },
      { scenario: 'GET /products/{id}', name: 'REST layer (cache off)', url: at(uncached, `/products/${productId}`), process: uncached, headers: auth },
      { scenario: 'order with 3 products', name: 'our gateway (cache off)', url: at(uncached, '/graphql'), process: uncached, ...graphql(ORDER_QUERY, { id: String(orderId) }, auth) },
      { scenario: 'order with 3 products', name: 'our gateway (cache off, client deduplication off)', url: at(ownExecutions, '/graphql'), process: ownExecutions, ...graphql(ORDER_QUERY, { id: String(orderId) }, auth) },
      { scenario: 'order with 3 products', name: "our gateway (cache and client deduplication off, V8's own heap growth)", url: at(v8Growth, '/graphql'), process: v8Growth, ...graphql(ORDER_QUERY, { id: String(orderId) }, auth) },
      { scenario: 'order with 3 products', name: 'our gateway (cache off, deduplication off)', url: at(plain, '/graphql'), process: plain, ...graphql(ORDER_QUERY, { id: String(orderId) }, auth) },
      { scenario: 'order with 3 products', name: 'stock Apollo Gateway', url: at(stock, '/'), process: stock, ...graphql(ORDER_QUERY, { id: String(orderId) }, { 'x-user-id': userId }) },
      { scenario: 'cached order', name: 'cached GET /order/{id} (REST)', url: at(cached, `/order/${orderId}`), process: cached, headers: auth },
      { scenario: 'cached order', name: 'cached GraphQL order query', url: at(cached, '/graphql'), process: cached, ...graphql(ORDER_QUERY, { id: String(orderId) }, auth) },
      await writeTarget(stack, 'SQLite'),
      ...(mysqlStack ? [await writeTarget(mysqlStack, 'MySQL')] : []),
    ];
    for (const target of targets) await check(target);
    console.log(`our scenarios: ${targets.length} targets answer; warming up (${OPTIONS.warmupSeconds} s each)`);
    for (const target of targets) await measureTarget(target, OPTIONS.warmupSeconds); // JIT, caches, connections
    const samples = await interleave(measuringOrder(targets), ROUNDS, async (target, round) => {
      const sample = await measureTarget(target, DURATION_SECONDS);
      console.log(progressLine(`${target.scenario} / ${target.name}`, round, ROUNDS, sample));
      return sample;
    });
    console.log(`growth: ${GROWTH_REQUESTS} sequential requests a case`);
    const growth = await runGrowth(stack, token, GROWTH_REQUESTS);
    report(targets, samples, restBytes, growth);
    await stack.close();
    await mysqlStack?.close();
    if (!OPTIONS.foreign) return;
    // Last, on processes of its own once the stacks above are gone (alone: `npm run bench:foreign`).
    console.log(`\n${describeForeignPlan(OPTIONS)}`);
    const foreign = await runForeignBenchmark({ ...OPTIONS, warmupSeconds: Math.max(OPTIONS.warmupSeconds, 3) }, build.dir);
    printForeign(foreign);
    recordForeign(foreign);
    writeChart(foreign);
  } finally {
    await stack?.close();
    await mysqlStack?.close();
    build.remove();
  }
}

/** One request first: a target that answers an error would measure nothing. */
async function check(target: Target): Promise<void> {
  const response = await fetch(target.url, { method: target.method ?? 'GET', headers: target.headers, body: target.body });
  const text = await response.text();
  if (!response.ok || text.includes('"errors"')) throw new Error(`${target.scenario} / ${target.name}: ${response.status} ${text.slice(0, 300)}`);
}

/** A target by its scenario and name. */
type TargetRef = readonly [scenario: string, name: string];
const ORDER = 'order with 3 products';
const BARE: TargetRef = ['ceiling', 'bare Node http, fixed JSON body'];
const DIRECT: TargetRef = ['product(id)', 'direct product subgraph'];
const STOCK = (scenario: string): TargetRef => [scenario, 'stock Apollo Gateway'];
const OURS = (scenario: string, deduplication: '' | ', client deduplication off' | ', deduplication off'): TargetRef => [scenario, `our gateway (cache off${deduplication})`];
const CACHED_REST: TargetRef = ['cached order', 'cached GET /order/{id} (REST)'];
const CACHED_GRAPHQL: TargetRef = ['cached order', 'cached GraphQL order query'];

/** A ratio of the report: `part` over `whole`, of their rates (or CPU per request), median over median and round by round. */
interface RatioSpec {
  name: string;
  part: TargetRef;
  whole: TargetRef;
  of?: 'cpu';
  likeForLike: string;
}

const LIKE_FOR_LIKE = 'yes';
// Ours merging 32 identical requests in flight, which the peer cannot: what a burst gains, not like for like.
const BURST = 'no: ours merges identical requests in flight, the peer cannot';
const RATIOS: readonly RatioSpec[] = [
  { name: 'our gateway without deduplication / stock gateway, order with 3 products', part: OURS(ORDER, ', deduplication off'), whole: STOCK(ORDER), likeForLike: LIKE_FOR_LIKE },
  // On 2 shared cores the subgraphs and the load generator bound the rate too: CPU per request is the gateway's own cost.
  { name: 'the same, CPU per request (lower is better)', part: OURS(ORDER, ', deduplication off'), whole: STOCK(ORDER), of: 'cpu', likeForLike: LIKE_FOR_LIKE },
  { name: 'our gateway without deduplication / direct subgraph, product(id)', part: OURS('product(id)', ', deduplication off'), whole: DIRECT, likeForLike: LIKE_FOR_LIKE },
  { name: 'stock gateway / direct subgraph, product(id)', part: STOCK('product(id)'), whole: DIRECT, likeForLike: LIKE_FOR_LIKE },
  { name: 'cached REST order read / bare server', part: CACHED_REST, whole: BARE, likeForLike: LIKE_FOR_LIKE },
  { name: 'cached GraphQL order query / bare server', part: CACHED_GRAPHQL, whole: BARE, likeForLike: LIKE_FOR_LIKE },
  { name: 'our gateway / stock gateway, order with 3 products', part: OURS(ORDER, ''), whole: STOCK(ORDER), likeForLike: BURST },
  { name: 'our gateway without client deduplication / stock gateway, order with 3 products', part: OURS(ORDER, ', client deduplication off'), whole: STOCK(ORDER), likeForLike: BURST },
  { name: 'our gateway / stock gateway, product(id)', part: OURS('product(id)', ''), whole: STOCK('product(id)'), likeForLike: BURST },
  { name: 'our gateway / direct subgraph, product(id)', part: OURS('product(id)', ''), whole: DIRECT, likeForLike: BURST },
  { name: 'our gateway without client deduplication / direct subgraph, product(id)', part: OURS('product(id)', ', client deduplication off'), whole: DIRECT, likeForLike: BURST },
];

/**
 * The order in which a round measures the targets: the two sides of each like-for-like ratio one
 * right after the other (the bare server just before the cached reads, our gateway without
 * deduplication between the direct subgraph and the stock gateway), so that a change in the shared
 * machine's load between two measurements hits both sides of a ratio less; the tables keep the
 * scenarios' order.
 */
function measuringOrder(targets: readonly Target[]): Target[] {
  const first: TargetRef[] = [BARE, CACHED_REST, CACHED_GRAPHQL, DIRECT, OURS('product(id)', ', deduplication off'), STOCK('product(id)'), OURS(ORDER, ', deduplication off'), STOCK(ORDER)];
  const paired = first.map((ref) => targetOf(targets, ref)).filter((target): target is Target => target !== undefined);
  return [...paired, ...targets.filter((target) => !paired.includes(target))];
}

const targetOf = (targets: readonly Target[], [scenario, name]: TargetRef) => targets.find((target) => target.scenario === scenario && target.name === name);

function report(targets: Target[], samples: Map<Target, Sample[]>, restBytes: number, growth: GrowthRow[]): void {
  const rows = targets.map((target) => ({ scenario: target.scenario, target: target.name, ...summarize(samples.get(target)!) }));
  const indexOf = (ref: TargetRef) => targets.indexOf(targetOf(targets, ref)!);
  const percent = (part: number, whole: number) => Math.round((100 * part) / whole);
  const ratioRows = RATIOS.map((ratio) => {
    // A Sample (one round) and a row (the rounds' medians) name the two measures alike.
    const measure = ratio.of === 'cpu' ? 'cpuMsPerRequest' : 'requestsPerSecond';
    const [part, whole] = [indexOf(ratio.part), indexOf(ratio.whole)];
    const wholeRounds = samples.get(targets[whole]!)!;
    const rounds = samples.get(targets[part]!)!.map((sample, round) => percent(sample[measure], wholeRounds[round]![measure]));
    return { name: ratio.name, value: `${percent(rows[part]![measure], rows[whole]![measure])} %`, rounds, likeForLike: ratio.likeForLike };
  });
  const ratios = Object.fromEntries(ratioRows.map((row) => [row.name, row.value]));
  const ratioRounds = Object.fromEntries(ratioRows.map((row) => [row.name, row.rounds]));
  console.log(`\nOur scenarios: ${ROUNDS} interleaved rounds of ${DURATION_SECONDS} s, ${CONNECTIONS} connections, SQLite, tracing off; ${runHeader()}\n`);
  console.log('| scenario | target | req/s (median) | p50 ms | p99 ms | errors | RSS MB | CPU ms / request |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(`| ${row.scenario} | ${row.target} | ${row.requestsPerSecond} | ${row.p50Ms} | ${row.p99Ms} | ${row.errors} | ${row.rssMb} | ${row.cpuMsPerRequest} |`);
  console.log('\n| ratio (same run) | value (medians) | round by round | like for like |\n|---|---|---|---|');
  for (const row of ratioRows) console.log(`| ${row.name} | ${row.value} | ${row.rounds.join(', ')} % | ${row.likeForLike} |`);
  console.log(`\nGrowth (our gateway, cache off, ${GROWTH_REQUESTS} sequential requests a case):\n`);
  console.log('| case | p50 ms | p99 ms | response bytes | product subgraph calls per request |');
  console.log('|---|---|---|---|---|');
  for (const row of growth) console.log(`| ${row.case} | ${row.p50Ms} | ${row.p99Ms} | ${row.responseBytes} | ${row.productCallsPerRequest ?? '–'} |`);
  writeFileSync(
    join(__dirname, 'results.json'),
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, loadAverage: loadavg(), rounds: ROUNDS, seconds: DURATION_SECONDS, connections: CONNECTIONS, restBodyBytes: restBytes, results: rows, ratios, ratioRounds, growth }, null, 2)}\n`,
  );
}

/** Our scenarios' targets (counted before they start: the same list as in main), for the plan printed first. */
const OUR_TARGET_COUNT = 15 + (MYSQL_URL ? 1 : 0);

function printPlan(): void {
  const ours = OUR_TARGET_COUNT * (OPTIONS.warmupSeconds + ROUNDS * DURATION_SECONDS);
  // Compiling, starting the stacks and seeding, and the growth scenario: some 3 minutes on the busy 2-core machine.
  const startAndGrowth = 180;
  console.log(`npm run bench on Node ${process.version}, ${new Date().toISOString()}; the plan:`);
  console.log(`  our scenarios: ${OUR_TARGET_COUNT} targets × ${ROUNDS} rounds of ${DURATION_SECONDS} s at ${CONNECTIONS} connections, ${aboutMinutes(ours)}`);
  console.log(`  growth: ${GROWTH_REQUESTS} sequential requests × 6 cases`);
  console.log(`  ${OPTIONS.foreign ? describeForeignPlan(OPTIONS) : 'foreign supergraph: left out (--foreign=off)'}`);
  const foreign = OPTIONS.foreign ? foreignEstimateSeconds(OPTIONS) : 0;
  console.log(`  in all ${aboutMinutes(ours + startAndGrowth + foreign)} (compiling and starting included)\n`);
}

if (onBenchNode()) {
  printPlan();
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
