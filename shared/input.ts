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

/** A trimmed, non-empty name of at most 255 characters. */
export function requireName(value: string, field: string): string {
  const name = value.trim();
  if (name === '') throw new AppError('BAD_USER_INPUT', `${field} must not be empty`, { field });
  if ([...name].length > MAX_NAME_LENGTH) {
    throw new AppError('BAD_USER_INPUT', `${field} must be at most ${MAX_NAME_LENGTH} characters`, { field });
  }
  return name;
}
