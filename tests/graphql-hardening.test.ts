import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { getIntrospectionQuery, parse, validate, type GraphQLError } from 'graphql';
import { loadGatewayConfig } from '../gateway/config';
import { createDocumentReader } from '../gateway/graphql-documents';
import { operationLimitRules } from '../gateway/plugins/operation-limits';
import { apiSchema } from '../schema/api-schema';
import { CLIENT_OPERATIONS_DIR } from '../schema/operations/client/playground-tabs';
import type { HttpClient } from './fixtures/http';
import { startStack, type Stack } from './fixtures/stack';

const schema = apiSchema();
const defaults = loadGatewayConfig({ JWT_SECRET: 's'.repeat(40) }).operationLimits;

/** The cost graphql-armor gives a document, read from its refusal at a limit of 0. */
function costOf(query: string): number {
  const errors: GraphQLError[] = [];
  validate(schema, parse(query), [costLimitRule({ maxCost: 0, propagateOnRejection: false, onReject: [(_context, error) => errors.push(error)] })]);
  return Number(/found (\d+(?:\.\d+)?)/.exec(errors[0]!.message)![1]);
}

describe('the default limits', () => {
  test('are documented values: depth 8, cost 10000, 15 aliases, batching off, 1000 tokens, 50 directives and fragments, 30 repeats', () => {
    expect(defaults).toEqual({
      maxDepth: 8,
      maxCost: 10_000,
      maxAliases: 15,
      maxBatch: 0,
      maxTokens: 1000,
      maxDirectives: 50,
      maxFragments: 50,
      maxRepeatedFields: 30,
    });
  });

  const restDir = join(__dirname, '..', 'schema', 'operations', 'rest');
  const files = [
    ...readdirSync(restDir).map((file) => join(restDir, file)),
    ...readdirSync(CLIENT_OPERATIONS_DIR).map((file) => join(CLIENT_OPERATIONS_DIR, file)),
  ].filter((file) => file.endsWith('.graphql'));

  const readDocument = createDocumentReader(defaults);

  test.each(files)('admit the stored operation %s (REST bridge, client and playground tabs)', (file) => {
    const text = readFileSync(file, 'utf8');
    expect(readDocument(text).refusal).toBeUndefined();
    expect(validate(schema, parse(text), operationLimitRules(defaults))).toEqual([]);
  });

  test("admit the playground's introspection query", () => {
    const text = getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true });
    expect(readDocument(text).refusal).toBeUndefined();
    expect(validate(schema, parse(text), operationLimitRules(defaults))).toEqual([]);
  });
});

