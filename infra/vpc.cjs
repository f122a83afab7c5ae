// The token function in your VPC (params vpcSubnetIds and vpcSecurityGroupIds, both or neither: checked
// by infra/deployment-checks.cjs): proxy mode can then reach APIs on premises (over Direct Connect or a
// VPN from that VPC). From the VPC it also needs a way to KMS, Secrets Manager, DynamoDB and the
// authorization servers: interface endpoints (a gateway endpoint for DynamoDB) or a NAT gateway;
// docs/DEPLOY.md, "Private API". The jwks and health functions stay outside: they reach only AWS APIs.
//
// The VpcConfig is written at package time, only when the ids are given: CloudFormation checks the ids'
// form even inside the branch of an Fn::If that is never taken. The parameters repeat the ids in the
// stack, and HasVpc gives the token role its network interface statements (infra/iam.yml).
// CommonJS because osls loads it with require().
'use strict';

const ids = (value) =>
  String(value ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);

module.exports = async ({ resolveVariable }) => {
  const subnets = ids(await resolveVariable('param:vpcSubnetIds'));
  const groups = ids(await resolveVariable('param:vpcSecurityGroupIds'));
  const inVpc = subnets.length > 0 && groups.length > 0;
  return {
    Parameters: {
      VpcSubnetIds: {
        Type: 'String',
        Default: subnets.join(','),
        Description: 'Subnet ids of the token function (comma-separated); empty: outside a VPC.',
      },
      VpcSecurityGroupIds: {
        Type: 'String',
        Default: groups.join(','),
        Description: 'Security group ids of the token function (comma-separated), with VpcSubnetIds.',
      },
    },
    Conditions: {
      HasVpc: {
        'Fn::And': [
          { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'VpcSubnetIds' }, ''] }] },
          { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'VpcSecurityGroupIds' }, ''] }] },
        ],
      },
    },
    ...(inVpc
      ? {
          extensions: {
            TokenLambdaFunction: {
              Properties: { VpcConfig: { SubnetIds: subnets, SecurityGroupIds: groups } },
            },
          },
        }
      : {}),
  };
};
