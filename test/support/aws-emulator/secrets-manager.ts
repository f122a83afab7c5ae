// Secrets Manager (`secretsmanager.*`) for the AWS emulator: secrets, their versions and staging labels,
// deletion, and the operations the gateway calls.
import { randomBytes, randomUUID } from 'node:crypto';
import {
  ACCOUNT_ID,
  AwsError,
  epochSeconds,
  type Output,
  optionalBlob,
  optionalInteger,
  optionalString,
  requiredString,
} from './protocol.ts';

// ---------------------------------------------------------------------------------------------------------
// Secrets Manager: state and operations
// ---------------------------------------------------------------------------------------------------------

interface SecretValue {
  string?: string;
  binary?: Buffer;
}

interface SecretVersion {
  id: string;
  value: SecretValue;
  createdAt: number;
  stages: Set<string>;
}

interface Secret {
  name: string;
  arn: string;
  createdAt: number;
  deletedAt?: number;
  versions: Map<string, SecretVersion>;
}

const SECRET_NOT_FOUND = "Secrets Manager can't find the specified secret.";
const SECRET_MARKED_FOR_DELETION =
  "You can't perform this operation on the secret because it was marked for deletion.";
const SECRET_ID_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export class SecretsState {
  readonly region: string;
  private readonly secrets = new Map<string, Secret>();

  constructor(region: string) {
    this.region = region;
  }

  create(name: string, value: SecretValue | undefined, versionId: string): Secret {
    const existing = this.secrets.get(name);
    if (existing?.deletedAt !== undefined) {
      throw new AwsError(
        'InvalidRequestException',
        "You can't create this secret because a secret with this name is already scheduled for deletion.",
      );
    }
    if (existing) {
      throw new AwsError(
        'ResourceExistsException',
        `The operation failed because the secret ${name} already exists.`,
      );
    }
    const secret: Secret = {
      name,
      // Secrets Manager appends a hyphen and six random characters to the name in the ARN.
      arn: `arn:aws:secretsmanager:${this.region}:${ACCOUNT_ID}:secret:${name}-${randomSuffix()}`,
      createdAt: Date.now(),
      versions: new Map(),
    };
    this.secrets.set(name, secret);
    if (value) this.addVersion(secret, value, versionId);
    return secret;
  }

  /** The new version becomes AWSCURRENT and the previous current one AWSPREVIOUS, as PutSecretValue does. */
  addVersion(secret: Secret, value: SecretValue, versionId: string): SecretVersion {
    const existing = secret.versions.get(versionId);
    if (existing) {
      if (sameValue(existing.value, value)) return existing; // an idempotent retry of the same request
      throw new AwsError(
        'ResourceExistsException',
        "You can't modify an existing version, you can only create a new version.",
      );
    }
    for (const version of secret.versions.values()) {
      version.stages.delete('AWSPREVIOUS');
      if (version.stages.delete('AWSCURRENT')) version.stages.add('AWSPREVIOUS');
    }
    const version: SecretVersion = {
      id: versionId,
      value,
      createdAt: Date.now(),
      stages: new Set(['AWSCURRENT']),
    };
    secret.versions.set(versionId, version);
    return version;
  }

  /** SecretId is a name, the full ARN, or the ARN without its random suffix (a partial ARN). */
  find(secretId: string): Secret {
    for (const secret of this.secrets.values()) {
      const partialArn = secret.arn.slice(0, -'-abcdef'.length);
      if (secretId === secret.name || secretId === secret.arn || secretId === partialArn) return secret;
    }
    throw new AwsError('ResourceNotFoundException', SECRET_NOT_FOUND);
  }

  findLive(secretId: string): Secret {
    const secret = this.find(secretId);
    if (secret.deletedAt !== undefined) {
      throw new AwsError('InvalidRequestException', SECRET_MARKED_FOR_DELETION);
    }
    return secret;
  }

  remove(secret: Secret): void {
    this.secrets.delete(secret.name);
  }

  putString(name: string, value: string): string {
    const secret = this.secrets.get(name);
    if (!secret) return this.create(name, { string: value }, randomUUID()).arn;
    this.addVersion(this.findLive(name), { string: value }, randomUUID());
    return secret.arn;
  }
}

