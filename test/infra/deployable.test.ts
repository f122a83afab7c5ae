// The packaged template, for every parameter set of template-matrix.ts, as AWS's own offline validator
// (`@aws/cloudformation-validate`, shipped with aws-cdk-lib) reads it: no FATAL or ERROR, and no WARN
// but those validation-allow-list.ts explains. Each set is packaged by `osls package` in a directory of
// its own, offline.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Finding,
  nagViolations,
  packageInto,
  type Template,
  validateTemplate,
} from '#test/support/cloudformation.ts';
import { acknowledgeAccepted } from './nag-acknowledgements.ts';
import { TEMPLATE_MATRIX } from './template-matrix.ts';
import { ALLOWED_WARNINGS } from './validation-allow-list.ts';

const SETS = Object.keys(TEMPLATE_MATRIX);
const DEFAULT_REGION = 'eu-central-1';
let root: string;
const packaged = new Map<string, { path: string; template: Template }>();
const findings = new Map<string, Finding[]>();

const allowedBy = (finding: Finding) =>
  ALLOWED_WARNINGS.find(
    (allowed) => allowed.ruleId === finding.ruleId && allowed.message.test(finding.message),
  );

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'jbg-matrix-'));
  // Two at a time: each osls run is a few seconds of one core.
  const queue = [...SETS];
  const worker = async () => {
    for (let name = queue.shift(); name; name = queue.shift()) {
      const path = await packageInto(join(root, name), TEMPLATE_MATRIX[name]);
      packaged.set(name, { path, template: JSON.parse(await readFile(path, 'utf8')) });
    }
  };
  await Promise.all([worker(), worker()]);
}, 240_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('the packaged template', () => {
  describe.each(SETS)('with the %s set', (name) => {
    it('passes AWS CloudFormation validation: no FATAL, no ERROR, no WARN left unexplained', () => {
      // Act
      const { path } = packaged.get(name)!;
      const found = validateTemplate(path, TEMPLATE_MATRIX[name]!.region ?? DEFAULT_REGION);
      findings.set(name, found);

      // Assess
      expect(found.filter((finding) => finding.severity !== 'WARN' || !allowedBy(finding))).toEqual([]);
    });

    it("passes cdk-nag's AwsSolutions, NIST 800-53 rev5 and Serverless packs, or says why not", async () => {
      // Prepare
      const { path, template } = packaged.get(name)!;

      // Act
      const region = TEMPLATE_MATRIX[name]!.region ?? DEFAULT_REGION;
      const left = await nagViolations(path, region, join(root, `${name}.cdk.out`), (include) =>
        acknowledgeAccepted(include, template),
      );

      // Assess
      expect(left).toEqual([]);
    }, 60_000);

    it('names every function and role in at most 64 characters', () => {
      // Prepare
      const { template } = packaged.get(name)!;
      const names = Object.values(template.Resources).flatMap((resource) => {
        if (resource.Type === 'AWS::Lambda::Function') return [resource.Properties.FunctionName];
        return resource.Type === 'AWS::IAM::Role' ? [resource.Properties.RoleName] : [];
      });

      // Assess
      expect(names).toHaveLength(6);
      for (const found of names) expect((found as string).length).toBeLessThanOrEqual(64);
    });
  });

  it('needs every allow-list entry for some set (a fixed warning leaves the list)', () => {
    // Prepare
    expect([...findings.keys()].sort()).toEqual([...SETS].sort());
    const all = [...findings.values()].flat();

    // Assess
    for (const allowed of ALLOWED_WARNINGS)
      expect(all.some((finding) => allowedBy(finding) === allowed)).toBe(true);
  });
});

describe('docs/DEPLOY.md, the stack outputs', () => {
  it('names every output some set of the matrix gives, and none that none gives', async () => {
    // Prepare
    const text = await readFile(new URL('../../docs/DEPLOY.md', import.meta.url), 'utf8');
    const paragraph = text.slice(text.indexOf('Stack outputs:'));

    // Act
    const documented = new Set(
      [...paragraph.slice(0, paragraph.indexOf('\n\n')).matchAll(/`([A-Z][A-Za-z0-9]+)`/g)].map(
        (match) => match[1]!,
      ),
    );
    const given = new Set(
      [...packaged.values()].flatMap(({ template }) => Object.keys(template.Outputs ?? {})),
    );

    // Assess
    expect(given.size).toBeGreaterThan(10);
    expect([...documented].sort()).toEqual([...given].sort());
  });
});

describe('infra/names.cjs', () => {
  const require = createRequire(import.meta.url);
  const { fittedName } = require('../../infra/names.cjs') as {
    fittedName: (prefix: string, fn: string) => string;
  };

  it('keeps a name that fits as it is (a renamed role would lose its keys)', () => {
    expect(fittedName('jwt-bearer-gateway-dev-eu-central-1', 'token')).toBe(
      'jwt-bearer-gateway-dev-eu-central-1-token',
    );
  });

  it('shortens a longer name to 64 characters, distinct per stage and Region, and stable', () => {
    // Prepare
    const stage = 'payments-integration-testing-team-blue-eu';

    // Act
    const sydney = fittedName(`jwt-bearer-gateway-${stage}-ap-southeast-2`, 'token');
    const ireland = fittedName(`jwt-bearer-gateway-${stage}-eu-west-1`, 'token');

    // Assess
    expect(sydney).toHaveLength(64);
    expect(sydney).toMatch(/^jwt-bearer-gateway-payments-integration-testing-t-[0-9a-f]{8}-token$/);
    expect(ireland).not.toBe(sydney);
    expect(fittedName(`jwt-bearer-gateway-${stage}-ap-southeast-2`, 'token')).toBe(sydney);
    expect(fittedName(`jwt-bearer-gateway-${stage}-ap-southeast-2`, 'health').length).toBeLessThanOrEqual(64);
  });
});
