import { ValidationError } from '@payable/core';

/** Decimal places of bitcoin amounts: BTC counts in satoshis (1 BTC = 100,000,000 sats). */
export const BTC_DECIMALS = 8;

/** Decimal places of a BTC amount written in millisatoshis (1 BTC = 100,000,000,000 msat). */
const MSAT_DECIMALS = 11;

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;
const exponents = new Map<string, number>();

/**
 * The number of decimal places of a currency's minor unit: 2 for USD and EUR, 0 for JPY, 3 for
 * KWD (ISO 4217, from `Intl`), 8 for BTC (satoshis). An unknown code is a `VALIDATION_ERROR`.
 *
 * @example
 * ```ts
 * currencyDecimals('USD'); // 2
 * currencyDecimals('BTC'); // 8
 * ```
 */
export function currencyDecimals(currency: string): number {
  const code = currency.toUpperCase();
  const known = exponents.get(code);
  if (known !== undefined) return known;
  let decimals: number;
  if (code === 'BTC') {
    decimals = BTC_DECIMALS;
  } else {
    try {
      decimals =
        new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      throw new ValidationError(`"${currency}" is not a currency code.`, {
        context: { field: 'currency', reason: 'unknown_currency' },
      });
    }
  }
  exponents.set(code, decimals);
  return decimals;
}

/** Splits a plain non-negative decimal ("12", "12.50") into digits; `null` for anything else. */
function parts(value: string): { whole: string; fraction: string } | null {
  const match = DECIMAL.exec(value);
  if (!match) return null;
  return { whole: match[1] as string, fraction: match[2] ?? '' };
}

/** The integer `whole.fraction × 10^places`, exactly, or `null` when `value` has more non-zero places. */
function scaled(value: string, places: number): bigint | null {
  const p = parts(value);
  if (!p) return null;
  let fraction = p.fraction;
  if (fraction.length > places) {
    if (/[^0]/.test(fraction.slice(places))) return null;
    fraction = fraction.slice(0, places);
  }
  return BigInt(p.whole + fraction.padEnd(places, '0'));
}

/**
 * Converts a decimal amount as the services write it (`"49.99"`, `"0.00005"`, `"12"`) to integer
 * minor units of `currency`, exactly, through digit strings and never a float: `"49.99"` USD is
 * `4999`, `"0.00005"` BTC is `5000` (sats). Returns `null` when the text is not a plain
 * non-negative decimal, has more non-zero places than the currency's minor unit (a fraction of a
 * cent, of a satoshi), or does not fit a safe integer.
 *
 * @example
 * ```ts
 * decimalToMinorUnits('49.99', 'USD'); // 4999
 * decimalToMinorUnits('0.00005000', 'BTC'); // 5000
 * decimalToMinorUnits('0.001', 'USD'); // null (a tenth of a cent)
 * ```
 */
export function decimalToMinorUnits(value: string, currency: string): number | null {
  return decimalToUnits(value, currencyDecimals(currency));
}

/**
 * `value × 10^places` as a safe integer, exactly (see {@link decimalToMinorUnits}); `null` when the
 * text is not a plain non-negative decimal, has more non-zero places, or is too large.
 *
 * @example
 * ```ts
 * decimalToUnits('5000', 0); // 5000 (BTCPay's SATS currency)
 * ```
 */
export function decimalToUnits(value: string, places: number): number | null {
  const units = scaled(value, places);
  if (units === null || units > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return Number(units);
}

/**
 * Writes an integer amount in minor units of `currency` as the decimal the services expect, with
 * exactly the currency's places: `4999` USD → `"49.99"`, `5000` BTC (sats) → `"0.00005000"`,
 * `500` JPY → `"500"`. A non-integer or negative amount is a `VALIDATION_ERROR`.
 *
 * @example
 * ```ts
 * minorUnitsToDecimal(4999, 'USD'); // '49.99'
 * minorUnitsToDecimal(5000, 'BTC'); // '0.00005000'
 * ```
 */
export function minorUnitsToDecimal(amount: number, currency: string): string {
  if (!Number.isSafeInteger(amount) || amount < 0) {
    throw new ValidationError('The amount must be a non-negative integer in minor units.', {
      context: { field: 'amount', reason: 'not_minor_units' },
    });
  }
  const decimals = currencyDecimals(currency);
  if (decimals === 0) return String(amount);
  const digits = String(amount).padStart(decimals + 1, '0');
  return `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
}

/**
 * The exact decimal text of a JSON number (services that send `"amount": 49.99` as a number):
 * JavaScript prints the shortest text that reads back as the same double, which is the decimal
 * the service wrote whenever it has at most 15 significant digits; exponent notation (`5e-7`) is
 * expanded. `null` for a negative, non-finite or non-number value.
 *
 * @example
 * ```ts
 * jsonNumberToDecimal(49.99); // '49.99'
 * jsonNumberToDecimal(5e-7); // '0.0000005'
 * ```
 */
export function jsonNumberToDecimal(value: unknown): string | null {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return null;
  const text = String(value);
  const exp = /^(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!exp) return text;
  const digits = (exp[1] as string) + (exp[2] ?? '');
  const point = (exp[1] as string).length + Number(exp[3]);
  if (point <= 0) return `0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return digits + '0'.repeat(point - digits.length);
  return `${digits.slice(0, point)}.${digits.slice(point)}`;
}

/**
 * Converts a BTC decimal (`"0.00005"`, or with millisatoshi precision `"0.00000000001"`) to
 * millisatoshis, exactly. `null` when it is not a plain non-negative decimal or has more than 11
 * non-zero places.
 *
 * @example
 * ```ts
 * btcDecimalToMsat('0.00005'); // 5000000n
 * ```
 */
export function btcDecimalToMsat(value: string): bigint | null {
  return scaled(value, MSAT_DECIMALS);
}
