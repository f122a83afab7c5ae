// infra/deployment-checks.cjs: every parameter combination `npm run package` refuses. The rules are
// checked directly; the wiring (osls calls the checks and fails, the stage's default params) by packaging
// serverless.yml itself.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { PackagingError, packageTemplate } from '#test/support/cloudformation.ts';

const require = createRequire(import.meta.url);
const { deploymentIssues } = require('../../infra/deployment-checks.cjs') as {
  deploymentIssues: (params: Record<string, string>, stage: string, region: string) => string[];
};

/** serverless.yml's default params (outside the dev stage; production as for a stage not named prod). */
const DEFAULTS: Record<string, string> = {
  production: 'false',
  alarmTopicArn: '',
  allowNoAlarmTopic: 'false',
  callerAuthorization: 'none',
  domainName: '',
  truststoreUri: '',
  publicCallerRoutes: 'false',
  apiEndpoint: 'public',
  vpcEndpointIds: '',
  vpcSubnetIds: '',
  vpcSecurityGroupIds: '',
  multiRegion: '',
  standbyRegion: '',
  signingKeyBlue: 'true',
  signingKeyGreen: 'false',
  signingKeyBlueMultiRegion: 'false',
  signingKeyGreenMultiRegion: 'false',
  signingKeyBluePrimaryArn: '',
  signingKeyGreenPrimaryArn: '',
  cacheKeyPrimaryArn: '',
};
const issues = (params: Record<string, string>, region = 'eu-central-1') =>
  deploymentIssues({ ...DEFAULTS, ...params }, 'prod', region);
const MRK = (region: string) => `arn:aws:kms:${region}:123456789012:key/mrk-0123456789abcdef0123456789abcdef`;

describe('deploymentIssues', () => {
  describe('a production stage', () => {
    const iam = { callerAuthorization: 'iam' };

    it('refuses one whose alarms would notify no one, naming both params', () => {
      // Act
      const found = issues({ ...iam, production: 'true' });

      // Assess
      expect(found).toEqual([
        'stage prod is a production stage (param production) and its alarms would notify no one: set param ' +
          'alarmTopicArn to an SNS topic ARN, or param allowNoAlarmTopic=true to accept alarms without actions.',
      ]);
    });

    it.each([
      ['an alarm topic', { alarmTopicArn: 'arn:aws:sns:eu-central-1:123456789012:gateway-alarms' }],
      ['allowNoAlarmTopic', { allowNoAlarmTopic: 'true' }],
    ])('accepts one with %s', (_, params) => {
      expect(issues({ ...iam, production: 'true', ...params })).toEqual([]);
    });

    it('leaves a stage that is not production without an alarm topic', () => {
      expect(issues(iam)).toEqual([]);
    });
  });

  describe('public token routes', () => {
    it('refuses callerAuthorization none on the internet without mutual TLS, naming the way out', () => {
      // Act
      const found = issues({});

      // Assess
      expect(found).toHaveLength(1);
      expect(found[0]).toContain("callerAuthorization 'none' without mutual TLS");
      expect(found[0]).toContain("publicCallerRoutes: 'true'");
    });

    it.each([
      ['iam callers', { callerAuthorization: 'iam' }],
      ['a Lambda authorizer', { callerAuthorization: 'lambda' }],
      ['mutual TLS', { domainName: 'gw.corp.example', truststoreUri: 's3://pki/truststore.pem' }],
      ['a private API', { apiEndpoint: 'private', vpcEndpointIds: 'vpce-0123456789abcdef0' }],
      ['the explicit acceptance', { publicCallerRoutes: 'true' }],
    ])('accepts it with %s', (_, params) => {
      expect(issues(params)).toEqual([]);
    });

    it('does not count a truststore without a custom domain as mutual TLS', () => {
      expect(issues({ truststoreUri: 's3://pki/truststore.pem' })).toHaveLength(1);
    });
  });

  describe('private API', () => {
    const privateApi = { apiEndpoint: 'private', callerAuthorization: 'iam' };

    it('needs VPC endpoint ids, each a vpce- id', () => {
      expect(issues(privateApi).join()).toContain('needs vpcEndpointIds');
      expect(issues({ ...privateApi, vpcEndpointIds: 'vpce-0123456789abcdef0, vpc-1' }).join()).toContain(
        "'vpc-1' is not a VPC endpoint id",
      );
      expect(issues({ ...privateApi, vpcEndpointIds: 'vpce-0123456789abcdef0,vpce-11112222' })).toEqual([]);
    });

    it('refuses a Lambda authorizer and a custom domain', () => {
      const found = issues({
        ...privateApi,
        vpcEndpointIds: 'vpce-0123456789abcdef0',
        callerAuthorization: 'lambda',
        domainName: 'gw.corp.example',
      });
      expect(found.join('\n')).toMatch(/not 'lambda'[\s\S]*leave domainName empty/);
    });

    it('refuses an unknown endpoint kind', () => {
      expect(issues({ apiEndpoint: 'PRIVATE', callerAuthorization: 'iam' })).toEqual([
        "apiEndpoint must be 'public' or 'private', not 'PRIVATE'",
      ]);
    });
  });

  describe('the token function in a VPC', () => {
    it('needs subnets and security groups together, each a well-formed id', () => {
      const iam = { callerAuthorization: 'iam' };
      expect(issues({ ...iam, vpcSubnetIds: 'subnet-0123456789abcdef0' }).join()).toContain('go together');
      expect(
        issues({ ...iam, vpcSubnetIds: 'subnet-01234567', vpcSecurityGroupIds: 'sg-1' }).join(),
      ).toContain("'sg-1' is not a security group id");
      expect(
        issues({
          ...iam,
          vpcSubnetIds: 'subnet-01234567,subnet-89abcdef',
          vpcSecurityGroupIds: 'sg-0123456789abcdef0',
        }),
      ).toEqual([]);
    });
  });

  it('refuses spaces in the subnet and security group lists (CloudFormation splits them at commas as they are)', () => {
    expect(
      issues({
        callerAuthorization: 'iam',
        vpcSubnetIds: 'subnet-01234567, subnet-89abcdef',
        vpcSecurityGroupIds: 'sg-01234567',
      }),
    ).toEqual(['vpcSubnetIds: separate the ids with commas only, no spaces']);
  });

  describe('two Regions', () => {
    const iam = { callerAuthorization: 'iam' };

    it('accepts a primary with or without its standby Region, never its own', () => {
      const primary = { ...iam, multiRegion: 'primary', signingKeyBlueMultiRegion: 'true' };
      expect(issues(primary)).toEqual([]);
      expect(issues({ ...primary, standbyRegion: 'eu-west-1' })).toEqual([]);
      expect(issues({ ...primary, standbyRegion: 'eu-central-1' }).join()).toContain('another Region');
    });

    it('needs a multi-Region signing key in use on a primary, the only kind a standby can replicate', () => {
      expect(issues({ ...iam, multiRegion: 'primary' }).join()).toContain('needs a multi-Region signing key');
      // Blue multi-Region but not in use, green in use but single-Region: nothing to replicate.
      expect(
        issues({
          ...iam,
          multiRegion: 'primary',
          signingKeyBlue: 'false',
          signingKeyGreen: 'true',
          signingKeyBlueMultiRegion: 'true',
        }).join(),
      ).toContain('needs a multi-Region signing key');
      // The rotation into a multi-Region green key: blue still in use.
      expect(
        issues({
          ...iam,
          multiRegion: 'primary',
          signingKeyGreen: 'true',
          signingKeyGreenMultiRegion: 'true',
        }),
      ).toEqual([]);
      expect(issues({ ...iam, standbyRegion: 'eu-west-1' }).join()).toContain("set multiRegion 'primary'");
    });

    it('needs, for a standby, the primary multi-Region key of every slot in use and of the cache', () => {
      // Act
      const missing = issues({ ...iam, multiRegion: 'standby' }, 'eu-west-1');
      const complete = issues(
        {
          ...iam,
          multiRegion: 'standby',
          signingKeyBluePrimaryArn: MRK('eu-central-1'),
          cacheKeyPrimaryArn: MRK('eu-central-1'),
        },
        'eu-west-1',
      );

      // Assess
      expect(missing.map((issue) => issue.split(':')[0])).toEqual([
        "multiRegion 'standby' needs cacheKeyPrimaryArn",
        "multiRegion 'standby' needs signingKeyBluePrimaryArn",
      ]);
      expect(complete).toEqual([]);
    });

    it('refuses a single-Region key, a primary in the same Region, and primary ARNs outside a standby', () => {
      const standby = { ...iam, multiRegion: 'standby', cacheKeyPrimaryArn: MRK('eu-central-1') };
      expect(
        issues(
          {
            ...standby,
            signingKeyBluePrimaryArn:
              'arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
          },
          'eu-west-1',
        ).join(),
      ).toContain('is not a multi-Region KMS key ARN');
      expect(
        issues({ ...standby, signingKeyBluePrimaryArn: MRK('eu-west-1') }, 'eu-west-1').join(),
      ).toContain('another Region than this standby');
      expect(issues({ ...iam, cacheKeyPrimaryArn: MRK('eu-central-1') }).join()).toContain('leave it empty');
      expect(issues({ ...iam, multiRegion: 'secondary' }).join()).toContain("not 'secondary'");
    });
  });
});

