import type { Browser, Page } from 'playwright-core';
import { loadGatewayConfig } from '../gateway/config';
import { ConfigError } from '../shared/config';
import { launchChromium } from './fixtures/browser';
import type { HttpClient } from './fixtures/http';
import { startStack, type Stack } from './fixtures/stack';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const INTROSPECTION = '{ __schema { queryType { name } } }';

let stack: Stack;
let token: string;
beforeAll(async () => {
  stack = await startStack();
  token = await stack.signIn('alice');
});
afterAll(() => stack?.close());

/** The asset paths a page refers to, in order. */
function assetPaths(html: string): string[] {
  return [...html.matchAll(/\/graphql\/assets\/[^"'\s]+/g)].map((match) => match[0]);
}

describe('GRAPHQL_IDE and GRAPHQL_INTROSPECTION', () => {
  test('are on by default and off when NODE_ENV is production', () => {
    expect(loadGatewayConfig({ JWT_SECRET: 's'.repeat(40) })).toMatchObject({ graphqlIde: true, introspection: true });
    expect(loadGatewayConfig({ JWT_SECRET: 's'.repeat(40), NODE_ENV: 'production' })).toMatchObject({ graphqlIde: false, introspection: false });
    const mixed = loadGatewayConfig({ JWT_SECRET: 's'.repeat(40), NODE_ENV: 'production', GRAPHQL_IDE: 'on', GRAPHQL_INTROSPECTION: 'on' });
    expect(mixed).toMatchObject({ graphqlIde: true, introspection: true });
  });

  test('take only on or off', () => {
    expect(() => loadGatewayConfig({ JWT_SECRET: 's'.repeat(40), GRAPHQL_IDE: 'yes', GRAPHQL_INTROSPECTION: '1' })).toThrow(ConfigError);
  });
});

describe('the playground on (development)', () => {
  test('a browser asking /graphql for HTML gets GraphiQL, whose assets all come from the gateway without a token', async () => {
    const page = await stack.gateway.get('/graphql', { headers: { accept: BROWSER_ACCEPT } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.body).toContain('renderYogaGraphiQL');
    // Nothing from anywhere else: every URL in the page is a path on this gateway.
    expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//);
    const assets = assetPaths(page.body);
    expect(assets.map((path) => path.split('/').pop()).sort()).toEqual(
      ['editor.worker.js', 'favicon.ico', 'graphiql.css', 'graphiql.js', 'graphql.worker.js', 'json.worker.js'],
    );
    for (const path of assets) {
      const asset = await fetch(`${stack.gateway.baseUrl}${path}`);
      expect({ path, status: asset.status }).toEqual({ path, status: 200 });
      expect(asset.headers.get('cache-control')).toContain('immutable');
    }
  });

  test('the example tabs hold the client operations: sign-in, products, orders', async () => {
    const page = await stack.gateway.get('/graphql', { headers: { accept: BROWSER_ACCEPT } });
    for (const operation of ['mutation SignIn', 'query Products', 'query Product(', 'mutation CreateProduct', 'mutation CreateOrder', 'mutation AddProductToOrder', 'mutation AddProductsToOrder', 'query Order(']) {
      expect(page.body).toContain(operation);
    }
    expect(page.body).toContain('Authorization');
  });

  test('GraphQL clients, curl and query strings still get GraphQL, and need a token for data', async () => {
    const query = `/graphql?query=${encodeURIComponent('{ products { id } }')}`;
    for (const accept of ['application/json', 'application/graphql-response+json, application/json', '*/*']) {
      const response = await stack.gateway.get(query, { headers: { accept } });
      expect({ accept, status: response.status }).toEqual({ accept, status: 401 });
    }
    const withToken = await stack.gateway.get(query, { token, headers: { accept: 'application/json', 'apollo-require-preflight': 'true' } });
    expect(withToken.status).toBe(200);
    expect(withToken.body.data.products).toEqual(expect.any(Array));
    // A browser URL carrying a query gets the page, never data.
    const browser = await stack.gateway.get(query, { headers: { accept: BROWSER_ACCEPT } });
    expect(browser.body).toContain('renderYogaGraphiQL');
  });

  test('introspection is open without a token, but only introspection', async () => {
    const anonymous = await stack.gateway.graphql(INTROSPECTION);
    expect(anonymous.body).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
    const mixed = await stack.gateway.graphql('{ __schema { queryType { name } } products { id } }');
    expect(mixed.status).toBe(401);
    expect(mixed.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    // The API schema: federation's machinery and @inaccessible types are not visible.
    const types = await stack.gateway.graphql('{ __schema { types { name } } }');
    const names = types.body.data.__schema.types.map((type: { name: string }) => type.name);
    expect(names).toEqual(expect.arrayContaining(['Product', 'Order', 'SignInPayload']));
    expect(names.filter((name: string) => /^(join__|link__|CacheControlScope)/.test(name))).toEqual([]);
  });
});

describe('the playground off (production)', () => {
  let gateway: HttpClient;
  beforeAll(async () => {
    // Trusted documents stay off here, so that any query can show what introspection's refusal leaves working.
    gateway = await stack.startGateway({ NODE_ENV: 'production', PERSISTED_DOCUMENTS: 'allow' });
  });

  test('no page and no assets: a browser gets the 401 any anonymous request gets', async () => {
    const page = await gateway.get('/graphql', { headers: { accept: BROWSER_ACCEPT } });
    expect(page.status).toBe(401);
    const on = await stack.gateway.get('/graphql', { headers: { accept: BROWSER_ACCEPT } });
    for (const path of assetPaths(on.body)) expect((await gateway.get(path, { token })).status).toBe(404);
  });

  test('introspection is refused, with or without a token', async () => {
    expect((await gateway.graphql(INTROSPECTION)).status).toBe(401);
    const signedIn = await gateway.graphql(INTROSPECTION, {}, token);
    expect(signedIn.body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect((await gateway.graphql('{ products { id } }', {}, token)).body.data.products).toEqual(expect.any(Array));
  });
});

describe('the playground in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    // A browser that cannot start fails this test, never skips it.
    browser = await launchChromium();
  });
  afterAll(() => browser?.close());

  const response = (page: Page) => page.locator('.graphiql-response');

  /** Opens a tab by its title. Right after a run, GraphiQL 5 lets a tab click only take the focus, so click until it is active. */
  async function selectTab(page: Page, title: string) {
    const tab = page.locator('.graphiql-tab', { hasText: title });
    for (let attempt = 0; attempt < 5 && (await tab.getAttribute('aria-selected')) !== 'true'; attempt += 1) {
      await tab.locator('.graphiql-tab-button').click();
      await page.waitForTimeout(200);
    }
    expect(await tab.getAttribute('aria-selected')).toBe('true');
  }

  /** Replaces the whole text of one of GraphiQL's Monaco editors, named by its model file. */
  async function typeInto(page: Page, model: 'operation.graphql' | 'request-headers.json', text: string) {
    await page.locator(`.monaco-editor[data-uri$="${model}"]`).click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    // insertText bypasses Monaco's auto-closing of brackets and quotes, which typing would trigger.
    await page.keyboard.insertText(text);
  }

  test('runs a query with a pasted token, loading nothing from outside the gateway', async () => {
    const created = await stack.gateway.post('/products', { name: 'Playground lamp', supply_price: 4200 }, { token });
    expect(created.status).toBe(200);
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const requested: string[] = [];
    const introspections: number[] = [];
    const pageErrors: string[] = [];
    context.on('request', (request) => requested.push(request.url()));
    page.on('response', (response) => {
      if (response.request().method() === 'POST' && (response.request().postData() ?? '').includes('__schema')) introspections.push(response.status());
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));

    await page.goto(`${stack.gateway.baseUrl}/graphql`);
    // The first tab signs in without a token, with its preset variables.
    await page.getByText('mutation SignIn').first().waitFor();
    await page.locator('.graphiql-execute-button').click();
    await response(page).getByText('accessToken').waitFor();
    expect(await response(page).innerText()).toContain('Bearer');

    // The products tab, with a token pasted into its headers: its play button offers each operation.
    await selectTab(page, 'CreateProduct');
    await page.getByText('query Products').first().waitFor();
    await page.getByRole('button', { name: 'Headers' }).click();
    await typeInto(page, 'request-headers.json', JSON.stringify({ Authorization: `Bearer ${token}` }));
    await page.locator('.graphiql-execute-button').click();
    await page.getByRole('menuitem', { name: 'Products' }).click();
    await response(page).getByText('Playground lamp').waitFor();
    expect(await response(page).innerText()).toContain('4200');

    // The docs and autocompletion came from an anonymous introspection query that succeeded.
    expect(introspections).toContain(200);
    const outside = requested.filter((url) => !/^(data:|blob:)/.test(url) && !['127.0.0.1', 'localhost'].includes(new URL(url).hostname));
    expect(outside).toEqual([]);
    expect(requested.some((url) => url.endsWith('/graphiql.js'))).toBe(true);
    expect(pageErrors).toEqual([]);
    await context.close();
  }, 60_000);
  test('against a gateway running PERSISTED_DOCUMENTS=only, a notice says so above the editor, and what it runs is refused by that name', async () => {
    const only = await stack.startGateway({ PERSISTED_DOCUMENTS: 'only' });
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${only.baseUrl}/graphql`);
    const notice = page.locator('#notice');
    await notice.waitFor();
    expect(await notice.innerText()).toContain('PERSISTED_DOCUMENTS=only');
    // Below the notice, the IDE fits the window: nothing of it (the settings button, the editors' edges) is pushed out.
    const ide = await page.locator('.graphiql-container').first().boundingBox();
    expect(ide!.y + ide!.height).toBeLessThanOrEqual(page.viewportSize()!.height);
    // The IDE still renders and runs below it: its tab is the operation file with comments, no trusted document.
    await page.getByText('mutation SignIn').first().waitFor();
    await page.locator('.graphiql-execute-button').click();
    await response(page).getByText('DOCUMENT_NOT_TRUSTED').waitFor();
    expect(await response(page).innerText()).toContain('PERSISTED_DOCUMENTS=only');
    await context.close();
  }, 60_000);
});
