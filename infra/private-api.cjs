// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings, not templates.
// The private deployment (param apiEndpoint: private): the gateway's routes on an API Gateway REST API
// with a PRIVATE endpoint, reachable only through the interface VPC endpoints of execute-api named in
// param vpcEndpointIds (how a bank reaches AWS over Direct Connect), and the token routes taken off the
// public HTTP API. The JWKS and health stay on the HTTP API as well: an authorization server on the
// internet must fetch the JWKS, and Route 53 health checkers probe /health from the internet.
//
// The same three functions serve both APIs; the REST API sends payload format 1.0, which each function's
// entry turns into 2.0 (lib/http/payload-v1.ts). Generated (osls calls this while packaging:
// serverless.yml resources: ${file(infra/private-api.cjs)}) because the REST API's resource tree follows
// from the route table below; every resource has Condition IsPrivateApi, so the public deployment's
// template only gains the parameters. docs/DEPLOY.md, "Private API". CommonJS because osls loads it with
// require(); checked by test/infra/private-api.test.ts.
'use strict';
const { createHash } = require('node:crypto');

/** The gateway's routes: method, path, function, and whether a caller uses it to obtain tokens. */
const ROUTES = [
  { method: 'POST', path: '/v1/token', fn: 'token', caller: true },
  { method: 'DELETE', path: '/v1/token', fn: 'token', caller: true },
  { method: 'POST', path: '/v1/token/invalidate', fn: 'token', caller: true },
  { method: 'GET', path: '/v1/ready', fn: 'token', caller: true },
  { method: 'POST', path: '/oauth2/{target}/token', fn: 'token', caller: true },
  { method: 'ANY', path: '/v1/call/{target}/{path+}', fn: 'token', caller: true },
  { method: 'GET', path: '/.well-known/jwks.json', fn: 'jwks', caller: false },
  { method: 'GET', path: '/health', fn: 'health', caller: false },
];

const CONDITION = 'IsPrivateApi';
const FUNCTION_IDS = {
  token: 'TokenLambdaFunction',
  jwks: 'JwksLambdaFunction',
  health: 'HealthLambdaFunction',
};

/** A logical id part for a path segment: letters and digits, `{name}` as NameVar, `{name+}` as NameVar. */
function segmentId(segment) {
  const letters = segment
    .replace(/[{}+]/g, '')
    .replace(/[^A-Za-z0-9]+(.)?/g, (_, c) => (c ? c.toUpperCase() : ''));
  const id = `${letters.charAt(0).toUpperCase()}${letters.slice(1)}`;
  return segment.startsWith('{') ? `${id}Var` : id;
}

/**
 * The logical ids osls gives the HTTP API's caller routes (HttpApiRoute, method, path segments), their
 * integration and permission.
 */
const HTTP_API_TOKEN_RESOURCES = [
  ...ROUTES.filter((route) => route.caller).map(
    (route) =>
      `HttpApiRoute${segmentId(route.method.toLowerCase())}${route.path.split('/').filter(Boolean).map(segmentId).join('')}`,
  ),
  'HttpApiIntegrationToken',
  'TokenLambdaPermissionHttpApi',
];

/** The REST API's resources (one per path prefix) and methods, for the route table. */
function restApiResources(callerAuthorization) {
  const resources = {};
  const methods = {};
  const idOf = (path) => `PrivateApiResource${path.split('/').filter(Boolean).map(segmentId).join('')}`;
  for (const route of ROUTES) {
    const segments = route.path.split('/').filter(Boolean);
    for (let i = 0; i < segments.length; i++) {
      const path = `/${segments.slice(0, i + 1).join('/')}`;
      const id = idOf(path);
      if (resources[id]) continue;
      resources[id] = {
        Type: 'AWS::ApiGateway::Resource',
        Condition: CONDITION,
        Properties: {
          RestApiId: { Ref: 'PrivateApi' },
          ParentId:
            i === 0
              ? { 'Fn::GetAtt': ['PrivateApi', 'RootResourceId'] }
              : { Ref: idOf(`/${segments.slice(0, i).join('/')}`) },
          PathPart: segments[i],
        },
      };
    }
    const methodId = `PrivateApiMethod${segmentId(route.method.toLowerCase())}${segments.map(segmentId).join('')}`;
    // Only the caller routes take API Gateway authorization; the JWKS and health are open, as on the HTTP API.
    const iam = route.caller && callerAuthorization === 'iam';
    methods[methodId] = {
      Type: 'AWS::ApiGateway::Method',
      Condition: CONDITION,
      Properties: {
        RestApiId: { Ref: 'PrivateApi' },
        ResourceId: { Ref: idOf(route.path) },
        HttpMethod: route.method,
        AuthorizationType: iam ? 'AWS_IAM' : 'NONE',
        // Lambda proxy integration: payload format 1.0, the function answers everything.
        Integration: {
          Type: 'AWS_PROXY',
          IntegrationHttpMethod: 'POST',
          Uri: {
            'Fn::Sub': `arn:\${AWS::Partition}:apigateway:\${AWS::Region}:lambda:path/2015-03-31/functions/\${${FUNCTION_IDS[route.fn]}.Arn}/invocations`,
          },
        },
      },
    };
  }
  return { resources, methods };
}

