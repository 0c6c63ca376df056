import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import Negotiator from 'negotiator';
import type { GatewayPlugin } from '../pipeline';

/** One preset tab of the IDE. */
export interface PlaygroundTab {
  /** Operation files (names without `.graphql`) shown together; the run button offers each. */
  operations: readonly string[];
  /** The tab's variables; operations ignore the ones they do not declare. */
  variables: Readonly<Record<string, unknown>>;
  /** Whether its operations need a token: the tab's headers then show where to paste it. */
  needsToken: boolean;
  /** Shown as a comment above the operations. */
  intro?: readonly string[];
}

export interface PlaygroundOptions {
  /** The GraphQL route: browsers asking it for HTML get the IDE, which sends operations there. */
  graphqlRoute: string;
  /** Folder of `<OperationName>.graphql` files the tabs name. */
  operationsDir: string;
  tabs: readonly PlaygroundTab[];
  /** Whether the gateway answers introspection; without it the IDE runs operations but shows no docs. */
  introspection: boolean;
  /** @default "Federation platform" */
  title?: string;
  /** A notice shown above the IDE, e.g. that the gateway executes only trusted documents. @default none */
  notice?: string;
}

/** What `@graphql-yoga/render-graphiql/graphiql` exports: one prebuilt bundle, workers and styles included. */
interface GraphiQLBundle {
  js: string;
  css: string;
  favicon: string;
  editorWorkerService: string;
  jsonWorker: string;
  graphqlWorker: string;
}

interface Asset {
  type: string;
  body: string | Buffer;
}

/** The media types Apollo Server weighs HTML against before serving its landing page: same rule here. */
const GRAPHQL_MEDIA_TYPES = ['application/json', 'application/graphql-response+json', 'multipart/mixed'];

const AUTHORIZATION_HINT = `{
  // Paste SignIn's accessToken, then uncomment:
  // "Authorization": "Bearer <accessToken>"
}`;

/** True when a GET asks for HTML ahead of every GraphQL response type (a browser's address bar). */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  return new Negotiator({ headers: { accept } }).mediaType([...GRAPHQL_MEDIA_TYPES, 'text/html']) === 'text/html';
}

/**
 * Serves GraphiQL (The Guild's Yoga build: GraphiQL 5, Monaco, the explorer plugin) to browsers
 * on `GET graphqlRoute`, entirely from the gateway: the script, styles, Monaco's workers and the
 * icon come from the `@graphql-yoga/render-graphiql` package, none from a CDN, so it works
 * offline. The page is answered in an `onRequest` hook registered before the JWT plugin's, so it
 * needs no token; should the order ever change, the page fails closed with a 401.
 */
export function usePlayground(options: PlaygroundOptions): GatewayPlugin {
  const { version } = require('@graphql-yoga/render-graphiql/package.json') as { version: string };
  // The version in the path lets browsers keep the assets for good and still see an upgrade.
  const base = `${options.graphqlRoute}/assets/${version}`;
  return {
    name: 'playground',
    // The assets must load without a token, like the page itself.
    publicRoutes: ASSET_NAMES.map((name) => `${base}/${name}`),
    fastify: ({ app }) => servePlayground(app, base, options),
  };
}

function servePlayground(app: FastifyInstance, base: string, options: PlaygroundOptions): void {
  const assets = lazyAssets();
  for (const name of ASSET_NAMES) {
    app.get(`${base}/${name}`, (_request, reply) => {
      const { type, body } = assets()[name];
      return reply.type(type).header('cache-control', 'public, max-age=31536000, immutable').send(body);
    });
  }

  const page = renderPage(base, options);
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'GET' || request.routeOptions.url !== options.graphqlRoute || !prefersHtml(request.headers.accept)) return;
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(page);
  });
}

const ASSET_NAMES = ['graphiql.js', 'graphiql.css', 'editor.worker.js', 'json.worker.js', 'graphql.worker.js', 'favicon.ico'] as const;

