import type { AwsClients } from '#lib/composition.ts';

/**
 * What a command may touch, injected so tests run commands in-process against the AWS emulator and the
 * demo authorization server: the environment (AWS settings, placeholders), the output streams, and
 * optionally ready-made AWS clients (otherwise the SDK's own chain: AWS_REGION, credentials,
 * AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_KMS, ...).
 */
export interface CliContext {
  readonly env: NodeJS.ProcessEnv;
  /** The result: text, or one JSON document with --json. */
  readonly stdout: (text: string) => void;
  /** Progress and errors, so stdout stays clean for scripts. */
  readonly stderr: (text: string) => void;
  readonly aws?: AwsClients;
  readonly fetch?: typeof fetch;
  /** Reads standard input (hash-key --stdin). */
  readonly readStdin?: () => Promise<string>;
}

/** What every command returns: whether it succeeded, what to print, and the same as data for --json. */
export interface CommandResult {
  readonly ok: boolean;
  readonly text: string;
  readonly json: Record<string, unknown>;
}

/** A mistake in the command line itself (exit code 2), as opposed to a failed check (exit code 1). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
