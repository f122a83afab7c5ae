// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings, not templates.
// `npm run package` as CI and a deployer run it: offline, with no AWS credentials. Then the generated
// CloudFormation template is checked resource by resource against what docs/DEPLOY.md promises.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_TABLE, TOKEN_TABLE_DEFINITION } from '#lib/cache/table.ts';
import { type CompiledConfig, isCompiledConfig, readCompiledConfig } from '#lib/config/compiled-config.ts';
import { zipEntries } from './zip-entries.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const OUT = join(ROOT, '.serverless');
const FUNCTIONS = ['token', 'jwks', 'health'] as const;
const ROUTES: Record<string, (typeof FUNCTIONS)[number]> = {
  'POST /v1/token': 'token',
  'DELETE /v1/token': 'token',
  'POST /v1/token/invalidate': 'token',
  'GET /v1/ready': 'token',
  'POST /oauth2/{target}/token': 'token',
  'ANY /v1/call/{target}/{path+}': 'token',
  'GET /.well-known/jwks.json': 'jwks',
  'GET /health': 'health',
};

/** The private deployment's resources (infra/private-api.cjs), in every template under IsPrivateApi. */
const PRIVATE_API_RESOURCES: Record<string, string> = {
  PrivateApi: 'AWS::ApiGateway::RestApi',
  ...Object.fromEntries(
    [
      'V1',
      'V1Token',
      'V1TokenInvalidate',
      'V1Ready',
      'V1Call',
      'V1CallTargetVar',
      'V1CallTargetVarPathVar',
      'Oauth2',
      'Oauth2TargetVar',
      'Oauth2TargetVarToken',
      'WellKnown',
      'WellKnownJwksJson',
      'Health',
    ].map((path) => [`PrivateApiResource${path}`, 'AWS::ApiGateway::Resource']),
  ),
  ...Object.fromEntries(
    [
      'PostV1Token',
      'DeleteV1Token',
      'PostV1TokenInvalidate',
      'GetV1Ready',
      'PostOauth2TargetVarToken',
      'AnyV1CallTargetVarPathVar',
      'GetWellKnownJwksJson',
      'GetHealth',
    ].map((route) => [`PrivateApiMethod${route}`, 'AWS::ApiGateway::Method']),
  ),
  PrivateApiDeployment: 'AWS::ApiGateway::Deployment',
  PrivateApiStage: 'AWS::ApiGateway::Stage',
  PrivateApiLogGroup: 'AWS::Logs::LogGroup',
  PrivateApi5xxAlarm: 'AWS::CloudWatch::Alarm',
  TokenLambdaPermissionPrivateApi: 'AWS::Lambda::Permission',
  JwksLambdaPermissionPrivateApi: 'AWS::Lambda::Permission',
  HealthLambdaPermissionPrivateApi: 'AWS::Lambda::Permission',
};

interface Resource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
  readonly Condition?: string;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
  readonly DependsOn?: string | string[];
}

interface Template {
  readonly Resources: Record<string, Resource>;
  readonly Outputs: Record<string, { Value: unknown }>;
  readonly Parameters: Record<string, { Type: string; Default: string }>;
  readonly Conditions: Record<string, unknown>;
}

interface Statement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Principal?: unknown;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

let template: Template;

function resource(id: string): Resource {
  const found = template.Resources[id];
  if (!found) throw new Error(`no resource ${id}`);
  return found;
}

const actions = (statement: Statement): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];
const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
/** A key's ARN: the slot's own key, or in a standby Region its replica of the primary's (infra/kms.yml). */
const keyArn = (id: string) => ({ 'Fn::If': ['IsStandbyRegion', getAtt(`${id}Replica`), getAtt(id)] });
const tableName = {
  'Fn::If': ['IsMultiRegion', 'jwt-bearer-gateway-dev-global-tokens', { Ref: 'TokenTable' }],
};
const SLOTS = ['Blue', 'Green'] as const;
/** A value that exists only while the signing key slot holds a key. */
const ifSlot = (slot: string, value: unknown) => ({
  'Fn::If': [`HasSigningKey${slot}`, value, { Ref: 'AWS::NoValue' }],
});
const capitalized = (name: string) => `${name[0]!.toUpperCase()}${name.slice(1)}`;
const functionId = (name: string) => `${capitalized(name)}LambdaFunction`;

