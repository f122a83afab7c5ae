// npm run bench:deadlines: how long a request takes to fail (or to get through) when a dependency hangs,
// against the deployed token function's 29 s budget. Real SDK clients with the gateway's own settings are
// pointed at a TCP endpoint that accepts connections and never answers; the authorization server is the
// demo one, behind a proxy that stalls it. Results: docs/ARCHITECTURE.md (Deadlines and budgets).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GatewayConfigInput } from '#lib/config/schema.ts';
import type { HttpResult } from '#lib/http/middleware.ts';
import { exitWithUsageIfAsked } from './usage.ts';

exitWithUsageIfAsked(import.meta.url);

// Before the gateway's modules load: the failures below are expected, their log lines are noise here.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
const { KMSClient } = await import('@aws-sdk/client-kms');
const { SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
const { awsClientSettings, DYNAMODB_CALL_LIMITS, KMS_CALL_LIMITS, SECRETS_MANAGER_CALL_LIMITS } =
  await import('#lib/aws/call-limits.ts');
const { createGateway } = await import('#lib/composition.ts');
const { parseConfig } = await import('#lib/config/load-config.ts');
const { tokenHandler } = await import('#lib/http/handlers.ts');
const { startDemoAuthorizationServer } = await import('#lib/local/demo-authorization-server.ts');
const { apiKeyHash } = await import('#lib/policy/caller-policy.ts');
const { SigningKeyRing } = await import('#lib/signing/key-ring.ts');
const { LocalSigner } = await import('#lib/signing/local-signer.ts');
const { httpApiEvent, lambdaContext } = await import('#test/support/api-gateway-events.ts');
const { startFaultProxy } = await import('#test/support/fault-proxy.ts');
const { startHangingEndpoint } = await import('#test/support/hanging-endpoint.ts');
const { serveJwks } = await import('#test/support/jwks-server.ts');

/** The token function's timeout in serverless.yml. */
const LAMBDA_MS = 29_000;
const INLINE_KEY = 'bench-inline-key';
const HELD_KEY = 'bench-held-key';

const dir = await mkdtemp(join(tmpdir(), 'bench-deadlines-'));
const keyPath = join(dir, 'signing-key.json');
const keyRing = new SigningKeyRing([
  { signer: new LocalSigner({ id: 'primary', path: keyPath, generate: true }), retired: false },
]);
const jwks = await serveJwks(keyRing);
await keyRing.jwks();
const as = await startDemoAuthorizationServer({
  clients: [
    {
      client_id: 'gw',
      client_secret: 'gw-secret',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['urn:ietf:params:oauth:grant-type:jwt-bearer'],
      scope: 'openid demo.read',
    },
  ],
  trustedIssuers: [{ issuer: 'gateway', jwksUri: jwks.url, clientIds: ['gw'] }],
});
const hanging = await startHangingEndpoint();
const slowAs = await startFaultProxy(as.issuer);
await writeFile(join(dir, 'cache.key'), Buffer.alloc(32, 9).toString('base64'));

const at = {
  endpoint: hanging.origin,
  region: 'us-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
};
const target = (extra: Record<string, unknown> = {}): GatewayConfigInput['targets'][string] => ({
  tokenEndpoint: as.tokenEndpoint,
  clientId: 'gw',
  clientAuthentication: { method: 'client_secret_basic' as const, secret: { env: 'GW_SECRET' } },
  assertion: { issuer: 'gateway', audience: { value: as.tokenEndpoint } },
  scope: 'demo.read',
  ...extra,
});
const heldKeyCaller = { apiKeys: [{ secretsManager: { secretId: 'callers/held' } }], targets: { demo: {} } };

/** Sends `concurrency` token requests, each with a fresh Lambda context of LAMBDA_MS; prints answers and time. */
async function scenario(
  name: string,
  overrides: Partial<GatewayConfigInput>,
  apiKey = INLINE_KEY,
  concurrency = 1,
) {
  const { config } = parseConfig({
    signingKeys: { primary: { type: 'local', path: keyPath } },
    targets: { demo: target() },
    callers: { mainframe: { apiKeys: [{ sha256: apiKeyHash(INLINE_KEY) }], targets: { demo: {} } } },
    ...overrides,
  } as GatewayConfigInput);
  const gateway = createGateway(config, {
    env: { GW_SECRET: 'gw-secret' },
    aws: {
      kms: new KMSClient({ ...awsClientSettings(KMS_CALL_LIMITS), ...at }),
      secretsManager: new SecretsManagerClient({ ...awsClientSettings(SECRETS_MANAGER_CALL_LIMITS), ...at }),
      dynamodb: new DynamoDBClient({ ...awsClientSettings(DYNAMODB_CALL_LIMITS, 2), ...at }),
    },
  });
  const handler = tokenHandler(async () => gateway);
  const connections = hanging.connections;
  const started = performance.now();
  const answers = await Promise.all(
    Array.from({ length: concurrency }, async () => {
      const end = Date.now() + LAMBDA_MS;
      const event = httpApiEvent({
        headers: { 'x-api-key': apiKey },
        body: { target: 'demo', subject: 'CICSUSR1' },
      });
      const result = (await handler(event, {
        ...lambdaContext(),
        getRemainingTimeInMillis: () => end - Date.now(),
      })) as HttpResult;
      const { error } = JSON.parse(result.body ?? '{}') as { error?: string };
      return `${result.statusCode} ${error ?? 'token'}`;
    }),
  );
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  const answered = [...new Set(answers)].join(', ');
  console.log(
    `${name.padEnd(48)} ${answered.padEnd(26)} ${seconds} s of ${LAMBDA_MS / 1000} s; ${hanging.connections - connections} hung AWS connections`,
  );
}

try {
  await scenario('KMS hangs (GetPublicKey, then Sign)', {
    signingKeys: { primary: { type: 'kms', keyId: 'alias/gateway' } },
  });
  await scenario('Secrets Manager hangs (client secret)', {
    targets: {
      demo: target({
        clientAuthentication: {
          method: 'client_secret_basic',
          secret: { secretsManager: { secretId: 'gw' } },
        },
      }),
    },
  });
  await scenario('Secrets Manager hangs (held API key hash)', { callers: { held: heldKeyCaller } }, HELD_KEY);
  await scenario('Secrets Manager hangs (inline API key hash)', {
    callers: {
      mainframe: { apiKeys: [{ sha256: apiKeyHash(INLINE_KEY) }], targets: { demo: {} } },
      held: heldKeyCaller,
    },
  });
  await scenario('DynamoDB hangs', {
    cache: { dynamodb: { tableName: 'tokens', encryption: { localKeyFile: join(dir, 'cache.key') } } },
  });
  slowAs.inject(...Array.from({ length: 50 }, () => ({ kind: 'delay', ms: 20_000 }) as const));
  await scenario(
    'AS stalls 20 s (22 concurrent requests)',
    { targets: { demo: target({ tokenEndpoint: `${slowAs.origin}/token` }) } },
    INLINE_KEY,
    22,
  );
  console.log(`${''.padEnd(48)} ${slowAs.requests.length} token requests reached the authorization server`);
  process.exitCode = 0;
} finally {
  await slowAs.close();
  await hanging.close();
  await as.close();
  await jwks.close();
  await rm(dir, { recursive: true, force: true });
}
