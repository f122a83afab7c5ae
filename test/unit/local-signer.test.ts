import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, exportPKCS8, generateKeyPair, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildAssertion } from '#lib/assertion/build-assertion.ts';
import { JWS_ALGORITHMS } from '#lib/signing/algorithms.ts';
import { SigningKeyRing } from '#lib/signing/key-ring.ts';
import { LocalSigner } from '#lib/signing/local-signer.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-signer-'));
});

describe('LocalSigner', () => {
  describe('generate', () => {
    it('creates a private JWK with mode 0600 once, and reuses it', async () => {
      // Prepare
      const path = join(dir, 'state', 'generated.json');
      const first = new LocalSigner({ id: 'k', path, generate: true });

      // Act
      const [a, b] = await Promise.all([first.describe(), first.describe()]);
      const again = await new LocalSigner({ id: 'k', path, generate: true }).describe();

      // Assess
      expect(a).toBe(b);
      expect(again.kid).toBe(a.kid);
      expect(a.alg).toBe('ES256');
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect(JSON.parse(await readFile(path, 'utf8'))).toHaveProperty('d');
      expect(a.publicJwk).not.toHaveProperty('d');
    });

    it('lets concurrent processes (separate instances) agree on one key', async () => {
      // Prepare
      const path = join(dir, 'race.json');
      const signers = Array.from({ length: 8 }, () => new LocalSigner({ id: 'k', path, generate: true }));

      // Act
      const kids = await Promise.all(signers.map(async (signer) => (await signer.describe()).kid));

      // Assess
      expect(new Set(kids).size).toBe(1);
    });

    it('fails with ERR_SIGNING_KEY_NOT_FOUND when the file is missing and generate is off', async () => {
      // Act
      const result = new LocalSigner({ id: 'missing', path: join(dir, 'nope.json') }).describe();

      // Assess
      await expect(result).rejects.toMatchObject({ code: 'ERR_SIGNING_KEY_NOT_FOUND' });
    });

    it('fails without quoting the file when it holds no key', async () => {
      // Prepare
      const path = join(dir, 'garbage.pem');
      await writeFile(path, 'SECRET-LOOKING-GARBAGE');

      // Act
      const error = await new LocalSigner({ id: 'bad', path }).describe().catch((e: unknown) => e);

      // Assess
      expect(error).toMatchObject({ code: 'ERR_SIGNING_KEY_UNSUPPORTED' });
      expect(String((error as Error).message)).not.toContain('GARBAGE');
    });
  });

  describe('sign', () => {
    for (const alg of JWS_ALGORITHMS) {
      it(`produces ${alg} assertions that jose verifies against the JWKS`, async () => {
        // Prepare
        const path = join(dir, `${alg}.json`);
        const signer = new LocalSigner({ id: alg, path, generate: true, algorithm: alg });
        const ring = new SigningKeyRing([{ signer, retired: false }]);

        // Act
        const assertion = await buildAssertion(signer, {
          issuer: 'gw',
          subject: 'CICSUSR1',
          audience: 'https://as',
        });
        const { payload, protectedHeader } = await jwtVerify(
          assertion.jwt,
          createLocalJWKSet(await ring.jwks()),
          {
            issuer: 'gw',
            audience: 'https://as',
            subject: 'CICSUSR1',
          },
        );

        // Assess
        expect(protectedHeader.alg).toBe(alg);
        expect(protectedHeader.kid).toBe((await signer.describe()).kid);
        expect(payload.jti).toBe(assertion.jti);
      });
    }

    it('reads a PKCS#8 PEM key and signs PS256 when asked', async () => {
      // Prepare
      const { privateKey } = await generateKeyPair('PS256', { extractable: true });
      const path = join(dir, 'rsa.pem');
      await writeFile(path, await exportPKCS8(privateKey));
      const signer = new LocalSigner({ id: 'rsa', path, algorithm: 'PS256' });

      // Act
      const description = await signer.describe();

      // Assess
      expect(description.alg).toBe('PS256');
      expect(description.publicJwk).toMatchObject({ kty: 'RSA', alg: 'PS256', use: 'sig' });
    });

    it('refuses an algorithm the key cannot produce', async () => {
      // Prepare
      const path = join(dir, 'ec-for-rs.json');
      await new LocalSigner({ id: 'ec', path, generate: true }).describe();

      // Act
      const result = new LocalSigner({ id: 'ec', path, algorithm: 'RS256' }).describe();

      // Assess
      await expect(result).rejects.toMatchObject({ code: 'ERR_SIGNING_KEY_UNSUPPORTED' });
    });
  });
});

describe('LocalSigner with a certificate', () => {
  /** A key and its self-signed certificate, made by openssl as an operator would. */
  function keyAndCertificate(name: string): { key: string; certificate: string } {
    const key = join(dir, `${name}.key.pem`);
    const certificate = join(dir, `${name}.cert.pem`);
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
    execFileSync('openssl', [
      'req',
      '-x509',
      '-new',
      '-key',
      key,
      '-subj',
      '/CN=gateway',
      '-days',
      '1',
      '-out',
      certificate,
    ]);
    return { key, certificate };
  }

  it('publishes x5t#S256 (SHA-256 of the DER certificate) and sends it in the header when asked', async () => {
    // Prepare
    const { key, certificate } = keyAndCertificate('with-cert');
    const signer = new LocalSigner({ id: 'c', path: key, certificateFile: certificate });
    const expected = createHash('sha256')
      .update(new X509Certificate(await readFile(certificate)).raw)
      .digest('base64url');

    // Act
    const described = await signer.describe();
    const { jwt } = await buildAssertion(
      signer,
      { issuer: 'i', subject: 's', audience: 'a' },
      { includeX5tS256: true },
    );

    // Assess
    expect(described.x5tS256).toBe(expected);
    expect(decodeProtectedHeader(jwt)['x5t#S256']).toBe(expected);
  });

  it("refuses a certificate that is not the key's", async () => {
    // Prepare
    const { key } = keyAndCertificate('mine');
    const { certificate } = keyAndCertificate('other');

    // Act + Assess
    await expect(
      new LocalSigner({ id: 'c', path: key, certificateFile: certificate }).describe(),
    ).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
      message: expect.stringContaining('is not for this signing key'),
    });
  });
});

describe('SigningKeyRing', () => {
  it('publishes retired keys but never signs with them', async () => {
    // Prepare
    const active = new LocalSigner({ id: 'new', path: join(dir, 'ring-new.json'), generate: true });
    const retired = new LocalSigner({ id: 'old', path: join(dir, 'ring-old.json'), generate: true });
    const ring = new SigningKeyRing([
      { signer: active, retired: false },
      { signer: retired, retired: true },
    ]);

    // Act
    const jwks = await ring.jwks();

    // Assess
    expect(jwks.keys.map((key) => key.kid)).toEqual([
      (await active.describe()).kid,
      (await retired.describe()).kid,
    ]);
    expect(ring.signer('new')).toBe(active);
    expect(() => ring.signer('old')).toThrow(expect.objectContaining({ code: 'ERR_SIGNING_KEY_UNUSABLE' }));
    expect(() => ring.signer('other')).toThrow(
      expect.objectContaining({ code: 'ERR_SIGNING_KEY_NOT_FOUND' }),
    );
  });
});
