import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import { TOKEN_TABLE } from '../cache/table.ts';
import type { GatewayConfig } from '../config/schema.ts';
import { secretReferences } from '../config/secret-references.ts';
import type { TokenExchanger } from '../oauth/token-exchanger.ts';
import type { SecretResolver } from '../secrets/resolve-secret.ts';
import type { SigningKeyRing } from '../signing/key-ring.ts';
import type { DependencyCheck } from './probe.ts';

export interface ReadinessDependencies {
  readonly config: GatewayConfig;
  readonly kms: () => KMSClient;
  readonly keyRing: SigningKeyRing;
  /** Checks secrets past the cache: readiness must see Secrets Manager, not what we kept of it. */
  readonly secrets: Pick<SecretResolver, 'check'>;
  readonly exchanger: TokenExchanger;
  /** The shared cache table, when the configuration has one. */
  readonly table?: { readonly client: DynamoDBClient; readonly tableName: string } | undefined;
}

/** An item key no cache entry can have (entries are SHA-256 hex): reading it costs one read unit. */
const PROBE_KEY = 'readiness-probe';

/**
 * One check per dependency of the token function, each a real call with only the permissions the function
 * already has: KMS GetPublicKey per signing key (what Sign needs too: exists, enabled, the role may use it),
 * every secret the configuration references (a GetSecretValue past the secret cache: a value kept through an
 * outage must not hide it),
 * a GetItem on the table, and each target's authorization server (TokenExchanger.probe).
 */
export function dependencyChecks(deps: ReadinessDependencies): DependencyCheck[] {
  const checks: DependencyCheck[] = [];
  for (const [id, key] of Object.entries(deps.config.signingKeys)) {
    checks.push({
      name: `signing_key:${id}`,
      run:
        key.type === 'kms'
          ? async (signal) => {
              // Imported here: the token function loads the AWS SDK only for what it uses (lib/lazy-adapter.ts).
              const { GetPublicKeyCommand } = await import('@aws-sdk/client-kms');
              await deps.kms().send(new GetPublicKeyCommand({ KeyId: key.keyId }), { abortSignal: signal });
            }
          : async () => {
              await deps.keyRing.describe(id);
            },
    });
  }
  for (const { path, reference } of secretReferences(deps.config)) {
    checks.push({
      name: `secret:${path}`,
      run: (signal) => deps.secrets.check(reference, signal),
    });
  }
  const table = deps.table;
  if (table) {
    checks.push({
      name: 'table',
      run: async (signal) => {
        const { GetItemCommand } = await import('@aws-sdk/client-dynamodb');
        await table.client.send(
          new GetItemCommand({
            TableName: table.tableName,
            Key: { [TOKEN_TABLE.partitionKey]: { S: PROBE_KEY } },
            ProjectionExpression: TOKEN_TABLE.partitionKey,
          }),
          { abortSignal: signal },
        );
      },
    });
  }
  for (const target of Object.keys(deps.config.targets)) {
    checks.push({ name: `target:${target}`, run: (signal) => deps.exchanger.probe(target, signal) });
  }
  return checks;
}
