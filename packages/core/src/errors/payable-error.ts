import { ERROR_STATUS, type ErrorCode } from './codes.js';

const BRAND = Symbol.for('payable.error');

/** Extra, non-secret facts about an error (field names, ids, provider names). */
export type ErrorContext = Readonly<Record<string, unknown>>;

/** Options accepted by every Payable error constructor. */
export interface PayableErrorOptions {
  context?: ErrorContext;
  cause?: unknown;
}

/**
 * The root of Payable's error tree. Every error Payable raises is one, with an UPPER_SNAKE `code`,
 * the `httpStatus` the HTTP handler answers with, and a `context` object safe to show a caller.
 *
 * @example
 * ```ts
 * try { await payable.charge({ amount: 1.5, currency: 'USD' }); }
 * catch (e) { if (isPayableError(e)) console.error(e.code, e.context); }
 * ```
 */
export class PayableError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly context: ErrorContext;
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, options: PayableErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PayableError';
    this.code = code;
    this.httpStatus = ERROR_STATUS[code];
    this.context = Object.freeze({ ...(options.context ?? {}) });
  }

  /** The JSON error body every adapter answers with: `{ error, message, context }`. */
  toJSON(): { error: ErrorCode; message: string; context: ErrorContext } {
    return { error: this.code, message: this.message, context: this.context };
  }
}

/**
 * Recognises a Payable error by its brand, so it works across duplicated module copies
 * (ESM and CJS builds loaded in one process), not only by `instanceof`.
 *
 * @example
 * ```ts
 * if (isPayableError(err) && err.code === 'NOT_FOUND') return null;
 * ```
 */
export function isPayableError(value: unknown): value is PayableError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [BRAND]?: unknown })[BRAND] === true &&
    typeof (value as { code?: unknown }).code === 'string'
  );
}
