/**
 * KMS returns ECDSA signatures DER-encoded (X9.62 `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }`);
 * JWS wants R and S as fixed-width big-endian integers, concatenated.
 *
 * Written here rather than taken from a package: jose does not export its DER handling, and the packages
 * that do (ecdsa-sig-formatter) are unmaintained and Buffer-bound. The format is small, and a property test
 * checks this against node:crypto for every curve.
 * @see https://www.rfc-editor.org/rfc/rfc7518#section-3.4
 */
export function derToJoseSignature(der: Uint8Array, coordinateLength: number): Uint8Array {
  const reader = new DerReader(der);
  reader.expectTag(0x30, 'SEQUENCE');
  const sequenceLength = reader.readLength();
  if (sequenceLength !== reader.remaining) {
    throw new TypeError('DER ECDSA signature: SEQUENCE length does not match the input');
  }
  const r = reader.readUnsignedInteger();
  const s = reader.readUnsignedInteger();
  if (reader.remaining !== 0) throw new TypeError('DER ECDSA signature: trailing bytes');

  const jose = new Uint8Array(coordinateLength * 2);
  jose.set(leftPad(r, coordinateLength), 0);
  jose.set(leftPad(s, coordinateLength), coordinateLength);
  return jose;
}

function leftPad(value: Uint8Array, length: number): Uint8Array {
  if (value.length > length) {
    throw new TypeError(`DER ECDSA signature: integer of ${value.length} bytes exceeds ${length}`);
  }
  const padded = new Uint8Array(length);
  padded.set(value, length - value.length);
  return padded;
}

class DerReader {
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  expectTag(tag: number, name: string): void {
    if (this.next() !== tag) throw new TypeError(`DER ECDSA signature: expected ${name}`);
  }

  /** Definite lengths only (DER); long form up to two bytes is ample for P-521. */
  readLength(): number {
    const first = this.next();
    if (first < 0x80) return first;
    const octets = first & 0x7f;
    if (octets === 0 || octets > 2) throw new TypeError('DER ECDSA signature: unsupported length');
    let length = 0;
    for (let i = 0; i < octets; i++) length = (length << 8) | this.next();
    if (length < 0x80) throw new TypeError('DER ECDSA signature: non-minimal length');
    return length;
  }

  /** A positive INTEGER's magnitude, without the sign-padding zero bytes. */
  readUnsignedInteger(): Uint8Array {
    this.expectTag(0x02, 'INTEGER');
    const length = this.readLength();
    if (length === 0 || length > this.remaining) throw new TypeError('DER ECDSA signature: bad INTEGER');
    let value = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    if ((value[0]! & 0x80) !== 0) throw new TypeError('DER ECDSA signature: negative INTEGER');
    let start = 0;
    while (start < value.length - 1 && value[start] === 0) start++;
    value = value.subarray(start);
    return value;
  }

  private next(): number {
    if (this.offset >= this.bytes.length) throw new TypeError('DER ECDSA signature: truncated');
    return this.bytes[this.offset++]!;
  }
}
