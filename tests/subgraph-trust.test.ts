import { randomBytes } from 'node:crypto';
import { HttpClient } from './fixtures/http';
import { startStack, type Stack } from './fixtures/stack';
import { PROOF_HEADER, PROOF_LIFETIME_SECONDS, ProofSigner, ProofVerifier, signProof, verifyProof } from '../shared/subgraph-proof';

/** Subgraph ports are not the front door: only calls carrying the gateway's signed proof execute. */
let stack: Stack;
let alice: string;
let aliceOrder: number;

beforeAll(async () => {
  stack = await startStack();
  alice = await stack.signIn('alice');
  const product = (await stack.gateway.post('/products', { name: 'Lamp', supply_price: 10 }, { token: alice })).body.product_id;
  aliceOrder = (await stack.gateway.post('/order', { name: 'mine', product_ids: [product] }, { token: alice })).body.order_id;
});
afterAll(() => stack?.close());

const client = (name: string) => new HttpClient(stack.subgraphUrls[name]!.replace(/\/graphql$/, ''));
const key = () => ({ secret: stack.subgraphSecret });

/** One operation each subgraph would answer, the user it runs as, and what a valid proof gets. */
const subgraphs: [string, string, string | undefined, (data: any) => void][] = [
  ['auth', 'mutation { signIn(userId: "mallory") { tokenType } }', undefined, (data) => expect(data).toEqual({ signIn: { tokenType: 'Bearer' } })],
  ['product-0', '{ products { name } }', undefined, (data) => expect(data.products).toContainEqual({ name: 'Lamp' })],
  ['product-1', '{ products { name } }', undefined, (data) => expect(data.products).toContainEqual({ name: 'Lamp' })],
  ['order', '{ orders: order(id: "ORDER") { name } }', 'alice', (data) => expect(data).toEqual({ orders: { name: 'mine' } })],
];

const post = (name: string, query: string, headers: Record<string, string> = {}) =>
  client(name).request('POST', '/graphql', { body: { query: query.replace('ORDER', String(aliceOrder)) }, headers });
const querySent = (query: string) => query.replace('ORDER', String(aliceOrder));

/** Proofs that must be refused, given the subgraph's operation and user. */
const forged: [string, (query: string, user: string | undefined) => Record<string, string>][] = [
  ['no proof', () => ({})],
  ['no proof, but an x-user-id header', (_query, user) => ({ 'x-user-id': user ?? 'alice' })],
  ['a proof signed with another secret', (query, user) => ({ [PROOF_HEADER]: signProof({ secret: randomBytes(32).toString('hex') }, user, query) })],
  ['an expired proof', (query, user) => ({ [PROOF_HEADER]: signProof(key(), user, query, Date.now() - (PROOF_LIFETIME_SECONDS + 1) * 1000) })],
  ['a proof for another operation', (_query, user) => ({ [PROOF_HEADER]: signProof(key(), user, '{ __typename }') })],
  ['a proof whose user was swapped', (query, user) => ({ [PROOF_HEADER]: swapUser(signProof(key(), user, query), 'bob') })],
  ['a proof with its expiry pushed back', (query, user) => ({ [PROOF_HEADER]: signProof(key(), user, query).replace(/^v1\.\d+/, 'v1.9999999999') })],
  ['garbage', () => ({ [PROOF_HEADER]: 'v1.garbage' })],
];

function swapUser(proof: string, user: string): string {
  const [version, expiry, , mac] = proof.split('.');
  return [version, expiry, Buffer.from(user).toString('base64url'), mac].join('.');
}

describe.each(subgraphs)('%s, called directly', (name, query, user, expectAnswer) => {
  test.each(forged)('with %s → 403 GATEWAY_PROOF_REQUIRED, nothing executed', async (_case, headers) => {
    const response = await post(name, query, headers(querySent(query), user));
    expect(response.status).toBe(403);
    expect(response.body).toEqual({ errors: [{ message: expect.any(String), extensions: { code: 'GATEWAY_PROOF_REQUIRED' } }] });
  });

  test('over GET without a proof → 403', async () => {
    const response = await client(name).get(`/graphql?query=${encodeURIComponent(querySent(query))}`);
    expect(response.status).toBe(403);
  });

  test('with a valid proof → answered', async () => {
    const response = await post(name, query, { [PROOF_HEADER]: signProof(key(), user, querySent(query)) });
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expectAnswer(response.body.data);
  });

  test('/health stays open to probes', async () => {
    expect((await client(name).get('/health')).status).toBe(200);
  });
});

