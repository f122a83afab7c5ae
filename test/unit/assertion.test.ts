import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildAssertion } from '#lib/assertion/build-assertion.ts';
import { mapSubject } from '#lib/assertion/subject.ts';
import { LocalSigner } from '#lib/signing/local-signer.ts';

let signer: LocalSigner;
beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'assertion-'));
  signer = new LocalSigner({ id: 'k', path: join(dir, 'k.json'), generate: true });
});

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);

describe('buildAssertion', () => {
  it('sets iss, sub, a single-string aud, iat, exp = iat + 60 and a jti', async () => {
    // Act
    const { jwt, jti, exp } = await buildAssertion(
      signer,
      { issuer: 'gateway', subject: 'CICSUSR1', audience: 'https://as.example/token' },
      {},
      NOW,
    );

    // Assess
    const claims = decodeJwt(jwt);
    expect(claims).toEqual({
      iss: 'gateway',
      sub: 'CICSUSR1',
      aud: 'https://as.example/token',
      iat: NOW / 1000,
      exp: NOW / 1000 + 60,
      jti,
    });
    expect(exp).toBe(NOW / 1000 + 60);
  });

  it('uses a fresh jti every time', async () => {
    // Act
    const claims = { issuer: 'i', subject: 's', audience: 'a' };
    const jtis = await Promise.all(Array.from({ length: 20 }, () => buildAssertion(signer, claims)));

    // Assess
    expect(new Set(jtis.map((a) => a.jti)).size).toBe(20);
  });

  it('puts nbf at iat, backdates both by the clock skew, and never dates them in the future', async () => {
    // Act
    const { jwt } = await buildAssertion(
      signer,
      {
        issuer: 'i',
        subject: 's',
        audience: 'a',
        notBefore: true,
        clockSkewSeconds: 5,
        lifetimeSeconds: 120,
      },
      {},
      NOW,
    );

    // Assess
    const claims = decodeJwt(jwt);
    expect(claims.iat).toBe(NOW / 1000 - 5);
    expect(claims.nbf).toBe(NOW / 1000 - 5);
    expect(claims.exp).toBe(NOW / 1000 - 5 + 120);
  });

  it('counts the backdating against the lifetime, and refuses a skew that leaves no lifetime', async () => {
    // Act
    const { iat, exp } = await buildAssertion(
      signer,
      { issuer: 'i', subject: 's', audience: 'a', clockSkewSeconds: 30, lifetimeSeconds: 300 },
      {},
      NOW,
    );
    const noneLeft = buildAssertion(
      signer,
      { issuer: 'i', subject: 's', audience: 'a', clockSkewSeconds: 60, lifetimeSeconds: 60 },
      {},
      NOW,
    );

    // Assess
    expect(exp - iat).toBe(300);
    await expect(noneLeft).rejects.toThrow(RangeError);
  });

  it('adds static claims but never lets them override registered ones', async () => {
    // Act
    const { jwt } = await buildAssertion(
      signer,
      { issuer: 'i', subject: 's', audience: 'a', extraClaims: { tenant: 'corp', sub: 'attacker' } },
      {},
      NOW,
    );

    // Assess
    expect(decodeJwt(jwt)).toMatchObject({ tenant: 'corp', sub: 's' });
  });

  it('puts alg, kid and typ in the header', async () => {
    // Act
    const { jwt } = await buildAssertion(
      signer,
      { issuer: 'i', subject: 's', audience: 'a' },
      { typ: 'JWT' },
    );

    // Assess
    expect(decodeProtectedHeader(jwt)).toEqual({
      alg: 'ES256',
      kid: (await signer.describe()).kid,
      typ: 'JWT',
    });
  });

  for (const lifetime of [0, 301, 1.5]) {
    it(`refuses a lifetime of ${lifetime} s (hard cap 300 s)`, async () => {
      // Act
      const result = buildAssertion(signer, {
        issuer: 'i',
        subject: 's',
        audience: 'a',
        lifetimeSeconds: lifetime,
      });

      // Assess
      await expect(result).rejects.toThrow(RangeError);
    });
  }
});

describe('mapSubject', () => {
  it('applies the template after case folding the subject only', () => {
    // Act
    const sub = mapSubject('cicsusr1', { template: '{subject}@Corp.Example', case: 'upper', maxLength: 64 });

    // Assess
    expect(sub).toBe('CICSUSR1@Corp.Example');
  });

  for (const subject of ['A$$B', '$&', "$'", '$`', 'X$1']) {
    it(`keeps ${subject} as it is: replacement patterns in the subject mean nothing`, () => {
      // RACF ids may contain $: a template expansion that honoured $$ would map A$$B to another user, A$B.
      expect(mapSubject(subject, { template: '{subject}@corp', case: 'preserve', maxLength: 64 })).toBe(
        `${subject}@corp`,
      );
    });
  }

  it('folds to lower case', () => {
    expect(mapSubject('CICSUSR1', { template: '{subject}', case: 'lower', maxLength: 64 })).toBe('cicsusr1');
  });

  const rejected: Array<[string, string]> = [
    ['an empty subject', ''],
    ['a newline', 'USER\nforged log line'],
    ['a NUL', 'USER\u0000'],
    ['a C1 control', 'USER\u0085'],
    ['a line separator', 'USER\u2028'],
    ['a subject over the limit', 'X'.repeat(65)],
  ];
  for (const [name, subject] of rejected) {
    it(`rejects ${name} with ERR_SUBJECT_INVALID`, () => {
      expect(() => mapSubject(subject)).toThrow(expect.objectContaining({ code: 'ERR_SUBJECT_INVALID' }));
    });
  }

  it('checks the limit against the mapped sub', () => {
    // Prepare
    const rule = { template: '{subject}@corp.example', case: 'preserve', maxLength: 17 } as const;

    // Act + Assess
    expect(mapSubject('ABCD', rule)).toBe('ABCD@corp.example');
    expect(() => mapSubject('ABCDE', rule)).toThrow(/sub of 18 characters; the limit is 17/);
  });
});
