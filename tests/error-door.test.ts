import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { errorAnswer, errorShapeOf } from '../shared/error-response';
import { errorCatalogue } from '../shared/errors';

/**
 * Errors go through one door (shared/error-response.ts): the catalogue gives the status, the
 * request the shape. This scans the source of every process and fails when a module answers an
 * error status, or builds an error body, or copies a catalogue message, anywhere else.
 */
const ROOT = join(__dirname, '..');
const SCANNED = ['gateway', 'shared', 'subgraphs'];
/** The catalogue itself, and the door. */
const DOOR = new Set(['shared/errors.ts', 'shared/error-response.ts']);

/** What sending an error outside the door looks like, each with what it means. */
const OUTSIDE_THE_DOOR: readonly [RegExp, string][] = [
  // Apollo's own answers keep Apollo's status: their errors went through formatError (maskErrors), which uses the door.
  [/\.(?:code|status)\(\s*(?!\)|[23]\d\d\b|response\.status \?\? 200\))/, 'sets a reply status that is not a literal success'],
  [/\bwriteHead\(\s*(?![23]\d\d\b)/, 'writes a status that is not a literal success'],
  [/\b(?:statusCode|http\.status)\s*=(?!=)\s*(?![23]\d\d\b)/, 'assigns an HTTP status'],
  [/\bstatus\s*:\s*[45]\d\d\b/, 'names an error status'],
  [/\bstatusOf\(|errorCatalogue\s*\[[^\]]*\]\s*\.\s*status|\berror\.status\b/, 'reads a status from the catalogue'],
  [/\brestErrorBody\(|\berrors\s*:\s*\[\s*\{|\berror\s*:\s*\{\s*code\b/, 'builds an error body'],
];

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = `${dir}/${name}`;
    if (statSync(join(ROOT, path)).isDirectory()) return name === 'node_modules' || name === 'generated' ? [] : sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** The lines of `text` that send an error outside the door, as `line: what`. */
function violations(text: string): string[] {
  const found: string[] = [];
  text.split('\n').forEach((line, index) => {
    if (/^\s*(?:\*|\/\/)/.test(line)) return; // comments
    for (const [pattern, what] of OUTSIDE_THE_DOOR) if (pattern.test(line)) found.push(`${index + 1}: ${what}: ${line.trim()}`);
  });
  for (const { message } of Object.values(errorCatalogue)) {
    if ([`'${message}'`, `"${message}"`, `\`${message}\``].some((literal) => text.includes(literal))) found.push(`copies the catalogue message "${message}"`);
  }
  return found;
}

test('no module of gateway/, shared/ or subgraphs/ sends an error status or body outside shared/error-response.ts', () => {
  const files = SCANNED.flatMap(sources).filter((path) => !DOOR.has(path));
  expect(files.length).toBeGreaterThan(30);
  const found = files.flatMap((path) => violations(readFileSync(join(ROOT, path), 'utf8')).map((violation) => `${path}:${violation}`));
  expect(found).toEqual([]);
});

test.each([
  ["reply.code(401).header('www-authenticate', 'Bearer');"],
  ['return reply.code(statusOf(code)).send(body);'],
  ["reply.header('retry-after', '1').status(429);"],
  ['response.writeHead(503, headers);'],
  ['response.http.status = status;'],
  ["throw new GraphQLError(message, { extensions: { code, http: { status: 400 } } });"],
  ["return reply.send({ errors: [{ message, extensions: { code: 'RATE_LIMITED' } }] });"],
  ["return reply.send({ error: { code: 'UNAUTHENTICATED', message } });"],
  ["return { message: 'Internal server error', path };"],
])('the scan finds an error sent outside the door: %s', (line) => {
  expect(violations(line)).not.toEqual([]);
});

test.each([
  ["response.writeHead(200, { 'content-type': 'application/json' });"],
  ['reply.code(response.status ?? 200);'],
  ['return sendError(reply, "RATE_LIMITED", message);'],
])('the scan lets a success or the door through: %s', (line) => {
  expect(violations(line)).toEqual([]);
});

describe('the shape is decided once, by the request', () => {
  test.each([
    ['POST', '/graphql', 'graphql'],
    ['GET', '/graphql?query=%7B__typename%7D', 'graphql'],
    ['PUT', '/graphql', 'rest'],
    ['POST', '/graphqlx', 'rest'],
    ['GET', '/graphql/', 'rest'],
    ['GET', '/order/5', 'rest'],
    [undefined, undefined, 'rest'],
  ] as const)('%s %s → %s', (method, url, shape) => {
    expect(errorShapeOf(method, url)).toBe(shape);
  });

  test('one code, both shapes, the catalogue status and message', () => {
    expect(errorAnswer('rest', 'HEADERS_TOO_LARGE')).toEqual({ status: 431, body: { error: { code: 'HEADERS_TOO_LARGE', message: errorCatalogue.HEADERS_TOO_LARGE.message } } });
    expect(errorAnswer('graphql', 'RATE_LIMITED', 'Too many requests: retry in 3 s', { retry: 3 })).toEqual({
      status: 429,
      body: { errors: [{ message: 'Too many requests: retry in 3 s', extensions: { retry: 3, code: 'RATE_LIMITED' } }] },
    });
  });
});
