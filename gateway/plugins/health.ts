import { useReadiness, type ReadinessCheck } from '../../shared/readiness';
import type { GatewayPlugin } from '../pipeline';

/**
 * `/health` (liveness: the HTTP app answers it, in every process) and `/ready` (readiness: every
 * required dependency answers), both open without a token and never rate limited (`/health`).
 */
export function useHealth(checks: Readonly<Record<string, ReadinessCheck>>, details: () => Record<string, unknown>): GatewayPlugin {
  return { name: 'health', publicRoutes: ['/health', '/ready'], fastify: ({ app }) => useReadiness(app, checks, details) };
}
