import { sendRaw, type RawResponse } from './fixtures/raw-http';
import { startStack, type Stack } from './fixtures/stack';

/**
 * A client written for the original Spring services, replayed byte for byte: each request is
 * written to the socket exactly as Spring's RestTemplate (SimpleClientHttpRequestFactory over
 * JDK 17's HttpURLConnection, Jackson as the JSON converter, a bearer-token interceptor) sends
 * it: compact JSON in the DTO's field order with its nulls, and the header set and order
 * HttpURLConnection writes. It must get the answers Spring gave (better 4xx for bad input), in
 * the original dialect and in today's, through the real gateway.
 */

/** What Jackson's converter asks for when a response type is given (getForObject, postForEntity, exchange). */
const JACKSON_ACCEPT = 'application/json, application/*+json';
const USER_AGENT = 'Java/17.0.10';

let stack: Stack;
let port: number;
let alice: LegacyClient;
let bob: LegacyClient;

class LegacyClient {
  constructor(private readonly token?: string) {}

  /** `getForObject(url, Dto.class)`: no body, so no Content-Type or Content-Length. */
  get(path: string) {
    return this.send('GET', path, [['Accept', JACKSON_ACCEPT], ...this.auth()]);
  }

  /** `postForEntity(url, dto, Dto.class)`: Accept, then the converter's Content-Type, then the interceptor's Authorization. */
  post(path: string, json: string) {
    return this.send('POST', path, [['Accept', JACKSON_ACCEPT], ['Content-Type', 'application/json'], ...this.auth()], json);
  }

  /** `put(url, body)`: no response type, so Spring adds `Accept: *\/*` last (to keep HttpURLConnection's HTML default off). */
  put(path: string, json: string) {
    return this.send('PUT', path, [['Content-Type', 'application/json'], ...this.auth(), ['Accept', '*/*']], json);
  }

  /** `exchange(url, PUT, new HttpEntity<>(body), Dto.class)`: a PUT whose answer is read. */
  exchangePut(path: string, json: string) {
    return this.send('PUT', path, [['Accept', JACKSON_ACCEPT], ['Content-Type', 'application/json'], ...this.auth()], json);
  }

  private auth(): [string, string][] {
    return this.token ? [['Authorization', `Bearer ${this.token}`]] : [];
  }

  /** HttpURLConnection writes the caller's headers, then User-Agent, Host, Connection and, for a body, Content-Length. */
  private send(method: string, path: string, headers: [string, string][], body?: string): Promise<RawResponse> {
    const lines = [`${method} ${path} HTTP/1.1`, ...headers.map(([name, value]) => `${name}: ${value}`)];
    lines.push(`User-Agent: ${USER_AGENT}`, `Host: 127.0.0.1:${port}`, 'Connection: keep-alive');
    if (body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
    return sendRaw(port, `${lines.join('\r\n')}\r\n\r\n${body ?? ''}`);
  }
}

const json = (response: RawResponse) => JSON.parse(response.body);
const count = async (table: string) => Number((await stack.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))[0]!.n);
const rowCounts = async () => ({ products: await count('products'), orders: await count('orders'), orderLines: await count('order_lines') });
const linesOf = async (orderId: number) =>
  (await stack.db.query<{ product_id: number }>(`SELECT product_id FROM order_lines WHERE order_id = ${orderId} ORDER BY id`)).map((row) => Number(row.product_id));

/** Product ids by name, for the catalogue created below. */
const ids: Record<string, number> = {};
const CATALOGUE = ['Mouse', 'Gaming MOUSE pad', 'Monitor', '50% off', '500 pack', 'a_b', 'axb', 'Hi!', 'Äpfel', 'ÉCLAIR', 'Keyboard'];

async function signIn(userId: string): Promise<LegacyClient> {
  const response = await new LegacyClient().get(`/auth/signIn?user_id=${userId}`);
  expect(response.status).toBe(200);
  return new LegacyClient(json(response).access_token);
}

async function createOrder(client: LegacyClient, body: string): Promise<number> {
  const response = await client.post('/order', body);
  expect(response.status).toBe(200);
  return json(response).order_id;
}

