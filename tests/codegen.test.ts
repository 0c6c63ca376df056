import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as generated from '../client/generated/graphql';
import { CLIENT_MANIFEST_FILE, GENERATED_FILE, GENERATED_HEADER } from '../codegen';
import { documentHash, MANIFEST_NOTE, type Manifest } from '../gateway/persisted-documents';
import { CLIENT_OPERATIONS_DIR } from '../schema/operations/client/playground-tabs';
import { ROOT } from '../schema/subgraphs';

const run = promisify(execFile);

test('client/generated/graphql.ts and persisted-documents.json are what `npm run codegen` makes of the API schema and the client operations', async () => {
  // The CLI's own check mode regenerates in memory and exits 1 when a file would change. (It runs
  // as a process: the CLI loads ESM-only packages that jest's module system cannot.)
  const check = await run(join(ROOT, 'node_modules', '.bin', 'graphql-codegen'), ['--config', 'codegen.ts', '--check'], { cwd: ROOT }).then(
    () => 'fresh',
    (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}`,
  );
  // Anything but "fresh" means an operation or the schema changed: run `npm run codegen` and commit the result.
  expect(check).toBe('fresh');
}, 60_000);

test('the generated file says it is generated, and holds a typed document for every client operation', () => {
  const generated = readFileSync(GENERATED_FILE, 'utf8');
  expect(generated.startsWith(GENERATED_HEADER)).toBe(true);
  const operations = readdirSync(CLIENT_OPERATIONS_DIR).filter((file) => file.endsWith('.graphql'));
  expect(operations.length).toBeGreaterThanOrEqual(7);
  for (const file of operations) {
    expect(generated).toContain(`export const ${file.replace(/\.graphql$/, '')}Document = new TypedDocumentString(`);
  }
});

test('the manifest says it is generated, and holds every typed document under the hash the client sends, its sha256', () => {
  const manifest = JSON.parse(readFileSync(CLIENT_MANIFEST_FILE, 'utf8')) as Manifest;
  expect(manifest.generated).toBe(MANIFEST_NOTE);
  const hashes = Object.entries(generated)
    .filter(([name]) => name.endsWith('Document'))
    .map(([name, document]) => [name, (document as { __meta__?: { hash?: string } }).__meta__?.hash] as const);
  expect(hashes.length).toBeGreaterThanOrEqual(7);
  for (const [name, hash] of hashes) {
    expect([name, typeof hash]).toEqual([name, 'string']);
    expect([name, documentHash(manifest.documents[hash!] ?? '')]).toEqual([name, hash]);
  }
  expect(Object.keys(manifest.documents).sort()).toEqual(hashes.map(([, hash]) => hash).sort());
});