test("the order subgraph takes the user from the proof: bob's proof does not read alice's order", async () => {
  const query = `{ order(id: "${aliceOrder}") { name } }`;
  const response = await post('order', query, { [PROOF_HEADER]: signProof(key(), 'bob', query), 'x-user-id': 'alice' });
  expect(response.body).toEqual({ data: { order: null } });
});

test('through the gateway everything still works: anonymous sign-in, and orders checked against the product subgraph', async () => {
  const signIn = await stack.gateway.graphql('mutation { signIn(userId: "dave") { tokenType } }');
  expect(signIn.body).toEqual({ data: { signIn: { tokenType: 'Bearer' } } });
  stack.resetHits();
  const product = (await stack.gateway.post('/products', { name: 'Desk', supply_price: 5 }, { token: alice })).body.product_id;
  const created = await stack.gateway.post('/order', { name: 'checked', product_ids: [product] }, { token: alice });
  expect(created.status).toBe(200);
  // The order subgraph's own `_entities` call reached a product instance, and was executed.
  const entityCalls = Object.entries(stack.hits).filter(([hit, { queries }]) => hit.startsWith('product') && queries.some((text) => text.includes('ExistingProducts')));
  expect(entityCalls.length).toBeGreaterThan(0);
});

describe('the proof itself', () => {
  const settings = { secret: 'k'.repeat(32) };

  test('carries the user, or no user for the anonymous sign-in', () => {
    expect(verifyProof(settings, signProof(settings, 'zoë@example', 'q'), 'q')).toEqual({ userId: 'zoë@example' });
    expect(verifyProof(settings, signProof(settings, undefined, 'q'), 'q')).toEqual({ userId: undefined });
  });

  test('lives PROOF_LIFETIME_SECONDS', () => {
    const issued = Date.now();
    const proof = signProof(settings, 'u', 'q', issued);
    expect(verifyProof(settings, proof, 'q', issued + (PROOF_LIFETIME_SECONDS - 1) * 1000).userId).toBe('u');
    expect(() => verifyProof(settings, proof, 'q', issued + (PROOF_LIFETIME_SECONDS + 1) * 1000)).toThrow('The gateway proof has expired');
  });

  test("the gateway's signer gives signProof's proof, signed again for another user, second or operation", () => {
    const signer = new ProofSigner(settings);
    const now = 1_700_000_000_500;
    for (const [user, query, at] of [
      ['u', 'q', now],
      ['u', 'q', now + 100],
      ['v', 'q', now + 200],
      ['u', 'q', now + 1000],
      ['u', 'other', now + 1000],
      [undefined, 'q', now + 1000],
    ] as const) {
      expect(signer.sign(user, query, at)).toBe(signProof(settings, user, query, at));
    }
    expect(signer.sign('u', 'q', now)).not.toBe(signer.sign('u', 'q', now + 1000));
  });

  test("the subgraph's verifier, which remembers a proof that verified, still refuses it for another operation and once expired", () => {
    const verifier = new ProofVerifier(settings);
    const issued = Date.now();
    const proof = signProof(settings, 'u', 'q', issued);
    expect(verifier.verify(proof, 'q', issued)).toEqual({ userId: 'u' });
    expect(verifier.verify(proof, 'q', issued + 1000)).toEqual({ userId: 'u' });
    expect(() => verifier.verify(proof, 'other', issued)).toThrow('The gateway proof is not valid');
    expect(() => verifier.verify(swapUser(proof, 'bob'), 'q', issued)).toThrow('The gateway proof is not valid');
    expect(() => verifier.verify(proof, 'q', issued + (PROOF_LIFETIME_SECONDS + 1) * 1000)).toThrow('The gateway proof has expired');
    expect(() => verifier.verify(undefined, 'q', issued)).toThrow(expect.objectContaining({ code: 'GATEWAY_PROOF_REQUIRED' }));
  });
});
