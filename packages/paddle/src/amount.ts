/** The longest digit string {@link parsePaddleAmount} looks at (longer can never be a safe integer). */
const MAX_DIGITS = 16;

/**
 * Parses a Paddle amount: Paddle sends money as a string of digits in the currency's minor unit
 * (`"1050"` is 10.50 USD, `"1050"` is 1050 JPY). Returns the exact integer, or `null` when the value
 * is not such a string (a sign, a decimal point, an exponent, spaces, an empty string, a number)
 * or is too large to be a safe integer. Never goes through a float.
 *
 * @example
 * ```ts
 * parsePaddleAmount('1050'); // 1050
 * parsePaddleAmount('10.50'); // null
 * parsePaddleAmount('99999999999999999999'); // null (not a safe integer)
 * ```
 */
export function parsePaddleAmount(value: unknown): number | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_DIGITS) return null;
  let result = 0;
  for (let i = 0; i < value.length; i++) {
    const digit = value.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return null;
    result = result * 10 + digit;
  }
  // Every step stays exact while the result is a safe integer; past it, refuse.
  return Number.isSafeInteger(result) ? result : null;
}

/**
 * Formats an integer amount in minor units the way Paddle expects it: a string of digits.
 * Returns `null` for anything but a non-negative safe integer.
 *
 * @example
 * ```ts
 * formatPaddleAmount(1050); // '1050'
 * formatPaddleAmount(10.5); // null
 * ```
 */
export function formatPaddleAmount(amount: number): string | null {
  if (!Number.isSafeInteger(amount) || amount < 0) return null;
  return String(amount);
}
