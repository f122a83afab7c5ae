import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '#lib/composition.ts';
import { parseConfig } from '#lib/config/load-config.ts';
import type { GatewayConfigInput } from '#lib/config/schema.ts';
import { GatewayError } from '#lib/errors.ts';
import {
  type DemoAuthorizationServer,
  startDemoAuthorizationServer,
} from '#lib/local/demo-authorization-server.ts';
import { type AwsEmulator, awsClientConfig, startAwsEmulator } from '#test/support/aws-emulator.ts';
import { serveJwks } from '#test/support/jwks-server.ts';
import { freePort } from '#test/support/ports.ts';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const SIGNING_ALIAS = 'alias/gateway-assertions';
let signingKeyArn: string;
const SECRET_ID = 'gateway/demo-as/gw-basic';
// RFC 6749 2.3.1 encoding is exercised too: the secret holds characters Basic must form-encode.
const BASIC_SECRET = 's3cr:t+/%= x';
const introspector = { client_id: 'introspector', client_secret: 'introspector-secret' };

let emulator: AwsEmulator;
let kms: KMSClient;
let secretsManager: SecretsManagerClient;
let as: DemoAuthorizationServer;
let jwks: { url: string; close(): Promise<void> };
let gateway: Gateway;
let issuer: string;

/** The gateway's configuration for the demo AS, signing with `keyId`. */
function gatewayConfig(keyId: string): GatewayConfigInput {
  return {
    signingKeys: { assertions: { type: 'kms', keyId } },
    targets: {
      basic: {
        tokenEndpoint: `${issuer}/token`,
        clientId: 'gw-basic',
        clientAuthentication: {
          method: 'client_secret_basic',
          secret: { secretsManager: { secretId: SECRET_ID, field: 'client_secret' } },
        },
        assertion: { issuer: 'gateway' },
      },
      pkjwt: {
        issuer,
        tokenEndpoint: `${issuer}/token`,
        clientId: 'gw-pkjwt',
        clientAuthentication: { method: 'private_key_jwt', audience: 'issuer' },
        assertion: { issuer: 'gateway' },
      },
    },
  };
}

function gatewayFor(keyId: string): Gateway {
  return createGateway(parseConfig(gatewayConfig(keyId)).config, { aws: { kms, secretsManager } });
}

beforeAll(async () => {
  emulator = await startAwsEmulator();
  kms = new KMSClient(awsClientConfig(emulator));
  secretsManager = new SecretsManagerClient(awsClientConfig(emulator));
  signingKeyArn = (await emulator.createKey('ECC_NIST_P256', 'SIGN_VERIFY', SIGNING_ALIAS)).arn;
  emulator.putSecret(SECRET_ID, JSON.stringify({ client_id: 'gw-basic', client_secret: BASIC_SECRET }));

  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  gateway = gatewayFor(SIGNING_ALIAS);
  jwks = await serveJwks(gateway.keyRing);
  as = await startDemoAuthorizationServer({
    port,
    clients: [
      {
        client_id: 'gw-basic',
        client_secret: BASIC_SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: [JWT_BEARER],
        scope: 'openid payments.read',
      },
      {
        client_id: 'gw-pkjwt',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: jwks.url,
        grant_types: [JWT_BEARER],
        scope: 'openid payments.read',
      },
      {
        ...introspector,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
      },
    ],
    trustedIssuers: [{ issuer: 'gateway', jwksUri: jwks.url, clientIds: ['gw-basic', 'gw-pkjwt'] }],
  });
});

afterAll(async () => {
  await as?.close();
  await jwks?.close();
  kms?.destroy();
  secretsManager?.destroy();
  await emulator?.close();
});

beforeEach(() => {
  emulator.resetCalls();
});

