import { availableParallelism } from 'node:os';
import type { EnvReader } from './config';

/**
 * The most workers a setting may ask for: past any core count we run on, so a typo (200) is
 * refused rather than forking 200 gateways.
 */
export const MAX_WORKERS = 64;

/**
 * How many processes serve: a whole number from 1 to MAX_WORKERS, or "auto" for one per core
 * this process may use. A bad value is recorded as a problem and read as 1.
 *
 * Its own module, importing nothing but `node:os`, because the gateway's entry reads it before
 * tracing starts (gateway/index.ts): nothing loaded here may be something tracing patches.
 */
export function readWorkerCount(reader: EnvReader, name: string): number {
  const value = reader.raw(name);
  if (value === undefined) return 1;
  if (value === 'auto') return Math.min(availableParallelism(), MAX_WORKERS);
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_WORKERS) {
    reader.problem(`${name} must be "auto" or a whole number from 1 to ${MAX_WORKERS}, got "${value}"`);
    return 1;
  }
  return Number(value);
}
