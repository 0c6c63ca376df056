import { AppError } from './errors';

/** Ids are positive 32-bit integers in the database and decimal strings in GraphQL. */
export const MAX_ID = 2_147_483_647;
export const MAX_NAME_LENGTH = 255;

/** A GraphQL `ID` as a database id, or undefined when it cannot name any row. */
export function toDatabaseId(value: unknown): number | undefined {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^[1-9]\d{0,9}$/.test(text)) return undefined;
  const id = Number(text);
  return id <= MAX_ID ? id : undefined;
}

/** Like `toDatabaseId`, but a malformed id is the client's mistake and says so. */
export function requireId(value: unknown, field: string): number {
  const id = toDatabaseId(value);
  if (id === undefined) throw new AppError('BAD_USER_INPUT', `${field} must be a positive integer id up to ${MAX_ID}`, { field });
  return id;
}

/**
 * The one rule for every text a client gives (names, user ids), through REST and GraphQL alike:
 * trimmed, 1 to `maxLength` characters, well-formed Unicode (no lone surrogate, which UTF-8
 * cannot store and a driver would silently replace) and printable (no control character: NUL,
 * line breaks, terminal escapes). Returns the trimmed text.
 */
export function requireText(value: string, field: string, maxLength: number): string {
  const text = value.trim();
  const refuse = (rule: string) => new AppError('BAD_USER_INPUT', `${field} ${rule}`, { field });
  if (text === '') throw refuse('must not be empty');
  if (/\p{Cs}/u.test(text)) throw refuse('must be well-formed Unicode (it holds a lone surrogate)');
  if (/\p{Cc}/u.test(text)) throw refuse('must not contain control characters');
  if ([...text].length > maxLength) throw refuse(`must be at most ${maxLength} characters`);
  return text;
}

/** A product or order name: a text of at most 255 characters. */
export function requireName(value: string, field: string): string {
  return requireText(value, field, MAX_NAME_LENGTH);
}
