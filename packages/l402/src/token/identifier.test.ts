import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeIdentifier, encodeIdentifier, L402_IDENTIFIER_BYTES, rootKeyId } from '../index.js';
import { thrown } from '../../test/support/thrown.js';

describe('L402 identifier', () => {
  it('round-trips any payment hash and token id (66 bytes, version 0 big-endian first)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (h, t) => {
          const id = encodeIdentifier({ paymentHash: h, tokenId: t });
          expect(id.length).toBe(L402_IDENTIFIER_BYTES);
          expect([id[0], id[1]]).toEqual([0, 0]);
          const back = decodeIdentifier(id);
          expect(back).toEqual({ version: 0, paymentHash: Buffer.from(h), tokenId: Buffer.from(t) });
        },
      ),
    );
  });

  it('accepts 64-hex strings and refuses other sizes with a ValidationError', () => {
    const hash = randomBytes(32);
    expect(encodeIdentifier({ paymentHash: hash.toString('hex'), tokenId: hash }).subarray(2, 34)).toEqual(hash);
    expect(thrown(() => encodeIdentifier({ paymentHash: 'ab', tokenId: hash })).context).toMatchObject({
      field: 'paymentHash',
    });
    expect(thrown(() => encodeIdentifier({ paymentHash: hash, tokenId: randomBytes(31) })).context).toMatchObject({
      field: 'tokenId',
    });
  });

  it('decoding is strict: wrong length or version is a ValidationError with a reason', () => {
    const id = encodeIdentifier({ paymentHash: randomBytes(32), tokenId: randomBytes(32) });
    expect(thrown(() => decodeIdentifier(id.subarray(0, 65))).context.reason).toBe('identifier_length');
    expect(thrown(() => decodeIdentifier(Buffer.concat([id, Buffer.from([0])]))).context.reason).toBe(
      'identifier_length',
    );
    expect(thrown(() => decodeIdentifier(new Uint8Array(1))).context.reason).toBe('identifier_length');
    const v1 = Buffer.from(id);
    v1[1] = 1;
    const error = thrown(() => decodeIdentifier(v1));
    expect(error.code).toBe('VALIDATION_ERROR');
    expect(error.context).toMatchObject({ reason: 'identifier_version', version: 1 });
  });

  it('rootKeyId is the hex sha256 of the identifier bytes', () => {
    const id = encodeIdentifier({ paymentHash: randomBytes(32), tokenId: randomBytes(32) });
    expect(rootKeyId(id)).toBe(createHash('sha256').update(id).digest('hex'));
  });
});
