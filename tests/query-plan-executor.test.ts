import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApolloGateway, RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { operationFromDocument, Supergraph } from '@apollo/federation-internals';
import { QueryPlanner } from '@apollo/query-planner';
import { parse } from 'graphql';
import { BENCHMARK_QUERY } from './fixtures/foreign/query';
import { startForeignSubgraphs, type ForeignSubgraphs } from './fixtures/foreign/subgraphs';
import { composeForeignSupergraph } from './fixtures/foreign/supergraph';
import { PlanExecutingGateway } from '../gateway/execution/executor';
import { deepFreeze } from '../shared/config';
import { isExecutable } from '../gateway/execution/plan';
import { compileResponseShape } from '../gateway/execution/response-shape';
import { startEdgeSubgraphs, type EdgeSubgraphs } from './fixtures/edge-subgraphs';
import { startStack, type Stack } from './fixtures/stack';
import type { HttpClient } from './fixtures/http';

/**
 * QUERY_PLAN_EXECUTOR=own against Apollo Gateway's own executor: the same operations, over the
 * same real subgraphs, must get the same whole response (data, errors with their messages, paths
 * and extensions, extensions, status and Cache-Control), on three supergraphs: one of subgraphs
 * that misbehave on purpose (tests/fixtures/edge-subgraphs.ts), The Guild's benchmark, and ours.
 */
interface Case {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
  /** Served by Apollo's executor through the fallback (introspection). */
  fallback?: boolean;
  /** What the answer must show, so that a case cannot pass by both sides answering nothing. */
  shows: (body: Body) => void;
}

interface Body {
  data?: any;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
  extensions?: Record<string, any>;
}

interface Answer {
  status: number | undefined;
  cacheControl: string | undefined;
  body: Body;
}

const paths = (body: Body) => body.errors?.map((error) => error.path);
const codes = (body: Body) => body.errors?.map((error) => error.extensions?.code);

