import { ValidationError } from '@payable/core';

/**
 * Every `context.reason` a BOLT-11 `ValidationError` can carry. Stable: callers may switch on them.
 *
 * @example
 * ```ts
 * try { decodeInvoice(text); }
 * catch (e) { if (isPayableError(e) && e.context.reason === 'bad_checksum') askToRescan(); }
 * ```
 */
export const INVOICE_ERROR_REASONS = [
  // decoding: the string
  'not_a_string',
  'too_long',
  'mixed_case',
  'no_separator',
  'bad_character',
  'bad_checksum',
  'too_short',
  // decoding: the human-readable part
  'bad_prefix',
  'bad_amount',
  // decoding: the tagged fields
  'truncated_field',
  'missing_payment_hash',
  'missing_payment_secret',
  'missing_description',
  'both_descriptions',
  'bad_description',
  'bad_expiry',
  'bad_min_final_cltv_expiry',
  'bad_route_hint',
  'bad_fallback',
  'bad_payee_key',
  'unknown_required_feature',
  // decoding: the signature
  'bad_signature',
  'high_s_signature',
  'payee_mismatch',
  // encoding only
  'bad_network',
  'bad_timestamp',
  'bad_payment_hash',
  'bad_payment_secret',
  'bad_description_hash',
  'description_too_long',
  'bad_feature_bits',
  'bad_metadata',
  'bad_private_key',
] as const;

/** One of {@link INVOICE_ERROR_REASONS}. */
export type InvoiceErrorReason = (typeof INVOICE_ERROR_REASONS)[number];

/** Throws the `ValidationError` for a bad invoice or encode input, with `{ field, reason, ...extra }`. */
export function invalid(
  field: string,
  reason: InvoiceErrorReason,
  message: string,
  extra: Record<string, unknown> = {},
): never {
  throw new ValidationError(message, { context: { field, reason, ...extra } });
}
