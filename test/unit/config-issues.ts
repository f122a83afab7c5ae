import { ConfigError } from '#lib/config/config-error.ts';

/** The issues of the ConfigError `run` throws; fails the test when it throws none, or anything else. */
export function configIssues(run: () => unknown): Array<{ path: string; message: string }> {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return [...error.issues];
    throw error;
  }
  throw new Error('expected a ConfigError');
}
