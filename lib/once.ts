/**
 * Runs `load` once and shares its promise, so concurrent first callers wait on one call (middy's habit:
 * cache the promise, not the value). A rejection is not kept: the next call runs `load` again.
 */
export function onceUntilFailure<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= load().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}
