import {
  L402AmountMismatchError,
  L402InvalidPreimageFormatError,
  L402InvalidTokenError,
  L402MerchantMismatchError,
  L402PathNotAllowedError,
  L402PreimageMismatchError,
  L402TokenExpiredError,
  type PayableError,
} from '@payable/core';
import type { CaveatErrorCode } from './caveats.js';

/** Every code an L402 credential check can fail with (replay, `L402_TOKEN_USED`, is the paywall's). */
export type L402ErrorCode = CaveatErrorCode | 'L402_PREIMAGE_MISMATCH' | 'L402_INVALID_PREIMAGE_FORMAT';

/**
 * A failed L402 check as data: code, HTTP status, reason, a message safe to show, details.
 * `CaveatFailure` and `L402TokenFailure` are both this shape.
 */
export interface L402Failure {
  readonly ok: false;
  readonly code: L402ErrorCode;
  readonly httpStatus: number;
  readonly reason: string;
  readonly message: string;
  readonly caveat?: string;
  readonly details: Readonly<Record<string, unknown>>;
}

const CLASSES = {
  L402_TOKEN_EXPIRED: L402TokenExpiredError,
  L402_PATH_NOT_ALLOWED: L402PathNotAllowedError,
  L402_AMOUNT_MISMATCH: L402AmountMismatchError,
  L402_MERCHANT_MISMATCH: L402MerchantMismatchError,
  L402_INVALID_TOKEN: L402InvalidTokenError,
  L402_PREIMAGE_MISMATCH: L402PreimageMismatchError,
  L402_INVALID_PREIMAGE_FORMAT: L402InvalidPreimageFormatError,
} as const;

/**
 * Turns a failure result into the matching `PayableError` subclass (`L402TokenExpiredError`, ...),
 * with `context: { reason, ...details, caveat? }`, ready to throw or to send as the error body.
 *
 * @example
 * ```ts
 * const result = verifyL402Token(credential, { rootKey, context });
 * if (!result.ok) throw l402FailureToError(result);
 * ```
 */
export function l402FailureToError(
  failure: Pick<L402Failure, 'code' | 'reason' | 'message' | 'caveat' | 'details'>,
): PayableError {
  const Cls = CLASSES[failure.code];
  const context: Record<string, unknown> = { reason: failure.reason, ...failure.details };
  if (failure.caveat !== undefined) context.caveat = failure.caveat;
  return new Cls(failure.message, { context });
}