describe('KMS-signed exchange', () => {
  describe('exchange', () => {
    it('obtains a token with a KMS-signed assertion and a client secret from Secrets Manager', async () => {
      // Prepare
      const request = { target: 'basic', subject: 'CICSUSR1', scope: 'payments.read' };

      // Act
      const result = await gateway.exchanger.exchange(request);

      // Assess
      expect(await as.introspect(result.token.accessToken, introspector)).toMatchObject({
        active: true,
        sub: 'CICSUSR1',
        client_id: 'gw-basic',
        scope: 'payments.read',
      });
      const recorded = as.tokenRequests.at(-1)!;
      expect(recorded).toMatchObject({ grantType: JWT_BEARER, clientId: 'gw-basic', status: 200 });
      const { keys } = await gateway.keyRing.jwks();
      expect(decodeProtectedHeader(recorded.params.assertion!)).toEqual({
        alg: 'ES256',
        kid: keys[0]!.kid,
        typ: 'JWT',
      });
      expect(decodeJwt(recorded.params.assertion!)).toMatchObject({
        iss: 'gateway',
        sub: 'CICSUSR1',
        aud: as.tokenEndpoint,
      });
      const secretReads = emulator.calls.filter((call) => call.operation === 'GetSecretValue');
      expect(secretReads.map((call) => call.input)).toEqual([{ SecretId: SECRET_ID }]);
      const signs = emulator.calls.filter((call) => call.operation === 'Sign');
      expect(signs.map((call) => call.input)).toEqual([
        expect.objectContaining({
          KeyId: signingKeyArn, // the key the alias resolved to when it was described
          MessageType: 'DIGEST',
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      ]);
    });

    it('authenticates with private_key_jwt, both JWTs signed in KMS', async () => {
      // Prepare
      const before = emulator.countCalls('Sign');

      // Act
      const result = await gateway.exchanger.exchange({
        target: 'pkjwt',
        subject: 'CICSUSR2',
        scope: 'openid',
      });

      // Assess
      expect(await as.introspect(result.token.accessToken, introspector)).toMatchObject({
        active: true,
        sub: 'CICSUSR2',
        client_id: 'gw-pkjwt',
        scope: 'openid',
      });
      const recorded = as.tokenRequests.at(-1)!;
      expect(recorded).toMatchObject({ clientId: 'gw-pkjwt', status: 200 });
      expect(decodeJwt(recorded.params.client_assertion!)).toMatchObject({
        iss: 'gw-pkjwt',
        sub: 'gw-pkjwt',
        aud: issuer,
      });
      expect(decodeProtectedHeader(recorded.params.client_assertion!).alg).toBe('ES256');
      expect(emulator.countCalls('Sign') - before).toBe(2); // the assertion and the client assertion
    });

    it('reads the client secret once for several exchanges (cached within the TTL)', async () => {
      // Prepare
      const fresh = gatewayFor(SIGNING_ALIAS);

      // Act
      const results = await Promise.all(
        ['CICSUSR3', 'CICSUSR4', 'CICSUSR5'].map((subject) =>
          fresh.exchanger.exchange({ target: 'basic', subject }),
        ),
      );

      // Assess
      for (const [index, result] of results.entries()) {
        expect(await as.introspect(result.token.accessToken, introspector)).toMatchObject({
          sub: `CICSUSR${index + 3}`,
          client_id: 'gw-basic',
        });
      }
      expect(emulator.countCalls('GetSecretValue')).toBe(1);
      expect(emulator.countCalls('GetPublicKey')).toBe(1);
    });
  });

  describe('faults', () => {
    for (const target of ['basic', 'pkjwt'] as const) {
      it(`fails with ERR_SIGNING_KEY_UNUSABLE for a disabled key, sending nothing to the AS (${target})`, async () => {
        // Prepare
        const { keyId } = await emulator.createKey('ECC_NIST_P256');
        emulator.disableKey(keyId);
        const disabled = gatewayFor(keyId);
        const before = as.tokenRequests.length;

        // Act
        const error = await disabled.exchanger
          .exchange({ target, subject: 'CICSUSR1' })
          .catch((reason: unknown) => reason);

        // Assess
        expect(error).toBeInstanceOf(GatewayError);
        expect(error).toMatchObject({ code: 'ERR_SIGNING_KEY_UNUSABLE' });
        expect(as.tokenRequests.length).toBe(before);
        expect(emulator.countCalls('Sign')).toBe(0);
      });
    }

    it('fails with ERR_SIGNING_KEY_UNUSABLE when the key is disabled after it was published', async () => {
      // Prepare
      const { keyId } = await emulator.createKey('ECC_NIST_P256');
      const disabledLater = gatewayFor(keyId);
      await disabledLater.keyRing.jwks();
      emulator.disableKey(keyId);
      const before = as.tokenRequests.length;

      // Act
      const error = await disabledLater.exchanger
        .exchange({ target: 'basic', subject: 'CICSUSR1' })
        .catch((reason: unknown) => reason);

      // Assess
      expect(error).toBeInstanceOf(GatewayError);
      expect(error).toMatchObject({ code: 'ERR_SIGNING_KEY_UNUSABLE' });
      expect(as.tokenRequests.length).toBe(before);
      expect(emulator.countCalls('Sign')).toBe(1);
    });
  });
});
