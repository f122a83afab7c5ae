// The operator CLI: `jwt-bearer-gateway <command>` (package.json bin, through bin/jwt-bearer-gateway.mjs)
// or `npm run gw -- <command>`. Each command is one file under cli/commands/; results go to stdout (text,
// or one JSON document with --json), progress and errors to stderr. Exit codes: 0 done, 1 a check failed
// or the work could not be done, 2 the command line is wrong.
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CERTIFICATE_HELP, certificate } from './commands/certificate.ts';
import { CHECK_CONFIG_HELP, checkConfig } from './commands/check-config.ts';
import { HASH_KEY_HELP, hashKey } from './commands/hash-key.ts';
import { JWKS_HELP, jwks } from './commands/jwks.ts';
import { ROTATE_KEY_HELP, rotateKey } from './commands/rotate-key.ts';
import { TEST_TARGET_HELP, testTarget } from './commands/test-target.ts';
import { type CliContext, type CommandResult, UsageError } from './context.ts';
import { explain } from './explain.ts';

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  config: { type: 'string' },
  stage: { type: 'string' },
  subject: { type: 'string' },
  scope: { type: 'string' },
  stdin: { type: 'boolean' },
  bytes: { type: 'string' },
  to: { type: 'string' },
  from: { type: 'string' },
  'jwks-url': { type: 'string' },
  disable: { type: 'string' },
  key: { type: 'string' },
  days: { type: 'string' },
  csr: { type: 'boolean' },
  out: { type: 'string' },
} as const;

const COMMANDS: Record<string, string> = {
  'check-config': CHECK_CONFIG_HELP,
  'hash-key': HASH_KEY_HELP,
  jwks: JWKS_HELP,
  'test-target': TEST_TARGET_HELP,
  'rotate-key': ROTATE_KEY_HELP,
  certificate: CERTIFICATE_HELP,
};

export const USAGE = `Usage: jwt-bearer-gateway <command> [options]     (or: npm run gw -- <command> [options])

Commands:
  check-config   validate the deploy configuration as the build does
  hash-key       generate an API key (or client secret) and print its SHA-256 for the configuration
  jwks           print the JWKS and kids of a configuration (a stage's with --stage)
  test-target    sign, exchange once at a target's authorization server, explain any failure
  rotate-key     guide a signing key rotation, checking each step before the next
  certificate    create a KMS-signed self-signed certificate (or CSR) for a signing key

Options for every command:
  --json         one JSON document on stdout (for scripts)
  --help, -h     this text, or a command's (jwt-bearer-gateway <command> --help)

AWS settings come from the environment, as for the AWS CLI: AWS_REGION, AWS_PROFILE or
AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, AWS_ENDPOINT_URL (and per service
AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL_DYNAMODB).`;

/** Runs one command line; returns the exit code. */
export async function main(argv: readonly string[], context: CliContext): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    context.stderr(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (!command) {
    (values.help ? context.stdout : context.stderr)(USAGE);
    return values.help ? 0 : 2;
  }
  const help = COMMANDS[command];
  if (!help) {
    context.stderr(`unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    context.stdout(`Usage: jwt-bearer-gateway ${help}\n\n  --json for one JSON document on stdout.`);
    return 0;
  }
  let result: CommandResult;
  try {
    result = await run(command, rest, values, context);
  } catch (error) {
    if (error instanceof UsageError) {
      context.stderr(`${error.message}\n\nUsage: jwt-bearer-gateway ${help}`);
      return 2;
    }
    const { code, explanation } = explain(error);
    if (values.json) context.stdout(JSON.stringify({ ok: false, error: { code, explanation } }, null, 2));
    else context.stderr(`${command} failed: ${explanation}`);
    return 1;
  }
  context.stdout(values.json ? JSON.stringify({ ok: result.ok, ...result.json }, null, 2) : result.text);
  return result.ok ? 0 : 1;
}

function run(
  command: string,
  positionals: string[],
  values: Record<string, string | boolean | undefined>,
  context: CliContext,
): Promise<CommandResult> {
  const options = values as Record<string, never>;
  if (positionals.length > (command === 'test-target' ? 1 : 0)) {
    throw new UsageError(`unexpected argument "${positionals.at(-1)}"`);
  }
  switch (command) {
    case 'check-config':
      return checkConfig(options, context);
    case 'hash-key':
      return hashKey(options, context);
    case 'jwks':
      return jwks(options, context);
    case 'test-target':
      return testTarget(positionals[0], options, context);
    case 'rotate-key':
      return rotateKey({ ...options, jwksUrl: values['jwks-url'] as string | undefined }, context);
    default:
      return certificate(options, context);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2), {
    env: process.env,
    stdout: (text) => process.stdout.write(`${text}\n`),
    stderr: (text) => process.stderr.write(`${text}\n`),
    readStdin,
  });
}
