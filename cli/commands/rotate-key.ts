import type { KMSClient } from '@aws-sdk/client-kms';
import { createGateway } from '#lib/composition.ts';
import type { GatewayConfig } from '#lib/config/schema.ts';
import { type CliContext, type CommandResult, UsageError } from '../context.ts';
import { deployConfigPath, loadDeployConfig, stageEnv, withoutSharedCache } from '../deploy-config.ts';
import { explain } from '../explain.ts';

export const ROTATE_KEY_HELP = `rotate-key --to SLOT [--from SLOT] [--jwks-url URL] [--config FILE] [--stage STAGE] [--disable KEY]

  Guides a signing key rotation (docs/DEPLOY.md, "Rotate the signing key") one deployment at a time: reads
  the configuration you are about to deploy, tells which step it is at, checks what must be true before
  the next one (each key's kid via KMS; with --jwks-url, which kids the deployed JWKS publishes and for how
  long authorization servers may cache it), and prints the next change to make. Run it again after each
  deployment. SLOT is a signingKeys name (blue or green in the stack); --from defaults to the active key.
  The last step, once only the new key is deployed: --disable KEY (the old key's ARN, output
  SigningKey<Slot>Arn noted before step 5) disables the retired KMS key, after checking it is not the new
  key and, with --jwks-url, no longer published. A disabled key signs for no one, not even a role
  recreated with the token role's name, which its key policy still names.`;

/** KMS, for the last step only: the SDK's own chain (AWS_REGION, credentials, AWS_ENDPOINT_URL_KMS) unless injected. */
async function kmsClient(context: CliContext): Promise<KMSClient> {
  if (context.aws?.kms) return context.aws.kms;
  const { KMSClient } = await import('@aws-sdk/client-kms');
  return new KMSClient({});
}

interface Check {
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
}

type Phase = 'add' | 'published' | 'switched' | 'done';

const keyLine = (slot: string, retired: boolean) =>
  `  ${slot}: { type: kms, keyId: "\${env:SIGNING_KEY_${slot.toUpperCase()}_ID}"${retired ? ', retired: true' : ''} }`;

/** The longest time an assertion signed now may still be presented: lifetime plus backdating. */
function longestAssertionSeconds(config: GatewayConfig): number {
  const targets = Object.values(config.targets);
  return Math.max(60, ...targets.map((t) => t.assertion.lifetimeSeconds + t.assertion.clockSkewSeconds));
}

