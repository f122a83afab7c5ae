// One alarm per configured target on its upstream errors (the authorization server failing, timing out or
// refusing the gateway's client), and one on its p99 exchange latency. osls calls this while packaging
// (serverless.yml resources: ${file(infra/target-alarms.cjs)}): the targets come from the configuration
// the build bundles (GATEWAY_CONFIG_SOURCE, default config/gateway.yaml), so the alarms follow it on every
// `npm run deploy`. CommonJS because osls loads it with require().
'use strict';
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const { resolve } = require('node:path');
const { parse } = require('yaml');

/** A CloudFormation logical id for a target name (letters and digits only), unique by a short hash. */
function logicalId(prefix, target) {
  const letters = target.replace(/[^A-Za-z0-9]/g, '');
  const hash = createHash('sha256').update(target).digest('hex').slice(0, 6);
  return `${prefix}${letters.charAt(0).toUpperCase()}${letters.slice(1)}${hash}`;
}

module.exports = async ({ resolveVariable }) => {
  const configPath = resolve(process.cwd(), process.env.GATEWAY_CONFIG_SOURCE || 'config/gateway.yaml');
  const targets = Object.keys(parse(readFileSync(configPath, 'utf8'))?.targets ?? {});
  const stage = await resolveVariable('sls:stage');
  const service = await resolveVariable('self:service');
  const actions = { 'Fn::If': ['HasAlarmTopic', [{ Ref: 'AlarmTopicArn' }], { Ref: 'AWS::NoValue' }] };
  // The dimension set lib/observability/metrics.ts publishes per target: this stage's only.
  const dimensions = (target) => [
    { Name: 'service', Value: service },
    { Name: 'stage', Value: stage },
    { Name: 'target', Value: target },
  ];
  const Resources = {};
  for (const target of targets) {
    Resources[logicalId('UpstreamErrorsAlarm', target)] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: `${service}-${stage}-upstream-errors-${target}`,
        AlarmDescription: `Exchanges for target ${target} failed at its authorization server (upstream_unavailable, upstream_timeout, upstream_misconfigured). Check the server, the network path and the client credentials; jwt-bearer-gateway test-target ${target} explains the failure.`,
        Namespace: 'JwtBearerGateway',
        MetricName: 'UpstreamErrors',
        Dimensions: dimensions(target),
        Statistic: 'Sum',
        Period: 60,
        EvaluationPeriods: 5,
        DatapointsToAlarm: 3,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: actions,
        OKActions: actions,
      },
    };
    Resources[logicalId('LatencyAlarm', target)] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: `${service}-${stage}-as-latency-p99-${target}`,
        AlarmDescription: `The p99 time of exchanges at target ${target}'s authorization server is above 3 s.`,
        Namespace: 'JwtBearerGateway',
        MetricName: 'AuthorizationServerLatency',
        Dimensions: dimensions(target),
        ExtendedStatistic: 'p99',
        Period: 300,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
        Threshold: 3000,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: actions,
        OKActions: actions,
      },
    };
  }
  return { Resources };
};
