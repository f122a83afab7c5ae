// Refusals at package time, all in one place: parameter combinations that CloudFormation would accept but
// that must not be deployed, each named with the param that changes or accepts it. osls calls this while
// packaging and deploying (serverless.yml resources: ${file(infra/deployment-checks.cjs)}); a refusal stops
// `npm run package` / `npm run deploy` with every issue found, before anything reaches AWS. It adds no
// resource. CommonJS because osls loads it with require(). Checked by test/infra/deployment-checks.test.ts.
'use strict';

/** The params read here, by their serverless.yml names. */
const PARAMS = [
  'production',
  'alarmTopicArn',
  'allowNoAlarmTopic',
  'callerAuthorization',
  'domainName',
  'truststoreUri',
  'publicCallerRoutes',
  'apiEndpoint',
  'vpcEndpointIds',
  'vpcSubnetIds',
  'vpcSecurityGroupIds',
  'multiRegion',
  'standbyRegion',
  'signingKeyBlue',
  'signingKeyGreen',
  'signingKeyBlueMultiRegion',
  'signingKeyGreenMultiRegion',
  'signingKeyBluePrimaryArn',
  'signingKeyGreenPrimaryArn',
  'cacheKeyPrimaryArn',
];

/** A comma-separated param as a list (empty entries dropped). */
const list = (value) =>
  String(value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

/** A multi-Region KMS key ARN: its key id starts with mrk- (AWS KMS developer guide, "Multi-Region key ids"). */
const MRK_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:key\/mrk-[0-9a-f]{32}$/;

/**
 * Every problem with a stage's params, as sentences naming the param; empty when it may be deployed.
 * `stage` and `region` are the deployment's.
 */
function deploymentIssues(params, stage, region) {
  const issues = [];
  const value = (name) => String(params[name] ?? '');
  const privateApi = value('apiEndpoint') === 'private';
  const mutualTls = value('domainName') !== '' && value('truststoreUri') !== '';

  // A production stage (param production; by default the stages prod and production) whose alarms would
  // notify no one is refused unless the stage accepts alarms without actions.
  if (
    value('production') === 'true' &&
    value('alarmTopicArn') === '' &&
    value('allowNoAlarmTopic') !== 'true'
  ) {
    issues.push(
      `stage ${stage} is a production stage (param production) and its alarms would notify no one: set param ` +
        'alarmTopicArn to an SNS topic ARN, or param allowNoAlarmTopic=true to accept alarms without actions.',
    );
  }

  if (!['public', 'private'].includes(value('apiEndpoint')))
    issues.push(`apiEndpoint must be 'public' or 'private', not '${value('apiEndpoint')}'`);

  // The token routes mint tokens for any subject a caller may name: on the internet, an API key checked
  // inside Lambda must not be their only lock unless the stage says so (a demo or development stage).
  if (
    value('callerAuthorization') === 'none' &&
    !mutualTls &&
    !privateApi &&
    value('publicCallerRoutes') !== 'true'
  ) {
    issues.push(
      `stage ${stage}: callerAuthorization 'none' without mutual TLS leaves the token routes on the internet behind an API key only. ` +
        "Use callerAuthorization 'iam' or 'lambda', mutual TLS (domainName, certificateArn, truststoreUri), apiEndpoint 'private', " +
        'or accept it for this stage with publicCallerRoutes: \'true\' (docs/DEPLOY.md, "Who can reach the token routes")',
    );
  }

  if (privateApi) {
    const ids = list(value('vpcEndpointIds'));
    if (ids.length === 0)
      issues.push(
        "apiEndpoint 'private' needs vpcEndpointIds: the interface VPC endpoint(s) of execute-api that may reach it",
      );
    for (const id of ids)
      if (!/^vpce-[0-9a-f]{8,17}$/.test(id))
        issues.push(`vpcEndpointIds: '${id}' is not a VPC endpoint id (vpce-…)`);
    // The REST API's Lambda authorizers answer with IAM policies, not the HTTP API's simple responses.
    if (value('callerAuthorization') === 'lambda')
      issues.push("apiEndpoint 'private' supports callerAuthorization 'none' or 'iam', not 'lambda'");
    if (value('domainName') !== '')
      issues.push(
        "apiEndpoint 'private' is reached at its execute-api name through the VPC endpoint: leave domainName empty",
      );
  }

  for (const name of ['vpcSubnetIds', 'vpcSecurityGroupIds']) {
    // One list form for the checks here and infra/vpc.cjs.
    if (/\s/.test(value(name))) issues.push(`${name}: separate the ids with commas only, no spaces`);
  }
  const subnets = list(value('vpcSubnetIds'));
  const groups = list(value('vpcSecurityGroupIds'));
  if ((subnets.length === 0) !== (groups.length === 0))
    issues.push(
      'vpcSubnetIds and vpcSecurityGroupIds go together: set both (the token function in your VPC) or neither',
    );
  for (const id of subnets)
    if (!/^subnet-[0-9a-f]{8,17}$/.test(id))
      issues.push(`vpcSubnetIds: '${id}' is not a subnet id (subnet-…)`);
  for (const id of groups)
    if (!/^sg-[0-9a-f]{8,17}$/.test(id))
      issues.push(`vpcSecurityGroupIds: '${id}' is not a security group id (sg-…)`);

  const multiRegion = value('multiRegion');
  if (!['', 'primary', 'standby'].includes(multiRegion))
    issues.push(`multiRegion must be empty, 'primary' or 'standby', not '${multiRegion}'`);
  const standbyRegion = value('standbyRegion');
  if (standbyRegion !== '' && multiRegion !== 'primary')
    issues.push("standbyRegion is the primary's setting: set multiRegion 'primary' with it");
  if (standbyRegion !== '' && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(standbyRegion))
    issues.push(`standbyRegion: '${standbyRegion}' is not a Region name`);
  if (standbyRegion === region)
    issues.push(`standbyRegion must be another Region than this stack's (${region})`);
  const slotsInUse = ['Blue', 'Green'].filter((slot) => value(`signingKey${slot}`) === 'true');
  if (
    multiRegion === 'primary' &&
    !slotsInUse.some((slot) => value(`signingKey${slot}MultiRegion`) === 'true')
  ) {
    issues.push(
      "multiRegion 'primary' needs a multi-Region signing key for the standby to replicate: signingKey<Slot>MultiRegion 'true' on a slot in use " +
        '(for an existing key, rotate into the other slot with it: docs/DEPLOY.md, "Disaster recovery")',
    );
  }
  const primaryArns = { cacheKeyPrimaryArn: true };
  for (const slot of ['Blue', 'Green'])
    primaryArns[`signingKey${slot}PrimaryArn`] = value(`signingKey${slot}`) === 'true';
  for (const [name, needed] of Object.entries(primaryArns)) {
    const arn = value(name);
    if (multiRegion !== 'standby') {
      if (arn !== '') issues.push(`${name} is for a standby stack (multiRegion 'standby'): leave it empty`);
      continue;
    }
    if (needed && arn === '')
      issues.push(
        `multiRegion 'standby' needs ${name}: the ARN of the primary stack's multi-Region key (its outputs)`,
      );
    else if (arn !== '' && !MRK_ARN.test(arn))
      issues.push(
        `${name}: '${arn}' is not a multi-Region KMS key ARN (arn:aws:kms:<region>:<account>:key/mrk-…)`,
      );
    else if (arn !== '' && MRK_ARN.exec(arn)[1] === region)
      issues.push(`${name}: the primary key must be in another Region than this standby stack (${region})`);
  }
  return issues;
}

module.exports = async ({ resolveVariable }) => {
  const stage = await resolveVariable('sls:stage');
  const region = await resolveVariable('self:provider.region');
  const params = {};
  for (const name of PARAMS) params[name] = await resolveVariable(`param:${name}`);
  const issues = deploymentIssues(params, stage, region);
  if (issues.length > 0) {
    throw new Error(`refused to package stage ${stage} (${region}):\n  - ${issues.join('\n  - ')}`);
  }
  return {};
};
module.exports.deploymentIssues = deploymentIssues;