function randomSuffix(): string {
  return Array.from(randomBytes(6), (byte) => SECRET_ID_CHARS[byte % SECRET_ID_CHARS.length]).join('');
}

function sameValue(a: SecretValue, b: SecretValue): boolean {
  if (a.string !== b.string) return false;
  if (a.binary === undefined || b.binary === undefined) return a.binary === b.binary;
  return a.binary.equals(b.binary);
}

function secretValueOf(input: Record<string, unknown>, required: boolean): SecretValue | undefined {
  const string = optionalString(input, 'SecretString');
  const binary = optionalBlob(input, 'SecretBinary', { min: 1, max: 65536 });
  if (string !== undefined && binary !== undefined) {
    throw new AwsError(
      'InvalidParameterException',
      "You can't specify both a binary secret value and a string secret value in the same secret.",
    );
  }
  if (string === undefined && binary === undefined) {
    if (!required) return undefined;
    throw new AwsError('InvalidRequestException', 'You must provide either SecretString or SecretBinary.');
  }
  return string === undefined ? { binary } : { string };
}

function selectVersion(
  secret: Secret,
  versionId: string | undefined,
  stage: string | undefined,
): SecretVersion {
  if (versionId !== undefined) {
    const version = secret.versions.get(versionId);
    if (!version || (stage !== undefined && !version.stages.has(stage))) {
      throw new AwsError(
        'ResourceNotFoundException',
        `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`,
      );
    }
    return version;
  }
  const label = stage ?? 'AWSCURRENT';
  const version = [...secret.versions.values()].find((v) => v.stages.has(label));
  if (!version) {
    throw new AwsError(
      'ResourceNotFoundException',
      `Secrets Manager can't find the specified secret value for staging label: ${label}`,
    );
  }
  return version;
}

type SecretsHandler = (secrets: SecretsState, input: Record<string, unknown>) => Promise<Output>;

export const SECRETS_OPERATIONS: Readonly<Record<string, SecretsHandler>> = {
  CreateSecret: async (secrets, input) => {
    const name = requiredString(input, 'Name');
    const value = secretValueOf(input, false);
    // The SDK fills ClientRequestToken (an idempotency token) itself; AWS uses it as the VersionId.
    const versionId = optionalString(input, 'ClientRequestToken') ?? randomUUID();
    const secret = secrets.create(name, value, versionId);
    return { ARN: secret.arn, Name: secret.name, ...(value ? { VersionId: versionId } : {}) };
  },

  PutSecretValue: async (secrets, input) => {
    const secret = secrets.findLive(requiredString(input, 'SecretId'));
    const value = secretValueOf(input, true)!;
    const version = secrets.addVersion(
      secret,
      value,
      optionalString(input, 'ClientRequestToken') ?? randomUUID(),
    );
    return { ARN: secret.arn, Name: secret.name, VersionId: version.id, VersionStages: [...version.stages] };
  },

  GetSecretValue: async (secrets, input) => {
    const secret = secrets.findLive(requiredString(input, 'SecretId'));
    const version = selectVersion(
      secret,
      optionalString(input, 'VersionId'),
      optionalString(input, 'VersionStage'),
    );
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.id,
      ...(version.value.string === undefined
        ? { SecretBinary: version.value.binary!.toString('base64') }
        : { SecretString: version.value.string }),
      VersionStages: [...version.stages],
      CreatedDate: epochSeconds(version.createdAt),
    };
  },

  DeleteSecret: async (secrets, input) => {
    const secret = secrets.find(requiredString(input, 'SecretId'));
    const windowDays = optionalInteger(input, 'RecoveryWindowInDays', { min: 7, max: 30 });
    const force = input.ForceDeleteWithoutRecovery === true;
    if (force && windowDays !== undefined) {
      throw new AwsError(
        'InvalidParameterException',
        "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
      );
    }
    if (force) {
      secrets.remove(secret);
      return { ARN: secret.arn, Name: secret.name, DeletionDate: epochSeconds(Date.now()) };
    }
    secret.deletedAt ??= Date.now() + (windowDays ?? 30) * 86_400_000;
    return { ARN: secret.arn, Name: secret.name, DeletionDate: epochSeconds(secret.deletedAt) };
  },
};