beforeAll(async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' };
  for (const name of Object.keys(env)) {
    if (/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE|DEFAULT_PROFILE)$/.test(name))
      delete env[name];
  }
  await promisify(execFile)('npm', ['run', 'package'], { cwd: ROOT, env, maxBuffer: 16 * 1024 * 1024 });
  template = JSON.parse(await readFile(join(OUT, 'cloudformation-template-update-stack.json'), 'utf8'));
}, 180_000);

describe('npm run package', () => {
  it('creates exactly the resources the deployment needs', () => {
    // The private API's deployment is named after a hash of its methods (a new one when they change).
    const types = Object.fromEntries(
      Object.entries(template.Resources).map(([id, r]) => [
        id.replace(/^PrivateApiDeployment[0-9a-f]{10}$/, 'PrivateApiDeployment'),
        r.Type,
      ]),
    );
    expect(types).toEqual({
      ServerlessDeploymentBucket: 'AWS::S3::Bucket',
      ServerlessDeploymentBucketPolicy: 'AWS::S3::BucketPolicy',
      TokenRole: 'AWS::IAM::Role',
      JwksRole: 'AWS::IAM::Role',
      HealthRole: 'AWS::IAM::Role',
      TokenLambdaFunction: 'AWS::Lambda::Function',
      JwksLambdaFunction: 'AWS::Lambda::Function',
      HealthLambdaFunction: 'AWS::Lambda::Function',
      TokenLogGroup: 'AWS::Logs::LogGroup',
      JwksLogGroup: 'AWS::Logs::LogGroup',
      HealthLogGroup: 'AWS::Logs::LogGroup',
      HttpApi: 'AWS::ApiGatewayV2::Api',
      HttpApiStage: 'AWS::ApiGatewayV2::Stage',
      HttpApiLogGroup: 'AWS::Logs::LogGroup',
      HttpApiIntegrationToken: 'AWS::ApiGatewayV2::Integration',
      HttpApiIntegrationJwks: 'AWS::ApiGatewayV2::Integration',
      HttpApiIntegrationHealth: 'AWS::ApiGatewayV2::Integration',
      HttpApiRoutePostV1Token: 'AWS::ApiGatewayV2::Route',
      HttpApiRouteDeleteV1Token: 'AWS::ApiGatewayV2::Route',
      HttpApiRoutePostV1TokenInvalidate: 'AWS::ApiGatewayV2::Route',
      HttpApiRouteGetV1Ready: 'AWS::ApiGatewayV2::Route',
      HttpApiRoutePostOauth2TargetVarToken: 'AWS::ApiGatewayV2::Route',
      HttpApiRouteAnyV1CallTargetVarPathVar: 'AWS::ApiGatewayV2::Route',
      HttpApiRouteGetWellDashknownJwksjson: 'AWS::ApiGatewayV2::Route',
      HttpApiRouteGetHealth: 'AWS::ApiGatewayV2::Route',
      TokenLambdaPermissionHttpApi: 'AWS::Lambda::Permission',
      JwksLambdaPermissionHttpApi: 'AWS::Lambda::Permission',
      HealthLambdaPermissionHttpApi: 'AWS::Lambda::Permission',
      SigningKeyBlue: 'AWS::KMS::Key',
      SigningKeyBlueAlias: 'AWS::KMS::Alias',
      SigningKeyGreen: 'AWS::KMS::Key',
      SigningKeyGreenAlias: 'AWS::KMS::Alias',
      CacheKey: 'AWS::KMS::Key',
      CacheKeyAlias: 'AWS::KMS::Alias',
      LogKey: 'AWS::KMS::Key',
      LogKeyAlias: 'AWS::KMS::Alias',
      TokenTable: 'AWS::DynamoDB::Table',
      // infra/multi-region.yml, kms.yml, table.yml: only in a two-Region deployment (param multiRegion).
      SigningKeyBlueReplica: 'AWS::KMS::ReplicaKey',
      SigningKeyGreenReplica: 'AWS::KMS::ReplicaKey',
      CacheKeyReplica: 'AWS::KMS::ReplicaKey',
      TokenGlobalTable: 'AWS::DynamoDB::GlobalTable',
      HealthProbe: 'AWS::Route53::HealthCheck',
      SigningHealth: 'AWS::Route53::HealthCheck',
      RegionHealthCheck: 'AWS::Route53::HealthCheck',
      CustomDomain: 'AWS::ApiGatewayV2::DomainName',
      CustomDomainMapping: 'AWS::ApiGatewayV2::ApiMapping',
      // infra/public-api.yml: only with mutual TLS (condition NeedsPublicApi).
      PublicHttpApi: 'AWS::ApiGatewayV2::Api',
      PublicHttpApiStage: 'AWS::ApiGatewayV2::Stage',
      PublicHttpApiIntegrationJwks: 'AWS::ApiGatewayV2::Integration',
      PublicHttpApiIntegrationHealth: 'AWS::ApiGatewayV2::Integration',
      PublicHttpApiRouteGetJwks: 'AWS::ApiGatewayV2::Route',
      PublicHttpApiRouteGetHealth: 'AWS::ApiGatewayV2::Route',
      JwksLambdaPermissionPublicHttpApi: 'AWS::Lambda::Permission',
      HealthLambdaPermissionPublicHttpApi: 'AWS::Lambda::Permission',
      PublicCustomDomain: 'AWS::ApiGatewayV2::DomainName',
      PublicCustomDomainMapping: 'AWS::ApiGatewayV2::ApiMapping',
      // infra/alarms.yml, infra/target-alarms.cjs (config/gateway.yaml has one target, okta), dashboard.yml
      ...Object.fromEntries(
        [
          'SigningUnavailableAlarm',
          'CacheDegradedAlarm',
          'AuthorizationServerLatencyAlarm',
          'AuthorizationServerThrottledAlarm',
          'Api5xxAlarm',
          'CallErrorsAlarm',
          'ApiLatencyAlarm',
          'CallTokenRetriesAlarm',
          ...FUNCTIONS.flatMap((name) => [
            `${capitalized(name)}ErrorsAlarm`,
            `${capitalized(name)}ThrottlesAlarm`,
          ]),
          'UpstreamErrorsAlarmOkta65819e',
          'LatencyAlarmOkta65819e',
        ].map((id) => [id, 'AWS::CloudWatch::Alarm']),
      ),
      Dashboard: 'AWS::CloudWatch::Dashboard',
      // infra/private-api.cjs: created only with apiEndpoint private (Condition IsPrivateApi).
      ...PRIVATE_API_RESOURCES,
    });
    for (const [id, resource] of Object.entries(template.Resources)) {
      if (id.startsWith('PrivateApi') || id.endsWith('PrivateApi'))
        expect(resource.Condition, id).toBe('IsPrivateApi');
    }
  });

  it('runs every function on nodejs24.x, arm64, from its own bundle', () => {
    for (const name of FUNCTIONS) {
      const fn = resource(functionId(name)).Properties;
      expect(fn.Runtime).toBe('nodejs24.x');
      expect(fn.Architectures).toEqual(['arm64']);
      expect(fn.Handler).toBe(`dist/${name}/index.handler`);
      expect(fn.Role).toEqual(getAtt(`${capitalized(name)}Role`));
    }
  });

  it('gives token and jwks their bundled configuration and only the values each uses', () => {
    for (const name of ['token', 'jwks']) {
      const variables = (
        resource(functionId(name)).Properties.Environment as { Variables: Record<string, unknown> }
      ).Variables;
      expect(variables.GATEWAY_CONFIG).toBe(`/var/task/dist/${name}/gateway.json`);
      for (const slot of SLOTS) {
        expect(variables[`SIGNING_KEY_${slot.toUpperCase()}_ID`]).toEqual(
          ifSlot(slot, keyArn(`SigningKey${slot}`)),
        );
      }
      // jwks publishes public keys: it has no business with the cache key or the table.
      expect(variables.CACHE_KEY_ID).toEqual(name === 'token' ? keyArn('CacheKey') : undefined);
      expect(variables.TOKEN_TABLE).toEqual(name === 'token' ? tableName : undefined);
      // The token function strips (proxy mode) and redacts (logs) what the Lambda authorizer reads.
      expect(variables.CALLER_AUTHORIZER_IDENTITY_SOURCE).toEqual(
        name === 'token' ? '$request.header.Authorization' : undefined,
      );
    }
  });

  it('routes each HTTP API route to its function', () => {
    // The main API's; the public API of mutual TLS deployments: operations.test.ts.
    const routes = Object.values(template.Resources).filter(
      (r) =>
        r.Type === 'AWS::ApiGatewayV2::Route' && (r.Properties.ApiId as { Ref?: string }).Ref === 'HttpApi',
    );
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual(Object.keys(ROUTES).sort());
    for (const route of routes) {
      const target = route.Properties.Target as { 'Fn::Join': [string, unknown[]] };
      const integrationId = (target['Fn::Join'][1][1] as { Ref: string }).Ref;
      const integration = resource(integrationId).Properties;
      expect(integration.PayloadFormatVersion).toBe('2.0');
      expect(integration.IntegrationUri).toEqual(
        getAtt(functionId(ROUTES[route.Properties.RouteKey as string]!)),
      );
    }
  });

  it('keeps every log group for a limited time', () => {
    const logGroups = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Logs::LogGroup');
    expect(logGroups.map(([id]) => id).sort()).toEqual(
      ['HealthLogGroup', 'HttpApiLogGroup', 'JwksLogGroup', 'PrivateApiLogGroup', 'TokenLogGroup'].sort(),
    );
    for (const [, group] of logGroups) expect(group.Properties.RetentionInDays).toBe(90);
    for (const name of FUNCTIONS) {
      expect(
        resource(`${functionId(name).replace('LambdaFunction', '')}LogGroup`).Properties.LogGroupName,
      ).toBe(`/aws/lambda/jwt-bearer-gateway-dev-${name}`);
    }
  });

  it('throttles the API stage', () => {
    expect(resource('HttpApiStage').Properties.DefaultRouteSettings).toMatchObject({
      ThrottlingRateLimit: 100,
      ThrottlingBurstLimit: 200,
    });
  });
});

