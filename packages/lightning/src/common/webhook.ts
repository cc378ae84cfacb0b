import {
  InvalidWebhookPayloadError,
  InvalidWebhookSignatureError,
  type PayableError,
  type ProviderChargeInput,
  ValidationError,
  type WebhookVerifyInput,
} from '@payable/core';

/**
 * Refuses a charge with a `descriptionHash`: hosted services write their own description into the
 * invoice and cannot commit to a hash given out of band (LNURL-pay needs a node provider).
 */
export function refuseDescriptionHash(input: ProviderChargeInput, provider: string, label: string): void {
  if (input.descriptionHash !== undefined && input.descriptionHash !== null) {
    throw new ValidationError(
      `${label} cannot write a description hash into its invoices: drop descriptionHash, or use a node provider (LND).`,
      { context: { field: 'descriptionHash', reason: 'not_supported', provider } },
    );
  }
}

/** The signature header's value (the override's name if given), or `undefined`. */
export function headerValue(input: WebhookVerifyInput, defaultHeader: string): string | undefined {
  const name = (input.signatureHeader ?? defaultHeader).toLowerCase();
  const value = input.headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** An `INVALID_WEBHOOK_SIGNATURE` with the provider and a stable reason. */
export function invalidSignature(provider: string, message: string, reason: string): PayableError {
  return new InvalidWebhookSignatureError(message, { context: { provider, reason } });
}

/** An `INVALID_WEBHOOK_PAYLOAD` with the provider and a stable reason. */
export function invalidPayload(provider: string, message: string, reason: string): PayableError {
  return new InvalidWebhookPayloadError(message, { context: { provider, reason } });
}

/** Parses a verified JSON body into an object, or throws `INVALID_WEBHOOK_PAYLOAD`. */
export function parseJsonObject(payload: Buffer, provider: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    throw invalidPayload(provider, 'The webhook body is not JSON.', 'not_json');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalidPayload(provider, 'The webhook body is not a JSON object.', 'not_an_object');
  }
  return parsed as Record<string, unknown>;
}
