import { ValidationError } from '../errors/classes.js';

/**
 * The answer of a rate limiter for one hit.
 *
 * @example
 * ```ts
 * const d = limiter.hit('203.0.113.7', new Date()); // { allowed: true, limit: 20, remaining: 19, resetAt, retryAfterSeconds: 60 }
 * ```
 */
export interface RateLimitDecision {
  readonly allowed: boolean;
  /** Hits allowed per window. */
  readonly limit: number;
  /** Hits left in the current window (0 when refused). */
  readonly remaining: number;
  /** When the current window ends and the count starts again. */
  readonly resetAt: Date;
  /** Whole seconds until `resetAt` (at least 1). */
  readonly retryAfterSeconds: number;
}

/**
 * Counts hits per key in fixed windows and says whether one more is allowed. Payable ships
 * {@link MemoryRateLimiter} (one process) and `RedisRateLimiter` (a count shared by every instance);
 * anything with this one method works.
 *
 * @example
 * ```ts
 * const limiter: RateLimiter = { hit: async (key, now) => myRedisWindow(key, now) };
 * ```
 */
export interface RateLimiter {
  hit(key: string, now: Date): RateLimitDecision | Promise<RateLimitDecision>;
}

/**
 * A rate-limit policy: `limit` hits per `windowMs` (default one minute).
 *
 * @example
 * ```ts
 * const policy: RateLimitPolicy = { limit: 60, windowMs: 60_000 };
 * ```
 */
export interface RateLimitPolicy {
  /** Hits per window: a positive integer. */
  limit: number;
  /** Window length in ms. Default 60 000. */
  windowMs?: number;
}

/**
 * Options of {@link MemoryRateLimiter}.
 *
 * @example
 * ```ts
 * new MemoryRateLimiter({ limit: 20, windowMs: 60_000 });
 * ```
 */
export interface MemoryRateLimiterOptions extends RateLimitPolicy {
  /** Most clients tracked at once; past it, finished windows are dropped, then the oldest. Default 100 000. */
  maxKeys?: number;
}

/** Default window of a rate-limit policy: one minute. */
const DEFAULT_WINDOW_MS = 60_000;

/**
 * Checks a policy and fills in its default window: `VALIDATION_ERROR` naming the field when the
 * limit or the window is not a positive integer.
 *
 * @example
 * ```ts
 * checkRateLimitPolicy({ limit: 60 }); // { limit: 60, windowMs: 60000 }
 * checkRateLimitPolicy({ limit: 0 }, 'rateLimit.policies.payments'); // throws VALIDATION_ERROR, field 'rateLimit.policies.payments.limit'
 * ```
 */
export function checkRateLimitPolicy(policy: RateLimitPolicy, at = ''): Required<RateLimitPolicy> {
  const field = (name: string) => (at === '' ? name : `${at}.${name}`);
  const limit = policy.limit;
  const windowMs = policy.windowMs ?? DEFAULT_WINDOW_MS;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new ValidationError('The rate limit is a positive integer.', {
      context: { field: field('limit'), reason: 'must be a positive integer' },
    });
  }
  if (!Number.isSafeInteger(windowMs) || windowMs < 1) {
    throw new ValidationError('windowMs is a positive integer of milliseconds.', {
      context: { field: field('windowMs'), reason: 'must be a positive integer' },
    });
  }
  return { limit, windowMs };
}

/**
 * The decision for the `count`th hit of a window that ends at `resetMs` (both limiters share it).
 *
 * @example
 * ```ts
 * decide(3, 61, Date.parse('2026-01-01T00:01:00Z'), Date.parse('2026-01-01T00:00:30Z')).allowed; // false
 * ```
 */
export function decide(limit: number, count: number, resetMs: number, nowMs: number): RateLimitDecision {
  const allowed = count <= limit;
  return {
    allowed,
    limit,
    remaining: allowed ? limit - count : 0,
    resetAt: new Date(resetMs),
    retryAfterSeconds: Math.max(1, Math.ceil((resetMs - nowMs) / 1000)),
  };
}

/**
 * The headers of a rate-limited response: `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
 * `X-RateLimit-Reset` (unix seconds when the window ends), names lowercased.
 *
 * @example
 * ```ts
 * rateLimitHeaders(decision); // { 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '59', 'x-ratelimit-reset': '1767225660' }
 * ```
 */
export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  return {
    'x-ratelimit-limit': String(decision.limit),
    'x-ratelimit-remaining': String(decision.remaining),
    'x-ratelimit-reset': String(Math.ceil(decision.resetAt.getTime() / 1000)),
  };
}

/**
 * A fixed-window counter per key in this process's memory: a client's window starts at its first
 * hit and lasts `windowMs`; within it at most `limit` hits are allowed. Several processes each
 * count on their own: use `RedisRateLimiter` to share one count.
 *
 * @example
 * ```ts
 * const limiter = new MemoryRateLimiter({ limit: 20 });
 * limiter.hit(ip, clock.now()).allowed;
 * ```
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly limit: number;
  readonly windowMs: number;
  readonly #maxKeys: number;
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(options: MemoryRateLimiterOptions) {
    const { limit, windowMs } = checkRateLimitPolicy(options);
    const maxKeys = options.maxKeys ?? 100_000;
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
      throw new ValidationError('maxKeys is a positive integer.', {
        context: { field: 'maxKeys', reason: 'must be a positive integer' },
      });
    }
    this.limit = limit;
    this.windowMs = windowMs;
    this.#maxKeys = maxKeys;
  }

  hit(key: string, now: Date): RateLimitDecision {
    const at = now.getTime();
    let window = this.#windows.get(key);
    if (window === undefined || at >= window.start + this.windowMs || at < window.start) {
      if (window === undefined && this.#windows.size >= this.#maxKeys) this.#evict(at);
      window = { start: at, count: 0 };
      this.#windows.set(key, window);
    }
    // A refused hit is not counted: the window's count stays at the limit.
    if (window.count < this.limit) window.count += 1;
    else return decide(this.limit, this.limit + 1, window.start + this.windowMs, at);
    return decide(this.limit, window.count, window.start + this.windowMs, at);
  }

  #evict(at: number): void {
    for (const [key, w] of this.#windows) if (at >= w.start + this.windowMs) this.#windows.delete(key);
    for (const key of this.#windows.keys()) {
      if (this.#windows.size < this.#maxKeys) break;
      this.#windows.delete(key);
    }
  }
}