beforeAll(async () => {
  stack = await startStack();
  port = Number(new URL(stack.gateway.baseUrl).port);
  alice = await signIn('alice');
  bob = await signIn('bob');
  for (const name of CATALOGUE) {
    const response = await alice.post('/products', `{"product_id":null,"name":${JSON.stringify(name)},"supply_price":100}`);
    expect(response.status).toBe(200);
    ids[name] = json(response).product_id;
  }
});
afterAll(() => stack?.close());

describe('products', () => {
  test("POST /products with the original DTO (its product_id null) → 200, Location and the product; the DB holds it", async () => {
    const response = await alice.post('/products', '{"product_id":null,"name":"Trackball","supply_price":500}');
    expect(response.status).toBe(200);
    const id = json(response).product_id;
    expect(response.body).toBe(`{"product_id":${id},"name":"Trackball","supply_price":500}`);
    expect(response.headers.location).toBe(`/products/${id}`);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(await stack.db.query(`SELECT name, supply_price FROM products WHERE id = ${id}`)).toEqual([{ name: 'Trackball', supply_price: 500 }]);
  });

  test('a product_id the client sets is ignored: the product gets its own id', async () => {
    const taken = ids.Mouse!;
    const response = await alice.post('/products', `{"product_id":${taken},"name":"Pen","supply_price":3}`);
    expect(response.status).toBe(200);
    const id = json(response).product_id;
    expect(id).toBeGreaterThan(taken);
    expect(await stack.db.query(`SELECT name FROM products WHERE id IN (${taken}, ${id}) ORDER BY id`)).toEqual([{ name: 'Mouse' }, { name: 'Pen' }]);
  });

  test('today\'s body, without product_id, answers the same way', async () => {
    const response = await alice.post('/products', '{"name":"Stylus","supply_price":7}');
    expect([response.status, json(response).name, response.headers.location]).toEqual([200, 'Stylus', `/products/${json(response).product_id}`]);
  });

  test('GET /products/{id} → 200 the product, 404 for none', async () => {
    const found = await alice.get(`/products/${ids.Monitor}`);
    expect([found.status, found.body]).toEqual([200, `{"product_id":${ids.Monitor},"name":"Monitor","supply_price":100}`]);
    const missing = await alice.get('/products/999999');
    expect([missing.status, json(missing).error.code]).toEqual([404, 'PRODUCT_NOT_FOUND']);
  });
});

describe('GET /products?name=', () => {
  const names = async (path: string) => {
    const response = await alice.get(path);
    expect(response.status).toBe(200);
    return (json(response) as { name: string }[]).map((product) => product.name);
  };

  test.each([
    ['mouse', ['Mouse', 'Gaming MOUSE pad']],
    ['MOU', ['Mouse', 'Gaming MOUSE pad']],
    ['50%25', ['50% off']],
    ['a_b', ['a_b']],
    ['!', ['Hi!']],
    ['%C3%A4pfel', ['Äpfel']],
    ['%C3%A9clair', ['ÉCLAIR']],
    ['eclair', []],
    ['nothing%20like%20it', []],
  ])('name=%s: the names that contain it, ignoring case; % _ ! are plain characters; accents count', async (name, expected) => {
    expect(await names(`/products?name=${name}`)).toEqual(expected);
  });

  test('product_id and supply_price query parameters are ignored, empty or set', async () => {
    const all = await names('/products');
    expect(all).toEqual(expect.arrayContaining(CATALOGUE));
    expect(await names('/products?product_id=&name=mouse&supply_price=')).toEqual(['Mouse', 'Gaming MOUSE pad']);
    expect(await names(`/products?product_id=${ids.Mouse}&supply_price=100`)).toEqual(all);
    expect(await names('/products?name=')).toEqual(all);
  });

  test('the filter pages with limit and after', async () => {
    const matching = CATALOGUE.filter((name) => /o/i.test(name));
    const first = json(await alice.get('/products?name=O&limit=2'));
    expect(first.map((product: { name: string }) => product.name)).toEqual(matching.slice(0, 2));
    const next = await names(`/products?name=O&limit=2&after=${first[1].product_id}`);
    expect(next).toEqual(matching.slice(2, 4));
  });

  test('a product added through either instance is in the filtered list at once, from both; Server-Port still alternates', async () => {
    const filtered = async () => {
      const responses = [await alice.get('/products?name=lamp'), await alice.get('/products?name=lamp')];
      expect(new Set(responses.map((response) => response.headers['server-port'])).size).toBe(2);
      return responses.map((response) => (json(response) as { name: string }[]).map((product) => product.name));
    };
    expect(await filtered()).toEqual([[], []]);
    const addedOn = new Set<string>();
    const added: string[] = [];
    for (const name of ['Desk LAMP', 'lampshade']) {
      const created = await alice.post('/products', `{"product_id":null,"name":"${name}","supply_price":20}`);
      addedOn.add(created.headers['server-port']!);
      added.push(name);
      expect(await filtered()).toEqual([added, added]);
    }
    expect(addedOn.size).toBe(2);
  });

  test('a name given twice or over 255 characters → 400 naming it', async () => {
    for (const path of ['/products?name=a&name=b', `/products?name=${'n'.repeat(256)}`]) {
      const response = await alice.get(path);
      expect([response.status, json(response).error]).toEqual([400, expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'name' })]);
    }
  });
});