module.exports = async ({ resolveVariable }) => {
  const service = await resolveVariable('self:service');
  const stage = await resolveVariable('sls:stage');
  const apiEndpoint = String(await resolveVariable('param:apiEndpoint'));
  const callerAuthorization = String(await resolveVariable('param:callerAuthorization'));
  const vpcEndpointIds = String(await resolveVariable('param:vpcEndpointIds'))
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  const logRetentionDays = Number(await resolveVariable('param:logRetentionDays'));
  const throttleRate = Number(await resolveVariable('param:throttleRate'));
  const throttleBurst = Number(await resolveVariable('param:throttleBurst'));
  const tracing = String(await resolveVariable('param:tracing')) === 'true';

  const { resources, methods } = restApiResources(callerAuthorization);
  // A REST API serves what its last deployment holds: a new deployment (a new logical id) whenever the
  // methods change, as osls does for its own REST APIs.
  const hash = createHash('sha256').update(JSON.stringify(methods)).digest('hex').slice(0, 10);
  const deploymentId = `PrivateApiDeployment${hash}`;
  const executeApiArn = {
    'Fn::Sub': 'arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${PrivateApi}/*',
  };
  const Resources = {
    PrivateApi: {
      Type: 'AWS::ApiGateway::RestApi',
      Condition: CONDITION,
      Properties: {
        Name: `${service}-${stage}-private`,
        Description: `jwt-bearer-gateway ${stage}: private API, reached through the VPC endpoints of its resource policy`,
        EndpointConfiguration: { Types: ['PRIVATE'], VpcEndpointIds: { Ref: 'VpcEndpointIds' } },
        // Every body reaches the functions base64-encoded and bytes go back unchanged: proxy mode carries
        // binary bodies both ways, and the functions decode JSON and form bodies themselves.
        BinaryMediaTypes: ['*/*'],
        // The resource policy: nothing but requests through the named interface VPC endpoints, which
        // otherwise any VPC endpoint of execute-api in any account could send.
        Policy: {
          Version: '2012-10-17',
          Statement: [
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
          ],
        },
      },
    },
    ...resources,
    ...methods,
    [deploymentId]: {
      Type: 'AWS::ApiGateway::Deployment',
      Condition: CONDITION,
      DependsOn: Object.keys(methods),
      Properties: { RestApiId: { Ref: 'PrivateApi' }, Description: `routes ${hash}` },
    },
    PrivateApiStage: {
      Type: 'AWS::ApiGateway::Stage',
      Condition: CONDITION,
      Properties: {
        RestApiId: { Ref: 'PrivateApi' },
        DeploymentId: { Ref: deploymentId },
        StageName: stage,
        TracingEnabled: tracing,
        // One access log line per request, as the HTTP API's. Execution logging and data tracing stay off:
        // they would write request and response bodies (tokens) to CloudWatch Logs.
        AccessLogSetting: {
          DestinationArn: { 'Fn::GetAtt': ['PrivateApiLogGroup', 'Arn'] },
          Format: JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            vpceId: '$context.identity.vpceId',
            caller: '$context.identity.userArn',
            requestTime: '$context.requestTime',
            httpMethod: '$context.httpMethod',
            resourcePath: '$context.resourcePath',
            status: '$context.status',
            protocol: '$context.protocol',
            responseLength: '$context.responseLength',
            integrationError: '$context.integration.error',
          }),
        },
        MethodSettings: [
          {
            ResourcePath: '/*',
            HttpMethod: '*',
            MetricsEnabled: true,
            DataTraceEnabled: false,
            ThrottlingRateLimit: throttleRate,
            ThrottlingBurstLimit: throttleBurst,
          },
        ],
      },
    },
    PrivateApiLogGroup: {
      Type: 'AWS::Logs::LogGroup',
      Condition: CONDITION,
      // The access log is an audit trail: it outlives the stack.
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        LogGroupName: `/aws/api-gateway/${service}-${stage}-private`,
        RetentionInDays: logRetentionDays,
        // Encrypted like every audit log group (infra/logs.yml), with the stack's log key.
        KmsKeyId: { 'Fn::GetAtt': ['LogKey', 'Arn'] },
      },
    },
    PrivateApi5xxAlarm: {
      Type: 'AWS::CloudWatch::Alarm',
      Condition: CONDITION,
      Properties: {
        AlarmName: `${service}-${stage}-private-api-5xx`,
        AlarmDescription:
          'The private REST API answered 5xx. Check the functions’ logs (gateway configuration invalid, Lambda errors) and the other alarms.',
        Namespace: 'AWS/ApiGateway',
        MetricName: '5XXError',
        Dimensions: [
          { Name: 'ApiName', Value: `${service}-${stage}-private` },
          { Name: 'Stage', Value: stage },
        ],
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 10,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: { 'Fn::If': ['HasAlarmTopic', [{ Ref: 'AlarmTopicArn' }], { Ref: 'AWS::NoValue' }] },
        OKActions: { 'Fn::If': ['HasAlarmTopic', [{ Ref: 'AlarmTopicArn' }], { Ref: 'AWS::NoValue' }] },
      },
    },
  };
  for (const functionId of Object.values(FUNCTION_IDS)) {
    Resources[`${functionId.replace('LambdaFunction', '')}LambdaPermissionPrivateApi`] = {
      Type: 'AWS::Lambda::Permission',
      Condition: CONDITION,
      Properties: {
        FunctionName: { 'Fn::GetAtt': [functionId, 'Arn'] },
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        SourceArn: executeApiArn,
      },
    };
  }
  return {
    Parameters: {
      ApiEndpoint: {
        Type: 'String',
        AllowedValues: ['public', 'private'],
        Default: apiEndpoint,
        Description:
          "'private': the routes on a private REST API reached through VpcEndpointIds; the token routes leave the public HTTP API.",
      },
      VpcEndpointIds: {
        Type: 'CommaDelimitedList',
        Default: vpcEndpointIds.join(','),
        Description: 'The interface VPC endpoints of execute-api that may reach the private API (vpce-…).',
      },
    },
    Conditions: {
      [CONDITION]: { 'Fn::Equals': [{ Ref: 'ApiEndpoint' }, 'private'] },
      IsPublicApi: { 'Fn::Not': [{ Condition: CONDITION }] },
    },
    Resources,
    Outputs: {
      PrivateApiUrl: {
        Description:
          'Base URL of the private API (resolves inside the VPC of the endpoints, with private DNS on)',
        Condition: CONDITION,
        Value: {
          'Fn::Sub': `https://\${PrivateApi}.execute-api.\${AWS::Region}.\${AWS::URLSuffix}/${stage}`,
        },
      },
      PrivateTokenUrl: {
        Description: 'POST here for a token (the private API)',
        Condition: CONDITION,
        Value: {
          'Fn::Sub': `https://\${PrivateApi}.execute-api.\${AWS::Region}.\${AWS::URLSuffix}/${stage}/v1/token`,
        },
      },
    },
    // The token routes exist only on the private API: off the public HTTP API, with their integration
    // and permission.
    extensions: Object.fromEntries(HTTP_API_TOKEN_RESOURCES.map((id) => [id, { Condition: 'IsPublicApi' }])),
  };
};
module.exports.ROUTES = ROUTES;
module.exports.HTTP_API_TOKEN_RESOURCES = HTTP_API_TOKEN_RESOURCES;
