/** Contract tests run TypeScript through swc (no type-check here: `npm run typecheck` does that). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testTimeout: 30000,
  // The processes tests start (tests/fixtures/processes.ts) run the project transpiled once a run.
  globalSetup: '<rootDir>/tests/global-setup.ts',
  globalTeardown: '<rootDir>/tests/global-teardown.ts',
  // Each test file starts its own stack on port 0; two workers match the CI machine's two cores.
  maxWorkers: 2,
  // The default output, then one line per group of tests not run for want of Redis or MySQL/MariaDB.
  reporters: ['default', '<rootDir>/tests/fixtures/skipped-servers-reporter.js'],
};