const EDGE_CASES: Case[] = [
  {
    name: 'interface fragments, aliases, __typename and a missing item',
    query: `query Items($ids: [ID!]!) { items(ids: $ids) { __typename kind: __typename id title: name ... on Book { pages } ... on Film { minutes length: minutes } } }`,
    variables: { ids: ['1', 'f1', 'missing', '5'] },
    shows: (body) => expect(body.data.items).toEqual([
      { __typename: 'Book', kind: 'Book', id: '1', title: 'Dune', pages: 412 },
      { __typename: 'Film', kind: 'Film', id: 'f1', title: 'Alien', minutes: 117, length: 117 },
      null,
      { __typename: 'Book', kind: 'Book', id: '5', title: 'Emma', pages: 474 },
    ]),
  },
  {
    name: 'a union with a named fragment and an inline one',
    query: `query Search { search(term: "e") { ...BookParts ... on Film { id name } } } fragment BookParts on Book { id name pages }`,
    shows: (body) => expect(body.data.search.map((item: { id: string }) => item.id)).toEqual(['1', 'f1', 'f2', '5']),
  },
  {
    name: '@requires, and an entity call that errs: the error at the entity path, with its extensions',
    query: `{ items(ids: ["1", "3", "5"]) { id ... on Book { stock shipping } } }`,
    shows: (body) => {
      expect(body.data.items.slice(0, 2)).toEqual([
        { id: '1', stock: 10, shipping: 2 },
        { id: '3', stock: null, shipping: null },
      ]);
      expect(body.errors?.[0]).toMatchObject({ message: 'Stock of book 3 is unknown', extensions: { code: 'STOCK_UNKNOWN', warehouse: 'north', serviceName: 'stock' } });
      expect(paths(body)?.[0]).toEqual(['items', 1]);
    },
  },
  {
    name: 'a non-null entity field the subgraph answers null for',
    query: `{ items(ids: ["f1", "f2"]) { id ... on Film { rating } } }`,
    shows: (body) => {
      expect(body.data.items).toEqual([{ id: 'f1', rating: 7.5 }, null]);
      expect(paths(body)?.[0]).toEqual(['items', 1, 'rating']);
    },
  },
  {
    name: 'a null in a list of non-null objects nulls the list',
    query: `{ sometimesNull { id value } }`,
    shows: (body) => expect(body.data.sometimesNull).toBeNull(),
  },
  {
    name: 'a root field error with its extensions, beside data',
    query: `{ failing item(id: "1") { name } }`,
    shows: (body) => {
      expect(body.data).toEqual({ failing: null, item: { name: 'Dune' } });
      expect(body.errors?.[0]).toMatchObject({ message: 'The catalog is closed', path: ['failing'], extensions: { code: 'CATALOG_CLOSED', retryAfter: 30 } });
    },
  },
  {
    name: 'a non-null root field that fails: data is null',
    query: `{ nonNullFailing { id } item(id: "1") { id } }`,
    shows: (body) => {
      expect(body.data).toBeNull();
      expect(paths(body)).toEqual([['nonNullFailing']]);
    },
  },
  {
    name: 'leaf values of the wrong type: nulls, reported under valueCompletion',
    query: `{ rawMood rawInt rawString rawShapes { id ... on Circle { radius } } item(id: "f1") { id } }`,
    shows: (body) => {
      expect(body.data).toEqual({ rawMood: null, rawInt: null, rawString: null, rawShapes: [{ id: 'c1', radius: 2 }, { id: 'c2', radius: null }], item: { id: 'f1' } });
      expect(body.errors).toBeUndefined();
      expect(body.extensions?.valueCompletion.map((error: { message: string }) => error.message)).toEqual([
        'Invalid value found for field Query.rawMood.',
        'Invalid value found for field Query.rawInt.',
        'Invalid value found for field Query.rawString.',
        'Invalid value found for field Circle.radius.',
      ]);
    },
  },
  {
    name: 'an invalid non-null leaf: null up to the root',
    query: `{ rawCount rawInt }`,
    shows: (body) => {
      expect(body.data).toBeNull();
      // Shaping stops at the first null that reaches the root: rawInt is never looked at.
      expect(body.extensions?.valueCompletion.map((error: { path: string[] }) => error.path)).toEqual([['rawCount']]);
    },
  },
  {
    name: 'leaf values of the wrong type beside a fetch error: the fetch error only',
    query: `{ rawMood failing }`,
    shows: (body) => {
      expect(body.data).toEqual({ rawMood: null, failing: null });
      expect(codes(body)).toEqual(['CATALOG_CLOSED']);
      expect(body.extensions).toBeUndefined();
    },
  },
  {
    name: 'a __typename the schema does not have',
    query: `{ rawShape { id } }`,
    shows: (body) => expect(body.extensions?.valueCompletion[0].message).toBe('Invalid __typename found for object at field Query.rawShape.'),
  },
  {
    name: 'fields and aliases named like Object.prototype properties',
    query: `{ constructor toString: failing hasOwnProperty: item(id: "1") { valueOf: name __proto: id } }`,
    shows: (body) => expect(body.data).toEqual({ constructor: 'a field named constructor', toString: null, hasOwnProperty: { valueOf: 'Dune', __proto: '1' } }),
  },
  {
    name: 'lists of lists with nulls',
    query: `{ nested }`,
    shows: (body) => expect(body.data.nested).toEqual([[1, 2], null, [3, null]]),
  },
  ...[true, false].map(
    (withPages): Case => ({
      name: `@include and @skip on fields and fragments, by variables and defaults (withPages: ${withPages})`,
      query: `query Q($withPages: Boolean!, $skipName: Boolean = true) { items(ids: ["1", "f1"]) { id name @skip(if: $skipName) ... on Book @include(if: $withPages) { pages stock } ... on Film @skip(if: $withPages) { minutes } } }`,
      variables: { withPages },
      shows: (body) => expect(body.data.items).toEqual(withPages ? [{ id: '1', pages: 412, stock: 10 }, { id: 'f1' }] : [{ id: '1' }, { id: 'f1', minutes: 117 }]),
    }),
  ),
  ...[true, false].map(
    (stock): Case => ({
      name: `a condition on a whole subgraph call (Condition node, stock: ${stock})`,
      query: `query Q($stock: Boolean!) { item(id: "1") { id ... on Book @include(if: $stock) { stock } } }`,
      variables: { stock },
      shows: (body) => expect(body.data.item).toEqual(stock ? { id: '1', stock: 10 } : { id: '1' }),
    }),
  ),
  {
    name: 'the same field in two fragments, merged',
    query: `{ item(id: "1") { ... on Book { reviews { id } } ... on Book { reviews { stars note } } id } }`,
    shows: (body) => expect(body.data.item.reviews).toEqual([
      { id: '1-r1', stars: 5, note: null },
      { id: '1-r2', stars: 3, note: 'fine' },
    ]),
  },
  {
    name: 'a non-null leaf null inside an entity list',
    query: `{ item(id: "5") { id ... on Book { reviews { id stars } } } }`,
    shows: (body) => {
      expect(body.data.item).toEqual({ id: '5', reviews: null });
      expect(paths(body)?.[0]).toEqual(['item', 'reviews', 1, 'stars']);
    },
  },
  {
    name: 'entities that point back at entities (nested Flatten)',
    query: `{ items(ids: ["1", "5"]) { ... on Book { reviews { id book { id name stock } } } } }`,
    shows: (body) => expect(body.data.items[1].reviews[1].book).toEqual({ id: '1', name: 'Dune', stock: 10 }),
  },
  {
    name: 'a subgraph answering HTTP 500',
    query: `{ items(ids: ["1", "5"]) { id ... on Book { price name } } }`,
    shows: (body) => {
      expect(body.data.items).toEqual([
        { id: '1', price: null, name: 'Dune' },
        { id: '5', price: null, name: 'Emma' },
      ]);
      expect(body.errors?.[0]?.message).toBe('500: Internal Server Error');
    },
  },
  {
    name: 'a subgraph that is down',
    query: `{ items(ids: ["f1", "f2"]) { id ... on Film { awards name } } }`,
    shows: (body) => {
      expect(body.data.items[0]).toEqual({ id: 'f1', awards: null, name: 'Alien' });
      expect(body.errors?.[0]?.message).toMatch(/ECONNREFUSED/);
    },
  },
  {
    name: 'variables passed on to the subgraph',
    query: `query T($first: Int) { things(first: $first) { id } }`,
    variables: { first: 3 },
    shows: (body) => expect(body.data.things).toHaveLength(3),
  },
  {
    name: 'an argument default applied',
    query: `{ things { id } }`,
    shows: (body) => expect(body.data.things).toHaveLength(2),
  },
  {
    name: 'variables of the wrong type',
    query: `query Q($ids: [ID!]!) { items(ids: $ids) { id } }`,
    variables: { ids: [{ not: 'an id' }] },
    shows: (body) => {
      expect(body.data).toBeUndefined();
      expect(body.errors?.[0]?.message).toMatch(/^Variable "\$ids" got invalid value/);
    },
  },
  {
    name: 'a mutation, then an entity call',
    query: `mutation { rename(id: "1", name: "Dune II") { id name ... on Book { stock } } }`,
    shows: (body) => expect(body.data.rename).toEqual({ id: '1', name: 'Dune II', stock: 10 }),
  },
  {
    name: 'one operation of several, by name',
    query: `query A { item(id: "1") { id } } query B { item(id: "f1") { id name } }`,
    operationName: 'B',
    shows: (body) => expect(body.data).toEqual({ item: { id: 'f1', name: 'Alien' } }),
  },
  {
    name: '__typename alone (a plan without fetches)',
    query: `{ __typename }`,
    shows: (body) => expect(body.data).toEqual({ __typename: 'Query' }),
  },
  {
    name: '__typename of abstract fields without fragments',
    query: `{ item(id: "f1") { __typename } search(term: "dune") { __typename } }`,
    shows: (body) => expect(body.data).toEqual({ item: { __typename: 'Film' }, search: [{ __typename: 'Book' }] }),
  },
  {
    name: "introspection (Apollo's executor serves it)",
    query: `{ __schema { queryType { name } } __type(name: "Book") { name fields { name } } item(id: "1") { id } }`,
    fallback: true,
    shows: (body) => expect(body.data.__type.fields.map((field: { name: string }) => field.name)).toContain('stock'),
  },
];

