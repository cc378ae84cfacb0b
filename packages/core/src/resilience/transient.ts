import { isPayableError } from '../errors/payable-error.js';

/** Error codes of Node, undici and SDKs that mean "no answer came back" (refused, reset, DNS, timeouts). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** Error names of aborted or timed-out calls (fetch, AbortSignal.timeout, undici, got, axios). */
const TIMEOUT_NAMES = new Set(['AbortError', 'TimeoutError', 'ConnectTimeoutError', 'HeadersTimeoutError']);

type Bag = Record<string, unknown>;

function numberField(bag: Bag, names: readonly string[]): number | undefined {
  for (const name of names) {
    const value = bag[name];
    if (typeof value === 'number' && Number.isFinite(value)) return value;
  }
  return undefined;
}

const STATUS_FIELDS = ['statusCode', 'status', 'httpStatus'] as const;

/** A provider's 429 (or a rate-limit reason): transient, but the provider asked us to slow down. */
function isRateLimit(bag: Bag): boolean {
  if (numberField(bag, STATUS_FIELDS) === 429) return true;
  return (
    bag.reason === 'rate_limited' || bag.providerCode === 'too_many_requests' || bag.providerCode === 'rate_limited'
  );
}

/** Whether an error that is not a PayableError (an SDK's, fetch's, a socket's) means "no usable answer". */
function isTransientRaw(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const bag = current as Bag;
    const status = numberField(bag, STATUS_FIELDS);
    if (status !== undefined && status >= 400 && status < 500) return false;
    if (status !== undefined && status >= 500 && status < 600) return true;
    if (typeof bag.code === 'string' && NETWORK_CODES.has(bag.code)) return true;
    if (typeof bag.name === 'string' && TIMEOUT_NAMES.has(bag.name)) return true;
    // stripe-node: connection failures and 5xx API errors (after the SDK's own retries).
    if (bag.type === 'StripeConnectionError') return true;
    if (bag.type === 'StripeAPIError' && status === undefined) return true;
    // Paddle's SDK: `api_error` is Paddle's 5xx.
    if (bag.type === 'api_error' && typeof bag.code === 'string') return true;
    if (current instanceof TypeError && current.message === 'fetch failed') return true;
    current = bag.cause;
  }
  return false;
}

/**
 * Whether a provider call failed in a way worth retrying and worth counting toward the circuit
 * breaker: the provider could not be reached, timed out, or answered 5xx. Declines, validation
 * errors, other 4xx answers, the provider's own rate limit (429) and an open breaker's refusal are
 * not: retrying them would not help (and a 429 asks to slow down).
 *
 * Recognised: `PROVIDER_UNAVAILABLE` errors (what every Payable provider maps outages to), a
 * `PROVIDER_ERROR` whose `context.status`/`statusCode` is 5xx or whose cause is transient, and raw
 * errors: `status`/`statusCode` 5xx, Node/undici network codes (`ECONNREFUSED`, `ECONNRESET`,
 * `ETIMEDOUT`, …), `AbortError`/`TimeoutError`, `StripeConnectionError`, `StripeAPIError` (5xx),
 * Paddle's `api_error`, and `fetch failed`; causes are followed a few levels deep.
 *
 * @example
 * ```ts
 * isTransientFailure(new ProviderUnavailableError('down')); // true
 * isTransientFailure(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })); // true
 * isTransientFailure(new ProviderError('declined', { context: { declineCode: 'card_declined' } })); // false
 * ```
 */
export function isTransientFailure(error: unknown): boolean {
  if (!isPayableError(error)) return isTransientRaw(error);
  const context = error.context as Bag;
  if (context.reason === 'circuit_open') return false;
  if (error.code === 'PROVIDER_UNAVAILABLE') return !isRateLimit(context);
  if (error.code === 'PROVIDER_ERROR') {
    const status = numberField(context, STATUS_FIELDS);
    if (status !== undefined) return status >= 500 && status < 600;
    return error.cause !== undefined && isTransientRaw(error.cause);
  }
  return false;
}

/**
 * Seconds the provider asked to wait (`context.retryAfter` or `retryAfterSeconds` of a
 * PayableError, or a raw error's), or `undefined`.
 *
 * @example
 * ```ts
 * retryAfterOf(new ProviderUnavailableError('busy', { context: { retryAfter: 5 } })); // 5
 * ```
 */
export function retryAfterOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const bag = (isPayableError(error) ? error.context : error) as Bag;
  const value = numberField(bag, ['retryAfterSeconds', 'retryAfter']);
  return value !== undefined && value >= 0 ? value : undefined;
}
