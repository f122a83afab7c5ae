import { randomBytes } from 'node:crypto';
import { apiKeyHash } from '#lib/policy/caller-policy.ts';
import { type CliContext, type CommandResult, UsageError } from '../context.ts';

export const HASH_KEY_HELP = `hash-key [--stdin] [--bytes N]

  Generates a random API key (or client secret): N random bytes (default 32), base64url, and prints it
  with its SHA-256, the value callers.<name>.apiKeys takes (or the secret to keep in Secrets Manager).
  --stdin hashes the value read from standard input instead (never pass a key as an argument: it would
  be visible in the process list and the shell history).`;

/** `hash-key`: a new API key and the hash the configuration holds instead of it. */
export async function hashKey(
  options: { stdin?: boolean; bytes?: string },
  context: CliContext,
): Promise<CommandResult> {
  let key: string;
  let generated = false;
  if (options.stdin) {
    if (!context.readStdin) throw new UsageError('--stdin: no standard input');
    key = (await context.readStdin()).replace(/\r?\n$/, '');
    if (key.length === 0) throw new UsageError('--stdin: standard input was empty');
  } else {
    const bytes = Number(options.bytes ?? 32);
    if (!Number.isInteger(bytes) || bytes < 16 || bytes > 128) {
      throw new UsageError('--bytes must be a whole number from 16 to 128');
    }
    key = randomBytes(bytes).toString('base64url');
    generated = true;
  }
  const sha256 = apiKeyHash(key);
  const lines = [
    ...(generated ? [`key:    ${key}`, '        (give it to the caller; it is not stored anywhere)'] : []),
    `sha256: ${sha256}`,
    '',
    'In the configuration, either the hash itself:',
    `  apiKeys: [{ sha256: "${sha256}" }]`,
    "or kept in Secrets Manager (a stage's functions may read jwt-bearer-gateway/<stage>/*):",
    `  aws secretsmanager create-secret --name jwt-bearer-gateway/<stage>/callers/<caller> --secret-string ${sha256}`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the configuration's ${env:NAME} placeholder, printed as is.
    '  apiKeys: [{ secretsManager: { secretId: "jwt-bearer-gateway/${env:GATEWAY_STAGE}/callers/<caller>" } }]',
  ];
  return {
    ok: true,
    text: lines.join('\n'),
    json: { ...(generated ? { key } : {}), sha256 },
  };
}
