import type { FastifyBaseLogger } from 'fastify';

export interface OutageGuardOptions {
  /** Longest wait for one operation before it counts as failed, in ms. */
  timeoutMs: number;
  log: FastifyBaseLogger;
  /** What an operation is, for the timeout error: "cache operation". */
  operation: string;
  /** Fields of both log lines, e.g. `{ cache: 'redis' }`. */
  fields: Record<string, unknown>;
  /** Logged once when an outage starts. */
  down: string;
  /** Logged once when it ends. */
  up: string;
}

/**
 * Runs operations on a remote store (Redis) so that the store can never fail a request: an
 * operation that errors or takes longer than `timeoutMs` answers `onFailure` instead, and the
 * outage is logged once when it starts and once when it ends, not on every operation.
 */
export function outageGuard({ timeoutMs, log, operation: what, fields, down, up }: OutageGuardOptions) {
  let failing = false;
  return async <T>(operation: () => Promise<T>, onFailure: T): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took over ${timeoutMs} ms`)), timeoutMs);
      });
      const result = await Promise.race([operation(), timeout]);
      if (failing) log.warn(fields, up);
      failing = false;
      return result;
    } catch (error) {
      if (!failing) log.warn({ ...fields, err: error }, down);
      failing = true;
      return onFailure;
    } finally {
      clearTimeout(timer);
    }
  };
}
