import { generateKeyPairSync, sign, verify } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { derToJoseSignature } from '#lib/signing/ecdsa-der.ts';

const CURVES = [
  { name: 'P-256', hash: 'sha256', width: 32 },
  { name: 'P-384', hash: 'sha384', width: 48 },
  { name: 'P-521', hash: 'sha512', width: 66 },
] as const;

/** X.690 DER for a positive INTEGER: minimal magnitude, a 0x00 prefix when the top bit is set. */
function derInteger(magnitude: Uint8Array): number[] {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const body = [...magnitude.subarray(start)];
  if ((body[0]! & 0x80) !== 0) body.unshift(0);
  return [0x02, ...derLength(body.length), ...body];
}

function derLength(length: number): number[] {
  return length < 0x80 ? [length] : [0x81, length];
}

function derSignature(r: Uint8Array, s: Uint8Array): Uint8Array {
  const body = [...derInteger(r), ...derInteger(s)];
  return Uint8Array.from([0x30, ...derLength(body.length), ...body]);
}

describe('derToJoseSignature', () => {
  describe('with signatures from node:crypto', () => {
    for (const curve of CURVES) {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve.name });

      it(`converts ${curve.name} DER signatures into ${curve.width * 2}-byte R||S that verify`, () => {
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 256 }), (message) => {
            // Prepare
            const der = sign(curve.hash, message, { key: privateKey, dsaEncoding: 'der' });

            // Act
            const jose = derToJoseSignature(der, curve.width);

            // Assess
            expect(jose).toHaveLength(curve.width * 2);
            expect(verify(curve.hash, message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, jose)).toBe(
              true,
            );
          }),
          { numRuns: 50 },
        );
      });
    }
  });

  describe('with arbitrary r and s', () => {
    for (const curve of CURVES) {
      it(`recovers ${curve.name} r and s exactly, including leading zero bytes and high bits`, () => {
        const coordinate = fc
          .tuple(
            fc.nat({ max: curve.width - 1 }),
            fc.uint8Array({ minLength: curve.width, maxLength: curve.width }),
          )
          .map(([zeros, bytes]) => {
            const value = Uint8Array.from(bytes);
            value.fill(0, 0, zeros); // leading zero bytes, as in about 1 of 256 real signatures
            if (value.every((byte) => byte === 0)) value[curve.width - 1] = 1;
            return value;
          });
        fc.assert(
          fc.property(coordinate, coordinate, (r, s) => {
            // Prepare
            const der = derSignature(r, s);

            // Act
            const jose = derToJoseSignature(der, curve.width);

            // Assess
            expect(Buffer.from(jose.subarray(0, curve.width))).toEqual(Buffer.from(r));
            expect(Buffer.from(jose.subarray(curve.width))).toEqual(Buffer.from(s));
          }),
          { numRuns: 300 },
        );
      });
    }

    it('uses the long length form for P-521 sequences over 127 bytes', () => {
      // Prepare
      const r = new Uint8Array(66).fill(0xff);
      r[0] = 0x01;
      const der = derSignature(r, r);

      // Act
      const jose = derToJoseSignature(der, 66);

      // Assess
      expect(der[1]).toBe(0x81);
      expect(Buffer.from(jose.subarray(66))).toEqual(Buffer.from(r));
    });
  });

  describe('with malformed input', () => {
    const valid = derSignature(Uint8Array.of(1, 2, 3), Uint8Array.of(4, 5, 6));
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['empty input', new Uint8Array(0), /truncated/],
      ['a wrong outer tag', Uint8Array.from([0x31, ...valid.subarray(1)]), /expected SEQUENCE/],
      ['a truncated signature', valid.subarray(0, valid.length - 1), /length does not match/],
      ['trailing bytes', Uint8Array.from([0x30, valid[1]! + 1, ...valid.subarray(2), 0]), /trailing bytes/],
      ['a negative integer', derSignatureRaw([0x02, 1, 0x80], [0x02, 1, 1]), /negative/],
      [
        'an integer wider than the curve',
        derSignature(new Uint8Array(33).fill(0x7f), Uint8Array.of(1)),
        /exceeds 32/,
      ],
    ];
    for (const [name, input, message] of cases) {
      it(`rejects ${name}`, () => {
        // Act + Assess
        expect(() => derToJoseSignature(input, 32)).toThrow(message);
      });
    }
  });
});

function derSignatureRaw(r: number[], s: number[]): Uint8Array {
  return Uint8Array.from([0x30, r.length + s.length, ...r, ...s]);
}
