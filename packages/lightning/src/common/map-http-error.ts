import {
  isPayableError,
  NotFoundError,
  type PayableError,
  ProviderError,
  ProviderUnavailableError,
} from '@payable/core';
import { HttpResponseError, HttpTransportError } from './http.js';

/** What a provider's `map-error.ts` knows about the failed call. */
export interface HttpErrorScope {
  /** The provider kind, e.g. `'btcpay'`. */
  provider: string;
  /** Its display name in messages, e.g. `'BTCPay Server'`. */
  label: string;
  /** The operation, e.g. `'charge'`, `'getPayment'`. */
  op: string;
}

/** The provider-specific reading of an error response. */
export interface ResponseReading {
  /** The service's own message, if it gave one. */
  message?: string | undefined;
  /** The service's own error code, if it gave one. */
  providerCode?: string | undefined;
  /** Extra context (never secrets). */
  context?: Record<string, unknown>;
  /** Seconds to wait, from the body, when the response has no `Retry-After` header. */
  retryAfter?: number | undefined;
}

/** How a provider refines the generic mapping. */
export interface ResponseMapping {
  /** Reads the service's message and code from an error body. */
  read(error: HttpResponseError): ResponseReading;
  /** A provider-specific error for this response, or `undefined` for the generic mapping. */
  special?(
    error: HttpResponseError,
    reading: ResponseReading,
    facts: Record<string, unknown>,
  ): PayableError | undefined;
  /** The advice for a 401 (which key, where to get one). */
  authAdvice: string;
}

/**
 * The shared HTTP → Payable error mapping of the hosted providers:
 *
 * | failure | Payable error |
 * |---|---|
 * | no answer (refused, reset, DNS) or timeout | `PROVIDER_UNAVAILABLE` (503), `context.reason` `connection` / `timeout` |
 * | 429 | `PROVIDER_UNAVAILABLE`, `context.reason = 'rate_limited'`, `context.retryAfter` (seconds) |
 * | 5xx | `PROVIDER_UNAVAILABLE`, `context.reason = 'provider_error'` |
 * | 404 | `NOT_FOUND` |
 * | 401 | `PROVIDER_ERROR`, `context.reason = 'authentication'`, with the provider's advice |
 * | other 4xx | `PROVIDER_ERROR` with the service's message (or what `special` returns) |
 * | anything else | `PROVIDER_ERROR` |
 */
export function mapHttpError(error: unknown, scope: HttpErrorScope, mapping: ResponseMapping): PayableError {
  if (isPayableError(error)) return error;
  const base = { provider: scope.provider, op: scope.op };
  if (error instanceof HttpTransportError) {
    const what = error.reason === 'timeout' ? 'did not answer in time' : 'could not be reached';
    return new ProviderUnavailableError(`${scope.label} ${what} during ${scope.op}; retry later.`, {
      context: { ...base, reason: error.reason },
      cause: error,
    });
  }
  if (!(error instanceof HttpResponseError)) {
    return new ProviderError(`${scope.label} failed during ${scope.op}.`, { context: base, cause: error });
  }
  const reading = mapping.read(error);
  const facts: Record<string, unknown> = {
    ...base,
    statusCode: error.status,
    ...(reading.providerCode === undefined ? {} : { providerCode: reading.providerCode }),
    ...(reading.context ?? {}),
  };
  const said = reading.message === undefined ? '' : `: ${reading.message}`;
  const special = mapping.special?.(error, reading, facts);
  if (special) return special;
  if (error.status === 429) {
    const retryAfter = error.retryAfter ?? reading.retryAfter;
    return new ProviderUnavailableError(
      `${scope.label} is rate limiting requests${retryAfter === undefined ? '' : ` (retry after ${retryAfter} s)`}; retry later.`,
      {
        context: { ...facts, reason: 'rate_limited', ...(retryAfter === undefined ? {} : { retryAfter }) },
        cause: error,
      },
    );
  }
  if (error.status >= 500) {
    return new ProviderUnavailableError(
      `${scope.label} answered ${error.status} during ${scope.op}${said}; retry later.`,
      {
        context: {
          ...facts,
          reason: 'provider_error',
          ...(error.retryAfter === undefined ? {} : { retryAfter: error.retryAfter }),
        },
        cause: error,
      },
    );
  }
  if (error.status === 404) {
    return new NotFoundError(`${scope.label} has no such object${said}.`, { context: facts, cause: error });
  }
  if (error.status === 401) {
    return new ProviderError(`${scope.label} refused the API key${said}. ${mapping.authAdvice}`, {
      context: { ...facts, reason: 'authentication' },
      cause: error,
    });
  }
  return new ProviderError(`${scope.label} refused ${scope.op} (HTTP ${error.status})${said}.`, {
    context: facts,
    cause: error,
  });
}