describe('limits at the gateway, just under and just over', () => {
  const shallow = '{ order(id: "1") { id } }';
  const deep = '{ order(id: "1") { products { id } } }';
  const cheap = '{ products(first: 1) { id } }';
  const costly = '{ products(first: 1) { id name } }';
  let stack: Stack;
  let limited: HttpClient;
  let documentLimited: HttpClient;
  let token: string;

  beforeAll(async () => {
    stack = await startStack({ productInstances: 1 });
    limited = await stack.startGateway({ GRAPHQL_MAX_DEPTH: '2', GRAPHQL_MAX_ALIASES: '2', GRAPHQL_MAX_BATCH: '2' });
    // The limits on documents, checked before validation, on a gateway of their own (fragments count as a level of depth).
    documentLimited = await stack.startGateway({ GRAPHQL_MAX_TOKENS: '100', GRAPHQL_MAX_DIRECTIVES: '2', GRAPHQL_MAX_FRAGMENTS: '2', GRAPHQL_MAX_REPEATED_FIELDS: '3' });
    token = await stack.signIn('hardening');
  });
  afterAll(() => stack?.close());

  /** Posts to the limited gateway and checks that a refusal reached no subgraph. */
  async function post(body: unknown, gateway = limited) {
    stack.resetHits();
    const response = await gateway.request('POST', '/graphql', { token, body });
    const subgraphCalls = Object.values(stack.hits).reduce((sum, hits) => sum + hits.queries.length, 0);
    return { ...response, subgraphCalls };
  }

  async function expectLimit(under: string, over: string, code: string, gateway = limited, message = /limit of \d+ exceeded, found \d+/) {
    const admitted = await post({ query: under }, gateway);
    expect(admitted.status).toBe(200);
    expect(admitted.body.errors).toBeUndefined();
    const refused = await post({ query: over }, gateway);
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0].extensions).toEqual({ code });
    expect(refused.body.errors[0].message).toMatch(message);
    expect(refused.body.data).toBeUndefined();
    expect(refused.subgraphCalls).toBe(0);
  }

  test('depth: at the limit runs, one level more is a 400 QUERY_TOO_DEEP and runs nothing', () => expectLimit(shallow, deep, 'QUERY_TOO_DEEP'));

  test('aliases: two run, a third is a 400 TOO_MANY_ALIASES and runs nothing', () =>
    expectLimit('{ order(id: "1") { a: id b: id } }', '{ order(id: "1") { a: id b: id c: id } }', 'TOO_MANY_ALIASES'));

  test('cost: at the limit runs, one more field is a 400 QUERY_TOO_COSTLY and runs nothing', async () => {
    // Costs can be fractional (×1.5 a level); the limit is the whole number at or just above the cheap one.
    const maxCost = Math.ceil(costOf(cheap));
    expect(costOf(costly)).toBeGreaterThan(maxCost);
    await expectLimit(cheap, costly, 'QUERY_TOO_COSTLY', await stack.startGateway({ GRAPHQL_MAX_COST: String(maxCost) }));
  });

  test('tokens: 100 run, 101 are a 400 TOO_MANY_TOKENS and run nothing', async () => {
    // `a0: __typename` is 3 tokens, `__typename` 1, the braces 2: 2 + 3 × 32 + 2 = 100.
    const withTokens = (count: number) => `{ ${Array.from({ length: 32 }, (_, i) => `a${i}: __typename`).join(' ')} ${'__typename '.repeat(count - 98)}}`;
    await expectLimit(withTokens(100), withTokens(101), 'TOO_MANY_TOKENS', documentLimited, /more than 100 tokens/);
  });

  test('directives: two run, a third is a 400 TOO_MANY_DIRECTIVES and runs nothing', () =>
    expectLimit('{ order(id: "1") @skip(if: false) { id @include(if: true) } }', '{ order(id: "1") @skip(if: false) { id @include(if: true) name @include(if: true) } }', 'TOO_MANY_DIRECTIVES', documentLimited, /more than 2 directives/));

  test('fragments: two defined run, a third is a 400 TOO_MANY_FRAGMENTS and runs nothing', () => {
    const withFragments = (count: number) =>
      `{ ${Array.from({ length: count }, (_, i) => `...F${i}`).join(' ')} } ${Array.from({ length: count }, (_, i) => `fragment F${i} on Query { __typename }`).join(' ')}`;
    return expectLimit(withFragments(2), withFragments(3), 'TOO_MANY_FRAGMENTS', documentLimited, /3 fragments, over the limit of 2/);
  });

  test('repeated fields: three selections of one name run, a fourth (through a fragment) is a 400 TOO_MANY_REPEATED_FIELDS', () =>
    expectLimit(
      '{ __typename __typename ...F } fragment F on Query { __typename }',
      '{ __typename __typename ...F } fragment F on Query { __typename __typename }',
      'TOO_MANY_REPEATED_FIELDS',
      documentLimited,
      /"__typename" is selected more than 3 times/,
    ));

  test('batches: two operations run, three are refused as BATCH_TOO_LARGE', async () => {
    const admitted = await post([{ query: cheap }, { query: shallow }]);
    expect(admitted.status).toBe(200);
    expect(admitted.body).toHaveLength(2);
    expect(admitted.body[0].data.products).toEqual([]);
    const refused = await post([{ query: cheap }, { query: cheap }, { query: cheap }]);
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0].extensions).toEqual({ code: 'BATCH_TOO_LARGE' });
    expect(refused.subgraphCalls).toBe(0);
  });

  test('batching is off by default: even a batch of one is refused', async () => {
    const response = await stack.gateway.request('POST', '/graphql', { token, body: [{ query: cheap }] });
    expect(response.status).toBe(400);
    expect(response.body.errors[0]).toEqual({ message: expect.stringMatching(/not accepted/), extensions: { code: 'BATCH_TOO_LARGE' } });
  });

  describe('CSRF prevention through the Fastify mount', () => {
    const get = (headers: Record<string, string>) => stack.gateway.get(`/graphql?query=${encodeURIComponent(cheap)}`, { token, headers });

    test('a simple GET (no content type, no preflight header) is blocked before it runs', async () => {
      stack.resetHits();
      const response = await get({});
      expect(response.status).toBe(400);
      expect(JSON.stringify(response.body)).toMatch(/Cross-Site Request Forgery/);
      expect(stack.hits['product-0']!.queries).toHaveLength(0);
    });

    test('the same GET with a preflight-forcing header runs', async () => {
      expect((await get({ 'apollo-require-preflight': 'true' })).status).toBe(200);
      expect((await get({ 'content-type': 'application/json' })).status).toBe(200);
    });

    test.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'])(
      'a POST a form could send (%s) never reaches GraphQL',
      async (contentType) => {
        const response = await stack.gateway.request('POST', '/graphql', { token, rawBody: JSON.stringify({ query: cheap }), headers: { 'content-type': contentType } });
        expect(response.status).toBe(415);
        expect(response.body.errors[0].extensions).toEqual({ code: 'UNSUPPORTED_MEDIA_TYPE' });
      },
    );
  });
});
