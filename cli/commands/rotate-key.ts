import { createGateway } from '#lib/composition.ts';
import type { GatewayConfig } from '#lib/config/schema.ts';
import { type CliContext, type CommandResult, UsageError } from '../context.ts';
import { deployConfigPath, loadDeployConfig, stageEnv, withoutSharedCache } from '../deploy-config.ts';
import { explain } from '../explain.ts';

export const ROTATE_KEY_HELP = `rotate-key --to SLOT [--from SLOT] [--jwks-url URL] [--config FILE] [--stage STAGE]

  Guides a signing key rotation (docs/DEPLOY.md, "Rotate the signing key") one deployment at a time: reads
  the configuration you are about to deploy, tells which step it is at, checks what must be true before
  the next one (each key's kid via KMS; with --jwks-url, which kids the deployed JWKS publishes and for how
  long authorization servers may cache it), and prints the next change to make. Run it again after each
  deployment. SLOT is a signingKeys name (blue or green in the stack); --from defaults to the active key.`;

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
  options: { to?: string; from?: string; jwksUrl?: string; config?: string; stage?: string },
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

  const checks: Check[] = [];
  const record = (check: Check) => {
    checks.push(check);
    context.stderr(`${check.ok ? 'ok  ' : 'FAIL'} ${check.check}: ${check.detail}`);
  };
  // Each listed key's kid, as the gateway computes it (KMS GetPublicKey for KMS keys).
  const gateway = createGateway(withoutSharedCache(config), { aws: context.aws, env });
  await gateway.checkAws();
  const kids: Record<string, string> = {};
  for (const slot of [from, to].filter((slot) => keys[slot])) {
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
        const must = phase === 'done' ? slot === to : true;
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

  const capitalized = (slot: string) => `${slot[0]!.toUpperCase()}${slot.slice(1)}`;
  const slotParam = (slot: string, value: boolean) => `signingKey${capitalized(slot)}: "${value}"`;
  const longest = longestAssertionSeconds(config);
  const cacheWait = Math.max(300, Number.isFinite(maxAge) ? (maxAge as number) : 300);
  const next: Record<Phase, string[]> = {
    add: [
      `Step 1 of 5: add ${to}, published but not signing. For the stage in serverless.yml params set`,
      `  ${slotParam(to, true)}   (and keep ${slotParam(from, true)})`,
      'list both keys in the configuration, the new one retired:',
      keyLine(from, false),
      keyLine(to, true),
      'then npm run deploy, and register the new key where a server takes keys by value.',
    ],
    published: [
      `Step 2 of 5: wait until every authorization server has fetched ${to}'s key: at least ${cacheWait} s`,
      "(the JWKS max-age) or your servers' longer JWKS cache, and until manual registrations are done.",
      `Step 3 of 5: switch. Deploy with both slots still "true" and ${to} signing, ${from} retired:`,
      keyLine(from, true),
      keyLine(to, false),
    ],
    switched: [
      `Step 4 of 5: wait ${longest} s (the longest assertion lifetime plus backdating of your targets).`,
      `Step 5 of 5: remove ${from}. Configuration with ${to} only, ${slotParam(from, false)} for the stage, deploy:`,
      keyLine(to, false),
      `then remove ${from}'s manual registrations and schedule its deletion:`,
      `  aws kms schedule-key-deletion --key-id <SigningKey${capitalized(from)}Arn output> --pending-window-in-days 30`,
    ],
    done: [
      `The rotation to ${to} is complete once this configuration is deployed. If not done yet: remove ${from}'s`,
      'manual registrations and schedule its KMS key for deletion (the stack retains it).',
    ],
  };
  const ok = checks.every((check) => check.ok);
  const text = [
    `Rotation ${from} -> ${to}: at "${phase}"`,
    ...checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.check}: ${c.detail}`),
    '',
    ...(ok ? next[phase] : ['Fix the failed checks before the next step.']),
  ].join('\n');
  return { ok, text, json: { from, to, phase, kids, checks, next: ok ? next[phase] : [] } };
}
