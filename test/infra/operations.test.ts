// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings, not templates.
// What a platform team approves and watches, checked on the template `osls package` generates: one role
// per function with only what it uses, the caller authorizers and the mutual TLS domain when their params
// turn them on, the alarms, the dashboard, tracing. Each variant is packaged from serverless.yml as a
// deployer would (`--param name=value`), offline.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  packageTemplate,
  type Resource,
  type Statement,
  type Template,
} from '#test/support/cloudformation.ts';

const FUNCTIONS = ['token', 'jwks', 'health'] as const;
const SLOTS = ['Blue', 'Green'] as const;
const capitalized = (name: string) => `${name[0]!.toUpperCase()}${name.slice(1)}`;
const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
/** A key's ARN: the slot's own key, or in a standby Region its replica of the primary's (infra/kms.yml). */
const keyArn = (id: string) => ({ 'Fn::If': ['IsStandbyRegion', getAtt(`${id}Replica`), getAtt(id)] });
/** The token table, or the global table two Regions share (infra/table.yml). */
const tableArn = {
  'Fn::If': [
    'IsMultiRegion',
    {
      'Fn::Sub':
        'arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/jwt-bearer-gateway-dev-global-tokens',
    },
    getAtt('TokenTable'),
  ],
};
const ifSlot = (slot: string, value: unknown) => ({
  'Fn::If': [`HasSigningKey${slot}`, value, { Ref: 'AWS::NoValue' }],
});
const actions = (statement: Statement): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];
const AUTHORIZER_ARN = 'arn:aws:lambda:eu-central-1:123456789012:function:corp-caller-authorizer';

function resource(template: Template, id: string): Resource {
  const found = template.Resources[id];
  if (!found) throw new Error(`no resource ${id}`);
  return found;
}

/** The statements of a role's policies; conditional ones (Fn::If) as [condition, statement]. */
function statementsOf(
  template: Template,
  role: string,
): { plain: Statement[]; conditional: [string, Statement][] } {
  const policies = resource(template, role).Properties.Policies as Array<{
    PolicyDocument: { Statement: unknown[] };
  }>;
  const plain: Statement[] = [];
  const conditional: [string, Statement][] = [];
  for (const item of policies.flatMap((policy) => policy.PolicyDocument.Statement)) {
    const ifs = (item as { 'Fn::If'?: [string, Statement, unknown] })['Fn::If'];
    if (ifs) {
      expect(ifs[2]).toEqual({ Ref: 'AWS::NoValue' });
      conditional.push([ifs[0], ifs[1]]);
    } else plain.push(item as Statement);
  }
  return { plain, conditional };
}

/** action -> the resources it is granted on, over the role's unconditional statements. */
function grants(statements: Statement[]): Record<string, unknown[]> {
  const granted: Record<string, unknown[]> = {};
  for (const statement of statements) {
    expect(statement.Effect).toBe('Allow');
    for (const action of actions(statement))
      granted[action] = [...(granted[action] ?? []), statement.Resource];
  }
  return granted;
}

let defaults: Template;
let lambdaAuthorizer: Template;
let iamAuthorizer: Template;

beforeAll(async () => {
  // Three variants, one after the other: each is a few seconds of osls on a loaded machine.
  defaults = await packageTemplate();
  lambdaAuthorizer = await packageTemplate({
    callerAuthorization: 'lambda',
    callerAuthorizerArn: AUTHORIZER_ARN,
    callerAuthorizerTtlSeconds: '300',
    alarmTopicArn: 'arn:aws:sns:eu-central-1:123456789012:gateway-alarms',
    tracing: 'true',
    domainName: 'token-gateway.corp.example',
    certificateArn: 'arn:aws:acm:eu-central-1:123456789012:certificate/abc',
    truststoreUri: 's3://corp-pki/gateway/truststore.pem',
  });
  iamAuthorizer = await packageTemplate({ callerAuthorization: 'iam' });
}, 120_000);

