import {
  CreateSecretCommand,
  DeleteSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SecretsManagerStore } from '#lib/secrets/secrets-manager-store.ts';
import { type AwsEmulator, awsClientConfig, startAwsEmulator } from '#test/support/aws-emulator.ts';
import { rejectsWithGatewayError } from '#test/support/gateway-error.ts';

const TTL_SECONDS = 300;
const CLIENT_SECRET = 'pa55-w0rd-client-secret';
const JSON_SECRET = JSON.stringify({ client_id: 'gw-basic', client_secret: CLIENT_SECRET, port: 443 });

let emulator: AwsEmulator;
let client: SecretsManagerClient;
let clock: number;
let secretNumber = 0;
const unhandled: unknown[] = [];
const onUnhandledRejection = (reason: unknown): void => {
  unhandled.push(reason);
};

/** A store whose clock the test moves by hand. */
function store(ttlSeconds = TTL_SECONDS): SecretsManagerStore {
  return new SecretsManagerStore(client, { ttlSeconds, now: () => clock });
}

/** A fresh secret name per test, so no test sees another's cache or versions. */
function secretName(): string {
  secretNumber += 1;
  return `gateway/test-${secretNumber}`;
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandledRejection);
  emulator = await startAwsEmulator();
  client = new SecretsManagerClient(awsClientConfig(emulator));
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandledRejection);
  client?.destroy();
  await emulator?.close();
});

beforeEach(() => {
  clock = Date.parse('2025-01-01T00:00:00Z');
  emulator.resetCalls();
});

afterEach(async () => {
  // Rejections are reported as unhandled once the microtask queue drains: let it.
  await new Promise((resolve) => setImmediate(resolve));
  expect(unhandled).toEqual([]);
});

