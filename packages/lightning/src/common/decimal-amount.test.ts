import { isPayableError } from '@payable/core';
import {
  btcDecimalToMsat,
  currencyDecimals,
  decimalToMinorUnits,
  jsonNumberToDecimal,
  minorUnitsToDecimal,
} from '@payable/lightning';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY', 'KWD', 'BTC'] as const;
const digits = (min: number, max: number) => fc.stringMatching(new RegExp(`^[0-9]{${min},${max}}$`));

describe('decimal amounts', () => {
  it('currencyDecimals – ISO 4217 minor units from Intl, 8 for BTC, unknown codes refused', () => {
    expect(CURRENCIES.map((c) => currencyDecimals(c))).toEqual([2, 2, 2, 0, 3, 8]);
    expect(currencyDecimals('usd')).toBe(2);
    let error: unknown;
    try {
      currencyDecimals('NOPE1');
    } catch (e) {
      error = e;
    }
    expect(isPayableError(error) && error.code).toBe('VALIDATION_ERROR');
  });

  it('decimalToMinorUnits – the documented examples', () => {
    expect(decimalToMinorUnits('49.99', 'USD')).toBe(4999);
    expect(decimalToMinorUnits('50', 'USD')).toBe(5000);
    expect(decimalToMinorUnits('0.00005000', 'BTC')).toBe(5000);
    expect(decimalToMinorUnits('0.00005', 'BTC')).toBe(5000);
    expect(decimalToMinorUnits('500', 'JPY')).toBe(500);
    expect(decimalToMinorUnits('1.234', 'KWD')).toBe(1234);
    expect(decimalToMinorUnits('25.00000', 'USD')).toBe(2500);
    for (const bad of ['0.001', '-1.00', '1e3', ' 1.00', '1.', '.5', '', '1,00', '0x10', '99999999999999999.99']) {
      expect(decimalToMinorUnits(bad, 'USD'), bad).toBeNull();
    }
    // A float would get this wrong: 0.1 + 0.2 style sums never enter.
    expect(decimalToMinorUnits('1.15', 'USD')).toBe(115);
    expect(decimalToMinorUnits('4.35', 'USD')).toBe(435);
  });

  it('minorUnitsToDecimal ∘ decimalToMinorUnits is the identity on minor units (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.constantFrom(...CURRENCIES), (amount, c) => {
        const text = minorUnitsToDecimal(amount, c);
        expect(text).toMatch(currencyDecimals(c) === 0 ? /^\d+$/ : new RegExp(`^\\d+\\.\\d{${currencyDecimals(c)}}$`));
        expect(decimalToMinorUnits(text, c)).toBe(amount);
      }),
      { numRuns: 500 },
    );
  });

  it('decimalToMinorUnits is exact digit arithmetic on any decimal (property)', () => {
    fc.assert(
      fc.property(digits(1, 12), digits(0, 12), fc.constantFrom(...CURRENCIES), (whole, fraction, c) => {
        const places = currencyDecimals(c);
        const text = fraction === '' ? whole : `${whole}.${fraction}`;
        const extra = fraction.slice(places);
        const expected = /[1-9]/.test(extra) ? null : BigInt(whole + fraction.slice(0, places).padEnd(places, '0'));
        const result = decimalToMinorUnits(text, c);
        if (expected === null || expected > BigInt(Number.MAX_SAFE_INTEGER)) expect(result).toBeNull();
        else expect(result).toBe(Number(expected));
      }),
      { numRuns: 1000 },
    );
  });

  it('jsonNumberToDecimal – a JSON number reads back as the decimal written (property)', () => {
    expect(jsonNumberToDecimal(49.99)).toBe('49.99');
    expect(jsonNumberToDecimal(5e-7)).toBe('0.0000005');
    expect(jsonNumberToDecimal(0.000021)).toBe('0.000021');
    expect(jsonNumberToDecimal(1e21)).toBe('1000000000000000000000');
    expect(jsonNumberToDecimal(-1)).toBeNull();
    expect(jsonNumberToDecimal('1.00')).toBeNull();
    // Any amount a provider writes as a JSON number with at most 15 significant digits.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999_999_999_999_999 }), fc.integer({ min: 0, max: 8 }), (units, places) => {
        const text =
          places === 0
            ? String(units)
            : `${String(units)
                .padStart(places + 1, '0')
                .slice(0, -places)}.${String(units)
                .padStart(places + 1, '0')
                .slice(-places)}`;
        const parsed = JSON.parse(`{"amount":${text}}`) as { amount: number };
        const decimal = jsonNumberToDecimal(parsed.amount) as string;
        // The same digits, written canonically (no leading zeros, no trailing fractional zeros).
        const [whole = '', fraction = ''] = text.split('.');
        const trimmed = fraction.replace(/0+$/, '');
        const canonical = `${whole.replace(/^0+(?=\d)/, '')}${trimmed === '' ? '' : `.${trimmed}`}`;
        expect(decimal).toBe(canonical);
      }),
      { numRuns: 1000 },
    );
  });

  it('a minor-unit amount sent as a JSON number prints back as its exact decimal (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 999_999_999_999_999 }),
        fc.constantFrom('USD', 'BTC', 'KWD'),
        (amount, c) => {
          const wire = JSON.stringify({ amount: Number(minorUnitsToDecimal(amount, c)) });
          const back = jsonNumberToDecimal((JSON.parse(wire) as { amount: number }).amount) as string;
          expect(decimalToMinorUnits(back, c)).toBe(amount);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('btcDecimalToMsat – BTC to millisatoshis, exactly, to 11 places', () => {
    expect(btcDecimalToMsat('0.00005')).toBe(5_000_000n);
    expect(btcDecimalToMsat('0.00000000001')).toBe(1n);
    expect(btcDecimalToMsat('21000000')).toBe(2_100_000_000_000_000_000n);
    expect(btcDecimalToMsat('0.000000000001')).toBeNull();
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2_100_000_000_000_000_000n }), (msat) => {
        const text = msat.toString().padStart(12, '0');
        expect(btcDecimalToMsat(`${text.slice(0, -11)}.${text.slice(-11)}`)).toBe(msat);
      }),
    );
  });
});