describe('orders', () => {
  test('POST /order {name, orderItemsList} → 200, Location, the order in both dialects; the DB holds it for the caller', async () => {
    const response = await alice.post('/order', `{"name":"o1","orderItemsList":[${ids.Mouse},${ids.Monitor},${ids.Mouse}]}`);
    expect(response.status).toBe(200);
    const id = json(response).order_id;
    const items = `[${ids.Mouse},${ids.Monitor},${ids.Mouse}]`;
    expect(response.body).toBe(`{"order_id":${id},"name":"o1","orderItemIds":${items},"product_ids":${items}}`);
    expect(response.headers.location).toBe(`/order/${id}`);
    expect(await stack.db.query(`SELECT name, user_id FROM orders WHERE id = ${id}`)).toEqual([{ name: 'o1', user_id: 'alice' }]);
    expect(await linesOf(id)).toEqual([ids.Mouse, ids.Monitor, ids.Mouse]);
  });

  test("the DTO's own order_id (null, or a number) is ignored, and today's product_ids works the same", async () => {
    for (const body of [
      `{"order_id":null,"name":"o2","orderItemsList":[${ids.Keyboard}]}`,
      `{"order_id":1,"name":"o2","orderItemsList":[${ids.Keyboard}]}`,
      `{"name":"o2","product_ids":[${ids.Keyboard}]}`,
    ]) {
      const response = await alice.post('/order', body);
      expect(response.status).toBe(200);
      expect(json(response)).toEqual({ order_id: expect.any(Number), name: 'o2', orderItemIds: [ids.Keyboard], product_ids: [ids.Keyboard] });
      expect(await linesOf(json(response).order_id)).toEqual([ids.Keyboard]);
    }
  });

  test('PUT /order/{id} with a bare array appends every id, in order, and answers the whole order', async () => {
    const id = await createOrder(alice, `{"name":"grow","orderItemsList":[${ids.Mouse}]}`);
    const put = await alice.put(`/order/${id}`, `[${ids.Monitor},${ids.Mouse}]`);
    expect(put.status).toBe(200);
    expect(json(put)).toEqual({ order_id: id, name: 'grow', orderItemIds: [ids.Mouse, ids.Monitor, ids.Mouse], product_ids: [ids.Mouse, ids.Monitor, ids.Mouse] });
    const exchanged = await alice.exchangePut(`/order/${id}`, `[${ids.Keyboard}]`);
    expect(json(exchanged).orderItemIds).toEqual([ids.Mouse, ids.Monitor, ids.Mouse, ids.Keyboard]);
    expect(await linesOf(id)).toEqual([ids.Mouse, ids.Monitor, ids.Mouse, ids.Keyboard]);
  });

  test("today's {product_id} and {product_ids} bodies append the same way", async () => {
    const id = await createOrder(alice, '{"name":"today","product_ids":[]}');
    expect(json(await alice.exchangePut(`/order/${id}`, `{"product_id":${ids.Monitor}}`)).product_ids).toEqual([ids.Monitor]);
    const listed = await alice.exchangePut(`/order/${id}`, `{"product_ids":[${ids.Keyboard},${ids.Monitor}]}`);
    expect(json(listed)).toEqual({ order_id: id, name: 'today', orderItemIds: [ids.Monitor, ids.Keyboard, ids.Monitor], product_ids: [ids.Monitor, ids.Keyboard, ids.Monitor] });
  });

  test('GET /order/{id} → 200 the order; 404 for none', async () => {
    const id = await createOrder(alice, `{"order_id":null,"name":"read","orderItemsList":[${ids.Mouse}]}`);
    const found = await alice.get(`/order/${id}`);
    expect([found.status, found.body]).toEqual([200, `{"order_id":${id},"name":"read","orderItemIds":[${ids.Mouse}],"product_ids":[${ids.Mouse}]}`]);
    const missing = await alice.get('/order/999999');
    expect([missing.status, json(missing).error.code]).toEqual([404, 'ORDER_NOT_FOUND']);
  });

  test('an array PUT invalidates the cached order at once, the front-of-Fastify hit included', async () => {
    const id = await createOrder(alice, `{"name":"cached","orderItemsList":[${ids.Mouse}]}`);
    expect((await alice.get(`/order/${id}`)).headers['x-cache']).toBe('MISS');
    // A GET with no query string is what the cache front answers (tests/rest-cache-front.test.ts).
    const hit = await alice.get(`/order/${id}`);
    expect([hit.headers['x-cache'], json(hit).orderItemIds]).toEqual(['HIT', [ids.Mouse]]);
    expect((await alice.put(`/order/${id}`, `[${ids.Keyboard},${ids.Monitor}]`)).status).toBe(200);
    const fresh = await alice.get(`/order/${id}`);
    expect([fresh.headers['x-cache'], json(fresh).orderItemIds]).toEqual(['MISS', [ids.Mouse, ids.Keyboard, ids.Monitor]]);
    const hitAgain = await alice.get(`/order/${id}`);
    expect([hitAgain.headers['x-cache'], hitAgain.body]).toEqual(['HIT', fresh.body]);
  });

  test("another user's order is 404 to read and to change in either dialect, and nothing is written", async () => {
    const id = await createOrder(alice, `{"name":"mine","orderItemsList":[${ids.Mouse}]}`);
    await alice.get(`/order/${id}`);
    for (const response of [
      await bob.get(`/order/${id}`),
      await bob.put(`/order/${id}`, `[${ids.Keyboard}]`),
      await bob.exchangePut(`/order/${id}`, `{"product_id":${ids.Keyboard}}`),
    ]) {
      expect([response.status, json(response).error.code]).toEqual([404, 'ORDER_NOT_FOUND']);
    }
    expect(await linesOf(id)).toEqual([ids.Mouse]);
    expect(json(await alice.get(`/order/${id}`)).orderItemIds).toEqual([ids.Mouse]);
  });
});

