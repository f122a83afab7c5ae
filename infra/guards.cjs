// Refusals at package time: deployments this project will not create, each named with the param that
// changes it. osls calls this while packaging (serverless.yml resources); a refusal stops `npm run package`
// and `npm run deploy` before anything reaches AWS. It adds no resources. CommonJS: osls loads it with
// require().
'use strict';

/** A refusal osls prints: what is wrong, and the param that makes it right or accepts it. */
class DeploymentRefused extends Error {
  constructor(message) {
    super(`Deployment refused: ${message}`);
    this.name = 'DeploymentRefused';
  }
}

module.exports = async ({ resolveVariable }) => {
  const stage = await resolveVariable('sls:stage');
  const param = (name) => resolveVariable(`param:${name}`).then((value) => String(value ?? ''));
  const production = (await param('production')) === 'true';
  if (production && (await param('alarmTopicArn')) === '' && (await param('allowNoAlarmTopic')) !== 'true') {
    throw new DeploymentRefused(
      `stage ${stage} is a production stage (param production) and its alarms would notify no one: set param ` +
        'alarmTopicArn to an SNS topic ARN, or param allowNoAlarmTopic=true to accept alarms without actions.',
    );
  }
  return {};
};
module.exports.DeploymentRefused = DeploymentRefused;