/**
 * Apollo's data source, whose answers to our executor's `processReadOnly` are frozen: our executor
 * shares one parsed answer among the callers of a merged subgraph call, so it must never change
 * an answer (gateway/execution/result-tree.ts); if it did, the frozen answer would throw and the
 * answers below would differ from stock's. Apollo's executor (the fallback) calls `process`.
 */
class FrozenAnswers extends RemoteGraphQLDataSource {
  async processReadOnly(options: GraphQLDataSourceProcessOptions) {
    const response = await this.process(options);
    deepFreeze(response.data);
    deepFreeze(response.errors);
    return response;
  }
}

/**
 * The same supergraph behind stock Apollo Gateway and ours, each on Apollo Server with its
 * defaults; ours is given frozen answers (FrozenAnswers).
 */
class Pair {
  private constructor(
    private readonly supergraphSdl: string,
    private readonly stock: ApolloServer,
    private readonly ours: ApolloServer,
  ) {}

  static async start(supergraphSdl: string): Promise<Pair> {
    const serve = async (gateway: ApolloGateway) => {
      const server = new ApolloServer({ gateway, includeStacktraceInErrorResponses: false });
      await server.start();
      return server;
    };
    return new Pair(supergraphSdl, await serve(new ApolloGateway({ supergraphSdl })), await serve(new PlanExecutingGateway({ supergraphSdl, buildService: ({ url }) => new FrozenAnswers({ url }) })));
  }