describe('IAM roles', () => {
  describe('one per function', () => {
    it.each(FUNCTIONS)('runs %s under its own role, trusted by Lambda only', (name) => {
      // Prepare
      const fn = resource(defaults, `${capitalized(name)}LambdaFunction`).Properties;
      const role = resource(defaults, `${capitalized(name)}Role`).Properties;

      // Assess
      expect(fn.Role).toEqual(getAtt(`${capitalized(name)}Role`));
      expect(role.RoleName).toBe(`jwt-bearer-gateway-dev-eu-central-1-${name}`);
      expect(role.AssumeRolePolicyDocument).toEqual({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] },
        ],
      });
      expect(role.ManagedPolicyArns).toBeUndefined();
      expect(defaults.Resources.IamRoleLambdaExecution).toBeUndefined();
    });

    it.each(FUNCTIONS)('lets %s write only its own log group', (name) => {
      // Act
      const granted = grants(statementsOf(defaults, `${capitalized(name)}Role`).plain);

      // Assess
      const ownLogGroup = {
        'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/jwt-bearer-gateway-dev-${name}:*`,
      };
      expect(granted['logs:CreateLogStream']).toEqual([ownLogGroup]);
      expect(granted['logs:PutLogEvents']).toEqual([ownLogGroup]);
      expect(resource(defaults, `${capitalized(name)}LogGroup`).Properties.LogGroupName).toBe(
        `/aws/lambda/jwt-bearer-gateway-dev-${name}`,
      );
    });
  });

  describe('what each may do', () => {
    const withoutLogs = (granted: Record<string, unknown[]>) =>
      Object.fromEntries(Object.entries(granted).filter(([action]) => !action.startsWith('logs:')));
    const signingKeys = SLOTS.map((slot) => ifSlot(slot, keyArn(`SigningKey${slot}`)));

    it('lets token sign, encrypt the cache, read the gateway secrets and the table, each on its own resource', () => {
      // Act
      const granted = withoutLogs(grants(statementsOf(defaults, 'TokenRole').plain));

      // Assess
      expect(granted).toEqual({
        'kms:Sign': [signingKeys],
        'kms:GetPublicKey': [signingKeys],
        'kms:GenerateDataKey': [keyArn('CacheKey')],
        'kms:Decrypt': [keyArn('CacheKey')],
        'secretsmanager:GetSecretValue': [
          {
            'Fn::Sub':
              'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:jwt-bearer-gateway/dev/*',
          },
        ],
        'dynamodb:GetItem': [tableArn],
        'dynamodb:PutItem': [tableArn],
        'dynamodb:DeleteItem': [tableArn],
        'dynamodb:UpdateItem': [tableArn],
      });
    });

    it('lets jwks only read the signing keys’ public halves and their certificates', () => {
      // A key's certificate may be held in Secrets Manager (signingKeys.<id>.certificate), and the JWKS
      // publishes its x5t#S256: without the read, that JWKS would fail. Certificates only, no other secret.
      expect(withoutLogs(grants(statementsOf(defaults, 'JwksRole').plain))).toEqual({
        'kms:GetPublicKey': [signingKeys],
        'secretsmanager:GetSecretValue': [
          {
            'Fn::Sub':
              'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:jwt-bearer-gateway/dev/certificates/*',
          },
        ],
      });
    });

    it('lets health do nothing', () => {
      expect(withoutLogs(grants(statementsOf(defaults, 'HealthRole').plain))).toEqual({});
    });

    it.each(FUNCTIONS)('gives %s no wildcard action and no Resource "*" outside X-Ray', (name) => {
      // Act
      const { plain, conditional } = statementsOf(defaults, `${capitalized(name)}Role`);

      // Assess
      for (const statement of plain) {
        for (const action of actions(statement)) expect(action).not.toContain('*');
        const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
        for (const item of resources) expect(item).not.toBe('*');
      }
      // With a VPC (params vpcSubnetIds, vpcSecurityGroupIds), token only: the network interfaces in this
      // account and Region; AWS documents ec2:Describe* as working on "*" only.
      expect(conditional.filter(([condition]) => condition === 'HasVpc')).toEqual(
        name === 'token'
          ? [
              [
                'HasVpc',
                {
                  Sid: 'VpcNetworkInterfaces',
                  Effect: 'Allow',
                  Action: [
                    'ec2:CreateNetworkInterface',
                    'ec2:DeleteNetworkInterface',
                    'ec2:AssignPrivateIpAddresses',
                    'ec2:UnassignPrivateIpAddresses',
                  ],
                  Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:*/*' },
                },
              ],
              [
                'HasVpc',
                {
                  Sid: 'DescribeVpcNetworkInterfaces',
                  Effect: 'Allow',
                  Action: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
                  Resource: '*',
                },
              ],
            ]
          : [],
      );
      // X-Ray's actions have no resource-level permissions: "*" is the only resource AWS accepts.
      expect(conditional.filter(([condition]) => condition !== 'HasVpc')).toEqual([
        [
          'HasTracing',
          {
            Sid: 'SendTraces',
            Effect: 'Allow',
            Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
            Resource: '*',
          },
        ],
      ]);
    });
  });
});

describe('caller authorization', () => {
  const CALLER_ROUTES = [
    'HttpApiRoutePostV1Token',
    'HttpApiRouteDeleteV1Token',
    'HttpApiRoutePostV1TokenInvalidate',
    'HttpApiRouteGetV1Ready',
    'HttpApiRouteAnyV1CallTargetVarPathVar',
    'HttpApiRoutePostOauth2TargetVarToken',
  ];
  const OPEN_ROUTES = ['HttpApiRouteGetWellDashknownJwksjson', 'HttpApiRouteGetHealth'];
  const routeAuth = (template: Template, id: string) => {
    const { AuthorizationType, AuthorizerId } = resource(template, id).Properties;
    return { AuthorizationType, AuthorizerId };
  };

  it('leaves every route to the gateway’s caller policy by default, and says so in a checked parameter', () => {
    // Assess
    for (const id of [...CALLER_ROUTES, ...OPEN_ROUTES]) {
      expect(routeAuth(defaults, id)).toEqual({ AuthorizationType: undefined, AuthorizerId: undefined });
    }
    expect(defaults.Parameters.CallerAuthorization).toMatchObject({
      Default: 'none',
      AllowedValues: ['none', 'iam', 'lambda'],
    });
  });

  it('with callerAuthorization=iam, requires SigV4 on the caller routes only', () => {
    // Assess
    for (const id of CALLER_ROUTES) {
      expect(routeAuth(iamAuthorizer, id)).toEqual({ AuthorizationType: 'AWS_IAM', AuthorizerId: undefined });
    }
    for (const id of OPEN_ROUTES) expect(routeAuth(iamAuthorizer, id).AuthorizationType).toBeUndefined();
    expect(iamAuthorizer.Parameters.CallerAuthorization!.Default).toBe('iam');
  });

  it('with callerAuthorization=lambda, puts the given Lambda authorizer (simple responses) on the caller routes only', () => {
    // Prepare
    const authorizer = resource(lambdaAuthorizer, 'HttpApiAuthorizerCaller').Properties;
    const permission = resource(lambdaAuthorizer, 'CallerLambdaAuthorizerPermissionHttpApi').Properties;

    // Assess
    for (const id of CALLER_ROUTES) {
      expect(routeAuth(lambdaAuthorizer, id)).toEqual({
        AuthorizationType: 'CUSTOM',
        AuthorizerId: { Ref: 'HttpApiAuthorizerCaller' },
      });
    }
    for (const id of OPEN_ROUTES) expect(routeAuth(lambdaAuthorizer, id).AuthorizationType).toBeUndefined();
    expect(authorizer).toMatchObject({
      AuthorizerType: 'REQUEST',
      EnableSimpleResponses: true,
      AuthorizerPayloadFormatVersion: '2.0',
      AuthorizerResultTtlInSeconds: 300,
      IdentitySource: ['$request.header.Authorization'],
    });
    expect(JSON.stringify(authorizer.AuthorizerUri)).toContain(AUTHORIZER_ARN);
    expect(permission).toMatchObject({ Action: 'lambda:InvokeFunction', FunctionName: AUTHORIZER_ARN });
  });

  it('with a domain and a truststore, requires client certificates and closes the execute-api endpoint', () => {
    // Assess
    expect(lambdaAuthorizer.Parameters.DomainName!.Default).toBe('token-gateway.corp.example');
    expect(lambdaAuthorizer.Parameters.TruststoreUri!.Default).toBe('s3://corp-pki/gateway/truststore.pem');
    const domain = resource(lambdaAuthorizer, 'CustomDomain');
    expect(domain.Condition).toBe('HasCustomDomain');
    expect(JSON.stringify(domain.Properties.MutualTlsAuthentication)).toContain(
      '"TruststoreUri":{"Ref":"TruststoreUri"}',
    );
    expect(resource(lambdaAuthorizer, 'HttpApi').Properties.DisableExecuteApiEndpoint).toEqual({
      'Fn::If': ['HasMutualTls', true, false],
    });
  });
});

describe('alarms', () => {
  const alarms = (template: Template) =>
    Object.fromEntries(
      Object.entries(template.Resources)
        .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
        .map(([id, r]) => [id, r.Properties]),
    );
  const topic = { 'Fn::If': ['HasAlarmTopic', [{ Ref: 'AlarmTopicArn' }], { Ref: 'AWS::NoValue' }] };
  const service = { Name: 'service', Value: 'jwt-bearer-gateway' };
  // lib/observability/metrics.ts publishes every metric under the stage too: each alarm reads its own.
  const stage = { Name: 'stage', Value: 'dev' };

  it('watch what the issue names, each on its metric', () => {
    // Act
    const found = alarms(defaults);
    const watch = (id: string) => {
      const { Namespace, MetricName, Dimensions, Statistic, ExtendedStatistic } = found[id]!;
      return { Namespace, MetricName, Dimensions, statistic: Statistic ?? ExtendedStatistic };
    };

    // Assess
    expect(watch('SigningUnavailableAlarm')).toEqual({
      Namespace: 'JwtBearerGateway',
      MetricName: 'TokenError.signing_unavailable',
      Dimensions: [service, stage],
      statistic: 'Sum',
    });
    expect(watch('CacheDegradedAlarm')).toMatchObject({
      MetricName: 'CacheDegraded',
      Dimensions: [service, stage],
    });
    expect(watch('AuthorizationServerThrottledAlarm')).toEqual({
      Namespace: 'JwtBearerGateway',
      MetricName: 'AuthorizationServerThrottled',
      Dimensions: [service, stage],
      statistic: 'Sum',
    });
    expect(watch('AuthorizationServerLatencyAlarm')).toMatchObject({
      MetricName: 'AuthorizationServerLatency',
      statistic: 'p99',
    });
    expect(watch('Api5xxAlarm')).toEqual({
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
      Dimensions: [
        { Name: 'ApiId', Value: { Ref: 'HttpApi' } },
        { Name: 'Stage', Value: '$default' },
      ],
      statistic: 'Sum',
    });
    expect(watch('ApiLatencyAlarm')).toEqual({
      Namespace: 'JwtBearerGateway',
      MetricName: 'ApiLatency',
      Dimensions: [service, stage],
      statistic: 'p99',
    });
    expect(watch('CallTokenRetriesAlarm')).toMatchObject({
      MetricName: 'CallTokenRetries',
      Dimensions: [service, stage],
    });
    for (const name of FUNCTIONS) {
      for (const metric of ['Errors', 'Throttles']) {
        expect(watch(`${capitalized(name)}${metric}Alarm`)).toEqual({
          Namespace: 'AWS/Lambda',
          MetricName: metric,
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: `${capitalized(name)}LambdaFunction` } }],
          statistic: 'Sum',
        });
      }
    }
  });

  it('watch each configured target’s upstream errors and p99 latency', () => {
    // Act
    const perTarget = Object.values(alarms(defaults)).filter((a) =>
      JSON.stringify(a.Dimensions ?? []).includes('"target"'),
    );

    // Assess: config/gateway.yaml has one target, okta
    expect(perTarget.map((a) => [a.AlarmName, a.MetricName, a.Dimensions])).toEqual([
      [
        'jwt-bearer-gateway-dev-upstream-errors-okta',
        'UpstreamErrors',
        [service, stage, { Name: 'target', Value: 'okta' }],
      ],
      [
        'jwt-bearer-gateway-dev-as-latency-p99-okta',
        'AuthorizationServerLatency',
        [service, stage, { Name: 'target', Value: 'okta' }],
      ],
    ]);
  });

  it("sum proxy mode's API failures (unavailable, timeout, too large) of this stage", () => {
    // Prepare
    const metrics = alarms(defaults).CallErrorsAlarm!.Metrics as Array<{
      Id: string;
      Expression?: string;
      ReturnData: boolean;
      MetricStat?: { Metric: { MetricName: string; Dimensions: unknown } };
    }>;

    // Assess
    const read = metrics.filter((m) => m.MetricStat);
    expect(read.map((m) => m.MetricStat!.Metric.MetricName)).toEqual([
      'CallError.api_unavailable',
      'CallError.api_timeout',
      'CallError.api_response_too_large',
    ]);
    for (const m of read) expect(m.MetricStat!.Metric.Dimensions).toEqual([service, stage]);
    const sum = metrics.filter((m) => m.ReturnData);
    expect(sum).toHaveLength(1);
    for (const m of read) expect(sum[0]!.Expression).toContain(`FILL(${m.Id}, 0)`);
  });

  it('have unique names and notify the SNS topic when one is given', () => {
    // Act
    const all = Object.values(alarms(defaults));

    // Assess
    expect(new Set(all.map((a) => a.AlarmName)).size).toBe(all.length);
    for (const alarm of all) {
      expect(alarm.AlarmActions).toEqual(topic);
      expect(alarm.OKActions).toEqual(topic);
      expect(alarm.TreatMissingData).toBe('notBreaching');
    }
    expect(defaults.Conditions.HasAlarmTopic).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AlarmTopicArn' }, ''] }],
    });
    expect(defaults.Parameters.AlarmTopicArn!.Default).toBe('');
    expect(lambdaAuthorizer.Parameters.AlarmTopicArn!.Default).toBe(
      'arn:aws:sns:eu-central-1:123456789012:gateway-alarms',
    );
  });
});

describe('dashboard', () => {
  it('is valid JSON once CloudFormation substitutes it, and shows the per-target metrics', () => {
    // Prepare
    const [body, variables] = (
      resource(defaults, 'Dashboard').Properties.DashboardBody as {
        'Fn::Sub': [string, Record<string, string>];
      }
    )['Fn::Sub'];
    const substituted = body.replace(
      /\$\{([^}]+)\}/g,
      (_, name: string) => variables[name] ?? `value-of-${name}`,
    );

    // Act
    const dashboard = JSON.parse(substituted) as {
      widgets: Array<{ properties: { title: string; metrics: unknown[] } }>;
    };

    // Assess
    expect(variables).toEqual({ Service: 'jwt-bearer-gateway', Stage: 'dev' });
    // Dashboards are global: the Region keeps a second Region's stack from overwriting this one.
    expect(resource(defaults, 'Dashboard').Properties.DashboardName).toBe(
      'jwt-bearer-gateway-dev-eu-central-1',
    );
    const titles = dashboard.widgets.map((w) => w.properties.title);
    expect(titles).toEqual(
      expect.arrayContaining([
        'Upstream errors by target',
        'Authorization server latency p99 by target (ms)',
        'Proxy mode: calls and errors by code',
        'Proxy mode: API latency p99 by target (ms)',
        "Proxy mode: token retries after an API's 401",
      ]),
    );
    expect(substituted).toContain(
      'SEARCH(\'{JwtBearerGateway,service,stage,target} service=\\"jwt-bearer-gateway\\" stage=\\"dev\\" MetricName=\\"UpstreamErrors\\"\'',
    );
    // Every search of the gateway's metrics is for this stage.
    for (const search of substituted.match(/SEARCH\('[^']*'/g) ?? [])
      expect(search).toContain('stage=\\"dev\\"');
    for (const name of ['TokenLambdaFunction', 'JwksLambdaFunction', 'HealthLambdaFunction', 'HttpApi']) {
      expect(substituted).toContain(`value-of-${name}`);
    }
  });
});

describe('tracing', () => {
  it('is off by default and, with tracing=true, active on every function with its X-Ray statement', () => {
    // Assess
    for (const name of FUNCTIONS) {
      const id = `${capitalized(name)}LambdaFunction`;
      expect(resource(defaults, id).Properties.TracingConfig).toEqual({ Mode: 'PassThrough' });
      expect(resource(lambdaAuthorizer, id).Properties.TracingConfig).toEqual({ Mode: 'Active' });
    }
    expect(defaults.Conditions.HasTracing).toEqual({ 'Fn::Equals': [{ Ref: 'Tracing' }, 'true'] });
    expect(defaults.Parameters.Tracing!.Default).toBe('false');
    expect(lambdaAuthorizer.Parameters.Tracing!.Default).toBe('true');
  });
});

describe('audit logs', () => {
  const LOG_GROUPS = ['TokenLogGroup', 'JwksLogGroup', 'HealthLogGroup', 'HttpApiLogGroup'];
  /** The private REST API's access log (infra/private-api.cjs): only with apiEndpoint private. */
  const PRIVATE_LOG_GROUP = 'PrivateApiLogGroup';

  it('keeps every log group when the stack is removed or replaces it, encrypted with the log key', () => {
    // Prepare
    const groups = Object.entries(defaults.Resources).filter(([, r]) => r.Type === 'AWS::Logs::LogGroup');

    // Assess
    expect(groups.map(([id]) => id).sort()).toEqual([...LOG_GROUPS, PRIVATE_LOG_GROUP].sort());
    expect(resource(defaults, PRIVATE_LOG_GROUP).Condition).toBe('IsPrivateApi');
    for (const [, group] of groups) {
      expect(group.DeletionPolicy).toBe('Retain');
      expect(group.UpdateReplacePolicy).toBe('Retain');
      expect(group.Properties.KmsKeyId).toEqual(getAtt('LogKey'));
      expect(group.Properties.RetentionInDays).toBe(90);
    }
    const key = resource(defaults, 'LogKey');
    expect(key.DeletionPolicy).toBe('Retain');
    expect(key.Properties).toMatchObject({ KeySpec: 'SYMMETRIC_DEFAULT', EnableKeyRotation: true });
  });

  it('takes the retention from param logRetentionDays', async () => {
    // Act
    const template = await packageTemplate({ logRetentionDays: '365' });

    // Assess
    for (const id of LOG_GROUPS) expect(resource(template, id).Properties.RetentionInDays).toBe(365);
  }, 60_000);

  it("lets CloudWatch Logs, in the stack's Region, use the log key for the stack's log groups only", () => {
    // Prepare
    const statements = (resource(defaults, 'LogKey').Properties.KeyPolicy as { Statement: Statement[] })
      .Statement;
    const logs = statements.find((statement) => statement.Sid === 'CloudWatchLogsForTheStackLogGroups')!;
    const arn = (name: string) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:${name}`,
    });

    // Assess
    expect(logs.Principal).toEqual({ Service: { 'Fn::Sub': 'logs.${AWS::Region}.amazonaws.com' } });
    expect(actions(logs).every((action) => !action.includes('*'))).toBe(true);
    expect(actions(logs)).toContain('kms:GenerateDataKey');
    expect(logs.Condition).toEqual({
      ArnEquals: {
        'kms:EncryptionContext:aws:logs:arn': [
          ...FUNCTIONS.map((name) => arn(`/aws/lambda/jwt-bearer-gateway-dev-${name}`)),
          arn('/aws/http-api/jwt-bearer-gateway-dev'),
          arn('/aws/api-gateway/jwt-bearer-gateway-dev-private'),
        ],
      },
    });
    // Every log group the key policy names is one the stack creates.
    for (const id of [...LOG_GROUPS, PRIVATE_LOG_GROUP]) {
      const name = resource(defaults, id).Properties.LogGroupName as string;
      expect(logs.Condition!.ArnEquals!['kms:EncryptionContext:aws:logs:arn']).toContainEqual(arn(name));
    }
  });

  it('writes the integration error, the IAM and authorizer principals and the client certificate subject to the access log', () => {
    // Prepare
    const stage = resource(defaults, 'HttpApiStage').Properties.AccessLogSettings as { Format: string };

    // Act
    const format = JSON.parse(stage.Format) as Record<string, string>;

    // Assess
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      routeKey: '$context.routeKey',
      status: '$context.status',
      integrationError: '$context.integrationErrorMessage',
      iamPrincipal: '$context.identity.userArn',
      authorizerPrincipal: '$context.authorizer.principalId',
      clientCertSubject: '$context.identity.clientCert.subjectDN',
    });
  });
});

describe('the JWKS and health under mutual TLS', () => {
  const PUBLIC = [
    'PublicHttpApi',
    'PublicHttpApiStage',
    'PublicHttpApiIntegrationJwks',
    'PublicHttpApiIntegrationHealth',
    'PublicHttpApiRouteGetJwks',
    'PublicHttpApiRouteGetHealth',
    'JwksLambdaPermissionPublicHttpApi',
    'HealthLambdaPermissionPublicHttpApi',
  ];

  it('exist only when the main API demands client certificates', () => {
    // Assess
    for (const id of PUBLIC) expect(resource(defaults, id).Condition).toBe('NeedsPublicApi');
    expect(defaults.Conditions.NeedsPublicApi).toEqual({
      'Fn::And': [{ Condition: 'HasCustomDomain' }, { Condition: 'HasMutualTls' }],
    });
    for (const id of ['PublicCustomDomain', 'PublicCustomDomainMapping'])
      expect(resource(defaults, id).Condition).toBe('HasPublicDomain');
  });

  it('serve only GET /.well-known/jwks.json and GET /health, from the jwks and health functions, without authorization', () => {
    // Prepare
    const routes = Object.entries(lambdaAuthorizer.Resources).filter(
      ([, r]) => r.Type === 'AWS::ApiGatewayV2::Route',
    );
    const onPublicApi = routes.filter(
      ([, r]) => (r.Properties.ApiId as { Ref: string }).Ref === 'PublicHttpApi',
    );

    // Assess
    expect(onPublicApi.map(([, r]) => r.Properties.RouteKey).sort()).toEqual([
      'GET /.well-known/jwks.json',
      'GET /health',
    ]);
    for (const [, route] of onPublicApi) {
      expect(route.Properties.AuthorizationType).toBeUndefined();
      expect(route.Properties.AuthorizerId).toBeUndefined();
    }
    expect(resource(lambdaAuthorizer, 'PublicHttpApiIntegrationJwks').Properties.IntegrationUri).toEqual(
      getAtt('JwksLambdaFunction'),
    );
    expect(resource(lambdaAuthorizer, 'PublicHttpApiIntegrationHealth').Properties.IntegrationUri).toEqual(
      getAtt('HealthLambdaFunction'),
    );
    // Each function may be invoked by the public API for its own route only.
    expect(resource(lambdaAuthorizer, 'JwksLambdaPermissionPublicHttpApi').Properties.SourceArn).toEqual({
      'Fn::Sub':
        'arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${PublicHttpApi}/*/GET/.well-known/jwks.json',
    });
  });

  it('keep mutual TLS on the main domain and put no truststore on the public one', () => {
    // Assess
    expect(resource(lambdaAuthorizer, 'CustomDomain').Properties.MutualTlsAuthentication).toBeDefined();
    expect(
      resource(lambdaAuthorizer, 'PublicCustomDomain').Properties.MutualTlsAuthentication,
    ).toBeUndefined();
    expect(resource(lambdaAuthorizer, 'HttpApi').Properties.DisableExecuteApiEndpoint).toEqual({
      'Fn::If': ['HasMutualTls', true, false],
    });
    expect(resource(lambdaAuthorizer, 'PublicHttpApi').Properties.DisableExecuteApiEndpoint).toBeUndefined();
  });

  it('give the public JWKS URL as the one to register', () => {
    // Prepare
    const value = JSON.stringify(lambdaAuthorizer.Outputs.JwksUrl!.Value);

    // Assess
    expect(lambdaAuthorizer.Outputs.JwksUrl!.Value).toMatchObject({
      'Fn::If': ['NeedsPublicApi', expect.anything(), expect.anything()],
    });
    expect(value).toContain('https://${PublicDomainName}/.well-known/jwks.json');
    expect(value).toContain(
      'https://${PublicHttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/.well-known/jwks.json',
    );
    expect(lambdaAuthorizer.Outputs.HealthUrl).toBeDefined();
  });
});

describe('key administration', () => {
  const KEYS = ['SigningKeyBlue', 'SigningKeyGreen', 'CacheKey', 'LogKey'];
  const ADMIN = 'arn:aws:iam::123456789012:role/gateway-key-admin';

  it('gives every key to the role of param keyAdministratorArn (the account root only when it is empty)', async () => {
    // Act
    const template = await packageTemplate({ keyAdministratorArn: ADMIN });

    // Assess
    expect(template.Parameters.KeyAdministratorArn).toMatchObject({ Default: ADMIN });
    expect(defaults.Parameters.KeyAdministratorArn).toMatchObject({ Default: '' });
    expect(template.Conditions.HasKeyAdministrator).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'KeyAdministratorArn' }, ''] }],
    });
    for (const id of KEYS) {
      const key = resource(template, id).Properties;
      const admin = (key.KeyPolicy as { Statement: Statement[] }).Statement.find(
        (s) => s.Sid === 'KeyAdministration',
      )!;
      expect(admin.Principal).toEqual({
        AWS: {
          'Fn::If': [
            'HasKeyAdministrator',
            { Ref: 'KeyAdministratorArn' },
            { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' },
          ],
        },
      });
      // The administrator may change the policy again: KMS's lockout safety check passes for it, and the
      // template never bypasses the check.
      expect(actions(admin)).toContain('kms:PutKeyPolicy');
      expect(key.BypassPolicyLockoutSafetyCheck).toBeUndefined();
    }
  }, 60_000);

  it('accepts only an IAM role ARN as the key administrator', () => {
    // Prepare
    const pattern = new RegExp(
      (defaults.Parameters.KeyAdministratorArn as unknown as { AllowedPattern: string }).AllowedPattern,
    );

    // Assess
    expect(pattern.test('')).toBe(true);
    expect(pattern.test(ADMIN)).toBe(true);
    expect(pattern.test('arn:aws:iam::123456789012:root')).toBe(false);
    expect(pattern.test('arn:aws:iam::123456789012:user/alice')).toBe(false);
  });
});