describe('SecretsManagerStore', () => {
  describe('get', () => {
    it('returns a plain string secret', async () => {
      // Prepare
      const name = secretName();
      emulator.putSecret(name, CLIENT_SECRET);

      // Act
      const value = await store().get(name);

      // Assess
      expect(value).toBe(CLIENT_SECRET);
      expect(emulator.calls).toEqual([
        { service: 'secretsmanager', operation: 'GetSecretValue', input: { SecretId: name } },
      ]);
    });

    it('returns one field of a JSON secret', async () => {
      // Prepare
      const name = secretName();
      emulator.putSecret(name, JSON_SECRET);

      // Act
      const value = await store().get(name, 'client_secret');

      // Assess
      expect(value).toBe(CLIENT_SECRET);
    });

    it('finds a secret by its full ARN and by its partial ARN', async () => {
      // Prepare
      const name = secretName();
      const { arn } = emulator.putSecret(name, JSON_SECRET);
      const partialArn = arn.slice(0, -'-abcdef'.length);

      // Act
      const byArn = await store().get(arn, 'client_secret');
      const byPartialArn = await store().get(partialArn, 'client_secret');

      // Assess
      expect([byArn, byPartialArn]).toEqual([CLIENT_SECRET, CLIENT_SECRET]);
      expect(emulator.calls.map((call) => call.input.SecretId)).toEqual([arn, partialArn]);
    });

    it('fails with ERR_SECRET_NOT_FOUND naming a missing field, never the secret value', async () => {
      // Prepare
      const name = secretName();
      emulator.putSecret(name, JSON_SECRET);

      // Act
      const error = await rejectsWithGatewayError(store().get(name, 'clientSecret'), 'ERR_SECRET_NOT_FOUND');

      // Assess
      expect(error.message).toContain('"clientSecret"');
      expect(error.message).toContain(name);
      expect(error.message).not.toContain(CLIENT_SECRET);
      expect(error.message).not.toContain('gw-basic');
    });

    it('fails with ERR_SECRET_NOT_FOUND for a field that is not a string', async () => {
      // Prepare
      const name = secretName();
      emulator.putSecret(name, JSON_SECRET);

      // Act
      const error = await rejectsWithGatewayError(store().get(name, 'port'), 'ERR_SECRET_NOT_FOUND');

      // Assess
      expect(error.message).toContain('"port"');
      expect(error.message).not.toContain('443');
    });

    it('fails with ERR_SECRET_NOT_FOUND for a field of a non-JSON secret, without quoting it', async () => {
      // Prepare
      const name = secretName();
      emulator.putSecret(name, CLIENT_SECRET);

      // Act
      const error = await rejectsWithGatewayError(store().get(name, 'client_secret'), 'ERR_SECRET_NOT_FOUND');

      // Assess
      expect(error.message).toContain('"client_secret"');
      expect(error.message).not.toContain(CLIENT_SECRET);
      expect(error.cause).toBeUndefined(); // JSON.parse's message would quote the secret
    });

    for (const [kind, json, field] of [
      ['a JSON array', JSON.stringify([CLIENT_SECRET]), '0'],
      ['a JSON string', JSON.stringify(CLIENT_SECRET), '0'],
      ['a JSON object, through its prototype', JSON.stringify({}), 'constructor'],
    ] as const) {
      it(`fails with ERR_SECRET_NOT_FOUND for field "${field}" of ${kind}`, async () => {
        // Prepare
        const name = secretName();
        emulator.putSecret(name, json);

        // Act
        const error = await rejectsWithGatewayError(store().get(name, field), 'ERR_SECRET_NOT_FOUND');

        // Assess
        expect(error.message).toContain(`"${field}"`);
        expect(error.message).not.toContain(CLIENT_SECRET);
      });
    }

    it('fails with ERR_SECRET_NOT_FOUND for a secret that does not exist', async () => {
      // Prepare
      const name = secretName();

      // Act
      const error = await rejectsWithGatewayError(store().get(name), 'ERR_SECRET_NOT_FOUND');

      // Assess
      expect(error.message).toContain('ResourceNotFoundException');
      expect(error.message).toContain(name);
    });

    it('returns a binary secret as UTF-8 text', async () => {
      // Prepare
      const name = secretName();
      await client.send(new CreateSecretCommand({ Name: name, SecretBinary: Buffer.from(JSON_SECRET) }));

      // Act
      const value = await store().get(name, 'client_secret');

      // Assess
      expect(value).toBe(CLIENT_SECRET);
    });

    it('fails with ERR_SECRET_NOT_FOUND for a secret scheduled for deletion', async () => {
      // Prepare
      const name = secretName();
      emulator.putSecret(name, CLIENT_SECRET);
      await client.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
      emulator.resetCalls();

      // Act
      const error = await rejectsWithGatewayError(store().get(name), 'ERR_SECRET_NOT_FOUND');

      // Assess
      expect(error.message).toContain('InvalidRequestException');
      expect(error.message).not.toContain(CLIENT_SECRET);
      expect(emulator.countCalls('GetSecretValue')).toBe(1); // a 4xx is not retried
    });

    it('fails with ERR_SECRET_UNAVAILABLE when access is denied', async () => {
      // Prepare
      const name = secretName();
      emulator.putSecret(name, CLIENT_SECRET);
      emulator.failNext('GetSecretValue', 'AccessDeniedException');

      // Act
      const error = await rejectsWithGatewayError(store().get(name), 'ERR_SECRET_UNAVAILABLE');

      // Assess
      expect(error.message).toContain('AccessDeniedException');
      expect(error.message).not.toContain(CLIENT_SECRET);
      expect(emulator.countCalls('GetSecretValue')).toBe(1);
    });
  });

  describe('cache', () => {
    it('answers two gets within the TTL with one GetSecretValue, fields included', async () => {
      // Prepare
      const name = secretName();
      emulator.putSecret(name, JSON_SECRET);
      const secrets = store();

      // Act
      const first = await secrets.get(name, 'client_secret');
      clock += TTL_SECONDS * 1000 - 1;
      const second = await secrets.get(name, 'client_id');

      // Assess
      expect([first, second]).toEqual([CLIENT_SECRET, 'gw-basic']);
      expect(emulator.countCalls('GetSecretValue')).toBe(1);
    });

    it('asks again once the TTL has passed and picks up a rotated value', async () => {
      // Prepare
      const name = secretName();
      emulator.putSecret(name, 'before-rotation');
      const secrets = store();
      const first = await secrets.get(name);
      emulator.putSecret(name, 'after-rotation');

      // Act
      const cached = await secrets.get(name);
      clock += TTL_SECONDS * 1000;
      const refreshed = await secrets.get(name);

      // Assess
      expect([first, cached, refreshed]).toEqual(['before-rotation', 'before-rotation', 'after-rotation']);
      expect(emulator.countCalls('GetSecretValue')).toBe(2);
    });

    it('shares one GetSecretValue among 20 concurrent first gets', async () => {
      // Prepare
      const name = secretName();
      emulator.putSecret(name, JSON_SECRET);
      const secrets = store();

      // Act
      const values = await Promise.all(
        Array.from({ length: 20 }, (_, i) => secrets.get(name, i % 2 === 0 ? 'client_secret' : undefined)),
      );

      // Assess
      expect(values.filter((value) => value === CLIENT_SECRET)).toHaveLength(10);
      expect(values.filter((value) => value === JSON_SECRET)).toHaveLength(10);
      expect(emulator.countCalls('GetSecretValue')).toBe(1);
    });

    it('keeps serving the last value it read while Secrets Manager is unavailable after the TTL', async () => {
      // Prepare
      const name = secretName();
      emulator.putSecret(name, CLIENT_SECRET);
      const stale: string[] = [];
      const secrets = new SecretsManagerStore(client, {
        ttlSeconds: TTL_SECONDS,
        now: () => clock,
        onStale: (secretId) => stale.push(secretId),
      });
      await secrets.get(name);
      clock += TTL_SECONDS * 1000;
      emulator.failNext('GetSecretValue', 'InternalServiceError', 3); // beyond the SDK's 3 attempts

      // Act
      const during = await secrets.get(name);
      const again = await secrets.get(name); // within the next TTL: no new call while the outage lasts

      // Assess
      expect([during, again]).toEqual([CLIENT_SECRET, CLIENT_SECRET]);
      expect(stale).toEqual([name]);
      expect(emulator.countCalls('GetSecretValue')).toBe(4);
    });

    it('stops serving the last value once it is older than maxStaleSeconds, or access was revoked', async () => {
      // Prepare
      const name = secretName();
      emulator.putSecret(name, CLIENT_SECRET);
      const secrets = new SecretsManagerStore(client, {
        ttlSeconds: TTL_SECONDS,
        now: () => clock,
        maxStaleSeconds: 600,
      });
      await secrets.get(name);

      // Act + Assess: revoked access is not an outage.
      clock += TTL_SECONDS * 1000;
      emulator.failNext('GetSecretValue', 'AccessDeniedException');
      await rejectsWithGatewayError(secrets.get(name), 'ERR_SECRET_UNAVAILABLE');

      // Act + Assess: an outage longer than maxStaleSeconds.
      clock += 301 * 1000; // 601 s since the last read
      emulator.failNext('GetSecretValue', 'InternalServiceError', 3);
      await rejectsWithGatewayError(secrets.get(name), 'ERR_SECRET_UNAVAILABLE');
    });

    it('does not serve a deleted secret from its last value', async () => {
      // Prepare
      const name = secretName();
      emulator.putSecret(name, CLIENT_SECRET);
      const secrets = store();
      await secrets.get(name);
      clock += TTL_SECONDS * 1000;
      emulator.failNext('GetSecretValue', 'ResourceNotFoundException');

      // Act + Assess
      await rejectsWithGatewayError(secrets.get(name), 'ERR_SECRET_NOT_FOUND');
    });

    it('does not cache a failure: the next get asks again and succeeds', async () => {
      // Prepare
      const name = secretName();
      emulator.putSecret(name, CLIENT_SECRET);
      emulator.failNext('GetSecretValue', 'AccessDeniedException');
      const secrets = store();

      // Act
      const failures = await Promise.allSettled(Array.from({ length: 5 }, () => secrets.get(name)));
      const value = await secrets.get(name);

      // Assess
      expect(failures.map((failure) => failure.status)).toEqual(Array(5).fill('rejected'));
      expect(value).toBe(CLIENT_SECRET);
      expect(emulator.countCalls('GetSecretValue')).toBe(2);
    });

    it('does not cache a missing secret: it is found once it exists', async () => {
      // Prepare
      const name = secretName();
      const secrets = store();
      await rejectsWithGatewayError(secrets.get(name), 'ERR_SECRET_NOT_FOUND');
      emulator.putSecret(name, CLIENT_SECRET);

      // Act
      const value = await secrets.get(name);

      // Assess
      expect(value).toBe(CLIENT_SECRET);
      expect(emulator.countCalls('GetSecretValue')).toBe(2);
    });

    it('asks every time with a TTL of 0', async () => {
      // Prepare
      const name = secretName();
      emulator.putSecret(name, CLIENT_SECRET);
      const secrets = store(0);

      // Act
      await secrets.get(name);
      await secrets.get(name);

      // Assess
      expect(emulator.countCalls('GetSecretValue')).toBe(2);
    });

    it('keeps no value for an outage with a TTL of 0: the outage is the answer (issue 17, item 8)', async () => {
      // Prepare
      const name = secretName();
      emulator.putSecret(name, CLIENT_SECRET);
      const secrets = store(0);
      await secrets.get(name);
      emulator.failNext('GetSecretValue', 'InternalServiceError', 3); // beyond the SDK's 3 attempts

      // Act
      const during = secrets.get(name);

      // Assess
      await expect(during).rejects.toMatchObject({ code: 'ERR_SECRET_UNAVAILABLE' });
    });

    it('keeps a value served through an outage for a TTL from when the failed read ended', async () => {
      // Prepare: a 5 s TTL, and a read that fails only after 6 s (the store's clock moves while it waits).
      const name = secretName();
      emulator.putSecret(name, CLIENT_SECRET);
      const secrets = new SecretsManagerStore(client, { ttlSeconds: 5, now: () => clock });
      await secrets.get(name);
      clock += 5_000;
      emulator.setLatency('GetSecretValue', 50);
      emulator.failNext('GetSecretValue', 'InternalServiceError', 3);
      const failing = secrets.get(name);
      clock += 6_000; // the read still under way
      await failing;
      emulator.setLatency('GetSecretValue', 0);
      const calls = emulator.countCalls('GetSecretValue');

      // Act: 4 s after the failed read ended, 10 s after it started.
      clock += 4_000;
      const later = await secrets.get(name);

      // Assess: still the value kept through the outage; Secrets Manager was not asked again.
      expect(later).toBe(CLIENT_SECRET);
      expect(emulator.countCalls('GetSecretValue')).toBe(calls);
    });
  });
});
