import { createRequire } from 'node:module';

/**
 * A `require` that resolves as `pkg`'s own code does, from the package's entry (its `exports` need
 * not list package.json): how we reach the modules a dependency loads for itself, to patch or
 * defer them where it will find them. Throws when `pkg` is not installed.
 */
export function requireAs(pkg: string): NodeJS.Require {
  return createRequire(require.resolve(pkg));
}

/**
 * `load()`, or undefined when it throws (a module that moved or is missing): for changes that only
 * save time or memory, which must never stop a process.
 */
export function unlessMissing<T>(load: () => T): T | undefined {
  try {
    return load();
  } catch {
    return undefined;
  }
}
