import { ApiError } from '@paddle/paddle-node-sdk';
import {
  isPayableError,
  NotFoundError,
  type PayableError,
  ProviderError,
  ProviderUnavailableError,
} from '@payable/core';

/** Network error codes that mean "Paddle could not be reached", not "Paddle said no". */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** Paddle error codes that mean the object asked for does not exist. */
const NOT_FOUND_CODES = new Set(['not_found', 'entity_not_found']);

/** Paddle error codes that mean "try again later". */
const UNAVAILABLE_CODES = new Set(['too_many_requests', 'internal_error', 'service_unavailable', 'bad_gateway']);

interface ApiErrorLike {
  type: string;
  code: string;
  detail: string;
  documentationUrl?: string;
  errors?: readonly { field: string; message: string }[] | null;
  retryAfter?: number | null;
}

function isApiErrorLike(error: unknown): error is ApiErrorLike {
  if (error instanceof ApiError) return true;
  if (typeof error !== 'object' || error === null) return false;
  const e = error as Record<string, unknown>;
  return typeof e.type === 'string' && typeof e.code === 'string' && typeof e.detail === 'string';
}

function networkCode(error: unknown): string | null {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

/**
 * Maps anything the Paddle SDK throws to a Payable error, so no raw SDK error reaches a caller:
 *
 * - a `PayableError` passes through unchanged;
 * - an `ApiError` with code `not_found` → `NOT_FOUND` (404);
 * - `too_many_requests` (429, with `context.retryAfter` in seconds when Paddle sent `Retry-After`),
 *   any `api_error` (Paddle's 5xx) → `PROVIDER_UNAVAILABLE` (503);
 * - any other `ApiError` (a `request_error`: validation, state, authentication) → `PROVIDER_ERROR`
 *   (502) with `context.providerCode` (Paddle's `code`), `providerType`, `documentationUrl` and
 *   the field `errors` Paddle listed;
 * - the network failing (refused, reset, DNS, timeouts) or an answer that is not JSON (a proxy's
 *   HTML error page) → `PROVIDER_UNAVAILABLE`;
 * - anything else → `PROVIDER_ERROR`.
 *
 * The SDK's `ApiError` carries Paddle's error `type` and `code` but not the HTTP status, so the
 * mapping reads those (they are documented per status by Paddle). The original error is the `cause`.
 *
 * @example
 * ```ts
 * try { await paddle.transactions.get(id); } catch (error) { throw mapPaddleError(error, 'getTransaction'); }
 * ```
 */
export function mapPaddleError(error: unknown, operation: string): PayableError {
  if (isPayableError(error)) return error;
  const base = { provider: 'paddle', op: operation };
  if (isApiErrorLike(error)) {
    const context = {
      ...base,
      providerCode: error.code,
      providerType: error.type,
      ...(error.documentationUrl ? { documentationUrl: error.documentationUrl } : {}),
    };
    if (NOT_FOUND_CODES.has(error.code)) {
      return new NotFoundError(`Paddle has no such object: ${error.detail}`, { context, cause: error });
    }
    if (error.type === 'api_error' || UNAVAILABLE_CODES.has(error.code)) {
      const retryAfter =
        typeof error.retryAfter === 'number' && Number.isFinite(error.retryAfter) ? error.retryAfter : null;
      return new ProviderUnavailableError(`Paddle is unavailable (${error.code}): ${error.detail}`, {
        context: { ...context, ...(retryAfter === null ? {} : { retryAfter }) },
        cause: error,
      });
    }
    const fields = (error.errors ?? []).map((f) => ({ field: f.field, message: f.message }));
    return new ProviderError(`Paddle refused the request (${error.code}): ${error.detail}`, {
      context: { ...context, ...(fields.length > 0 ? { errors: fields } : {}) },
      cause: error,
    });
  }
  const network = networkCode(error);
  if (network !== null || (error instanceof TypeError && error.message === 'fetch failed')) {
    return new ProviderUnavailableError('Paddle could not be reached.', {
      context: { ...base, reason: 'network', ...(network === null ? {} : { networkCode: network }) },
      cause: error,
    });
  }
  if (error instanceof SyntaxError) {
    // The SDK parses every answer as JSON: a proxy or load balancer error page lands here.
    return new ProviderUnavailableError('Paddle answered with something that is not JSON.', {
      context: { ...base, reason: 'invalid_response' },
      cause: error,
    });
  }
  return new ProviderError(`The Paddle call ${operation} failed.`, { context: base, cause: error });
}
