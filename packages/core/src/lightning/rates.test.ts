import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FixedRateSource, lockQuote } from './rates.js';

const at = new Date('2026-01-01T00:00:00Z');

describe('lockQuote', () => {
  it('lockQuote – converts minor units with the currency exponent and rounds up to a whole sat', () => {
    // 19.99 USD at 1052.63 sats/USD = 21042.0737 sats → 21043
    expect(lockQuote(1999, 'usd', { satsPerUnit: '1052.63', at })).toEqual({
      fiatAmount: 1999,
      fiatCurrency: 'USD',
      sats: 21043,
      rate: '1052.63',
      quotedAt: at,
    });
    // JPY has no minor unit: 500 JPY at 6.5 sats/JPY = 3250 sats exactly
    expect(lockQuote(500, 'JPY', { satsPerUnit: '6.5', at }).sats).toBe(3250);
    // KWD has three: 1.000 KWD at 3000 sats/KWD
    expect(lockQuote(1000, 'KWD', { satsPerUnit: '3000', at }).sats).toBe(3000);
  });

  it('lockQuote – is exact where floats are not (0.1 + 0.2)', () => {
    // 0.30 EUR at 1000.000000001 sats/EUR = 300.0000000003 → 301 (a float product rounds to 300)
    expect(lockQuote(30, 'EUR', { satsPerUnit: '1000.000000001', at }).sats).toBe(301);
    expect(lockQuote(30, 'EUR', { satsPerUnit: '1000', at }).sats).toBe(300);
  });

  it('lockQuote – never undercharges: sats are the exact value rounded up, off by less than one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.bigInt({ min: 1n, max: 10n ** 12n }),
        fc.integer({ min: 0, max: 8 }),
        (cents, units, scale) => {
          const digits = units.toString().padStart(scale + 1, '0');
          const rate = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
          const exactTimesDen = BigInt(cents) * units; // sats * 10^(2+scale)
          const den = 10n ** BigInt(2 + scale);
          if ((exactTimesDen + den - 1n) / den > BigInt(Number.MAX_SAFE_INTEGER)) {
            expect(() => lockQuote(cents, 'USD', { satsPerUnit: rate, at })).toThrow(/more satoshis/);
            return;
          }
          const { sats } = lockQuote(cents, 'USD', { satsPerUnit: rate, at });
          expect(BigInt(sats) * den >= exactTimesDen).toBe(true);
          expect((BigInt(sats) - 1n) * den < exactTimesDen).toBe(true);
        },
      ),
    );
  });

  it('lockQuote – refuses a rate that is not a positive decimal string', () => {
    for (const satsPerUnit of ['0', '0.000', '-5', '1e3', 'abc', '']) {
      expect(() => lockQuote(100, 'USD', { satsPerUnit, at })).toThrow(
        expect.objectContaining({ code: 'VALIDATION_ERROR' }),
      );
    }
  });
});

describe('FixedRateSource', () => {
  it('FixedRateSource – quotes its rates (any case) and refuses a currency it has none for', () => {
    const rates = new FixedRateSource({ usd: '1052.63' }, { clock: { now: () => at } });
    expect(rates.quote('USD')).toEqual({ satsPerUnit: '1052.63', at });
    expect(() => rates.quote('EUR')).toThrow(expect.objectContaining({ code: 'VALIDATION_ERROR' }));
    expect(() => new FixedRateSource({ USD: 'lots' })).toThrow(expect.objectContaining({ code: 'VALIDATION_ERROR' }));
  });
});