describe('npm run package', () => {
  const alarmTopicArn = 'arn:aws:sns:eu-central-1:123456789012:gateway-alarms';

  it('refuses stage prod with the default params, naming every issue: no alarm topic, public token routes', async () => {
    // Act: stage prod is production by default (serverless.yml, custom.productionStages).
    const refused = await packageTemplate({}, { stage: 'prod' }).catch((error: unknown) => error);

    // Assess: osls prints the refusal and exits non-zero.
    expect(refused).toBeInstanceOf(PackagingError);
    const output = (refused as PackagingError).output;
    expect(output).toContain('refused to package stage prod');
    expect(output).toContain(
      'stage prod is a production stage (param production) and its alarms would notify no one',
    );
    expect(output).toContain('allowNoAlarmTopic=true');
    expect(output).toContain("callerAuthorization 'none' without mutual TLS");
    expect(output).toContain('publicCallerRoutes');
  }, 120_000);

  it('packages it with an alarm topic and iam callers', async () => {
    // Act
    const accepted = await packageTemplate({ alarmTopicArn, callerAuthorization: 'iam' }, { stage: 'prod' });

    // Assess
    expect(accepted.Resources.TokenLambdaFunction).toBeDefined();
  }, 120_000);

  it('packages it when allowNoAlarmTopic accepts alarms without actions', async () => {
    // Act
    const accepted = await packageTemplate(
      { allowNoAlarmTopic: 'true', callerAuthorization: 'iam' },
      { stage: 'prod' },
    );

    // Assess
    expect(accepted.Parameters.AlarmTopicArn!.Default).toBe('');
  }, 120_000);

  it('treats any stage as production with param production=true', async () => {
    // Act
    const refusal = await packageTemplate(
      { production: 'true', callerAuthorization: 'iam' },
      { stage: 'live' },
    ).catch((error: unknown) => error);

    // Assess
    expect(refusal).toBeInstanceOf(PackagingError);
    expect((refusal as PackagingError).output).toContain('stage live is a production stage');
  }, 120_000);
});
