// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings, not templates.
// The cdk-nag findings (AwsSolutions, NIST 800-53 rev5, Serverless) this project accepts, each with why, on
// the resources it applies to. Anything cdk-nag reports that is not acknowledged here fails
// deployable.test.ts: fix it in the template, or add it here with a reason a platform team can check.
import { type CfnResource, Stack, Validations } from 'aws-cdk-lib';
import type { CfnInclude } from 'aws-cdk-lib/cloudformation-include';
import type { Statement, Template } from '#test/support/cloudformation.ts';

const FUNCTIONS = ['TokenLambdaFunction', 'JwksLambdaFunction', 'HealthLambdaFunction'];
const ROLES = ['TokenRole', 'JwksRole', 'HealthRole'];
/** Routes anyone may call: authorization servers fetch the JWKS, probes call health. */
const PUBLIC_ROUTES = [
  'HttpApiRouteGetWellDashknownJwksjson',
  'HttpApiRouteGetHealth',
  'PublicHttpApiRouteGetJwks',
  'PublicHttpApiRouteGetHealth',
];

/** Why a role statement's wildcard resource is as narrow as IAM allows, by the statement's Sid. */
const WILDCARD_REASONS: Record<string, string> = {
  OwnLogGroup:
    "Log streams are created by Lambda at run time with names no one knows in advance: the role may write only its own function's log group's streams (log-group:<name>:*).",
  ReadGatewaySecrets:
    'Secrets Manager appends a random 6-character suffix to every secret ARN, so a name prefix needs its trailing *: only names under the gateway prefix.',
  ReadSigningKeyCertificates:
    'Secrets Manager appends a random suffix to secret ARNs: only the signing key certificates under <prefix>certificates/.',
  SendTraces:
    'X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions (resource "*" only).',
};

const because = (reason: string) => reason;

const REASONS = {
  deploymentBucket: because(
    "osls's deployment bucket holds only the zipped bundles and the template of each deployment (no data): public access blocked, AES256 at rest, TLS-only policy. A platform that requires logging, versioning, replication or KMS on every bucket sets provider.deploymentBucket.name to its own managed bucket.",
  ),
  latestRuntime: because(
    'nodejs24.x is the runtime CI tests the bundles on (.ci/run runs the suite on Node 24); moving to a newer runtime is a tested change of its own, not a template switch.',
  ),
  inlinePolicy: because(
    'Each role has one inline policy written for its one function (least privilege, deleted with the role); a managed policy could be attached to other principals, which is what this rule guards against.',
  ),
  backupPlan: because(
    'The table is a cache of access tokens that expire within minutes to hours; losing it costs one exchange per entry. Point-in-time recovery is on; an AWS Backup plan would keep expired tokens.',
  ),
  vpc: because(
    'The functions reach the authorization servers, KMS, Secrets Manager and DynamoDB over AWS endpoints and the internet; they hold no network position to protect. A deployment that must reach on-premises APIs puts them in a VPC.',
  ),
  dlq: because(
    'Every invocation is synchronous (API Gateway waits for the answer); a dead-letter queue applies to asynchronous invocations only, and every failure is answered to the caller and logged.',
  ),
  publicConcurrency: because(
    'jwks and health answer in milliseconds from memory and are bounded by the API route throttle (throttleRate, throttleBurst); a reservation would take concurrency from the account pool the token function needs.',
  ),
  tokenConcurrency: because(
    'ReservedConcurrentExecutions is the param tokenReservedConcurrency through Fn::If (empty leaves it out for accounts with a low concurrency limit), which cdk-nag reads as unset.',
  ),
  tracing: because('X-Ray tracing is the param tracing ("true" in production; it costs per trace).'),
  publicRoute: because(
    'The JWKS must be fetchable by every authorization server and health by load balancers and Route 53 probes: public by design, no secrets, throttled.',
  ),
  gatewayAuthorization: because(
    "callerAuthorization none: API Gateway lets the request through and the gateway's caller policy authenticates it (API key or mutual TLS certificate) before anything else; docs/DEPLOY.md, Caller authentication.",
  ),
  conditionalOutputs: because(
    "The CDK runs AWS's validator too: outputs JwksUrl and HealthUrl name PublicHttpApi inside !If [NeedsPublicApi, ...], which it reports on the stack; validation-allow-list.ts explains it and deployable.test.ts checks it finding by finding.",
  ),
  cognito: because(
    'Callers are mainframe programs and services, not Cognito users: SigV4 (callerAuthorization iam) or the gateway’s own caller policy (API key, client certificate, OAuth client) identifies them.',
  ),
  privateEndpoint: because(
    'The private API (apiEndpoint private) has a PRIVATE endpoint: its resource policy admits only the named interface VPC endpoints, so no request from the internet reaches it and a WAF web ACL has nothing to filter that the bank’s network does not already.',
  ),
  privateExecutionLogs: because(
    'Access logging is on (PrivateApiLogGroup: one line per request, retained, KMS-encrypted). Execution logs would go to a log group API Gateway creates itself, outside the stack’s retention and log key, and data tracing would write request and response bodies (tokens): off on purpose.',
  ),
  privateCache: because(
    'Every answer is per caller and carries an access token or a proxied API’s response: API Gateway must never cache one (RFC 6749 5.1).',
  ),
  lambdaIntegration: because(
    'Every integration is a Lambda proxy integration (AWS_PROXY), reached over AWS’s own signed invocation: a backend client certificate applies to HTTP integrations only.',
  ),
  requestValidation: because(
    'The functions validate every request strictly (media type, size, schema, duplicate keys) and answer the documented error codes; an API Gateway validator would answer with a body callers cannot switch on.',
  ),
  replicaKeyDefault: because(
    'The replica keys exist only in a standby Region (multiRegion standby), where infra/deployment-checks.cjs refuses to package without the primary key ARNs; the validator checks the empty default without the condition.',
  ),
  alarmTopicDefault: because(
    "The alarms' actions are !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]: with the empty default the list is never created.",
  ),
};

