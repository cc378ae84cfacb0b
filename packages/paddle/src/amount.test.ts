import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPaddleAmount, parsePaddleAmount } from './amount.js';

describe('Paddle amounts', () => {
  it('parsePaddleAmount – property: any digit string is its exact integer, or null past the safe range', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\d{1,24}$/), (digits) => {
        const exact = BigInt(digits);
        const parsed = parsePaddleAmount(digits);
        if (exact <= BigInt(Number.MAX_SAFE_INTEGER)) {
          expect(parsed).not.toBeNull();
          expect(BigInt(parsed as number)).toBe(exact);
          expect(Number.isSafeInteger(parsed)).toBe(true);
        } else {
          expect(parsed).toBeNull();
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('parsePaddleAmount – property: every safe integer round-trips through formatPaddleAmount', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => {
        expect(parsePaddleAmount(formatPaddleAmount(n))).toBe(n);
      }),
      { numRuns: 2000 },
    );
  });

  it('parsePaddleAmount – property: anything with a character that is not a digit is refused', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 12 }).filter((s) => /[^0-9]/.test(s)),
        (s) => {
          expect(parsePaddleAmount(s)).toBeNull();
        },
      ),
    );
  });

  it('parsePaddleAmount – the edges: 2^53−1 is kept, 2^53 is not, no float ever leaks in', () => {
    expect(parsePaddleAmount('9007199254740991')).toBe(9007199254740991);
    expect(parsePaddleAmount('9007199254740992')).toBeNull();
    expect(parsePaddleAmount('9007199254740993')).toBeNull();
    expect(parsePaddleAmount('0')).toBe(0);
    expect(parsePaddleAmount('0000001050')).toBe(1050);
    for (const bad of [
      '',
      '10.50',
      '1e3',
      '-5',
      '+5',
      ' 5',
      '5 ',
      '0x10',
      '１２',
      1050,
      null,
      undefined,
      '99999999999999999999',
    ]) {
      expect(parsePaddleAmount(bad), String(bad)).toBeNull();
    }
  });

  it('formatPaddleAmount – only non-negative safe integers', () => {
    expect(formatPaddleAmount(1050)).toBe('1050');
    for (const bad of [10.5, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])
      expect(formatPaddleAmount(bad)).toBeNull();
  });
});
