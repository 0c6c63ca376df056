import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorCatalogue } from '../shared/errors';

test('every error code is documented in docs/errors.md with its status', () => {
  const doc = readFileSync(join(__dirname, '..', 'docs', 'errors.md'), 'utf8');
  const documented = new Map([...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((match) => [match[1], Number(match[2])]));
  for (const [code, { status }] of Object.entries(errorCatalogue)) expect([code, documented.get(code)]).toEqual([code, status]);
  expect([...documented.keys()].sort()).toEqual(Object.keys(errorCatalogue).sort());
});