/** `rotate-key`: where a rotation stands, what to check, what to do next. */
export async function rotateKey(
  options: {
    to?: string;
    from?: string;
    jwksUrl?: string;
    config?: string;
    stage?: string;
    disable?: string;
  },
  context: CliContext,
): Promise<CommandResult> {
  const to = options.to;
  if (!to)
    throw new UsageError('rotate-key needs --to SLOT: the signing key being introduced (blue or green)');
  const env = stageEnv(options.stage, context.env);
  const { config } = await loadDeployConfig(deployConfigPath(options.config, context.env), env, [
    'signingKeys',
  ]);
  const keys = config.signingKeys;
  // The key being replaced: the other one listed (before step 1 and until step 5, there is exactly one).
  const from = options.from ?? Object.keys(keys).find((name) => name !== to) ?? 'previous';
  if (from === to) throw new UsageError('--from and --to name the same key');

  const phase: Phase | undefined = !keys[to]
    ? keys[from] && !keys[from].retired
      ? 'add'
      : undefined
    : keys[to].retired
      ? keys[from] && !keys[from].retired
        ? 'published'
        : undefined
      : !keys[from]
        ? 'done'
        : keys[from].retired
          ? 'switched'
          : undefined;
  if (!phase) {
    return {
      ok: false,
      text: `The configuration is in no step of a rotation from ${from} to ${to}: exactly one key signs at a time (the other listed with retired: true). See docs/DEPLOY.md.`,
      json: { from, to, phase: null, checks: [] },
    };
  }

  if (options.disable && phase !== 'done') {
    throw new UsageError(
      `--disable is the last step: deploy the configuration with ${to} only first (the rotation is at "${phase}", and the JWKS still needs ${from}'s key)`,
    );
  }

  const checks: Check[] = [];
  const record = (check: Check) => {
    checks.push(check);
    context.stderr(`${check.ok ? 'ok  ' : 'FAIL'} ${check.check}: ${check.detail}`);
  };
  // The key to disable is described like a configured key (its kid), as a retired key beside the others.
  const RETIRING = 'retiring';
  const described = options.disable
    ? {
        ...config,
        signingKeys: { ...keys, [RETIRING]: { type: 'kms' as const, keyId: options.disable, retired: true } },
      }
    : config;
  // Each listed key's kid, as the gateway computes it (KMS GetPublicKey for KMS keys).
  const gateway = createGateway(withoutSharedCache(described as GatewayConfig), { aws: context.aws, env });
  await gateway.checkAws();
  const kids: Record<string, string> = {};
  for (const slot of [from, to, ...(options.disable ? [RETIRING] : [])].filter(
    (slot) => described.signingKeys[slot],
  )) {
    try {
      kids[slot] = (await gateway.keyRing.describe(slot)).kid;
      record({ check: `${slot} key`, ok: true, detail: `kid ${kids[slot]}` });
    } catch (error) {
      record({ check: `${slot} key`, ok: false, detail: explain(error).explanation });
    }
  }
  // What the deployed gateway publishes.
  let maxAge: number | undefined;
  if (options.jwksUrl && phase !== 'add') {
    try {
      const response = await (context.fetch ?? fetch)(options.jwksUrl, {
        signal: AbortSignal.timeout(10_000),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const published = new Set(
        ((await response.json()) as { keys?: Array<{ kid?: unknown }> }).keys?.map((key) => key.kid) ?? [],
      );
      maxAge = Number(/max-age=(\d+)/.exec(response.headers.get('cache-control') ?? '')?.[1] ?? Number.NaN);
      for (const slot of Object.keys(kids)) {
        const must = slot === RETIRING ? false : phase === 'done' ? slot === to : true;
        const has = published.has(kids[slot]);
        record({
          check: `${slot} published`,
          ok: has === must,
          detail: `kid ${kids[slot]} ${has ? 'is' : 'is not'} in ${options.jwksUrl}${has === must ? '' : ': deploy this configuration first'}`,
        });
      }
    } catch (error) {
      record({
        check: 'deployed JWKS',
        ok: false,
        detail: `${options.jwksUrl}: ${(error as Error).message}`,
      });
    }
  }

  // The last step: the retired key may be disabled only when it is not the key that signs now.
  let disabled = false;
  if (options.disable && checks.every((check) => check.ok)) {
    const kms = await kmsClient(context);
    const { DescribeKeyCommand, DisableKeyCommand } = await import('@aws-sdk/client-kms');
    const retiring = (await kms.send(new DescribeKeyCommand({ KeyId: options.disable }))).KeyMetadata;
    const active = keys[to]!;
    const activeKeyId =
      active.type === 'kms'
        ? (await kms.send(new DescribeKeyCommand({ KeyId: active.keyId }))).KeyMetadata?.KeyId
        : undefined;
    const isActive = retiring?.KeyId !== undefined && retiring.KeyId === activeKeyId;
    record({
      check: `${from} is not ${to}`,
      ok: !isActive && retiring?.KeyId !== undefined,
      detail: isActive
        ? `${options.disable} is the key ${to} signs with: disabling it would stop every exchange`
        : `${retiring?.Arn ?? options.disable} is not ${to}'s key`,
    });
    if (!isActive && retiring?.KeyId) {
      // DisableKey takes a key id or key ARN, never an alias.
      await kms.send(new DisableKeyCommand({ KeyId: retiring.KeyId }));
      disabled = true;
      record({
        check: `${from} disabled`,
        ok: true,
        detail: `${retiring.Arn} is disabled: it signs for no one`,
      });
    }
  }

  const capitalized = (slot: string) => `${slot[0]!.toUpperCase()}${slot.slice(1)}`;
  const slotParam = (slot: string, value: boolean) => `signingKey${capitalized(slot)}: "${value}"`;
  const longest = longestAssertionSeconds(config);
  const cacheWait = Math.max(300, Number.isFinite(maxAge) ? (maxAge as number) : 300);
  const next: Record<Phase, string[]> = {
    add: [
      `Step 1 of 6: add ${to}, published but not signing. For the stage in serverless.yml params set`,
      `  ${slotParam(to, true)}   (and keep ${slotParam(from, true)})`,
      'list both keys in the configuration, the new one retired:',
      keyLine(from, false),
      keyLine(to, true),
      'then npm run deploy, and register the new key where a server takes keys by value.',
    ],
    published: [
      `Step 2 of 6: wait until every authorization server has fetched ${to}'s key: at least ${cacheWait} s`,
      "(the JWKS max-age) or your servers' longer JWKS cache, and until manual registrations are done.",
      `Step 3 of 6: switch. Deploy with both slots still "true" and ${to} signing, ${from} retired:`,
      keyLine(from, true),
      keyLine(to, false),
    ],
    switched: [
      `Step 4 of 6: wait ${longest} s (the longest assertion lifetime plus backdating of your targets).`,
      `Step 5 of 6: note ${from}'s key ARN (output SigningKey${capitalized(from)}Arn; the stack retains the key but`,
      `drops the output and alias), then remove ${from}: configuration with ${to} only, ${slotParam(from, false)}`,
      'for the stage, deploy:',
      keyLine(to, false),
      `Step 6 of 6: disable ${from}'s key, so nothing signs with it, not even a role recreated with the token role's name:`,
      `  npm run gw -- rotate-key --to ${to} --from ${from} --stage <stage> --disable <SigningKey${capitalized(from)}Arn>`,
    ],
    done: disabled
      ? [
          `The rotation to ${to} is complete: ${from}'s key is disabled. Remove its manual registrations and, when`,
          'nothing needs it any more, schedule its deletion:',
          `  aws kms schedule-key-deletion --key-id ${options.disable} --pending-window-in-days 30`,
        ]
      : [
          `Step 6 of 6, once this configuration is deployed: disable ${from}'s KMS key (the stack retains it, and its`,
          "key policy still lets a role with the token role's name sign):",
          `  npm run gw -- rotate-key --to ${to} --from ${from} --stage <stage> --disable <SigningKey${capitalized(from)}Arn>`,
          `then remove ${from}'s manual registrations and schedule its deletion.`,
        ],
  };
  const ok = checks.every((check) => check.ok);
  const text = [
    `Rotation ${from} -> ${to}: at "${phase}"`,
    ...checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.check}: ${c.detail}`),
    '',
    ...(ok ? next[phase] : ['Fix the failed checks before the next step.']),
  ].join('\n');
  return { ok, text, json: { from, to, phase, kids, checks, disabled, next: ok ? next[phase] : [] } };
}
