import {
  IdempotencyConflictError,
  isPayableError,
  NotFoundError,
  type PayableError,
  ProviderError,
  ProviderUnavailableError,
} from '@payable/core';

/**
 * The decline codes Payable reports in `context.declineCode` of a card decline, the same for every
 * card provider. Stripe's own, finer code (`lost_card`, `generic_decline`, …) is kept in
 * `context.stripeDeclineCode` and `context.providerCode`.
 */
export const STANDARD_DECLINE_CODES = [
  'card_declined',
  'insufficient_funds',
  'expired_card',
  'incorrect_cvc',
  'processing_error',
] as const;

/** One of {@link STANDARD_DECLINE_CODES}. */
export type StandardDeclineCode = (typeof STANDARD_DECLINE_CODES)[number];

/** What {@link mapStripeError} knows about the call that failed. */
export interface StripeErrorScope {
  /** The provider operation, e.g. `'charge'`, `'getPayment'`. */
  op: string;
  /** The idempotency key sent with the call, if any (named in an idempotency conflict). */
  idempotencyKey?: string | null;
}

/** The fields of a stripe-node error this module reads (any SDK version, any module copy). */
interface StripeErrorLike {
  type: string;
  message?: unknown;
  code?: unknown;
  decline_code?: unknown;
  param?: unknown;
  statusCode?: unknown;
  requestId?: unknown;
  headers?: unknown;
  raw?: unknown;
  payment_intent?: unknown;
}

function isStripeError(error: unknown): error is StripeErrorLike {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { type?: unknown }).type === 'string' &&
    (error as { type: string }).type.startsWith('Stripe')
  );
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The standard decline code of a Stripe card error: Stripe's `decline_code` or `code` when it is
 * one of {@link STANDARD_DECLINE_CODES}, `card_declined` otherwise.
 *
 * @example
 * ```ts
 * standardDeclineCode({ code: 'card_declined', decline_code: 'insufficient_funds' }); // 'insufficient_funds'
 * standardDeclineCode({ code: 'card_declined', decline_code: 'lost_card' }); // 'card_declined'
 * ```
 */
export function standardDeclineCode(error: { code?: unknown; decline_code?: unknown }): StandardDeclineCode {
  const known = STANDARD_DECLINE_CODES as readonly string[];
  const declineCode = text(error.decline_code);
  if (declineCode !== undefined && known.includes(declineCode)) return declineCode as StandardDeclineCode;
  const code = text(error.code);
  if (code !== undefined && known.includes(code)) return code as StandardDeclineCode;
  return 'card_declined';
}

function retryAfterOf(headers: unknown): number | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const value = (headers as Record<string, unknown>)['retry-after'];
  const seconds = typeof value === 'string' ? Number(value) : typeof value === 'number' ? value : Number.NaN;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

function paymentIntentIdOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) return text((value as { id?: unknown }).id);
  return undefined;
}

/**
 * Maps anything the Stripe SDK throws to a Payable error, so a raw Stripe exception never reaches
 * a caller. The original error is kept as `cause`.
 *
 * | Stripe error | Payable error |
 * |---|---|
 * | `StripeCardError` (402) | `PROVIDER_ERROR`, `context: { declineCode, stripeDeclineCode, providerCode, requestId, paymentIntentId }` |
 * | `StripeInvalidRequestError` 404 `resource_missing` | `NOT_FOUND` |
 * | `StripeInvalidRequestError` (other) | `PROVIDER_ERROR`, `context: { providerCode, param, requestId }` |
 * | `StripeIdempotencyError` | `IDEMPOTENCY_CONFLICT`, `context: { key }` |
 * | `StripeRateLimitError`, `StripeConnectionError`, `StripeAPIError` (5xx) | `PROVIDER_UNAVAILABLE` |
 * | `StripeAuthenticationError`, `StripePermissionError` | `PROVIDER_ERROR` naming the API key |
 * | anything else | `PROVIDER_ERROR` |
 *
 * @example
 * ```ts
 * try { await stripe.paymentIntents.create(params); }
 * catch (error) { throw mapStripeError(error, { op: 'charge' }); }
 * ```
 */
export function mapStripeError(error: unknown, scope: StripeErrorScope): PayableError {
  if (isPayableError(error)) return error;
  const base = { provider: 'stripe', op: scope.op };
  if (!isStripeError(error)) {
    return new ProviderError(`Stripe failed during ${scope.op}.`, { context: base, cause: error });
  }
  const message = text(error.message) ?? `Stripe refused ${scope.op}.`;
  const requestId = text(error.requestId);
  const providerCode = text(error.code);
  const status = typeof error.statusCode === 'number' ? error.statusCode : undefined;
  const facts = {
    ...base,
    ...(providerCode === undefined ? {} : { providerCode }),
    ...(requestId === undefined ? {} : { requestId }),
    ...(status === undefined ? {} : { statusCode: status }),
  };
  switch (error.type) {
    case 'StripeCardError': {
      const stripeDeclineCode = text(error.decline_code);
      const paymentIntentId = paymentIntentIdOf(error.payment_intent);
      return new ProviderError(`The card was declined: ${message}`, {
        context: {
          ...facts,
          declineCode: standardDeclineCode(error),
          ...(stripeDeclineCode === undefined ? {} : { stripeDeclineCode }),
          ...(paymentIntentId === undefined ? {} : { paymentIntentId }),
        },
        cause: error,
      });
    }
    case 'StripeInvalidRequestError': {
      const param = text(error.param);
      const context = { ...facts, ...(param === undefined ? {} : { param }) };
      if (providerCode === 'resource_missing' && status === 404) {
        return new NotFoundError(`Stripe has no such object: ${message}`, { context, cause: error });
      }
      return new ProviderError(`Stripe refused the request: ${message}`, { context, cause: error });
    }
    case 'StripeIdempotencyError':
      return new IdempotencyConflictError(
        'Stripe already saw this idempotency key with other parameters: use a fresh key for a new request.',
        { context: { ...facts, key: scope.idempotencyKey ?? null }, cause: error },
      );
    case 'StripeRateLimitError': {
      const retryAfter = retryAfterOf(error.headers);
      return new ProviderUnavailableError('Stripe is rate limiting requests; retry later.', {
        context: { ...facts, reason: 'rate_limited', ...(retryAfter === undefined ? {} : { retryAfter }) },
        cause: error,
      });
    }
    case 'StripeConnectionError':
      return new ProviderUnavailableError('Stripe could not be reached (after the SDK retries); retry later.', {
        context: { ...facts, reason: 'connection' },
        cause: error,
      });
    case 'StripeAPIError':
      if (status === undefined || status >= 500) {
        return new ProviderUnavailableError('Stripe had an internal error (after the SDK retries); retry later.', {
          context: { ...facts, reason: 'stripe_error' },
          cause: error,
        });
      }
      return new ProviderError(`Stripe refused the request: ${message}`, { context: facts, cause: error });
    case 'StripeAuthenticationError':
      return new ProviderError(
        'Stripe refused the API key: check the StripeProvider secretKey (sk_test_… in test mode, sk_live_… in live mode).',
        { context: { ...facts, reason: 'authentication' }, cause: error },
      );
    case 'StripePermissionError':
      return new ProviderError(
        `The Stripe API key may not do ${scope.op}: give the restricted key the permission, or use a secret key.`,
        { context: { ...facts, reason: 'permission' }, cause: error },
      );
    default:
      return new ProviderError(`Stripe refused the request: ${message}`, { context: facts, cause: error });
  }
}
