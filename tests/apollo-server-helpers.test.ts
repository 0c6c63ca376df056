import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { installApolloServerHelpers, MEMO_SIZE, oneShotCreateHash } from '../shared/apollo-server-helpers';
import { runnable } from './fixtures/processes';

// shared/apollo-server-helpers.ts replaces two helpers Apollo Server calls on every request. These
// tests hold it to giving the same answers as what it replaces, and fail the day an Apollo release
// stops loading them from where it looks.

const ROOT = join(__dirname, '..');
// A module as the package `owner` resolves it: the copy its code loads.
const requireAs = (owner: string) => createRequire(require.resolve(owner));
type NegotiatorClass = new (request: { headers: Record<string, string | undefined> }) => { mediaType(available?: string[]): string | undefined };

describe('the one-shot hash', () => {
  const cases: [string, (hash: { update(data: string | Buffer, encoding?: BufferEncoding): unknown }) => void][] = [
    ['one text', (hash) => hash.update('query Product($id: ID!) { product(id: $id) { id } }')],
    ['texts in turn, not ASCII', (hash) => (hash.update('réponse '), hash.update('回答'), hash.update(''))],
    ['bytes after text', (hash) => (hash.update('text then '), hash.update(Buffer.from([0, 255, 1])), hash.update(' and text'))],
    ['text in another encoding', (hash) => (hash.update('abc'), hash.update('ff00', 'hex'), hash.update('é', 'latin1'))],
    ['nothing', () => undefined],
  ];

  test.each(cases)('digests %s as crypto.createHash does, in every encoding and algorithm', (_name, feed) => {
    for (const algorithm of ['sha256', 'sha512', 'sha1']) {
      for (const encoding of ['hex', 'base64', 'base64url', undefined] as const) {
        const expected = createHash(algorithm);
        const actual = oneShotCreateHash(algorithm);
        feed(expected);
        feed(actual as never);
        expect(encoding === undefined ? actual.digest() : actual.digest(encoding)).toEqual(encoding === undefined ? expected.digest() : expected.digest(encoding));
      }
    }
  });

  test('refuses an algorithm crypto does not know, as crypto does', () => {
    expect(() => createHash('sha-unknown')).toThrow();
    expect(() => oneShotCreateHash('sha-unknown').update('x').digest('hex')).toThrow();
  });
});

describe('installed', () => {
  beforeAll(() => installApolloServerHelpers());

  test("on the createhash modules both Apollo Server's and Apollo Gateway's code load", () => {
    for (const owner of ['@apollo/server', '@apollo/gateway']) {
      expect((requireAs(owner)('@apollo/utils.createhash') as { createHash: unknown }).createHash).toBe(oneShotCreateHash);
    }
  });

  test("Apollo Server's Negotiator chooses as an untouched one does, the second time from memory too", () => {
    const Remembering = requireAs('@apollo/server')('negotiator') as NegotiatorClass;
    // A copy of its own, loaded apart from the registry the install reached: the untouched answers.
    let Untouched: NegotiatorClass | undefined;
    jest.isolateModules(() => (Untouched = requireAs('@apollo/server')('negotiator') as NegotiatorClass));
    if (!Untouched) throw new Error('negotiator did not load');
    expect(Remembering).not.toBe(Untouched);
    const lists = [
      ['application/json; charset=utf-8', 'application/graphql-response+json; charset=utf-8', 'multipart/mixed; deferSpec=20220824'],
      ['multipart/mixed; deferSpec=20220824', 'application/json'],
    ];
    const headers = [undefined, '', '*/*', 'application/json', 'application/graphql-response+json, application/json;q=0.9', 'text/html', 'multipart/mixed;deferSpec=20220824, application/json;q=0.1', 'application/*;q=0', 'x'.repeat(300), 'application/json;q=0, */*'];
    for (let pass = 0; pass < 2; pass++) {
      for (const accept of headers) {
        for (const list of lists) expect([accept, new Remembering({ headers: { accept } }).mediaType(list)]).toEqual([accept, new Untouched({ headers: { accept } }).mediaType(list)]);
        // Without a list it answers every accepted type: not remembered, still right.
        expect(new Remembering({ headers: { accept } }).mediaType()).toEqual(new Untouched({ headers: { accept } }).mediaType());
      }
    }
    // More distinct headers than are remembered: the first ones are answered anew, and right.
    const many = Array.from({ length: MEMO_SIZE + 10 }, (_, index) => `application/json;q=0.${index % 10}, text/plain;q=0.${(index + 5) % 10}, type/${index}`);
    for (const accept of [...many, ...many]) expect(new Remembering({ headers: { accept } }).mediaType(lists[0])).toBe(new Untouched({ headers: { accept } }).mediaType(lists[0]));
  });
});

test('Apollo Server answers alike with the helpers installed and without, automatic persisted queries included', async () => {
  const helpers = runnable('shared/apollo-server-helpers.ts');
  // The same requests in two processes, one with the helpers installed (twice, so that the second
  // round is answered from memory), one without.
  const script = (install: boolean) => `
    (async () => {
      ${install ? `require(${JSON.stringify(helpers.file)}).installApolloServerHelpers();` : ''}
      const { ApolloServer, HeaderMap } = require('@apollo/server');
      const { createHash } = require('node:crypto');
      const server = new ApolloServer({ typeDefs: 'type Query { hello(name: String): String }', resolvers: { Query: { hello: (_, { name }) => 'hi ' + name } } });
      await server.start();
      const query = '{ hello(name: "anna") }';
      const sha256Hash = createHash('sha256').update(query).digest('hex');
      const persisted = (hash) => ({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
      // Registered by its text and hash, then found by the hash alone; a text with the wrong hash is refused.
      const bodies = [{ query }, { query, ...persisted(sha256Hash) }, persisted(sha256Hash), { query, ...persisted('0'.repeat(64)) }];
      const accepts = [undefined, 'application/json', 'application/graphql-response+json', 'text/html', 'multipart/mixed;deferSpec=20220824, application/json'];
      const answers = [];
      for (let round = 0; round < ${install ? 2 : 1}; round++) {
        for (const accept of accepts) for (const body of bodies) {
          const headers = new HeaderMap([['content-type', 'application/json'], ...(accept === undefined ? [] : [['accept', accept]])]);
          const response = await server.executeHTTPGraphQLRequest({ httpGraphQLRequest: { method: 'POST', headers, search: '', body }, context: async () => ({}) });
          answers.push({ accept, status: response.status ?? 200, type: response.headers.get('content-type'), body: response.body.kind === 'complete' ? response.body.string : 'chunked' });
        }
      }
      await server.stop();
      console.log(JSON.stringify(answers));
    })();`;
  const run = async (install: boolean) => {
    const { stdout } = await promisify(execFile)(process.execPath, [...helpers.loader, '-e', script(install)], { cwd: ROOT });
    return JSON.parse(stdout) as { accept?: string; status: number; type?: string; body: string }[];
  };
  const [installed, untouched] = await Promise.all([run(true), run(false)]);
  expect(installed).toEqual([...untouched, ...untouched]);
  const plain = untouched.filter((answer) => answer.accept === undefined);
  expect(plain.map(({ status, body }) => [status, JSON.parse(body).data?.hello ?? JSON.parse(body).errors?.[0]?.message])).toEqual([
    [200, 'hi anna'],
    [200, 'hi anna'],
    [200, 'hi anna'],
    [400, 'provided sha does not match query'],
  ]);
}, 60_000);
