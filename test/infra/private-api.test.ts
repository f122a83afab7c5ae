// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings, not templates.
// The private deployment (apiEndpoint: private, infra/private-api.cjs, infra/vpc.yml) as `osls package`
// generates it: the routes on a PRIVATE REST API reached only through the named VPC endpoints, the token
// routes off the public HTTP API, and the token function in the bank's VPC.
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { packageTemplate, type Resource, type Template } from '#test/support/cloudformation.ts';
import { TEMPLATE_MATRIX } from './template-matrix.ts';

const require = createRequire(import.meta.url);
const { ROUTES } = require('../../infra/private-api.cjs') as {
  ROUTES: Array<{ method: string; path: string; fn: string; caller: boolean }>;
};

const ENDPOINTS = ['vpce-0a1b2c3d4e5f60718', 'vpce-0f1e2d3c4b5a69788'];
const HTTP_API_TOKEN_RESOURCES = [
  'HttpApiRoutePostV1Token',
  'HttpApiRouteDeleteV1Token',
  'HttpApiRoutePostV1TokenInvalidate',
  'HttpApiRouteGetV1Ready',
  'HttpApiRoutePostOauth2TargetVarToken',
  'HttpApiRouteAnyV1CallTargetVarPathVar',
  'HttpApiIntegrationToken',
  'TokenLambdaPermissionHttpApi',
];
const FUNCTION_IDS: Record<string, string> = {
  token: 'TokenLambdaFunction',
  jwks: 'JwksLambdaFunction',
  health: 'HealthLambdaFunction',
};

let privateApi: Template;
let noneCallers: Template;
let publicApi: Template;

function resource(template: Template, id: string): Resource {
  const found = template.Resources[id];
  if (!found) throw new Error(`no resource ${id}`);
  return found;
}

const ofType = (template: Template, type: string) =>
  Object.entries(template.Resources).filter(([, r]) => r.Type === type);

/** The REST API path of a Method resource, walking its Resource parents up to the root. */
function methodPath(template: Template, method: Resource): string {
  const parts: string[] = [];
  let id = (method.Properties.ResourceId as { Ref: string }).Ref;
  for (;;) {
    const node = resource(template, id);
    parts.unshift(node.Properties.PathPart as string);
    const parent = node.Properties.ParentId as { Ref?: string; 'Fn::GetAtt'?: string[] };
    if (!parent.Ref) {
      expect(parent).toEqual({ 'Fn::GetAtt': ['PrivateApi', 'RootResourceId'] });
      return `/${parts.join('/')}`;
    }
    id = parent.Ref;
  }
}

beforeAll(async () => {
  const set = TEMPLATE_MATRIX.private!;
  privateApi = await packageTemplate({ ...set.params }, { stage: set.stage, region: set.region });
  noneCallers = await packageTemplate(
    {
      apiEndpoint: 'private',
      vpcEndpointIds: ENDPOINTS.join(', '),
      alarmTopicArn: 'arn:aws:sns:eu-central-1:123456789012:gateway-alarms',
    },
    { stage: 'prod' },
  );
  publicApi = await packageTemplate();
}, 120_000);