/**
 * The IDE's files, loaded on the first request for one: the bundle is about 9 MB of strings
 * (some 60 MB of memory once loaded), which a gateway nobody opens the IDE on should not carry.
 */
function lazyAssets(): () => Record<(typeof ASSET_NAMES)[number], Asset> {
  let assets: Record<(typeof ASSET_NAMES)[number], Asset> | undefined;
  return () => {
    if (assets) return assets;
    const bundle = require('@graphql-yoga/render-graphiql/graphiql') as GraphiQLBundle;
    assets = {
      'graphiql.js': { type: 'text/javascript; charset=utf-8', body: bundle.js },
      'graphiql.css': { type: 'text/css; charset=utf-8', body: bundle.css },
      'editor.worker.js': { type: 'text/javascript; charset=utf-8', body: bundle.editorWorkerService },
      'json.worker.js': { type: 'text/javascript; charset=utf-8', body: bundle.jsonWorker },
      'graphql.worker.js': { type: 'text/javascript; charset=utf-8', body: bundle.graphqlWorker },
      'favicon.ico': { type: 'image/x-icon', body: Buffer.from(bundle.favicon.slice(bundle.favicon.indexOf(',') + 1), 'base64') },
    };
    return assets;
  };
}

/** With a notice above it, the IDE takes the rest of the window instead of a whole window's height. */
const NOTICE_LAYOUT = 'body{display:flex;flex-direction:column;height:100vh;margin:0}#root{flex:1;min-height:0}#root .graphiql-container{height:100%}';
const NOTICE_STYLE = 'padding:8px 16px;background:#fff3cd;color:#664d03;border-bottom:1px solid #e0c36c;font:14px/1.4 system-ui,sans-serif';

function renderPage(base: string, { operationsDir, tabs, introspection, title = 'Federation platform', notice }: PlaygroundOptions): string {
  const defaultTabs = tabs.map((tab) => ({
    query: tabQuery(operationsDir, tab),
    variables: JSON.stringify(tab.variables, null, 2),
    headers: tab.needsToken ? AUTHORIZATION_HINT : '{}',
  }));
  const graphiqlOptions = {
    title: escapeHtml(title),
    defaultTabs,
    // GraphiQL fills the first tab's editors from these, not from defaultTabs[0].
    initialVariables: defaultTabs[0]?.variables,
    initialHeaders: defaultTabs[0]?.headers,
    // New tabs (the + button) start with the hint.
    headers: AUTHORIZATION_HINT,
    // null tells GraphiQL not to introspect, instead of failing to on every load.
    ...(introspection ? {} : { schema: null }),
  };
  const workers = { editorWorkerService: `${base}/editor.worker.js`, json: `${base}/json.worker.js`, graphql: `${base}/graphql.worker.js` };
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${escapeHtml(title)}</title>
    <link rel="icon" href="${base}/favicon.ico" />
    <link rel="stylesheet" href="${base}/graphiql.css" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>The GraphQL playground needs JavaScript.</noscript>
${notice ? `    <div id="notice" role="alert" style="${NOTICE_STYLE}">${escapeHtml(notice)}</div>\n    <style>${NOTICE_LAYOUT}</style>\n` : ''}    <div id="root"></div>
    <script>
      const workers = ${inlineJson(workers)};
      self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (_moduleId, label) => workers[label] };
    </script>
    <script src="${base}/graphiql.js"></script>
    <script>
      YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), ${inlineJson(graphiqlOptions)});
    </script>
  </body>
</html>
`;
}

function tabQuery(operationsDir: string, { operations, intro = [] }: PlaygroundTab): string {
  const documents = operations.map((name) => readFileSync(join(operationsDir, `${name}.graphql`), 'utf8').trim());
  return [...intro.map((line) => `# ${line}`.trimEnd()), ...(intro.length ? [''] : []), documents.join('\n\n'), ''].join('\n');
}

/** JSON safe inside a <script> element: no `</script>` or `<!--` can end it early. */
function inlineJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