describe('KMS keys', () => {
  const roleArn = (name: string) => ({
    'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${resource(`${capitalized(name)}Role`).Properties.RoleName}`,
  });
  const keyPolicy = (id: string) =>
    (resource(id).Properties.KeyPolicy as { Statement: Statement[] }).Statement;
  /** The cryptographic operations: granted only under a condition that names who or through what. */
  const CRYPTO = /^kms:(Sign|Verify|Encrypt|Decrypt|ReEncrypt|GenerateDataKey|GenerateMac|CreateGrant)/;

  it.each(SLOTS)(
    'signs with an asymmetric P-256 key in the %s slot, kept when the stack drops it',
    (slot) => {
      const key = resource(`SigningKey${slot}`);
      expect(key.Condition).toBe(`CreatesSigningKey${slot}`);
      expect(template.Conditions[`HasSigningKey${slot}`]).toEqual({
        'Fn::Equals': [{ Ref: `SigningKey${slot}Enabled` }, 'true'],
      });
      expect(key.Properties).toMatchObject({
        KeySpec: 'ECC_NIST_P256',
        KeyUsage: 'SIGN_VERIFY',
        Enabled: true,
      });
      expect(key.DeletionPolicy).toBe('Retain');
      expect(key.UpdateReplacePolicy).toBe('Retain');
      const alias = resource(`SigningKey${slot}Alias`);
      expect(alias.Condition).toBe(`HasSigningKey${slot}`);
      expect(alias.Properties).toEqual({
        AliasName: `alias/jwt-bearer-gateway-dev-signing-${slot.toLowerCase()}`,
        TargetKeyId: {
          'Fn::If': ['IsStandbyRegion', { Ref: `SigningKey${slot}Replica` }, { Ref: `SigningKey${slot}` }],
        },
      });
    },
  );

  it('starts with a key in the blue slot only', () => {
    expect(template.Parameters.SigningKeyBlueEnabled).toMatchObject({ Default: 'true' });
    expect(template.Parameters.SigningKeyGreenEnabled).toMatchObject({ Default: 'false' });
  });

  it('encrypts the cache with a rotated symmetric key', () => {
    expect(resource('CacheKey').Properties).toMatchObject({
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyUsage: 'ENCRYPT_DECRYPT',
      EnableKeyRotation: true,
    });
    expect(resource('CacheKeyAlias').Properties).toEqual({
      AliasName: 'alias/jwt-bearer-gateway-dev-cache',
      TargetKeyId: { 'Fn::If': ['IsStandbyRegion', { Ref: 'CacheKeyReplica' }, { Ref: 'CacheKey' }] },
    });
  });

  it.each(SLOTS)(
    'lets only the token role sign with the %s key, the jwks role read its public key, and the key administrator administer',
    (slot) => {
      // The operator's statement is conditional (param keyOperatorArn, empty by default): see below.
      const statements = keyPolicy(`SigningKey${slot}`).filter((s) => !('Fn::If' in s));
      for (const statement of statements) {
        for (const action of actions(statement)) expect(action).not.toContain('*');
      }
      const signers = statements.filter((s) => actions(s).some((a) => CRYPTO.test(a)));
      expect(signers).toHaveLength(1);
      expect(actions(signers[0]!).sort()).toEqual(['kms:GetPublicKey', 'kms:Sign']);
      expect(signers[0]!.Condition).toEqual({ ArnEquals: { 'aws:PrincipalArn': roleArn('token') } });
      const publishers = statements.filter((s) => s.Sid !== 'KeyAdministration' && !signers.includes(s));
      expect(publishers.map((s) => [actions(s), s.Condition])).toEqual([
        [['kms:GetPublicKey'], { ArnEquals: { 'aws:PrincipalArn': roleArn('jwks') } }],
      ]);
      const admin = statements.find((s) => s.Sid === 'KeyAdministration')!;
      // param keyAdministratorArn (empty by default: the account root).
      expect(admin.Principal).toEqual({
        AWS: {
          'Fn::If': [
            'HasKeyAdministrator',
            { Ref: 'KeyAdministratorArn' },
            { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' },
          ],
        },
      });
      expect(actions(admin)).toContain('kms:PutKeyPolicy');
      expect(actions(admin).filter((a) => CRYPTO.test(a))).toEqual([]);
    },
  );

  it.each(SLOTS)(
    'lets the operator principal of param keyOperatorArn, and only when set, also sign with the %s key (CLI certificate, test-target)',
    (slot) => {
      // Act
      const conditional = keyPolicy(`SigningKey${slot}`).filter((s) => 'Fn::If' in s) as unknown as Array<{
        'Fn::If': [string, Statement, unknown];
      }>;

      // Assess
      expect(template.Parameters.KeyOperatorArn).toMatchObject({ Default: '' });
      expect(template.Conditions.HasKeyOperator).toEqual({
        'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'KeyOperatorArn' }, ''] }],
      });
      expect(conditional).toEqual([
        {
          'Fn::If': [
            'HasKeyOperator',
            {
              Sid: 'SignWithTheKeyOperator',
              Effect: 'Allow',
              Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } },
              Action: ['kms:Sign', 'kms:GetPublicKey'],
              Resource: '*',
              Condition: { ArnEquals: { 'aws:PrincipalArn': { Ref: 'KeyOperatorArn' } } },
            },
            { Ref: 'AWS::NoValue' },
          ],
        },
      ]);
    },
  );

  it('lets only the token role use the cache key directly, and DynamoDB on the account’s behalf', () => {
    const statements = keyPolicy('CacheKey');
    for (const statement of statements) {
      for (const action of actions(statement)) expect(action).not.toContain('*');
    }
    for (const statement of statements.filter((s) => actions(s).some((a) => CRYPTO.test(a)))) {
      const condition = JSON.stringify(statement.Condition);
      const byRole = JSON.stringify({ ArnEquals: { 'aws:PrincipalArn': roleArn('token') } });
      const viaDynamoDb = JSON.stringify({
        StringEquals: {
          'kms:ViaService': { 'Fn::Sub': 'dynamodb.${AWS::Region}.amazonaws.com' },
          'kms:CallerAccount': { Ref: 'AWS::AccountId' },
        },
      });
      expect([byRole, viaDynamoDb]).toContain(condition);
      if (condition === byRole)
        expect(actions(statement).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    }
  });
});

