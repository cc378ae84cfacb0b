import type { ErrorCode } from './codes.js';
import { PayableError, type PayableErrorOptions } from './payable-error.js';

/** A subclass of {@link PayableError} fixed to one code. */
export type PayableErrorClass<C extends ErrorCode> = new (
  message: string,
  options?: PayableErrorOptions,
) => PayableError & { readonly code: C };

function errorClass<C extends ErrorCode>(code: C, name: string): PayableErrorClass<C> {
  const cls = class extends PayableError {
    constructor(message: string, options?: PayableErrorOptions) {
      super(code, message, options);
      this.name = name;
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls as unknown as PayableErrorClass<C>;
}

/** 400 — input failed validation; `context.field` names the field, `context.reason` why. */
export const ValidationError = errorClass('VALIDATION_ERROR', 'ValidationError');
/** 400 — a webhook's signature did not verify over the raw body. */
export const InvalidWebhookSignatureError = errorClass('INVALID_WEBHOOK_SIGNATURE', 'InvalidWebhookSignatureError');
/** 400 — a webhook body was missing, already parsed by a JSON middleware, or not JSON. */
export const InvalidWebhookPayloadError = errorClass('INVALID_WEBHOOK_PAYLOAD', 'InvalidWebhookPayloadError');
/** 400 — several providers are registered and the webhook route named none. */
export const WebhookProviderAmbiguousError = errorClass('WEBHOOK_PROVIDER_AMBIGUOUS', 'WebhookProviderAmbiguousError');
/** 404 — the webhook route named a provider that is not registered. */
export const WebhookProviderUnknownError = errorClass('WEBHOOK_PROVIDER_UNKNOWN', 'WebhookProviderUnknownError');
/** 400 — an outbound webhook endpoint URL points at a forbidden (private, loopback…) address. */
export const EndpointUrlForbiddenError = errorClass('ENDPOINT_URL_FORBIDDEN', 'EndpointUrlForbiddenError');
/** 401 — a management route was called without authorization, or `authorize` said no. */
export const UnauthorizedError = errorClass('UNAUTHORIZED', 'UnauthorizedError');
/** 402 — an L402 challenge: pay the invoice to continue. */
export const PaymentRequiredError = errorClass('PAYMENT_REQUIRED', 'PaymentRequiredError');
/** 404 — no record with that id (in this tenant). */
export const NotFoundError = errorClass('NOT_FOUND', 'NotFoundError');
/** 409 — an idempotency key was reused with a different request; `context.key` names it. */
export const IdempotencyConflictError = errorClass('IDEMPOTENCY_CONFLICT', 'IdempotencyConflictError');
/** 409 — a request with the same idempotency key is still running. */
export const IdempotencyInProgressError = errorClass('IDEMPOTENCY_IN_PROGRESS', 'IdempotencyInProgressError');
/** 413 — the request body is larger than the configured `bodyLimit`. */
export const PayloadTooLargeError = errorClass('PAYLOAD_TOO_LARGE', 'PayloadTooLargeError');
/** 422 — the provider lacks the capability; `context` is `{ provider, capability }`. */
export const ProviderCapabilityNotSupportedError = errorClass(
  'PROVIDER_CAPABILITY_NOT_SUPPORTED',
  'ProviderCapabilityNotSupportedError',
);
/** 429 — too many requests; `context.retryAfter` gives seconds to wait. */
export const RateLimitedError = errorClass('RATE_LIMITED', 'RateLimitedError');
/** 500 — webhooks need a storage driver and none is configured. */
export const WebhookStorageRequiredError = errorClass('WEBHOOK_STORAGE_REQUIRED', 'WebhookStorageRequiredError');
/** 500 — the outbox needs a storage driver and none is configured. */
export const OutboxStorageRequiredError = errorClass('OUTBOX_STORAGE_REQUIRED', 'OutboxStorageRequiredError');
/** 500 — an encryption key was empty or whitespace. */
export const EncryptionKeyRequiredError = errorClass('ENCRYPTION_KEY_REQUIRED', 'EncryptionKeyRequiredError');
/** 500 — a ciphertext was tampered, truncated, made with another key, or not a ciphertext. */
export const EncryptionInvalidCiphertextError = errorClass(
  'ENCRYPTION_INVALID_CIPHERTEXT',
  'EncryptionInvalidCiphertextError',
);
/** 500 — an unexpected failure; the message never carries secrets. */
export const InternalError = errorClass('INTERNAL_ERROR', 'InternalError');
/** 502 — the provider refused the operation (a card decline, a bad request); details in `context`. */
export const ProviderError = errorClass('PROVIDER_ERROR', 'ProviderError');
/** 503 — the provider could not be reached or is rate limiting; retry later. */
export const ProviderUnavailableError = errorClass('PROVIDER_UNAVAILABLE', 'ProviderUnavailableError');
/** 503 — the database could not be reached; nothing was stored, retry later. */
export const StorageUnavailableError = errorClass('STORAGE_UNAVAILABLE', 'StorageUnavailableError');

/** 401 — an L402 preimage is not exactly 64 hex characters. */
export const L402InvalidPreimageFormatError = errorClass(
  'L402_INVALID_PREIMAGE_FORMAT',
  'L402InvalidPreimageFormatError',
);
/** 401 — sha256(preimage) is not the token's payment hash. */
export const L402PreimageMismatchError = errorClass('L402_PREIMAGE_MISMATCH', 'L402PreimageMismatchError');
/** 401 — the L402 token's validity has ended. */
export const L402TokenExpiredError = errorClass('L402_TOKEN_EXPIRED', 'L402TokenExpiredError');
/** 401 — the L402 token was paid at another price than this endpoint asks. */
export const L402AmountMismatchError = errorClass('L402_AMOUNT_MISMATCH', 'L402AmountMismatchError');
/** 401 — the macaroon was tampered with or its root key is unknown. */
export const L402InvalidTokenError = errorClass('L402_INVALID_TOKEN', 'L402InvalidTokenError');
/** 401 — a single-use L402 token was presented again. */
export const L402TokenUsedError = errorClass('L402_TOKEN_USED', 'L402TokenUsedError');
/** 403 — the L402 token is bound to another path. */
export const L402PathNotAllowedError = errorClass('L402_PATH_NOT_ALLOWED', 'L402PathNotAllowedError');
/** 403 — the L402 token is bound to another merchant/tenant. */
export const L402MerchantMismatchError = errorClass('L402_MERCHANT_MISMATCH', 'L402MerchantMismatchError');