describe('bad or ambiguous bodies: 400 naming the field, nothing written', () => {
  let orderId: number;
  beforeAll(async () => {
    orderId = await createOrder(alice, `{"name":"target","orderItemsList":[${ids.Mouse}]}`);
  });
  const thousandAndOne = () => `[${Array.from({ length: 1001 }, () => ids.Mouse).join(',')}]`;

  test.each([
    ['POST /order: orderItemsList and product_ids both', 'POST', '/order', () => `{"name":"x","orderItemsList":[${ids.Mouse}],"product_ids":[${ids.Mouse}]}`, /orderItemsList and body\.product_ids/],
    ['POST /order: neither list', 'POST', '/order', () => '{"order_id":null,"name":"x"}', /product_ids \(or body\.orderItemsList\) is required/],
    ['POST /order: orderItemsList null', 'POST', '/order', () => '{"order_id":null,"name":"x","orderItemsList":null}', /orderItemsList must be array/],
    ['POST /order: an id as a string', 'POST', '/order', () => `{"name":"x","orderItemsList":["${ids.Mouse}"]}`, /orderItemsList\.0 must be integer/],
    ['POST /order: a fractional id', 'POST', '/order', () => `{"name":"x","orderItemsList":[${ids.Mouse},1.5]}`, /orderItemsList\.1 must be integer/],
    ['POST /order: a negative id', 'POST', '/order', () => '{"name":"x","orderItemsList":[-1]}', /orderItemsList\.0 must be >= 1/],
    ['POST /order: 1001 ids', 'POST', '/order', () => `{"name":"x","orderItemsList":${thousandAndOne()}}`, /orderItemsList must NOT have more than 1000 items/],
    ['POST /order: order_id as a string', 'POST', '/order', () => `{"order_id":"7","name":"x","orderItemsList":[${ids.Mouse}]}`, /order_id must be integer or null/],
    ['POST /products: product_id as a string', 'POST', '/products', () => '{"product_id":"x","name":"n","supply_price":1}', /product_id must be integer or null/],
    ['PUT: an empty array', 'PUT', '/order/{order}', () => '[]', /body must NOT have fewer than 1 items/],
    ['PUT: an array of objects', 'PUT', '/order/{order}', () => `[{"product_id":${ids.Mouse}}]`, /body\.0 must be integer/],
    ['PUT: a negative id', 'PUT', '/order/{order}', () => `[${ids.Mouse},-2]`, /body\.1 must be >= 1/],
    ['PUT: a fractional id', 'PUT', '/order/{order}', () => `[${ids.Mouse},2.5]`, /body\.1 must be integer/],
    ['PUT: an id as a string', 'PUT', '/order/{order}', () => `["${ids.Mouse}"]`, /body\.0 must be integer/],
    ['PUT: 1001 ids', 'PUT', '/order/{order}', thousandAndOne, /body must NOT have more than 1000 items/],
    ['PUT: product_id and product_ids both', 'PUT', '/order/{order}', () => `{"product_id":${ids.Mouse},"product_ids":[${ids.Mouse}]}`, /product_ids and body\.product_id/],
    ['PUT: an empty product_ids', 'PUT', '/order/{order}', () => '{"product_ids":[]}', /product_ids must NOT have fewer than 1 items/],
    ['PUT: an empty object', 'PUT', '/order/{order}', () => '{}', /product_id \(or body\.product_ids\) is required/],
    ['PUT: a bare number', 'PUT', '/order/{order}', () => `${ids.Mouse}`, /body must be array or object/],
    ['PUT: null', 'PUT', '/order/{order}', () => 'null', /body must be array or object/],
  ])('%s', async (_case, method, path, body, message) => {
    const before = await rowCounts();
    const url = path.replace('{order}', String(orderId));
    const response = method === 'PUT' ? await alice.put(url, body()) : await alice.post(url, body());
    expect([response.status, json(response).error.code]).toEqual([400, 'BAD_USER_INPUT']);
    expect(json(response).error.message).toMatch(message);
    expect(await rowCounts()).toEqual(before);
    expect(await linesOf(orderId)).toEqual([ids.Mouse]);
  });

  test.each([
    ['POST /order with orderItemsList', 'POST', () => `{"order_id":null,"name":"x","orderItemsList":[${ids.Mouse},999999]}`],
    ['PUT with a bare array', 'PUT', () => `[${ids.Keyboard},999999]`],
    ['PUT with product_ids', 'PUT', () => `{"product_ids":[${ids.Keyboard},999998,999999]}`],
  ])('%s naming an unknown product → 400 UNKNOWN_PRODUCTS naming it; no id is added', async (_case, method, body) => {
    const before = await rowCounts();
    const response = method === 'PUT' ? await alice.put(`/order/${orderId}`, body()) : await alice.post('/order', body());
    expect(response.status).toBe(400);
    expect(json(response).error).toEqual({ code: 'UNKNOWN_PRODUCTS', message: expect.stringContaining('999999'), product_ids: expect.arrayContaining([999999]) });
    expect(await rowCounts()).toEqual(before);
    expect(await linesOf(orderId)).toEqual([ids.Mouse]);
  });
});
