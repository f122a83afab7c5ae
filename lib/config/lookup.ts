/**
 * A configured entry by name, from the record's own members only: a target or key named `constructor`
 * or `__proto__` must not find what every object inherits.
 */
export function lookup<T>(record: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(record, name) ? record[name] : undefined;
}
