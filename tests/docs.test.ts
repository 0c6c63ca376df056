import { readFileSync } from 'node:fs';
import { CONFIGURATION_DOC, renderConfigurationReference } from '../scripts/docs';

// Rendering fails on any setting a process reads that no JSDoc comment names, so this also
// keeps every setting documented.
test('docs/configuration.md is what `npm run docs` generates from the config modules', () => {
  // A failure here means a setting or its comment changed: run `npm run docs` and commit the result.
  expect(readFileSync(CONFIGURATION_DOC, 'utf8')).toBe(renderConfigurationReference());
});
