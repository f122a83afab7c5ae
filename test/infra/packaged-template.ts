// The CloudFormation template `osls package` generates for a set of serverless.yml params, without
// building the bundles: serverless.yml and infra/ are copied into a temporary directory beside stand-in
// dist/<fn>/ files, so several variants can be packaged side by side with package.test.ts (which builds
// the real bundles into dist/). Offline: no AWS credentials.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
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

/** An environment with no AWS credentials at all: packaging must never need them. */
export function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' };
  for (const name of Object.keys(env)) {
    if (/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE|DEFAULT_PROFILE)$/.test(name))
      delete env[name];
  }
  return env;
}

/** Packages serverless.yml with the given params (`--param name=value`) and returns the template. */
export async function packageTemplate(
  params: Record<string, string> = {},
  options: { readonly config?: string; readonly stage?: string; readonly region?: string } = {},
): Promise<Template> {
  const dir = await mkdtemp(join(tmpdir(), 'jbg-template-'));
  try {
    await cp(join(ROOT, 'serverless.yml'), join(dir, 'serverless.yml'));
    await cp(join(ROOT, 'package.json'), join(dir, 'package.json'));
    await cp(join(ROOT, 'infra'), join(dir, 'infra'), { recursive: true });
    await cp(join(ROOT, 'config'), join(dir, 'config'), { recursive: true });
    if (options.config) await cp(options.config, join(dir, 'config', 'gateway.yaml'));
    // infra/target-alarms.cjs requires yaml.
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    for (const name of ['token', 'jwks', 'health']) {
      await mkdir(join(dir, 'dist', name), { recursive: true });
      await writeFile(join(dir, 'dist', name, 'index.mjs'), 'export const handler = () => {};\n');
    }
    const args = [
      OSLS,
      'package',
      ...(options.stage ? ['--stage', options.stage] : []),
      ...(options.region ? ['--region', options.region] : []),
      ...Object.entries(params).map(([name, value]) => `--param=${name}=${value}`),
    ];
    await promisify(execFile)(process.execPath, args, {
      cwd: dir,
      env: { ...offlineEnv(), GATEWAY_CONFIG_SOURCE: '' },
      maxBuffer: 16 * 1024 * 1024,
    });
    return JSON.parse(
      await readFile(join(dir, '.serverless', 'cloudformation-template-update-stack.json'), 'utf8'),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