describe('token table', () => {
  it('has the key schema the DynamoDB adapter uses', () => {
    expect(resource('TokenTable').Properties).toMatchObject(TOKEN_TABLE_DEFINITION);
    expect(resource('TokenTable').Properties.BillingMode).toBe('PAY_PER_REQUEST');
  });

  it('expires items by TTL, keeps point-in-time recovery and encrypts with the cache key', () => {
    const table = resource('TokenTable').Properties;
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: TOKEN_TABLE.ttlAttribute, Enabled: true });
    expect(table.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(table.SSESpecification).toEqual({
      SSEEnabled: true,
      SSEType: 'KMS',
      KMSMasterKeyId: getAtt('CacheKey'),
    });
  });
});

describe('custom domain', () => {
  it('is created only when a domain name is given', () => {
    expect(template.Parameters.DomainName).toMatchObject({ Type: 'String', Default: '' });
    expect(template.Conditions.HasCustomDomain).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'DomainName' }, ''] }],
    });
    expect(resource('CustomDomain').Condition).toBe('HasCustomDomain');
    expect(resource('CustomDomainMapping').Condition).toBe('HasCustomDomain');
  });

  it('requires client certificates from the truststore and then closes the execute-api endpoint', () => {
    const domain = resource('CustomDomain').Properties;
    expect(domain.DomainNameConfigurations).toEqual([
      { CertificateArn: { Ref: 'CertificateArn' }, EndpointType: 'REGIONAL', SecurityPolicy: 'TLS_1_2' },
    ]);
    const [condition, mtls] = (
      domain.MutualTlsAuthentication as { 'Fn::If': [string, Record<string, unknown>] }
    )['Fn::If'];
    expect(condition).toBe('HasMutualTls');
    expect(mtls.TruststoreUri).toEqual({ Ref: 'TruststoreUri' });
    expect(resource('HttpApi').Properties.DisableExecuteApiEndpoint).toEqual({
      'Fn::If': ['HasMutualTls', true, false],
    });
  });
});

