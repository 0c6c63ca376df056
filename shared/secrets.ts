import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The shortest HMAC secret any setting accepts. */
export const MIN_SECRET_LENGTH = 32;

/**
 * An embedded default: a random secret created once in the data directory and shared by every
 * process that uses it (the JWT key by auth and the gateway, the subgraph secret by all).
 */
export function embeddedSecret(dataDir: string, file: string): string {
  return embeddedFile(dataDir, file, () => randomBytes(48).toString('base64url'));
}

/**
 * The content of `<dataDir>/<file>`, made by `create` the first time (with mode 0600). Written to a
 * temporary file and hard-linked into place, so processes starting together agree on one complete
 * file: whoever links first wins, the others read the winner's.
 */
export function embeddedFile(dataDir: string, file: string, create: () => string): string {
  const path = join(dataDir, file);
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dataDir, { recursive: true });
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(temporary, create(), { mode: 0o600 });
  try {
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
  return readFileSync(path, 'utf8').trim();
}
