// The CloudFormation template `osls package` generates, for a stage, a Region and a set of serverless.yml
// params, and AWS's own offline validator (`@aws/cloudformation-validate`, the engine aws-cdk-lib ships).
//
// serverless.yml and infra/ are copied into a directory of their own beside stand-in dist/<fn>/ files, so
// several sets can be packaged side by side (package.test.ts packages the real bundles): the template does
// not depend on what the bundles contain. Offline: no AWS credentials.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(import.meta.dirname, '..', '..');
const OSLS = join(ROOT, 'node_modules', 'osls', 'bin', 'serverless.js');

export interface Resource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
  readonly Condition?: string;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
  readonly DependsOn?: string | string[];
}

export interface Template {
  readonly Resources: Record<string, Resource>;
  readonly Outputs: Record<string, { Value: unknown; Condition?: string }>;
  readonly Parameters: Record<string, { Type: string; Default: string; AllowedValues?: string[] }>;
  readonly Conditions: Record<string, unknown>;
}

export interface Statement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Principal?: unknown;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** What to package: `osls package --stage --region --param name=value ...`. */
export interface PackagingSet {
  readonly stage?: string;
  readonly region?: string;
  readonly params?: Readonly<Record<string, string>>;
  /** A gateway configuration file to package instead of config/gateway.yaml. */
  readonly config?: string;
}

/** An environment with no AWS credentials at all: packaging must never need them. */
function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' };
  for (const name of Object.keys(env)) {
    if (/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE|DEFAULT_PROFILE)$/.test(name))
      delete env[name];
  }
  return env;
}

/** A failed `osls package`, with what it printed (its refusals name the param and the limit). */
export class PackagingError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
  }
}

/**
 * Packages serverless.yml into `dir` (created; its .serverless/ holds the output) and returns the path of
 * the generated template. Each set gets its own directory, so runs never collide.
 */
