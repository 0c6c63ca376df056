import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadGatewayConfig } from '../gateway/config';
import { stagesOf } from '../gateway/pipeline';
import { createGatewayServer } from '../gateway/server';

/**
 * The gateway is one ordered list of stages (gateway/server.ts, run by gateway/pipeline.ts), and
 * docs/architecture.md's numbered list is that list: same stages, same order. Built, not started:
 * no subgraph needs to answer for the list to exist.
 */
const secret = () => randomBytes(32).toString('hex');
const gatewayWith = (env: Record<string, string>) =>
  createGatewayServer(
    loadGatewayConfig({
      LOG_LEVEL: 'silent',
      JWT_SECRET: secret(),
      SUBGRAPH_SECRET: secret(),
      HEALTH_CHECK_INTERVAL_MS: '60000',
      ...env,
    }),
  );

const apps: FastifyInstance[] = [];
afterAll(async () => {
  for (const app of apps) await app.close();
});

/** The stage names of docs/architecture.md's "In order" list, lower-cased. */
function documentedStages(): string[] {
  const text = readFileSync(join(__dirname, '..', 'docs', 'architecture.md'), 'utf8');
  const section = text.slice(text.indexOf('## The gateway pipeline'), text.indexOf('## Request flows'));
  return [...section.matchAll(/^\d+\. \*\*([^*]+)\*\*/gm)].map((match) => match[1]!.toLowerCase());
}

test('with every feature on, the stages run in the order docs/architecture.md lists them', async () => {
  const app = await gatewayWith({ RATE_LIMIT: 'on', GRAPHQL_IDE: 'on', RESPONSE_CACHE: 'on', CLIENT_DEDUPLICATION: 'on' });
  apps.push(app);
  expect(documentedStages().length).toBeGreaterThan(10);
  expect(stagesOf(app).map((name) => name.toLowerCase())).toEqual(documentedStages());
});

test('a feature switched off is a stage left out, the others keep their order', async () => {
  const app = await gatewayWith({ RATE_LIMIT: 'off', GRAPHQL_IDE: 'off', RESPONSE_CACHE: 'off', CLIENT_DEDUPLICATION: 'off', METRICS_PORT: 'off' });
  apps.push(app);
  const off = new Set(['request metrics', 'rate limit', 'playground', 'cached-read fast path', 'response cache', 'client deduplication']);
  expect(stagesOf(app).map((name) => name.toLowerCase())).toEqual(documentedStages().filter((name) => !off.has(name)));
});
