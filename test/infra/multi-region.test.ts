// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings, not templates.
// Two Regions (param multiRegion, infra/multi-region.yml): the primary's multi-Region keys and global
// table, the standby's replicas of them, the Route 53 health check a failover record uses, and a second
// Region's stack that collides with the first in no global name. Packaged by osls as a deployer would.
import { beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_TABLE_DEFINITION } from '#lib/cache/table.ts';
import { packageTemplate, type Resource, type Template } from '#test/support/cloudformation.ts';
import { TEMPLATE_MATRIX } from './template-matrix.ts';

const getAtt = (id: string, attribute = 'Arn') => ({ 'Fn::GetAtt': [id, attribute] });
const GLOBAL_TABLE = 'jwt-bearer-gateway-prod-global-tokens';

let primary: Template;
let standby: Template;
let ireland: Template;
let frankfurt: Template;

function resource(template: Template, id: string): Resource {
  const found = template.Resources[id];
  if (!found) throw new Error(`no resource ${id}`);
  return found;
}

/** The names of resources that AWS keeps per account, not per Region: two stacks must not share one. */
function globalNames(template: Template): string[] {
  return Object.values(template.Resources).flatMap((r) => {
    if (r.Type === 'AWS::IAM::Role') return [`role ${r.Properties.RoleName}`];
    if (r.Type === 'AWS::CloudWatch::Dashboard') return [`dashboard ${r.Properties.DashboardName}`];
    if (r.Type === 'AWS::S3::Bucket' && r.Properties.BucketName) return [`bucket ${r.Properties.BucketName}`];
    return [];
  });
}

beforeAll(async () => {
  const { drPrimary, drStandby } = TEMPLATE_MATRIX;
  primary = await packageTemplate(
    { ...drPrimary!.params },
    { stage: drPrimary!.stage, region: drPrimary!.region },
  );
  standby = await packageTemplate(
    { ...drStandby!.params },
    { stage: drStandby!.stage, region: drStandby!.region },
  );
  // The same stage in two Regions, with what a production stage needs: the "second Region" that must
  // not collide.
  const params = (region: string) => ({
    callerAuthorization: 'iam',
    alarmTopicArn: `arn:aws:sns:${region}:123456789012:gateway-alarms`,
  });
  frankfurt = await packageTemplate(params('eu-central-1'), { stage: 'prod', region: 'eu-central-1' });
  ireland = await packageTemplate(params('eu-west-1'), { stage: 'prod', region: 'eu-west-1' });
}, 180_000);

describe('a second Region', () => {
  it('shares no global name with the first (IAM roles, the dashboard)', () => {
    // Act
    const first = globalNames(frankfurt);
    const second = globalNames(ireland);

    // Assess
    expect(first).toContain('dashboard jwt-bearer-gateway-prod-eu-central-1');
    expect(second).toContain('dashboard jwt-bearer-gateway-prod-eu-west-1');
    expect(first.filter((name) => name.startsWith('role '))).toHaveLength(3);
    expect(first.filter((name) => second.includes(name))).toEqual([]);
  });
});

