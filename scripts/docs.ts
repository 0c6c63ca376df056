import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { ROOT } from '../schema/subgraphs';
import { CONFIG_LOADERS, type ConfigLoader } from './config-loaders';

/** The generated configuration reference. */
export const CONFIGURATION_DOC = join(ROOT, 'docs', 'configuration.md');

/** Where settings are documented: the config modules and the shared modules they read settings through. */
const SOURCE_DIRS = ['gateway', 'shared', 'subgraphs'];

/**
 * Environments each loader is run with, so that settings read only in some configurations (MySQL's
 * pool size, Redis, production defaults, a subgraph's instance list) are recorded too.
 */
const SCENARIOS: Record<string, string>[] = [
  {},
  { DATABASE_URL: 'mysql://user@db:3306/app', REDIS_URL: 'redis://cache:6379', NODE_ENV: 'production', ZIPKIN_URL: 'http://zipkin:9411/api/v2/spans' },
  { SUBGRAPH_EXAMPLE_URLS: 'http://example:4000/graphql' },
  // The shared-secret mode reads its own settings.
  { JWT_MODE: 'hs256' },
];

interface DocComment {
  /** `path:line` of the comment. */
  where: string;
  text: string;
  /** On an interface member (a setting's own field), not on a function that reads several. */
  onField: boolean;
  envNames: string[];
}

const ENV_NAME = /`([A-Z][A-Z0-9_]*(?:<[A-Z]+>[A-Z0-9_]*)?)(?:=[^`]*)?`/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** JSDoc text without its `/** *\/` frame and leading asterisks, on one line. */
function cleanComment(raw: string): string {
  return raw
    .replace(/^\/\*\*|\*\/$/g, '')
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, '').trim())
    .filter(Boolean)
    .join(' ');
}

/** Every JSDoc comment on an interface member or a function in the settings' source files. */
function docComments(): DocComment[] {
  const comments: DocComment[] = [];
  for (const file of SOURCE_DIRS.flatMap((dir) => sourceFiles(join(ROOT, dir))).sort()) {
    const text = readFileSync(file, 'utf8');
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
    const visit = (node: ts.Node) => {
      const onField = ts.isPropertySignature(node);
      if (onField || ts.isFunctionDeclaration(node)) {
        for (const range of ts.getLeadingCommentRanges(text, node.getFullStart()) ?? []) {
          const raw = text.slice(range.pos, range.end);
          if (!raw.startsWith('/**')) continue;
          const cleaned = cleanComment(raw);
          const envNames = [...cleaned.matchAll(ENV_NAME)].map((match) => match[1]!);
          if (envNames.length === 0) continue;
          const line = source.getLineAndCharacterOfPosition(range.pos).line + 1;
          comments.push({ where: `${relative(ROOT, file)}:${line}`, text: cleaned, onField, envNames });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return comments;
}

/** Runs a loader through a proxy that notes every variable it looks at, in the order it does. */
function settingsRead(load: ConfigLoader, dataDir: string): string[] {
  const read = new Set<string>();
  for (const scenario of SCENARIOS) {
    const env = { DATA_DIR: dataDir, ...scenario };
    const recording = new Proxy(env, {
      get: (target, name) => {
        if (typeof name === 'string') read.add(name);
        return target[name as keyof typeof target];
      },
    });
    try {
      load(recording);
    } catch {
      // Scenarios may combine settings a loader refuses together; what it read still counts.
    }
  }
  return [...read];
}

const matches = (documented: string, name: string) =>
  documented === name || new RegExp(`^${documented.replace(/<[A-Z]+>/g, '[A-Z0-9_]+')}$`).test(name);

/**
 * A setting's own comment, as seen from one process's config module: one on a field over one on a
 * function, then the one naming the fewest settings, then one in that config module, then one in
 * a shared module (not another process's), then the most detailed.
 */
function commentOf(name: string, configFile: string, comments: readonly DocComment[]): DocComment | undefined {
  const candidates = comments.filter((comment) => comment.envNames.some((documented) => matches(documented, name)));
  const own = (comment: DocComment) => Number(comment.where.startsWith(`${configFile}:`));
  const shared = (comment: DocComment) => Number(comment.where.startsWith('shared/'));
  return candidates.sort(
    (a, b) =>
      Number(b.onField) - Number(a.onField) ||
      new Set(a.envNames).size - new Set(b.envNames).size ||
      own(b) - own(a) ||
      shared(b) - shared(a) ||
      b.text.length - a.text.length,
  )[0];
}

/** A setting as the reference names it: one read under a made-up subgraph name (`SUBGRAPH_EXAMPLE_URLS`) as its pattern. */
const shownName = (name: string, comment: DocComment) =>
  comment.envNames.find((documented) => documented.includes('<') && matches(documented, name)) ?? name;

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/@default/g, 'default');

/** The configuration reference as Markdown; throws when a setting some process reads has no comment. */
export function renderConfigurationReference(): string {
  const comments = docComments();
  const dataDir = mkdtempSync(join(tmpdir(), 'config-docs-'));
  const undocumented: string[] = [];
  const sections: string[] = [];
  try {
    for (const [process, { file, load }] of Object.entries(CONFIG_LOADERS)) {
      const rows = new Map<DocComment, string[]>();
      for (const name of settingsRead(load, dataDir).filter((name) => name !== 'DATA_DIR' || process !== 'tracing')) {
        const comment = commentOf(name, file, comments);
        if (!comment) undocumented.push(`${name} (${process})`);
        else rows.set(comment, [...(rows.get(comment) ?? []), shownName(name, comment)]);
      }
      const table = [...rows].map(([comment, names]) => `| ${names.map((name) => `\`${name}\``).join(', ')} | ${cell(comment.text)} |`);
      sections.push([`## ${process}`, '', `Read by \`${file}\`.`, '', '| setting | meaning and default |', '|---|---|', ...table].join('\n'));
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  if (undocumented.length > 0) throw new Error(`settings without a JSDoc comment naming them: ${undocumented.join(', ')}`);
  return [
    '# Configuration reference',
    '',
    '<!-- Generated by `npm run docs` from the JSDoc of the config modules; edit those, not this file. -->',
    '',
    'Every process reads its settings from the environment once, at start, and refuses to start with',
    'one message listing every bad value. A blank value counts as unset. Each section lists what one',
    "process reads, in the order it reads it; `SUBGRAPH_<NAME>_URLS` stands for one variable per subgraph.",
    '',
    sections.join('\n\n'),
    '',
  ].join('\n');
}

if (require.main === module) {
  writeFileSync(CONFIGURATION_DOC, renderConfigurationReference());
  console.log(`docs: wrote ${relative(ROOT, CONFIGURATION_DOC)}`);
}
