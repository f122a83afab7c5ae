// The fixed names of the functions and their roles, for any stage and Region. osls calls this while
// packaging (serverless.yml custom.functionNames, custom.roleNames).
//
// The names are fixed so the KMS key policies can name the roles without a reference (infra/iam.yml).
// Lambda function names and IAM role names are at most 64 characters: `<service>-<stage>-<region>-token`
// passes that with a stage of 25 characters in ap-southeast-2, and CloudFormation would refuse the stack
// only when deploying. A name that would be longer keeps its readable start and ends in a hash of the
// whole name plus the function, so it still fits, still differs per stage and Region, and never changes
// for a stage whose names already fit (renaming a role would lock it out of the keys it signs with).
'use strict';
const { createHash } = require('node:crypto');

/** Lambda FunctionName and IAM RoleName maximum length. */
const MAX_NAME_LENGTH = 64;
const FUNCTIONS = ['token', 'jwks', 'health'];

/** `<prefix>-<fn>`, or, past the limit, `<start of prefix>-<8 hex of sha256(prefix)>-<fn>`. */
function fittedName(prefix, fn) {
  const name = `${prefix}-${fn}`;
  if (name.length <= MAX_NAME_LENGTH) return name;
  const hash = createHash('sha256').update(prefix).digest('hex').slice(0, 8);
  const keep = MAX_NAME_LENGTH - fn.length - hash.length - 2;
  return `${prefix.slice(0, keep).replace(/-+$/, '')}-${hash}-${fn}`;
}

module.exports = async ({ resolveVariable }) => {
  const service = await resolveVariable('self:service');
  const stage = await resolveVariable('sls:stage');
  const region = await resolveVariable('self:provider.region');
  const names = (prefix) => Object.fromEntries(FUNCTIONS.map((fn) => [fn, fittedName(prefix, fn)]));
  return {
    functionNames: names(`${service}-${stage}`),
    roleNames: names(`${service}-${stage}-${region}`),
  };
};
module.exports.fittedName = fittedName;
module.exports.MAX_NAME_LENGTH = MAX_NAME_LENGTH;