  async answers({ query, variables, operationName }: Case): Promise<[Answer, Answer]> {
    const answer = async (server: ApolloServer): Promise<Answer> => {
      const response = await server.executeOperation({ query, variables, operationName });
      if (response.body.kind !== 'single') throw new Error('incremental response');
      return { status: response.http.status, cacheControl: response.http.headers.get('cache-control'), body: JSON.parse(JSON.stringify(response.body.singleResult)) as Body };
    };
    return [await answer(this.stock), await answer(this.ours)];
  }

  /** Whether our executor (not the fallback to Apollo's) runs the operation. */
  runsOwn({ query, operationName }: Case): boolean {
    const supergraph = Supergraph.build(this.supergraphSdl);
    const operation = operationFromDocument(supergraph.apiSchema(), parse(query), { operationName });
    return compileResponseShape(operation).supported && isExecutable(new QueryPlanner(supergraph).buildQueryPlan(operation));
  }

  async stop(): Promise<void> {
    await Promise.all([this.stock.stop(), this.ours.stop()]);
  }
}

describe('on subgraphs that misbehave', () => {
  let subgraphs: EdgeSubgraphs;
  let pair: Pair;
  beforeAll(async () => {
    subgraphs = await startEdgeSubgraphs();
    pair = await Pair.start(subgraphs.supergraphSdl);
  });
  afterAll(async () => {
    await pair?.stop();
    await subgraphs?.close();
  });

  test.each(EDGE_CASES.map((edge) => [edge.name, edge] as const))('%s', async (_name, edge) => {
    const [stock, ours] = await pair.answers(edge);
    expect(ours).toEqual(stock);
    edge.shows(ours.body);
    expect(pair.runsOwn(edge)).toBe(!edge.fallback);
  });

  test('answers alike when many run at once (no state shared between executions)', async () => {
    const runs = EDGE_CASES.flatMap((edge) => [edge, edge]);
    const answered = await Promise.all(runs.map((edge) => pair.answers(edge)));
    for (const [stock, ours] of answered) expect(ours).toEqual(stock);
  });

  test('hints of every subgraph set the Cache-Control header alike', async () => {
    const [stock, ours] = await pair.answers({ name: 'cached', query: `{ item(id: "1") { id ... on Book { stock } } }`, shows: () => undefined });
    expect(ours.cacheControl).toBe(stock.cacheControl);
    expect(ours.cacheControl).toBe('max-age=60, public');
  });
});