describe('outputs', () => {
  it('give the URLs to register and the resources to operate', () => {
    expect(Object.keys(template.Outputs)).toEqual(
      expect.arrayContaining([
        'ApiUrl',
        'TokenUrl',
        'JwksUrl',
        'SigningKeyBlueArn',
        'SigningKeyGreenArn',
        'CacheKeyArn',
        'TokenTableName',
        'CustomDomainTarget',
      ]),
    );
    expect(JSON.stringify(template.Outputs.JwksUrl!.Value)).toContain('/.well-known/jwks.json');
    expect(template.Outputs.SigningKeyBlueArn!.Value).toEqual(getAtt('SigningKeyBlue'));
    expect(template.Outputs.SigningKeyGreenArn!.Value).toEqual(getAtt('SigningKeyGreen'));
    expect(template.Outputs.CustomDomainTarget).toMatchObject({
      Condition: 'HasCustomDomain',
      Value: { 'Fn::GetAtt': ['CustomDomain', 'RegionalDomainName'] },
    });
    expect(template.Outputs.CacheKeyArn!.Value).toEqual(getAtt('CacheKey'));
    expect(template.Outputs.TokenTableName).toMatchObject({
      Condition: 'IsSingleRegion',
      Value: { Ref: 'TokenTable' },
    });
  });
});

