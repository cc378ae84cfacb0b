import { InvalidWebhookSignatureError, type PayableError } from '@payable/core';

/** Default signature timestamp tolerance in seconds, both directions (Stripe's own default). */
export const STRIPE_DEFAULT_TOLERANCE_SECONDS = 300;

/** Default most `v1` signatures accepted in one `Stripe-Signature` header. */
export const STRIPE_DEFAULT_MAX_SIGNATURES = 5;

/** Longest `Stripe-Signature` header read, in characters; longer ones are refused unparsed. */
export const STRIPE_MAX_SIGNATURE_HEADER_LENGTH = 4096;

/** The parts of a `Stripe-Signature` header: `t=<unix seconds>,v1=<hex>[,v1=<hex>…][,v0=…]`. */
export interface StripeSignatureParts {
  timestamp: number;
  /** The `v1` signatures, in header order. */
  signatures: string[];
}

/** Why a `Stripe-Signature` header was refused, as `context.reason` of the error. */
export type StripeSignatureFailure =
  | 'missing_header'
  | 'malformed_header'
  | 'too_many_signatures'
  | 'signature_mismatch'
  | 'timestamp_outside_tolerance'
  | 'no_secret';

/** An `INVALID_WEBHOOK_SIGNATURE` error with `context.reason`. */
export function signatureError(
  reason: StripeSignatureFailure,
  message: string,
  extra: Record<string, unknown> = {},
): PayableError {
  return new InvalidWebhookSignatureError(message, { context: { provider: 'stripe', reason, ...extra } });
}

/**
 * Parses a `Stripe-Signature` header the way Stripe documents it, bounded: at most `maxSignatures`
 * `v1` entries (more is `too_many_signatures`, so a crafted header cannot make the verifier compute
 * without end), exactly one integer `t`, at least one `v1`; other schemes (`v0`) are ignored.
 *
 * @example
 * ```ts
 * parseStripeSignatureHeader('t=1767225600,v1=5257a8…,v1=9c1d…', 5);
 * // { timestamp: 1767225600, signatures: ['5257a8…', '9c1d…'] }
 * ```
 */
export function parseStripeSignatureHeader(header: string, maxSignatures: number): StripeSignatureParts {
  if (header.length > STRIPE_MAX_SIGNATURE_HEADER_LENGTH) {
    throw signatureError('too_many_signatures', 'The Stripe-Signature header is too long.', {
      maxLength: STRIPE_MAX_SIGNATURE_HEADER_LENGTH,
    });
  }
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const item of header.split(',')) {
    const eq = item.indexOf('=');
    if (eq <= 0) continue;
    const key = item.slice(0, eq);
    const value = item.slice(eq + 1);
    if (key === 't') {
      if (timestamp !== null || !/^\d{1,12}$/.test(value)) {
        throw signatureError('malformed_header', 'The Stripe-Signature header has no single integer t=.');
      }
      timestamp = Number(value);
    } else if (key === 'v1') {
      signatures.push(value);
      if (signatures.length > maxSignatures) {
        throw signatureError(
          'too_many_signatures',
          `The Stripe-Signature header carries more than ${maxSignatures} v1 signatures.`,
          { maxSignatures },
        );
      }
    }
  }
  if (timestamp === null || signatures.length === 0) {
    throw signatureError('malformed_header', 'The Stripe-Signature header is not of the form t=<seconds>,v1=<hex>.');
  }
  return { timestamp, signatures };
}

/**
 * Checks a signature timestamp against `now`, in both directions: older than `toleranceSeconds` is a
 * replay, newer than `toleranceSeconds` ahead is refused too (the Stripe SDK only checks the past).
 *
 * @example
 * ```ts
 * checkStripeTimestamp(1767225600, new Date(), 300);
 * ```
 */
export function checkStripeTimestamp(timestamp: number, now: Date, toleranceSeconds: number): void {
  const skew = now.getTime() / 1000 - timestamp;
  if (!Number.isFinite(skew) || Math.abs(skew) > toleranceSeconds) {
    throw signatureError(
      'timestamp_outside_tolerance',
      skew < 0
        ? 'The Stripe-Signature timestamp is ahead of the tolerance (check the server clock).'
        : 'The Stripe-Signature timestamp is older than the tolerance (a replay, or a delivery held too long).',
      { toleranceSeconds },
    );
  }
}