describe("on The Guild's benchmark supergraph", () => {
  let subgraphs: ForeignSubgraphs;
  let pair: Pair;
  beforeAll(async () => {
    subgraphs = await startForeignSubgraphs();
    pair = await Pair.start(composeForeignSupergraph(subgraphs.urls));
  });
  afterAll(async () => {
    await pair?.stop();
    await subgraphs?.close();
  });

  const cases: Case[] = [
    { name: 'the benchmark query', query: BENCHMARK_QUERY, shows: (body) => expect(body.data.topProducts[0].reviews[0].author.reviews[0].product.name).toBe('Table') },
    {
      name: 'a variant with aliases, conditions and __typename',
      query: `query V($deep: Boolean!) { top: topProducts(first: 2) { __typename upc shippingEstimate inStock reviews @include(if: $deep) { by: author { __typename username } } } users { id reviews @skip(if: $deep) { id } } }`,
      variables: { deep: true },
      shows: (body) => expect(body.data.top[0].reviews[0].by.__typename).toBe('User'),
    },
  ];
  test.each(cases.map((each) => [each.name, each] as const))('%s', async (_name, each) => {
    const [stock, ours] = await pair.answers(each);
    expect(ours).toEqual(stock);
    each.shows(ours.body);
    expect(pair.runsOwn(each)).toBe(true);
  });
});

describe('on our supergraph, through the whole gateway', () => {
  let stack: Stack;
  let own: HttpClient;
  let apollo: HttpClient;
  let token: string;
  let otherToken: string;
  let orderId: number;
  let productId: number;
  beforeAll(async () => {
    stack = await startStack({ productInstances: 1 });
    own = await stack.startGateway({ RESPONSE_CACHE: 'off', QUERY_PLAN_EXECUTOR: 'own' });
    apollo = await stack.startGateway({ RESPONSE_CACHE: 'off', QUERY_PLAN_EXECUTOR: 'apollo' });
    token = await stack.signIn('differential');
    otherToken = await stack.signIn('someone-else');
    productId = (await stack.gateway.post('/products', { name: 'Lamp', supply_price: 250 }, { token })).body.product_id;
    orderId = (await stack.gateway.post('/order', { name: 'Lamps', product_ids: [productId, productId] }, { token })).body.order_id;
  });
  afterAll(async () => stack?.close());

  const operation = (name: string) => readFileSync(join(__dirname, '..', 'schema', 'operations', 'client', `${name}.graphql`), 'utf8');
  const same = async (send: (gateway: HttpClient) => Promise<{ status: number; headers: Headers; body: unknown }>) => {
    const [viaApollo, viaOwn] = [await send(apollo), await send(own)];
    const view = (answer: { status: number; headers: Headers; body: unknown }) => ({ status: answer.status, cacheControl: answer.headers.get('cache-control'), body: answer.body });
    expect(view(viaOwn)).toEqual(view(viaApollo));
    return viaOwn;
  };

  test('the client operations, found, missing and forbidden', async () => {
    const order = await same((gateway) => gateway.graphql(operation('Order'), { id: String(orderId) }, token));
    expect(order.body).toMatchObject({ data: { order: { name: 'Lamps', products: [{ name: 'Lamp' }, { name: 'Lamp' }] } } });
    const missing = await same((gateway) => gateway.graphql(operation('Order'), { id: '999999' }, token));
    expect(missing.body).toEqual({ data: { order: null } });
    const notTheirs = await same((gateway) => gateway.graphql(operation('Order'), { id: String(orderId) }, otherToken));
    expect(notTheirs.body).toEqual({ data: { order: null } });
    await same((gateway) => gateway.graphql(operation('Product'), { id: String(productId) }, token));
    const noProduct = await same((gateway) => gateway.graphql(operation('Product'), { id: '999999' }, token));
    expect(noProduct.body).toEqual({ data: { product: null } });
    const badId = await same((gateway) => gateway.graphql(operation('Product'), { id: 'not-a-number' }, token));
    expect((badId.body as Body).errors?.[0]).toMatchObject({ path: ['product'], extensions: { code: expect.any(String) } });
    const products = await same((gateway) => gateway.graphql(operation('Products'), { first: 5 }, token));
    expect((products.body as Body).data.products.length).toBeGreaterThan(0);
    const badVariable = await same((gateway) => gateway.graphql(operation('Products'), { first: 'five' }, token));
    expect((badVariable.body as Body).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  test('the REST routes that read', async () => {
    const read = await same((gateway) => gateway.get(`/order/${orderId}`, { token }));
    expect(read.status).toBe(200);
    expect((await same((gateway) => gateway.get('/order/999999', { token }))).status).toBe(404);
    expect((await same((gateway) => gateway.get(`/products/${productId}`, { token }))).status).toBe(200);
    expect((await same((gateway) => gateway.get('/products', { token }))).status).toBe(200);
  });
});