describe('private API', () => {
  it('is a REST API with a PRIVATE endpoint, associated with the named VPC endpoints', () => {
    // Act
    const api = resource(privateApi, 'PrivateApi');

    // Assess
    expect(api.Condition).toBe('IsPrivateApi');
    expect(privateApi.Conditions.IsPrivateApi).toEqual({ 'Fn::Equals': [{ Ref: 'ApiEndpoint' }, 'private'] });
    expect(privateApi.Parameters.ApiEndpoint).toMatchObject({
      Default: 'private',
      AllowedValues: ['public', 'private'],
    });
    expect(privateApi.Parameters.VpcEndpointIds).toMatchObject({
      Type: 'CommaDelimitedList',
      Default: ENDPOINTS.join(','),
    });
    expect(api.Properties.EndpointConfiguration).toEqual({
      Types: ['PRIVATE'],
      VpcEndpointIds: { Ref: 'VpcEndpointIds' },
    });
    expect(api.Properties.BinaryMediaTypes).toEqual(['*/*']);
  });

  it('lets requests in through the named VPC endpoints only (resource policy)', () => {
    // Act
    const { Statement } = resource(privateApi, 'PrivateApi').Properties.Policy as {
      Statement: Array<Record<string, unknown>>;
    };

    // Assess: an explicit deny for every other source, so no other VPC endpoint (any account's) gets in.
    expect(Statement).toEqual([
      {
        Sid: 'DenyAllButTheNamedVpcEndpoints',
        Effect: 'Deny',
        Principal: '*',
        Action: 'execute-api:Invoke',
        Resource: 'execute-api:/*',
        Condition: { StringNotEquals: { 'aws:SourceVpce': { Ref: 'VpcEndpointIds' } } },
      },
      {
        Sid: 'InvokeThroughTheNamedVpcEndpoints',
        Effect: 'Allow',
        Principal: '*',
        Action: 'execute-api:Invoke',
        Resource: 'execute-api:/*',
        Condition: { StringEquals: { 'aws:SourceVpce': { Ref: 'VpcEndpointIds' } } },
      },
    ]);
  });

  it('serves every route of the HTTP API, each by its function through a Lambda proxy integration', () => {
    // Act
    const methods = ofType(privateApi, 'AWS::ApiGateway::Method').map(([, method]) => ({
      route: `${method.Properties.HttpMethod} ${methodPath(privateApi, method)}`,
      integration: method.Properties.Integration as Record<string, unknown>,
    }));

    // Assess
    expect(methods.map((m) => m.route).sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    // The main HTTP API's routes (not the public API's JWKS and health under mutual TLS).
    const httpApiRoutes = ofType(publicApi, 'AWS::ApiGatewayV2::Route')
      .filter(([, r]) => JSON.stringify(r.Properties.ApiId) === JSON.stringify({ Ref: 'HttpApi' }))
      .map(([, r]) => r.Properties.RouteKey);
    expect(methods.map((m) => m.route).sort()).toEqual((httpApiRoutes as string[]).sort());
    for (const { route, integration } of methods) {
      const fn = ROUTES.find((r) => `${r.method} ${r.path}` === route)!.fn;
      expect(integration).toEqual({
        Type: 'AWS_PROXY',
        IntegrationHttpMethod: 'POST',
        Uri: {
          'Fn::Sub': `arn:\${AWS::Partition}:apigateway:\${AWS::Region}:lambda:path/2015-03-31/functions/\${${FUNCTION_IDS[fn]}.Arn}/invocations`,
        },
      });
    }
  });

  it('requires SigV4 on the caller routes with callerAuthorization iam, and never on the JWKS and health', () => {
    for (const [template, callerType] of [
      [privateApi, 'AWS_IAM'],
      [noneCallers, 'NONE'],
    ] as const) {
      for (const [, method] of ofType(template, 'AWS::ApiGateway::Method')) {
        const path = methodPath(template, method);
        const caller = ROUTES.find((r) => r.path === path)!.caller;
        expect(method.Properties.AuthorizationType, path).toBe(caller ? callerType : 'NONE');
      }
    }
  });

  it('takes the token routes off the public HTTP API, keeping its JWKS and health', () => {
    for (const id of HTTP_API_TOKEN_RESOURCES)
      expect(resource(privateApi, id).Condition, id).toBe('IsPublicApi');
    expect(privateApi.Conditions.IsPublicApi).toEqual({ 'Fn::Not': [{ Condition: 'IsPrivateApi' }] });
    for (const id of ['HttpApiRouteGetWellDashknownJwksjson', 'HttpApiRouteGetHealth', 'HttpApi'])
      expect(resource(privateApi, id).Condition, id).toBeUndefined();
    expect(privateApi.Outputs.TokenUrl!.Condition).toBe('IsPublicApi');
    expect(privateApi.Outputs.PrivateTokenUrl).toEqual({
      Description: expect.any(String),
      Condition: 'IsPrivateApi',
      Value: {
        'Fn::Sub': 'https://${PrivateApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/prod/v1/token',
      },
    });
  });

  it('deploys to a stage that throttles, logs one access line per request and never logs bodies', () => {
    // Act
    const stage = resource(privateApi, 'PrivateApiStage').Properties;
    const deployments = ofType(privateApi, 'AWS::ApiGateway::Deployment');
    const logGroup = resource(privateApi, 'PrivateApiLogGroup');

    // Assess
    expect(deployments).toHaveLength(1);
    expect(stage.DeploymentId).toEqual({ Ref: deployments[0]![0] });
    expect(stage.StageName).toBe('prod');
    expect(stage.TracingEnabled).toBe(true);
    expect(stage.MethodSettings).toEqual([
      {
        ResourcePath: '/*',
        HttpMethod: '*',
        MetricsEnabled: true,
        DataTraceEnabled: false,
        ThrottlingRateLimit: 100,
        ThrottlingBurstLimit: 200,
      },
    ]);
    const access = stage.AccessLogSetting as { DestinationArn: unknown; Format: string };
    expect(access.DestinationArn).toEqual({ 'Fn::GetAtt': ['PrivateApiLogGroup', 'Arn'] });
    expect(JSON.parse(access.Format)).toMatchObject({
      requestId: '$context.requestId',
      vpceId: '$context.identity.vpceId',
      caller: '$context.identity.userArn',
      status: '$context.status',
      integrationError: '$context.integration.error',
    });
    expect(logGroup).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(logGroup.Properties.RetentionInDays).toBe(90);
  });

  it('lets this API, and only it, invoke each function', () => {
    for (const fn of Object.values(FUNCTION_IDS)) {
      expect(
        resource(privateApi, `${fn.replace('LambdaFunction', '')}LambdaPermissionPrivateApi`).Properties,
      ).toEqual({
        FunctionName: { 'Fn::GetAtt': [fn, 'Arn'] },
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        SourceArn: {
          'Fn::Sub': 'arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${PrivateApi}/*',
        },
      });
    }
  });

  it('trims the VPC endpoint ids a deployer wrote with spaces', () => {
    expect(noneCallers.Parameters.VpcEndpointIds!.Default).toBe(ENDPOINTS.join(','));
  });

  it('is absent from the public deployment: every resource conditional, the condition false', () => {
    expect(publicApi.Parameters.ApiEndpoint!.Default).toBe('public');
    const privateIds = Object.keys(publicApi.Resources).filter((id) => id.includes('PrivateApi'));
    expect(privateIds.length).toBeGreaterThan(20);
    for (const id of privateIds) expect(publicApi.Resources[id]!.Condition, id).toBe('IsPrivateApi');
  });
});

describe('token function in a VPC', () => {
  it('runs in the given subnets and security groups when both are set, outside a VPC otherwise', () => {
    // Act
    const vpc = resource(privateApi, 'TokenLambdaFunction').Properties.VpcConfig;

    // Assess
    expect(vpc).toEqual({
      SubnetIds: ['subnet-0a1b2c3d4e5f60718', 'subnet-0f1e2d3c4b5a69788'],
      SecurityGroupIds: ['sg-0a1b2c3d4e5f60718'],
    });
    expect(resource(publicApi, 'TokenLambdaFunction').Properties.VpcConfig).toBeUndefined();
    expect(privateApi.Parameters.VpcSubnetIds!.Default).toBe(
      'subnet-0a1b2c3d4e5f60718,subnet-0f1e2d3c4b5a69788',
    );
    expect(privateApi.Parameters.VpcSecurityGroupIds!.Default).toBe('sg-0a1b2c3d4e5f60718');
    expect(privateApi.Conditions.HasVpc).toEqual({
      'Fn::And': [
        { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'VpcSubnetIds' }, ''] }] },
        { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'VpcSecurityGroupIds' }, ''] }] },
      ],
    });
    expect(publicApi.Parameters.VpcSubnetIds!.Default).toBe('');
    for (const fn of ['JwksLambdaFunction', 'HealthLambdaFunction'])
      expect(resource(privateApi, fn).Properties.VpcConfig).toBeUndefined();
  });
});
