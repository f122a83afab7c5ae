import { mapSubject } from '#lib/assertion/subject.ts';
import { createGateway } from '#lib/composition.ts';
import { lookup } from '#lib/config/lookup.ts';
import { AuthorizationServerDiscovery } from '#lib/oauth/discovery.ts';
import { signsAssertion } from '#lib/oauth/grants.ts';
import { type CliContext, type CommandResult, UsageError } from '../context.ts';
import { commandConfigPath, loadDeployConfig, stageEnv, withoutSharedCache } from '../deploy-config.ts';
import { explain } from '../explain.ts';

export const TEST_TARGET_HELP = `test-target TARGET --subject USER [--scope S] [--config FILE] [--stage STAGE]

  Does what the gateway does for one token request to TARGET, once, with no cache and no caller policy:
  signs an assertion for USER with the target's signing key (KMS or local), finds the token endpoint
  (configured or discovered), exchanges it, and reports each step. A refusal is explained in plain words
  (which claim or registration to check). The access token itself is never printed.
  Needs what the token function needs: AWS credentials and region for KMS keys and Secrets Manager
  secrets; --stage fills the signing key placeholders with that stage's key aliases. Without --config,
  --stage or GATEWAY_CONFIG_SOURCE, an npm start on embedded defaults running in this directory is used
  (try: test-target demo --subject CICSUSR1), else config/gateway.yaml.`;

interface Step {
  readonly step: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** `test-target`: one real exchange, every step reported, any failure explained. */
export async function testTarget(
  target: string | undefined,
  options: { subject?: string; scope?: string; config?: string; stage?: string; json?: boolean },
  context: CliContext,
): Promise<CommandResult> {
  if (!target) throw new UsageError('test-target needs a TARGET (one of the configuration targets)');
  if (!options.subject) throw new UsageError('test-target needs --subject USER');
  const env = stageEnv(options.stage, context.env);
  const { config } = await loadDeployConfig(await commandConfigPath(options, context), env, [
    'signingKeys',
    'targets',
  ]);
  const settings = lookup(config.targets, target);
  if (!settings) {
    throw new UsageError(
      `no target "${target}"; the configuration has: ${Object.keys(config.targets).join(', ')}`,
    );
  }
  const gateway = createGateway(withoutSharedCache(config), { aws: context.aws, env, fetch: context.fetch });
  // No region or credentials: say so in one line (ERR_AWS_UNCONFIGURED), before any call fails vaguely.
  await gateway.checkAws();
  const steps: Step[] = [];
  // Each step is printed once, as it ends: on stdout as the report itself, or with --json (one document
  // on stdout at the end) on stderr as progress. Both at once showed every step twice in a terminal.
  const progress = options.json ? context.stderr : context.stdout;
  const record = (step: Step) => {
    steps.push(step);
    progress(`${step.ok ? 'ok  ' : 'FAIL'} ${step.step}: ${step.detail}`);
  };
  const finish = (ok: boolean, failure?: { code: string; explanation: string }): CommandResult => {
    const text = failure ? `\nWhy: ${failure.explanation}` : '';
    return { ok, text, json: { target, ok, steps, ...(failure ? { error: failure } : {}) } };
  };

  // 1. The signing key (jwt-bearer and token-exchange sign; other grants send no assertion).
  const signs = signsAssertion(settings.grant);
  if (signs) {
    const keyId =
      settings.assertion.signingKey ??
      Object.entries(config.signingKeys).find(([, key]) => !key.retired)?.[0] ??
      '';
    try {
      const { kid, alg } = await gateway.keyRing.describe(keyId);
      record({ step: 'signing key', ok: true, detail: `${keyId}: ${alg}, kid ${kid}` });
    } catch (error) {
      record({ step: 'signing key', ok: false, detail: keyId });
      return finish(false, explain(error));
    }
  }

  // 2. The token endpoint, and what the assertion will say.
  let tokenEndpoint = settings.tokenEndpoint;
  let issuer = settings.issuer ?? settings.tokenEndpoint ?? '';
  if (!tokenEndpoint) {
    try {
      const metadata = await new AuthorizationServerDiscovery().discover(settings.issuer ?? '', {
        timeoutMs: settings.timeoutMs,
        allowInsecureHttp: settings.allowInsecureHttp,
        fetch: context.fetch,
      });
      tokenEndpoint = metadata.token_endpoint ?? '';
      issuer = metadata.issuer;
      record({ step: 'discovery', ok: true, detail: `${settings.issuer} -> ${tokenEndpoint}` });
    } catch (error) {
      record({ step: 'discovery', ok: false, detail: settings.issuer ?? '' });
      return finish(false, explain(error));
    }
  } else {
    record({ step: 'token endpoint', ok: true, detail: `${tokenEndpoint} (configured)` });
  }
  if (signs) {
    let sub: string;
    try {
      sub = mapSubject(options.subject, settings.subject);
    } catch (error) {
      record({ step: 'subject', ok: false, detail: options.subject });
      return finish(false, explain(error));
    }
    const audience = settings.assertion.audience;
    const aud =
      typeof audience === 'object' ? audience.value : audience === 'issuer' ? issuer : tokenEndpoint;
    const iss = settings.assertion.issuer ?? settings.clientId;
    record({
      step: 'assertion',
      ok: true,
      detail: `iss ${iss}, sub ${sub}, aud ${aud}, exp in ${settings.assertion.lifetimeSeconds} s`,
    });
  }

  // 3. One exchange.
  try {
    const { token } = await gateway.exchanger.exchange({
      target,
      subject: options.subject,
      scope: options.scope,
      deadline: Date.now() + 30_000,
    });
    const lifetime = token.expiresIn === undefined ? 'no expires_in' : `expires in ${token.expiresIn} s`;
    record({
      step: 'exchange',
      ok: true,
      detail: `${settings.clientAuthentication.method}: ${token.tokenType} token (${token.accessToken.length} characters, not shown), ${lifetime}, scope "${token.scope ?? ''}"`,
    });
    return finish(true);
  } catch (error) {
    record({
      step: 'exchange',
      ok: false,
      detail: `${settings.grant} grant, ${settings.clientAuthentication.method}`,
    });
    return finish(false, explain(error));
  }
}
