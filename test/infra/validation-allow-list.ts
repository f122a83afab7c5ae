// The validator's warnings (`@aws/cloudformation-validate`) that stay, each with why. validate.test.ts
// fails on any WARN not matched here, and on an entry here that no set produces any more.
export interface AllowedWarning {
  readonly ruleId: string;
  /** Matched against the finding's message. */
  readonly message: RegExp;
  /** When given, only findings on these logical ids. */
  readonly entities?: readonly string[];
  readonly reason: string;
}

export const ALLOWED_WARNINGS: readonly AllowedWarning[] = [
  {
    ruleId: 'W1030',
    message:
      /^\{'Ref': 'AlarmTopicArn'\} default '' has length 0, below minimum 1 for property '(AlarmActions|OKActions)\.0'$/,
    reason:
      "The alarms' actions are !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]: with the empty default " +
      'the list is never created. The validator checks the default without the condition.',
  },
  {
    ruleId: 'W3005',
    message: /dependency already enforced by a '(GetAtt|Ref)' at /,
    reason:
      'osls writes these DependsOn (functions on their role and log group, routes on their integration, the stage ' +
      'on its log group); serverless.yml cannot remove them, and a redundant DependsOn changes nothing.',
  },
  {
    ruleId: 'W9013',
    message: /^Hardcoded account ID in ARN - use AWS::AccountId pseudo-parameter$/,
    reason:
      "The lambda set's Lambda::Permission names param callerAuthorizerArn, the deployer's own authorizer function: " +
      'its ARN is given, possibly in another account (a central authorizer), so it cannot be built from AWS::AccountId.',
  },
  {
    ruleId: 'W1030',
    message:
      /^\{'Ref': '(SigningKeyBlue|SigningKeyGreen|CacheKey)PrimaryArn'\} default '' has length 0, below minimum 1 for property 'PrimaryKeyArn'$/,
    reason:
      'The replica keys exist only in a standby Region (Condition ReplicatesSigningKey<Slot>, IsStandbyRegion), where ' +
      'infra/deployment-checks.cjs refuses to package without these ARNs. The validator checks the default without the condition.',
  },
  {
    ruleId: 'W9002',
    message: /^Property 'PrimaryKeyArn' has a hardcoded ARN - use Ref, GetAtt, or a parameter instead$/,
    reason:
      "A standby Region's replica keys name the primary Region's multi-Region keys by param (signingKeyBluePrimaryArn, " +
      'cacheKeyPrimaryArn): they belong to another stack in another Region, so no Ref or GetAtt can reach them. The ' +
      'validator reads the parameter default the package gave it as hardcoded.',
  },
  {
    ruleId: 'W1001',
    message: /^Reference to 'PublicHttpApi' which is conditional on 'NeedsPublicApi' - target may not exist$/,
    entities: ['JwksUrl', 'HealthUrl'],
    reason:
      "The outputs name PublicHttpApi only inside !If [NeedsPublicApi, ...], the resource's own condition. The " +
      'validator does not apply an Fn::If condition inside Outputs (it warns even on !If [C, !Ref R, x] with R ' +
      'conditional on C); a separate conditional output would give the URL to register two names.',
  },
];