describe('multiRegion: primary', () => {
  it('makes the blue signing key a multi-Region primary key, and the cache key too', () => {
    // Assess
    expect(primary.Parameters.MultiRegion).toMatchObject({
      Default: 'primary',
      AllowedValues: ['', 'primary', 'standby'],
    });
    expect(resource(primary, 'SigningKeyBlue').Properties.MultiRegion).toEqual({
      'Fn::If': ['SigningKeyBlueIsMultiRegion', true, false],
    });
    expect(primary.Parameters.SigningKeyBlueMultiRegion!.Default).toBe('true');
    expect(primary.Parameters.SigningKeyGreenMultiRegion!.Default).toBe('false');
    expect(resource(primary, 'CacheKey').Properties.MultiRegion).toEqual({
      'Fn::If': ['IsPrimaryRegion', true, false],
    });
    expect(resource(primary, 'SigningKeyBlue').Condition).toBe('CreatesSigningKeyBlue');
    expect(primary.Conditions.CreatesSigningKeyBlue).toEqual({
      'Fn::And': [{ Condition: 'HasSigningKeyBlue' }, { Condition: 'IsKeyOwnerRegion' }],
    });
  });

  it('caches in a global table with a replica in each Region, each encrypted by its Region’s cache key', () => {
    // Act
    const table = resource(primary, 'TokenGlobalTable');

    // Assess
    expect(table.Condition).toBe('IsPrimaryRegion');
    expect(resource(primary, 'TokenTable').Condition).toBe('IsSingleRegion');
    expect(table.Properties).toMatchObject({
      TableName: GLOBAL_TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: TOKEN_TABLE_DEFINITION.KeySchema,
      AttributeDefinitions: TOKEN_TABLE_DEFINITION.AttributeDefinitions,
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
    });
    expect(table.Properties.Replicas).toEqual([
      {
        Region: { Ref: 'AWS::Region' },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { KMSMasterKeyId: getAtt('CacheKey') },
      },
      {
        'Fn::If': [
          'HasStandbyRegion',
          {
            Region: { Ref: 'StandbyRegion' },
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
            // The replica of a multi-Region key has the primary's key id, in the standby's Region.
            SSESpecification: {
              KMSMasterKeyId: {
                'Fn::Sub': 'arn:${AWS::Partition}:kms:${StandbyRegion}:${AWS::AccountId}:key/${CacheKey}',
              },
            },
          },
          { Ref: 'AWS::NoValue' },
        ],
      },
    ]);
    expect(primary.Parameters.StandbyRegion!.Default).toBe('eu-west-1');
  });

  it('points the token function and its role at the global table', () => {
    // Act
    const env = (
      resource(primary, 'TokenLambdaFunction').Properties.Environment as {
        Variables: Record<string, unknown>;
      }
    ).Variables;
    const statements = (
      resource(primary, 'TokenRole').Properties.Policies as Array<{
        PolicyDocument: { Statement: Array<{ Sid?: string; Resource: unknown }> };
      }>
    )[0]!.PolicyDocument.Statement;

    // Assess
    expect(env.TOKEN_TABLE).toEqual({ 'Fn::If': ['IsMultiRegion', GLOBAL_TABLE, { Ref: 'TokenTable' }] });
    expect(statements.find((s) => s.Sid === 'TokenCacheItems')!.Resource).toEqual({
      'Fn::If': [
        'IsMultiRegion',
        {
          'Fn::Sub': `arn:\${AWS::Partition}:dynamodb:\${AWS::Region}:\${AWS::AccountId}:table/${GLOBAL_TABLE}`,
        },
        getAtt('TokenTable'),
      ],
    });
    expect(primary.Outputs.GlobalTokenTableName).toEqual({
      Description: expect.any(String),
      Condition: 'IsMultiRegion',
      Value: GLOBAL_TABLE,
    });
  });
});

