import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { anchorsOf, codeSpans, linkTargets, slug } from './fixtures/markdown';

const ROOT = join(__dirname, '..');
const README_MAX_LINES = 200;

/** The documentation: the README, every page of docs/, and the benchmark's. */
const DOCS = ['README.md', 'bench/README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

/** Where code comments live, and the top-level files with comments of their own. */
const SOURCE_DIRS = ['gateway', 'shared', 'subgraphs', 'schema', 'scripts', 'tests', 'bench', 'client', 'deploy', '.ci'];
const SOURCE_FILES = ['Dockerfile', 'docker-compose.yml', 'codegen.ts', 'jest.config.js', '.env.example'];
const SOURCE_NAME = /\.(ts|js|ya?ml|sh|graphql)$|^run$/;

/** Top-level folders whose paths the docs name in inline code, e.g. `gateway/server.ts`. */
const REPOSITORY_PATH = /^(?:gateway|shared|subgraphs|schema|scripts|tests|bench|client|deploy|docs|\.ci)\/[\w.\/-]*$/;

/**
 * Paths the docs may name before the code has them: a target layout described ahead of the change
 * that builds it (as issue 17's was). Empty when docs and tree agree; the test below fails for a
 * listed path that exists, or that no doc names any more.
 */
const PENDING_PATHS = new Set<string>([]);

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const anchors = new Map(DOCS.map((doc) => [doc, anchorsOf(read(doc))]));

/** Anchors of a Markdown file of the repository, read on first use. */
function anchorsOfFile(path: string): Set<string> {
  if (!anchors.has(path)) anchors.set(path, anchorsOf(read(path)));
  return anchors.get(path)!;
}

/** What is wrong with a reference to `path` (from the repository root) and its anchor, if anything. */
function brokenReference(path: string, anchor: string | undefined): string | undefined {
  if (!existsSync(join(ROOT, path))) return 'no such file';
  if (anchor === undefined || anchor === '') return undefined;
  if (!path.endsWith('.md')) return 'an anchor into a file that is not Markdown';
  return anchorsOfFile(path).has(anchor) ? undefined : `no heading with the anchor #${anchor}`;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = `${dir}/${name}`;
    if (name === 'node_modules') return [];
    if (statSync(join(ROOT, path)).isDirectory()) return sourceFiles(path);
    return SOURCE_NAME.test(name) ? [path] : [];
  });
}

describe('the documentation', () => {
  test(`README.md is an index: at most ${README_MAX_LINES} lines`, () => {
    const lines = read('README.md').replace(/\n$/, '').split('\n');
    expect(lines.length).toBeLessThanOrEqual(README_MAX_LINES);
  });

  test('every relative link points at a file that exists, and every anchor at a heading of it', () => {
    const broken: string[] = [];
    for (const doc of DOCS) {
      for (const { line, target } of linkTargets(read(doc))) {
        if (/^[a-z][a-z+.-]*:/i.test(target)) continue; // https:, mailto:
        const [file, anchor] = target.split('#') as [string, string | undefined];
        const path = file === '' ? doc : relative(ROOT, resolve(ROOT, dirname(doc), file));
        const problem = brokenReference(path, anchor);
        if (problem) broken.push(`${doc}:${line} → ${target}: ${problem}`);
      }
    }
    expect(broken).toEqual([]);
  });

  test('every repository path the docs name exists (the pending target layout aside)', () => {
    const missing: string[] = [];
    const named = new Set<string>();
    for (const doc of DOCS) {
      for (const { line, code } of codeSpans(read(doc))) {
        if (!REPOSITORY_PATH.test(code)) continue;
        named.add(code);
        if (!PENDING_PATHS.has(code) && !existsSync(join(ROOT, code))) missing.push(`${doc}:${line}: ${code}`);
      }
    }
    expect(missing).toEqual([]);
    // A pending path that exists, or that no doc names any more, has nothing left to wait for.
    expect([...PENDING_PATHS].filter((path) => existsSync(join(ROOT, path)) || !named.has(path))).toEqual([]);
  });

  test('code comments point at documents and headings that exist', () => {
    const broken: string[] = [];
    const self = relative(ROOT, __filename);
    for (const file of [...SOURCE_DIRS.flatMap(sourceFiles), ...SOURCE_FILES].filter((path) => path !== self)) {
      read(file)
        .split('\n')
        .forEach((text, index) => {
          const where = `${file}:${index + 1}`;
          // docs/hardening.md#rate-limits, bench/README.md#memory, README.md
          for (const [, path, anchor] of text.matchAll(/\b((?:docs\/[\w-]+|bench\/README|README)\.md)(?:#([\w-]+))?/g)) {
            const problem = brokenReference(path!, anchor);
            if (problem) broken.push(`${where}: ${path}${anchor ? `#${anchor}` : ''}: ${problem}`);
          }
          // By heading title: README "Layout", "Layout" in the README.
          for (const match of text.matchAll(/README(?:\.md|'s)?\s+"([^"]+)"|"([^"]+)"\s+in\s+(?:the\s+)?README/g)) {
            if (!anchorsOfFile('README.md').has(slug(match[1] ?? match[2]!))) broken.push(`${where}: ${match[0]}: no such heading in README.md`);
          }
        });
    }
    expect(broken).toEqual([]);
  });
});
