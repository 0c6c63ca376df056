type Data = Record<string, unknown>;

export const hasOwn = (object: object, key: string) => Object.prototype.hasOwnProperty.call(object, key);
const isObject = (value: unknown): value is Data => value !== null && typeof value === 'object' && !Array.isArray(value);

/*
 * The response tree one execution of a plan builds from its subgraphs' answers, before shaping.
 *
 * The answers go into it as they are, not copied. An answer that several executions share (the
 * callers of one merged subgraph call get one parse of it, frozen: `readOnlyJson` in
 * shared/http-client.ts) saves them most of the parsing and of the garbage on a burst of one
 * query; so the tree never changes a frozen object or list. The first time an execution merges
 * into one, it copies it (shallowly) into its place and changes the copy. The rest (its own
 * answers, its copies) it changes in place, as Apollo's executor does.
 */

/**
 * `parent[key]`, where `parent` may be changed: a frozen object or list copied into place first,
 * so that the caller may change what it gets; any other value as it is.
 */
export function own(parent: Data | unknown[], key: string | number): unknown {
  const child = (parent as Record<string | number, unknown>)[key];
  if (child === null || typeof child !== 'object' || Object.isExtensible(child)) return child;
  const copy = Array.isArray(child) ? child.slice() : { ...(child as Data) };
  (parent as Record<string | number, unknown>)[key] = copy;
  return copy;
}

/**
 * Apollo's deepMerge of `source` (read only) into `target` (which may be changed): objects merged
 * field by field and lists of the same length item by item, into copies where the tree holds a
 * frozen one (`own`); otherwise the source's value is put in place as it is. Only own properties
 * of `target` are read, so a field named like an Object.prototype property (`constructor`) is a field.
 */
export function merge(target: Data, source: Data | null | undefined): void {
  if (source === undefined || source === null) return;
  const keys = Object.keys(source);
  for (let keyIndex = 0; keyIndex < keys.length; keyIndex += 1) {
    const key = keys[keyIndex]!;
    const value = source[key];
    if (value === undefined) continue;
    const existing = hasOwn(target, key) ? target[key] : undefined;
    if (existing && isObject(value)) {
      merge(own(target, key) as Data, value);
    } else if (Array.isArray(value) && Array.isArray(existing) && value.length === existing.length) {
      const list = own(target, key) as unknown[];
      for (let index = 0; index < value.length; index += 1) {
        const item: unknown = value[index];
        if (isObject(list[index]) && isObject(item)) merge(own(list, index) as Data, item);
        else list[index] = item;
      }
    } else {
      if (existing === undefined && key in target) Object.defineProperty(target, key, { configurable: true, enumerable: true, value: undefined, writable: true });
      target[key] = value;
    }
  }
}