describe('function packages', () => {
  it.each(FUNCTIONS)('%s.zip holds its own bundle and nothing else', async (name) => {
    const entries = await zipEntries(join(OUT, `${name}.zip`));
    expect(entries).toContain(`dist/${name}/index.mjs`);
    for (const entry of entries) expect(entry.startsWith(`dist/${name}/`)).toBe(true);
    expect(entries.some((entry) => entry.includes('node_modules'))).toBe(false);
    expect(entries.includes(`dist/${name}/gateway.json`)).toBe(name !== 'health');
    expect(entries).toContain(`dist/${name}/THIRD-PARTY-NOTICES.txt`);
  });
});

describe('config/gateway.yaml, compiled into dist/token/gateway.json', () => {
  it('is valid once the variables serverless.yml sets are filled in', async () => {
    const compiled: unknown = JSON.parse(await readFile(join(ROOT, 'dist', 'token', 'gateway.json'), 'utf8'));
    const variables = (resource('TokenLambdaFunction').Properties.Environment as { Variables: object })
      .Variables;
    const env = Object.fromEntries(Object.keys(variables).map((name) => [name, `value-of-${name}`]));
    expect(isCompiledConfig(compiled)).toBe(true);
    const { config } = readCompiledConfig(compiled as CompiledConfig, env, 'dist/token/gateway.json');
    expect(config.signingKeys.blue).toMatchObject({ type: 'kms', keyId: 'value-of-SIGNING_KEY_BLUE_ID' });
    expect(config.cache.dynamodb).toMatchObject({
      tableName: 'value-of-TOKEN_TABLE',
      encryption: { kmsKeyId: 'value-of-CACHE_KEY_ID' },
    });
    // The role may read only secrets under the documented prefix.
    const secretIds = [...JSON.stringify(config).matchAll(/"secretId":"([^"]+)"/g)].map((match) => match[1]);
    expect(secretIds.length).toBeGreaterThan(0);
    for (const id of secretIds) expect(id).toMatch(/^jwt-bearer-gateway\//);
  });
});