describe('multiRegion: standby', () => {
  it('replicates the primary’s blue and cache keys, with this Region’s key policies', () => {
    // Act
    const blue = resource(standby, 'SigningKeyBlueReplica');
    const cache = resource(standby, 'CacheKeyReplica');

    // Assess
    expect(blue.Condition).toBe('ReplicatesSigningKeyBlue');
    expect(standby.Conditions.ReplicatesSigningKeyBlue).toEqual({
      'Fn::And': [{ Condition: 'HasSigningKeyBlue' }, { Condition: 'IsStandbyRegion' }],
    });
    expect(blue.Properties.PrimaryKeyArn).toEqual({ Ref: 'SigningKeyBluePrimaryArn' });
    expect(standby.Parameters.SigningKeyBluePrimaryArn!.Default).toMatch(
      /^arn:aws:kms:eu-central-1:\d{12}:key\/mrk-/,
    );
    expect(blue).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    // The same policy as a key of its own: only this Region's token role signs, the jwks role reads.
    expect(blue.Properties.KeyPolicy).toEqual(resource(standby, 'SigningKeyBlue').Properties.KeyPolicy);
    expect(JSON.stringify(blue.Properties.KeyPolicy)).toContain('jwt-bearer-gateway-prod-eu-west-1-token');
    expect(cache.Condition).toBe('IsStandbyRegion');
    expect(cache.Properties.PrimaryKeyArn).toEqual({ Ref: 'CacheKeyPrimaryArn' });
    expect(cache.Properties.KeyPolicy).toEqual(resource(standby, 'CacheKey').Properties.KeyPolicy);
    expect(resource(standby, 'CacheKey').Condition).toBe('IsKeyOwnerRegion');
  });

  it('signs, publishes and encrypts with the replicas, and caches in the primary’s global table', () => {
    // Act
    const env = (fn: string) =>
      (resource(standby, fn).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    const blueArn = {
      'Fn::If': ['IsStandbyRegion', getAtt('SigningKeyBlueReplica'), getAtt('SigningKeyBlue')],
    };

    // Assess
    for (const fn of ['TokenLambdaFunction', 'JwksLambdaFunction'])
      expect(env(fn).SIGNING_KEY_BLUE_ID).toEqual({
        'Fn::If': ['HasSigningKeyBlue', blueArn, { Ref: 'AWS::NoValue' }],
      });
    expect(env('TokenLambdaFunction').CACHE_KEY_ID).toEqual({
      'Fn::If': ['IsStandbyRegion', getAtt('CacheKeyReplica'), getAtt('CacheKey')],
    });
    expect(resource(standby, 'SigningKeyBlueAlias').Properties.TargetKeyId).toEqual({
      'Fn::If': ['IsStandbyRegion', { Ref: 'SigningKeyBlueReplica' }, { Ref: 'SigningKeyBlue' }],
    });
    expect(resource(standby, 'TokenGlobalTable').Condition).toBe('IsPrimaryRegion');
    expect(standby.Outputs.SigningKeyBlueReplicaArn).toMatchObject({
      Condition: 'ReplicatesSigningKeyBlue',
      Value: getAtt('SigningKeyBlueReplica'),
    });
  });
});

describe('Route 53 failover health check', () => {
  it('is healthy while GET /health answers on the internet and KMS signs', () => {
    // Act
    const region = resource(primary, 'RegionHealthCheck');
    const probe = resource(primary, 'HealthProbe');
    const signing = resource(primary, 'SigningHealth');

    // Assess
    expect(region.Condition).toBe('IsMultiRegion');
    expect(region.Properties.HealthCheckConfig).toEqual({
      Type: 'CALCULATED',
      ChildHealthChecks: [{ Ref: 'HealthProbe' }, { Ref: 'SigningHealth' }],
      HealthThreshold: 2,
    });
    expect(probe.Condition).toBe('IsMultiRegion');
    // With mutual TLS (the drPrimary set has it) the main API's execute-api endpoint is off: the probe
    // asks the public API that serves the JWKS and health without client certificates.
    expect(probe.Properties.HealthCheckConfig).toEqual({
      Type: 'HTTPS',
      FullyQualifiedDomainName: {
        'Fn::If': [
          'NeedsPublicApi',
          { 'Fn::Sub': '${PublicHttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}' },
          { 'Fn::Sub': '${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}' },
        ],
      },
      ResourcePath: '/health',
      Port: 443,
      EnableSNI: true,
      RequestInterval: 30,
      FailureThreshold: 3,
    });
    expect(primary.Conditions.NeedsPublicApi).toBeDefined();
    expect(signing.Properties.HealthCheckConfig).toEqual({
      Type: 'CLOUDWATCH_METRIC',
      AlarmIdentifier: { Name: { Ref: 'SigningUnavailableAlarm' }, Region: { Ref: 'AWS::Region' } },
      InsufficientDataHealthStatus: 'Healthy',
    });
    expect(primary.Outputs.RegionHealthCheckId).toEqual({
      Description: expect.any(String),
      Condition: 'IsMultiRegion',
      Value: { Ref: 'RegionHealthCheck' },
    });
  });

  it('does not exist in a one-Region stack', () => {
    for (const id of ['RegionHealthCheck', 'SigningHealth'])
      expect(resource(frankfurt, id).Condition).toBe('IsMultiRegion');
    expect(frankfurt.Parameters.MultiRegion!.Default).toBe('');
  });
});
