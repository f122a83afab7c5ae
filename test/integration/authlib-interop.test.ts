import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '#lib/config/load-config.ts';
import type { GatewayConfigInput } from '#lib/config/schema.ts';
import { TokenExchanger } from '#lib/oauth/token-exchanger.ts';
import { SecretResolver } from '#lib/secrets/resolve-secret.ts';
import { SigningKeyRing } from '#lib/signing/key-ring.ts';
import { type AuthlibServer, startAuthlibServer } from '#test/support/authlib-server.ts';

// Unreserved characters only: RFC 6749 2.3.1's form encoding leaves them as they are, so a server that
// never decodes Basic credentials (Authlib 1.2) must still accept them.
const UNRESERVED_ID = 'gw-basic.v1_~';
const UNRESERVED_SECRET = 'Az09-._~s3cret';
// Characters the form encoding must escape: only a raw value reaches such a server intact.
const RAW_ID = 'gw-raw';
const RAW_SECRET = 's3cr:t+/%= x';

let authlib: AuthlibServer;

beforeAll(async () => {
  authlib = await startAuthlibServer([
    { client_id: UNRESERVED_ID, client_secret: UNRESERVED_SECRET, scope: 'orders.read' },
    { client_id: RAW_ID, client_secret: RAW_SECRET, scope: 'orders.read' },
  ]);
});

afterAll(async () => {
  await authlib?.close();
});

function exchangerFor(target: Record<string, unknown>): TokenExchanger {
  const { config } = parseConfig({
    environment: 'development',
    signingKeys: { unused: { type: 'local', path: 'unused' } },
    targets: { authlib: { tokenEndpoint: authlib.tokenEndpoint, grant: 'client_credentials', ...target } },
  } as unknown as GatewayConfigInput);
  return new TokenExchanger({ config, keyRing: new SigningKeyRing([]), secrets: new SecretResolver({}) });
}

describe('client_secret_basic against Authlib (a server that does not URL-decode Basic credentials)', () => {
  describe('encoding: form (the default)', () => {
    it('leaves unreserved characters (- . _ ~) unescaped, so the server reads them as they are', async () => {
      // Prepare
      const exchanger = exchangerFor({
        clientId: UNRESERVED_ID,
        clientAuthentication: { method: 'client_secret_basic', secret: { value: UNRESERVED_SECRET } },
        scope: 'orders.read',
      });

      // Act
      const result = await exchanger.exchange({ target: 'authlib', subject: 'unused' });

      // Assess
      expect(result.token).toMatchObject({ tokenType: 'bearer', scope: 'orders.read' });
      expect(result.token.accessToken.length).toBeGreaterThan(20);
    });

    it('escapes what the form encoding must, which such a server then misreads (invalid_client)', async () => {
      // Prepare
      const exchanger = exchangerFor({
        clientId: RAW_ID,
        clientAuthentication: { method: 'client_secret_basic', secret: { value: RAW_SECRET } },
      });

      // Act + Assess
      await expect(exchanger.exchange({ target: 'authlib', subject: 'unused' })).rejects.toMatchObject({
        code: 'ERR_AS_REJECTED',
        error: 'invalid_client',
      });
    });
  });

  describe('encoding: raw', () => {
    it('sends id and secret as they are, so : % + / = and spaces reach the server intact', async () => {
      // Prepare
      const exchanger = exchangerFor({
        clientId: RAW_ID,
        clientAuthentication: {
          method: 'client_secret_basic',
          secret: { value: RAW_SECRET },
          encoding: 'raw',
        },
      });

      // Act
      const result = await exchanger.exchange({ target: 'authlib', subject: 'unused', scope: 'orders.read' });

      // Assess
      expect(result.token).toMatchObject({ tokenType: 'bearer', scope: 'orders.read' });
    });

    it('is refused at config load for a client id with a colon (RFC 7617: it would end the user-id)', () => {
      // Act + Assess
      expect(() =>
        exchangerFor({
          clientId: 'gw:raw',
          clientAuthentication: { method: 'client_secret_basic', secret: { value: 'x' }, encoding: 'raw' },
        }),
      ).toThrow(
        expect.objectContaining({ issues: [expect.objectContaining({ path: 'targets.authlib.clientId' })] }),
      );
    });
  });
});