/** `${X}` of a Fn::Sub as cdk-nag prints it: `<X>`. */
const nagResource = (sub: string) => sub.replace(/\$\{([^}]+)\}/g, '<$1>');

function wildcardAcknowledgements(template: Template, role: string): Array<{ id: string; reason: string }> {
  const policies = template.Resources[role]!.Properties.Policies as Array<{
    PolicyDocument: { Statement: unknown[] };
  }>;
  const acknowledged: Array<{ id: string; reason: string }> = [];
  for (const item of policies.flatMap((policy) => policy.PolicyDocument.Statement)) {
    const ifs = (item as { 'Fn::If'?: [string, Statement, unknown] })['Fn::If'];
    const statement = ifs ? ifs[1] : (item as Statement);
    const reason = statement.Sid ? WILDCARD_REASONS[statement.Sid] : undefined;
    if (!reason) continue;
    for (const resource of [statement.Resource].flat()) {
      const text =
        typeof resource === 'string'
          ? resource
          : (resource as { 'Fn::Sub'?: string } | undefined)?.['Fn::Sub'];
      if (text?.includes('*'))
        acknowledged.push({ id: `AwsSolutions-IAM5[Resource::${nagResource(text)}]`, reason });
    }
  }
  return acknowledged;
}

/** Acknowledges, on the included template, every finding this project accepts, with its reason. */
export function acknowledgeAccepted(include: CfnInclude, template: Template): void {
  const on = (ids: readonly string[], ...rules: Array<{ id: string; reason: string }>) => {
    for (const id of ids) {
      if (template.Resources[id])
        Validations.of(include.getResource(id) as CfnResource).acknowledge(...rules);
    }
  };
  on(
    ['ServerlessDeploymentBucket'],
    ...[
      'AwsSolutions-S1',
      'NIST.800.53.R5-S3BucketLoggingEnabled',
      'NIST.800.53.R5-S3BucketReplicationEnabled',
      'NIST.800.53.R5-S3BucketVersioningEnabled',
      'NIST.800.53.R5-S3DefaultEncryptionKMS',
    ].map((id) => ({ id, reason: REASONS.deploymentBucket })),
  );
  on(
    FUNCTIONS,
    { id: 'AwsSolutions-L1', reason: REASONS.latestRuntime },
    { id: 'Serverless-LambdaLatestVersion', reason: REASONS.latestRuntime },
    { id: 'NIST.800.53.R5-LambdaInsideVPC', reason: REASONS.vpc },
    { id: 'NIST.800.53.R5-LambdaDLQ', reason: REASONS.dlq },
    { id: 'Serverless-LambdaDLQ', reason: REASONS.dlq },
  );
  // The reservation is !If [HasTokenReservedConcurrency, ...] (an empty param leaves it out), which
  // cdk-nag does not resolve: accepted only while the param's default sets one.
  if (template.Parameters.TokenReservedConcurrency?.Default)
    on(['TokenLambdaFunction'], { id: 'NIST.800.53.R5-LambdaConcurrency', reason: REASONS.tokenConcurrency });
  on(['JwksLambdaFunction', 'HealthLambdaFunction'], {
    id: 'NIST.800.53.R5-LambdaConcurrency',
    reason: REASONS.publicConcurrency,
  });
  for (const fn of FUNCTIONS) {
    const mode = (template.Resources[fn]?.Properties.TracingConfig as { Mode?: string } | undefined)?.Mode;
    if (mode !== 'Active') on([fn], { id: 'Serverless-LambdaTracing', reason: REASONS.tracing });
  }
  for (const role of ROLES) {
    on([role], { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: REASONS.inlinePolicy });
    on([role], ...wildcardAcknowledgements(template, role));
  }
  on(['TokenTable'], { id: 'NIST.800.53.R5-DynamoDBInBackupPlan', reason: REASONS.backupPlan });
  const routes = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::ApiGatewayV2::Route');
  for (const [id, route] of routes) {
    if (PUBLIC_ROUTES.includes(id)) on([id], { id: 'AwsSolutions-APIG4', reason: REASONS.publicRoute });
    else if (
      route.Properties.AuthorizationType === undefined ||
      route.Properties.AuthorizationType === 'NONE'
    )
      on([id], { id: 'AwsSolutions-APIG4', reason: REASONS.gatewayAuthorization });
  }
  // The private REST API (infra/private-api.cjs): its methods, stage and API.
  const ofType = (type: string) =>
    Object.entries(template.Resources)
      .filter(([, r]) => r.Type === type)
      .map(([id]) => id);
  for (const id of ofType('AWS::ApiGateway::Method')) {
    on([id], { id: 'AwsSolutions-COG4', reason: REASONS.cognito });
    const method = template.Resources[id]!;
    if (method.Properties.AuthorizationType === 'NONE') {
      const open = /(JwksJson|Health)$/.test(id);
      on([id], {
        id: 'AwsSolutions-APIG4',
        reason: open ? REASONS.publicRoute : REASONS.gatewayAuthorization,
      });
    }
  }
  on(['PrivateApi'], { id: 'AwsSolutions-APIG2', reason: REASONS.requestValidation });
  on(
    ['PrivateApiStage'],
    { id: 'AwsSolutions-APIG3', reason: REASONS.privateEndpoint },
    { id: 'NIST.800.53.R5-APIGWAssociatedWithWAF', reason: REASONS.privateEndpoint },
    { id: 'AwsSolutions-APIG6', reason: REASONS.privateExecutionLogs },
    { id: 'NIST.800.53.R5-APIGWExecutionLoggingEnabled', reason: REASONS.privateExecutionLogs },
    { id: 'NIST.800.53.R5-APIGWCacheEnabledAndEncrypted', reason: REASONS.privateCache },
    { id: 'NIST.800.53.R5-APIGWSSLEnabled', reason: REASONS.lambdaIntegration },
  );
  if (
    template.Resources.PrivateApiStage &&
    template.Resources.PrivateApiStage.Properties.TracingEnabled !== true
  )
    on(['PrivateApiStage'], { id: 'Serverless-APIGWXrayEnabled', reason: REASONS.tracing });
  on(['SigningKeyBlueReplica', 'SigningKeyGreenReplica', 'CacheKeyReplica'], {
    id: 'CloudFormation-Validate::W1030',
    reason: REASONS.replicaKeyDefault,
  });
  const alarms = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');
  on(
    alarms.map(([id]) => id),
    { id: 'CloudFormation-Validate::W1030', reason: REASONS.alarmTopicDefault },
  );
  if (template.Resources.PublicHttpApi)
    Validations.of(Stack.of(include)).acknowledge({
      id: 'CloudFormation-Validate::W1001',
      reason: REASONS.conditionalOutputs,
    });
}
