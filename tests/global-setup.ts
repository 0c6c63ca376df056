import { transpileBuild } from './fixtures/build';
import { TRANSPILED_BUILD_VARIABLE } from './fixtures/processes';

/** Once a run, before any test file: the JavaScript the tests' own processes run (tests/fixtures/processes.ts). */
export default function globalSetup(): void {
  // Set before Jest forks its workers, so every test file sees it.
  process.env[TRANSPILED_BUILD_VARIABLE] = transpileBuild('jest').dir;
}
