// The parameter sets every commit packages and validates (validate.test.ts, nag.test.ts). One line per
// set: a deployment this project promises to support. Add a set here and both tests run it.
import type { PackagingSet } from '#test/support/cloudformation.ts';

const ACCOUNT = '123456789012';
/** What a bank's production stage sets: custom domain with mutual TLS, IAM callers, alarms, tracing. */
const PRODUCTION: Readonly<Record<string, string>> = {
  domainName: 'token-gateway.corp.example',
  certificateArn: `arn:aws:acm:eu-central-1:${ACCOUNT}:certificate/0f6d1b3e-8c1a-4b7e-9d2f-5a6c7e8f9a0b`,
  truststoreUri: 's3://corp-pki/gateway/truststore.pem',
  truststoreVersion: '3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY',
  publicDomainName: 'token-gateway-keys.corp.example',
  callerAuthorization: 'iam',
  alarmTopicArn: `arn:aws:sns:eu-central-1:${ACCOUNT}:gateway-alarms`,
  tracing: 'true',
  signingKeyBlue: 'true',
  signingKeyGreen: 'true',
  keyOperatorArn: `arn:aws:iam::${ACCOUNT}:role/gateway-operator`,
};

export const TEMPLATE_MATRIX: Readonly<Record<string, PackagingSet>> = {
  defaults: {},
  production: { stage: 'prod', region: 'eu-central-1', params: PRODUCTION },
  lambdaAuthorizer: {
    params: {
      callerAuthorization: 'lambda',
      callerAuthorizerArn: `arn:aws:lambda:eu-central-1:${ACCOUNT}:function:corp-caller-authorizer`,
      callerAuthorizerTtlSeconds: '300',
    },
  },
  // 41 characters: every role and function name passes 64 unless shortened (infra/names.cjs).
  longStageSydney: {
    stage: 'payments-integration-testing-team-blue-eu',
    region: 'ap-southeast-2',
    // A test stage: its token routes may stay public behind API keys (infra/deployment-checks.cjs).
    params: { publicCallerRoutes: 'true' },
  },
  // The private deployment: a PRIVATE REST API behind two interface VPC endpoints, IAM callers, the token
  // function in the bank's VPC (infra/private-api.cjs, infra/vpc.yml).
  private: {
    stage: 'prod',
    region: 'eu-central-1',
    params: {
      apiEndpoint: 'private',
      vpcEndpointIds: 'vpce-0a1b2c3d4e5f60718,vpce-0f1e2d3c4b5a69788',
      callerAuthorization: 'iam',
      vpcSubnetIds: 'subnet-0a1b2c3d4e5f60718,subnet-0f1e2d3c4b5a69788',
      vpcSecurityGroupIds: 'sg-0a1b2c3d4e5f60718',
      alarmTopicArn: `arn:aws:sns:eu-central-1:${ACCOUNT}:gateway-alarms`,
      tracing: 'true',
    },
  },
  // Disaster recovery (infra/multi-region.yml): the primary in eu-central-1 with a multi-Region blue key
  // and the global table's replica in eu-west-1, and the standby there replicating its keys, itself a
  // private deployment (both options together).
  drPrimary: {
    stage: 'prod',
    region: 'eu-central-1',
    params: {
      ...PRODUCTION,
      multiRegion: 'primary',
      standbyRegion: 'eu-west-1',
      signingKeyBlueMultiRegion: 'true',
    },
  },
  drStandby: {
    stage: 'prod',
    region: 'eu-west-1',
    params: {
      multiRegion: 'standby',
      signingKeyBluePrimaryArn: `arn:aws:kms:eu-central-1:${ACCOUNT}:key/mrk-1234abcd12ab34cd56ef1234567890ab`,
      cacheKeyPrimaryArn: `arn:aws:kms:eu-central-1:${ACCOUNT}:key/mrk-0fedcba9876543210fedcba987654321`,
      apiEndpoint: 'private',
      vpcEndpointIds: 'vpce-0a1b2c3d4e5f60718',
      callerAuthorization: 'iam',
      alarmTopicArn: `arn:aws:sns:eu-west-1:${ACCOUNT}:gateway-alarms`,
    },
  },
  secondRegion: {
    stage: 'prod',
    region: 'eu-west-1',
    params: {
      ...PRODUCTION,
      certificateArn: `arn:aws:acm:eu-west-1:${ACCOUNT}:certificate/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d`,
      alarmTopicArn: `arn:aws:sns:eu-west-1:${ACCOUNT}:gateway-alarms`,
    },
  },
};
