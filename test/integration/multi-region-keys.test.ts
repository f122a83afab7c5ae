// Disaster recovery's promise (docs/DEPLOY.md, "Disaster recovery"): with a multi-Region KMS key in the
// primary Region and its replica in the standby, both Regions publish the same kid and an authorization
// server that trusts either Region's JWKS accepts assertions signed in the other. The kid is the RFC 7638
// thumbprint of the public key (lib/signing/public-key.ts), never derived from the key's ARN or Region:
// checked here against two AWS emulators, one per Region, with the real KMS client and signer.
import { KMSClient } from '@aws-sdk/client-kms';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signJwt } from '#lib/assertion/sign-jwt.ts';
import { SigningKeyRing } from '#lib/signing/key-ring.ts';
import { KmsSigner } from '#lib/signing/kms-signer.ts';
import { type AwsEmulator, awsClientConfig, startAwsEmulator } from '#test/support/aws-emulator.ts';

let frankfurt: AwsEmulator;
let ireland: AwsEmulator;
const clients: KMSClient[] = [];

function keyRing(emulator: AwsEmulator, keyId: string): SigningKeyRing {
  const kms = new KMSClient(awsClientConfig(emulator));
  clients.push(kms);
  return new SigningKeyRing([{ signer: new KmsSigner(kms, { id: 'blue', keyId }), retired: false }]);
}

beforeAll(async () => {
  frankfurt = await startAwsEmulator({ region: 'eu-central-1' });
  ireland = await startAwsEmulator({ region: 'eu-west-1' });
});

afterAll(async () => {
  for (const client of clients) client.destroy();
  await frankfurt?.close();
  await ireland?.close();
});

describe('a multi-Region signing key and its replica', () => {
  it('publish the same kid in both Regions, from ARNs that differ in their Region only', async () => {
    // Prepare
    const primary = await frankfurt.createMultiRegionKey('ECC_NIST_P256');
    const replica = frankfurt.replicateKey(primary.keyId, ireland);

    // Act
    const primaryJwks = await keyRing(frankfurt, primary.arn).jwks();
    const replicaJwks = await keyRing(ireland, replica.arn).jwks();

    // Assess
    expect(primary.keyId).toMatch(/^mrk-[0-9a-f]{32}$/);
    expect(replica.arn).toBe(primary.arn.replace(':eu-central-1:', ':eu-west-1:'));
    expect(replicaJwks).toEqual(primaryJwks);
    expect(primaryJwks.keys).toHaveLength(1);
  });

  it("sign assertions in the standby that verify against the primary's JWKS, and the other way round", async () => {
    // Prepare
    const primary = await frankfurt.createMultiRegionKey('ECC_NIST_P256');
    const replica = frankfurt.replicateKey(primary.keyId, ireland);
    const inFrankfurt = keyRing(frankfurt, primary.arn);
    const inIreland = keyRing(ireland, replica.arn);
    const claims = { iss: 'jwt-bearer-gateway', sub: 'CICSUSR1', aud: 'https://as.example/token' };

    // Act
    const signedInIreland = await signJwt(inIreland.signer('blue'), claims);
    const signedInFrankfurt = await signJwt(inFrankfurt.signer('blue'), claims);

    // Assess
    await expect(
      jwtVerify(signedInIreland, createLocalJWKSet(await inFrankfurt.jwks())),
    ).resolves.toBeDefined();
    await expect(
      jwtVerify(signedInFrankfurt, createLocalJWKSet(await inIreland.jwks())),
    ).resolves.toBeDefined();
    expect(decodeProtectedHeader(signedInIreland).kid).toBe(decodeProtectedHeader(signedInFrankfurt).kid);
  });

  it('differ from a single-Region key of the standby, whose kid and signatures the primary JWKS does not know', async () => {
    // Prepare: what a standby without replication has, its own key.
    const primary = await frankfurt.createMultiRegionKey('ECC_NIST_P256');
    const own = await ireland.createKey('ECC_NIST_P256');
    const inFrankfurt = keyRing(frankfurt, primary.arn);
    const inIreland = keyRing(ireland, own.arn);

    // Act
    const signed = await signJwt(inIreland.signer('blue'), { sub: 'CICSUSR1' });

    // Assess
    expect((await inIreland.jwks()).keys[0]!.kid).not.toBe((await inFrankfurt.jwks()).keys[0]!.kid);
    await expect(jwtVerify(signed, createLocalJWKSet(await inFrankfurt.jwks()))).rejects.toThrow();
  });

  it('cannot be replicated from a single-Region key, nor twice into one Region', async () => {
    const single = await frankfurt.createKey('ECC_NIST_P256');
    expect(() => frankfurt.replicateKey(single.keyId, ireland)).toThrow(/not a multi-Region primary key/);
    const primary = await frankfurt.createMultiRegionKey('ECC_NIST_P256');
    frankfurt.replicateKey(primary.keyId, ireland);
    expect(() => frankfurt.replicateKey(primary.keyId, ireland)).toThrow(/already exists/);
  });
});
