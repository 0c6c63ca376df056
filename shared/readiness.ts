import type { FastifyInstance } from 'fastify';
import { sendError } from './error-response';

/** How long `/ready` waits on one dependency before counting it as down, in ms. */
const CHECK_TIMEOUT_MS = 2000;

export interface ReadinessCheck {
  /** Resolves true when the dependency answers. */
  check: () => Promise<boolean>;
  /**
   * A required dependency that is down makes the process not ready (503). An optional one is only
   * reported: the process still serves without it (the cache: requests are served uncached).
   */
  required: boolean;
}

/**
 * `GET /ready` (readiness, next to `/health` for liveness): 200 `{"status": "ready", "checks"}` when
 * every required dependency answers, else 503 NOT_READY with the same `checks`, each "up" or "down",
 * plus whatever `details` adds (the gateway: its healthy instances per subgraph).
 */
export function useReadiness(app: FastifyInstance, checks: Readonly<Record<string, ReadinessCheck>>, details?: () => Record<string, unknown>): void {
  app.get('/ready', async (_request, reply) => {
    const names = Object.keys(checks);
    const results = await Promise.all(names.map((name) => withTimeout(checks[name]!.check)));
    const report = { ...Object.fromEntries(names.map((name, index) => [name, results[index] ? 'up' : 'down'])), ...details?.() };
    const missing = names.filter((name, index) => checks[name]!.required && !results[index]);
    if (missing.length === 0) return { status: 'ready', checks: report };
    return sendError(reply, 'NOT_READY', `Not ready: ${missing.join(', ')} unavailable`, { checks: report });
  });
}

async function withTimeout(check: () => Promise<boolean>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS)));
  try {
    return await Promise.race([check().catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A database answers a trivial query. */
export function databaseCheck(dataSource: { query: (sql: string) => Promise<unknown> }): ReadinessCheck {
  return { required: true, check: () => dataSource.query('SELECT 1').then(() => true) };
}
