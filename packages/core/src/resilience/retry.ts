import { ValidationError } from '../errors/classes.js';
import { isTransientFailure, retryAfterOf } from './transient.js';

/**
 * How often and how patiently to retry: `retries` more attempts after the first, waiting an
 * exponentially growing, jittered delay between them.
 *
 * @example
 * ```ts
 * const policy: RetryPolicy = { retries: 2, baseMs: 200, maxMs: 2000 };
 * ```
 */
export interface RetryPolicy {
  /** Attempts after the first. 0 never retries. */
  retries: number;
  /** The delay before the first retry (before jitter), in ms. */
  baseMs: number;
  /** The largest delay, in ms; a provider asking to wait longer (`retryAfter`) is not retried. */
  maxMs: number;
}

/**
 * The default retry policy of provider calls: 2 retries, 200 ms doubling up to 2 s.
 *
 * @example
 * ```ts
 * withRetries(fn, { ...DEFAULT_RETRY_POLICY, retries: 4 });
 * ```
 */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({ retries: 2, baseMs: 200, maxMs: 2000 });

/**
 * Options of {@link withRetries}.
 *
 * @example
 * ```ts
 * const options: RetryOptions = { retries: 3, shouldRetry: (e) => isTransientFailure(e), sleep: async () => {} };
 * ```
 */
export interface RetryOptions extends Partial<RetryPolicy> {
  /** Whether a failure may be retried. Default `isTransientFailure`. */
  shouldRetry?: (error: unknown, attempt: number) => boolean;
  /** Waits `ms` (default a timer); inject one in tests. */
  sleep?: (ms: number) => Promise<void>;
  /** A number in [0, 1) for the jitter. Default `Math.random`. */
  random?: () => number;
  /** Told before each wait: the retry number (1 = first retry), the delay and the failure. */
  onRetry?: (info: { retry: number; delayMs: number; error: unknown }) => void;
}

/**
 * Checks a retry policy (`VALIDATION_ERROR` naming the field) and fills in the defaults.
 *
 * @example
 * ```ts
 * checkRetryPolicy({ retries: 0 }); // { retries: 0, baseMs: 200, maxMs: 2000 }
 * ```
 */
export function checkRetryPolicy(
  policy: Partial<RetryPolicy> = {},
  fields: Partial<Record<keyof RetryPolicy, string>> = {},
): RetryPolicy {
  const resolved: RetryPolicy = {
    retries: policy.retries ?? DEFAULT_RETRY_POLICY.retries,
    baseMs: policy.baseMs ?? DEFAULT_RETRY_POLICY.baseMs,
    maxMs: policy.maxMs ?? DEFAULT_RETRY_POLICY.maxMs,
  };
  const check = (name: keyof RetryPolicy, ok: boolean, reason: string) => {
    if (!ok) {
      throw new ValidationError(`${fields[name] ?? name} ${reason}.`, {
        context: { field: fields[name] ?? name, reason },
      });
    }
  };
  check(
    'retries',
    Number.isSafeInteger(resolved.retries) && resolved.retries >= 0 && resolved.retries <= 10,
    'must be an integer from 0 to 10',
  );
  check('baseMs', Number.isSafeInteger(resolved.baseMs) && resolved.baseMs >= 0, 'must be a non-negative integer');
  check(
    'maxMs',
    Number.isSafeInteger(resolved.maxMs) && resolved.maxMs >= resolved.baseMs,
    'must be an integer at least baseMs',
  );
  return resolved;
}

/**
 * The wait before retry number `retry` (1 = the first retry): exponential backoff with "equal
 * jitter": half of `min(maxMs, baseMs · 2^(retry-1))` plus a random share of the other half, so
 * concurrent callers spread out but never retry at once.
 *
 * @example
 * ```ts
 * backoffDelay(1, { baseMs: 200, maxMs: 2000 }, () => 0.5); // 150
 * backoffDelay(5, { baseMs: 200, maxMs: 2000 }, () => 0.999); // just under 2000
 * ```
 */
export function backoffDelay(
  retry: number,
  policy: Pick<RetryPolicy, 'baseMs' | 'maxMs'>,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, retry - 1));
  const jitter = Math.min(Math.max(random(), 0), 1);
  return Math.round(ceiling / 2 + (jitter * ceiling) / 2);
}

const timer = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn` and retries it while it fails with a retryable error (default: transient failures:
 * 5xx, timeouts, connection errors), up to `retries` times with {@link backoffDelay} between
 * attempts. A failure that says how long to wait (`retryAfter`) waits at least that long, or is
 * not retried when that is longer than `maxMs`. The last failure is thrown as it is.
 *
 * Only retry what is safe to run twice: reads, or writes the other side deduplicates (an
 * idempotency key).
 *
 * @example
 * ```ts
 * const invoices = await withRetries(() => provider.listInvoices(query, ctx), { retries: 2 });
 * ```
 */
export async function withRetries<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const policy = checkRetryPolicy(options);
  const shouldRetry = options.shouldRetry ?? ((error: unknown) => isTransientFailure(error));
  const sleep = options.sleep ?? timer;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      const retry = attempt;
      if (retry > policy.retries || !shouldRetry(error, attempt)) throw error;
      const asked = retryAfterOf(error);
      if (asked !== undefined && asked * 1000 > policy.maxMs) throw error;
      const delayMs = Math.max(backoffDelay(retry, policy, random), asked === undefined ? 0 : asked * 1000);
      options.onRetry?.({ retry, delayMs, error });
      await sleep(delayMs);
    }
  }
}
