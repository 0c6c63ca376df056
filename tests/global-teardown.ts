import { rmSync } from 'node:fs';
import { TRANSPILED_BUILD_VARIABLE } from './fixtures/processes';

/** Removes what tests/global-setup.ts transpiled. */
export default function globalTeardown(): void {
  const dir = process.env[TRANSPILED_BUILD_VARIABLE];
  if (dir) rmSync(dir, { recursive: true, force: true });
}
