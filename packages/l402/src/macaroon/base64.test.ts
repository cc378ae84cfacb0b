import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64Strict, encodeBase64Std } from '../index.js';

describe('base64 – strict decoding', () => {
  it('accepts the standard and URL-safe alphabets, padded or not', () => {
    const bytes = Buffer.from([0xfb, 0xff, 0xbf, 0x01]);
    for (const text of ['+/+/AQ==', '+/+/AQ', '-_-_AQ==', '-_-_AQ']) {
      expect(decodeBase64Strict(text)).toEqual(bytes);
    }
  });

  it('refuses mixed alphabets, whitespace, wrong padding, impossible lengths and non-canonical trailing bits', () => {
    for (const text of ['+_AA', 'AQ =', ' AQ==', 'AQ=', 'AQ===', 'A', 'AAAAA', 'AQ=A', 'AR==', 'AR', 'AQI=B', 'AQJ=']) {
      expect(decodeBase64Strict(text)).toBeNull();
    }
  });

  it('encodeBase64Std writes padded standard base64', () => {
    expect(encodeBase64Std(Uint8Array.of(0xfb, 0xff, 0xbf, 0x01))).toBe('+/+/AQ==');
  });

  it('property: decode(encode(x)) = x in both alphabets, padded and unpadded; a text never has two decodings', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const std = encodeBase64Std(bytes);
        const url = Buffer.from(bytes).toString('base64url');
        for (const text of [std, std.replace(/=+$/, ''), url])
          expect(decodeBase64Strict(text)).toEqual(Buffer.from(bytes));
      }),
    );
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=') }),
        (text) => {
          const decoded = decodeBase64Strict(text);
          if (decoded !== null) expect(encodeBase64Std(decoded).replace(/=+$/, '')).toBe(text.replace(/=+$/, ''));
        },
      ),
    );
  });
});