export async function packageInto(dir: string, set: PackagingSet = {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  await cp(join(ROOT, 'serverless.yml'), join(dir, 'serverless.yml'));
  await cp(join(ROOT, 'package.json'), join(dir, 'package.json'));
  await cp(join(ROOT, 'infra'), join(dir, 'infra'), { recursive: true });
  await cp(join(ROOT, 'config'), join(dir, 'config'), { recursive: true });
  if (set.config) await cp(set.config, join(dir, 'config', 'gateway.yaml'));
  // infra/*.cjs require yaml.
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  for (const name of ['token', 'jwks', 'health']) {
    await mkdir(join(dir, 'dist', name), { recursive: true });
    await writeFile(join(dir, 'dist', name, 'index.mjs'), 'export const handler = () => {};\n');
  }
  const args = [
    OSLS,
    'package',
    ...(set.stage ? ['--stage', set.stage] : []),
    ...(set.region ? ['--region', set.region] : []),
    ...Object.entries(set.params ?? {}).map(([name, value]) => `--param=${name}=${value}`),
  ];
  try {
    await promisify(execFile)(process.execPath, args, {
      cwd: dir,
      env: { ...offlineEnv(), GATEWAY_CONFIG_SOURCE: '' },
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new PackagingError(`osls package failed for ${JSON.stringify(set)}`, `${stdout}${stderr}`);
  }
  return join(dir, '.serverless', 'cloudformation-template-update-stack.json');
}

/** Packages a set in a temporary directory and returns the template (the directory is removed). */
export async function packageTemplate(
  params: Record<string, string> = {},
  options: Omit<PackagingSet, 'params'> = {},
): Promise<Template> {
  const dir = await mkdtemp(join(tmpdir(), 'jbg-template-'));
  try {
    return JSON.parse(await readFile(await packageInto(dir, { ...options, params }), 'utf8'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// The validator is aws-cdk-lib's own dependency (not hoisted), so it is resolved from there: the version
// the CDK ships is the one a CDK user's `cdk synth --validate` would run.
const requireFromCdk = createRequire(createRequire(import.meta.url).resolve('aws-cdk-lib/package.json'));
type Validator =
  typeof import('../../node_modules/aws-cdk-lib/node_modules/@aws/cloudformation-validate/index.js');

type Severity = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'FATAL';

/** One finding of the validator, reduced to what a reader and an allow-list need. */
export interface Finding {
  readonly ruleId: string;
  readonly severity: Severity;
  readonly message: string;
  readonly entity?: string;
  readonly propertyPath?: string;
}

/**
 * Validates a template file with `@aws/cloudformation-validate` (all built-in rules: resource schemas,
 * cfn-lint's checks, security and best-practice rules) as if deployed in `region`, and returns its
 * findings at WARN and above.
 */
export function validateTemplate(path: string, region: string): Finding[] {
  const { CompositeEngine, TemplateFile } = requireFromCdk('@aws/cloudformation-validate') as Validator;
  const engine = new CompositeEngine();
  try {
    const report = engine.validateTemplate(new TemplateFile(path), {
      detailLevel: 'STANDARD',
      severityLevel: 'WARN',
      pseudoParameterOverrides: { region, accountId: '123456789012', partition: 'aws' },
    });
    return report.diagnostics.map((d) => ({
      ruleId: d.ruleId,
      severity: d.severity,
      message: d.message,
      ...(d.entity?.logicalId ? { entity: d.entity.logicalId } : {}),
      ...(d.propertyPath ? { propertyPath: d.propertyPath } : {}),
    }));
  } finally {
    engine.free();
  }
}

/** One rule a cdk-nag pack (or the CDK's own validation) reports, on the template's logical ids. */
export interface NagViolation {
  readonly pack: string;
  readonly rule: string;
  readonly severity: string;
  readonly resources: readonly string[];
}

/**
 * Runs cdk-nag's AwsSolutions, NIST 800-53 rev5 and Serverless packs on a packaged template: the template
 * is included in a throwaway CDK app (`CfnInclude`) that is synthesised offline into `outdir`.
 * `acknowledge` marks findings as accepted, with their reasons (`Validations.of(construct).acknowledge`).
 * Returns what is left.
 */
export async function nagViolations(
  path: string,
  region: string,
  outdir: string,
  acknowledge: (include: import('aws-cdk-lib/cloudformation-include').CfnInclude) => void,
): Promise<NagViolation[]> {
  const { App, Stack, Validations } = await import('aws-cdk-lib');
  const { CfnInclude } = await import('aws-cdk-lib/cloudformation-include');
  const { AwsSolutionsChecks, NIST80053R5Checks, ServerlessChecks } = await import('cdk-nag');
  const app = new App({ outdir });
  const stack = new Stack(app, 'Gateway', { env: { account: '123456789012', region } });
  const include = new CfnInclude(stack, 'Template', { templateFile: path });
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app),
    new NIST80053R5Checks(app),
    new ServerlessChecks(app),
  );
  acknowledge(include);
  // The validation prints its whole report to the console; the report file below says the same.
  const { log, error: logError, warn } = console;
  console.log = console.error = console.warn = () => {};
  try {
    app.synth();
  } catch (error) {
    // A failed validation is reported below; anything else is a broken harness.
    if (!String(error).includes('Validation failed')) throw error;
  } finally {
    Object.assign(console, { log, error: logError, warn });
  }
  const report = JSON.parse(
    await readFile(join(outdir, 'validation-report.json'), 'utf8').catch(() => '{}'),
  ) as {
    pluginReports?: Array<{
      pluginName: string;
      violations: Array<{
        ruleName: string;
        severity: string;
        violatingConstructs: Array<{ constructPath: string }>;
      }>;
    }>;
  };
  return (report.pluginReports ?? []).flatMap((plugin) =>
    plugin.violations.map((violation) => ({
      pack: plugin.pluginName,
      rule: violation.ruleName,
      severity: violation.severity,
      resources: violation.violatingConstructs.map((c) =>
        c.constructPath.replace(/^Gateway\/Template\//, ''),
      ),
    })),
  );
}
