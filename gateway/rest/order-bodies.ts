import { AppError } from '../../shared/errors';
import { MAX_ID } from '../../shared/input';

/**
 * The request bodies of the order routes, in both dialects: the original Spring services' DTOs
 * (`orderItemsList`, a bare array on PUT) and today's names (`product_ids`, `product_id`). The
 * JSON schemas check each field's shape; the functions here pick the one list a body names, and
 * refuse a body that names it twice. Both run before any GraphQL, so a refused body writes nothing.
 */

/** Bounds one request's list, and the one `_entities` call that checks it (the order subgraph's bound too). */
const MAX_IDS = 1000;

const id = { type: 'integer', minimum: 1, maximum: MAX_ID };
const idList = (minItems: number) => ({ type: 'array', minItems, maxItems: MAX_IDS, items: id });
/** A DTO's own id, which a Jackson client serialises even on a create (as null): accepted, never used. */
const ignoredId = { type: ['integer', 'null'] };

/** `POST /order`: `{name, orderItemsList}` (the original) or `{name, product_ids}`. */
export const createOrderBody = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: { order_id: ignoredId, name: { type: 'string' }, orderItemsList: idList(0), product_ids: idList(0) },
};

/** `PUT /order/{orderId}`: a bare array of ids (the original), `{"product_id": n}` or `{"product_ids": [...]}`. */
export const addProductsBody = {
  type: ['array', 'object'],
  // For an array body:
  minItems: 1,
  maxItems: MAX_IDS,
  items: id,
  // For an object body:
  additionalProperties: false,
  properties: { product_id: id, product_ids: idList(1) },
};

/** The value of whichever one of two names for the same field the body uses. */
function oneOf(body: Record<string, unknown>, names: readonly [string, string]): unknown {
  const given = names.filter((name) => body[name] !== undefined);
  if (given.length === 2) {
    throw new AppError('BAD_USER_INPUT', `body.${names[0]} and body.${names[1]} both give the product ids: send only one of them`, { field: names[0] });
  }
  if (given.length === 0) throw new AppError('BAD_USER_INPUT', `body.${names[1]} (or body.${names[0]}) is required`, { field: names[1] });
  return body[given[0]!];
}

/** The product ids of a new order, as GraphQL ids, from a body that passed `createOrderBody`. */
export function productIdsToCreate(body: Record<string, unknown>): string[] {
  return (oneOf(body, ['orderItemsList', 'product_ids']) as number[]).map(String);
}

/** The product ids to append, in order, as GraphQL ids, from a body that passed `addProductsBody`. */
export function productIdsToAdd(body: number[] | Record<string, unknown>): string[] {
  if (Array.isArray(body)) return body.map(String);
  const ids = oneOf(body, ['product_ids', 'product_id']);
  return (Array.isArray(ids) ? ids : [ids]).map(String);
}
