import { ValidationError } from '@payable/core';

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
 * Counts challenge creations per client. The paywall's default is {@link MemoryRateLimiter}; give
 * your own (e.g. on Redis) to share the count between instances.
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
 * Options of {@link MemoryRateLimiter}.
 *
 * @example
 * ```ts
 * new MemoryRateLimiter({ limit: 20, windowMs: 60_000 });
 * ```
 */
export interface MemoryRateLimiterOptions {
  /** Hits per window. */
  limit: number;
  /** Window length in ms. Default 60 000. */
  windowMs?: number;
  /** Most clients tracked at once; past it, finished windows are dropped, then the oldest. Default 100 000. */
  maxKeys?: number;
}

/**
 * A fixed-window counter per key in this process's memory: a client's window starts at its first
 * hit and lasts `windowMs`; within it at most `limit` hits are allowed.
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
    const { limit } = options;
    const windowMs = options.windowMs ?? 60_000;
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new ValidationError('the rate limit is a positive integer', {
        context: { field: 'limit', reason: 'invalid' },
      });
    }
    if (!Number.isSafeInteger(windowMs) || windowMs < 1) {
      throw new ValidationError('windowMs is a positive integer', {
        context: { field: 'windowMs', reason: 'invalid' },
      });
    }
    this.limit = limit;
    this.windowMs = windowMs;
    this.#maxKeys = options.maxKeys ?? 100_000;
  }

  hit(key: string, now: Date): RateLimitDecision {
    const at = now.getTime();
    let window = this.#windows.get(key);
    if (window === undefined || at >= window.start + this.windowMs || at < window.start) {
      if (window === undefined && this.#windows.size >= this.#maxKeys) this.#evict(at);
      window = { start: at, count: 0 };
      this.#windows.set(key, window);
    }
    const resetMs = window.start + this.windowMs;
    const retryAfterSeconds = Math.max(1, Math.ceil((resetMs - at) / 1000));
    const resetAt = new Date(resetMs);
    if (window.count >= this.limit) {
      return { allowed: false, limit: this.limit, remaining: 0, resetAt, retryAfterSeconds };
    }
    window.count += 1;
    return { allowed: true, limit: this.limit, remaining: this.limit - window.count, resetAt, retryAfterSeconds };
  }

  #evict(at: number): void {
    for (const [key, w] of this.#windows) if (at >= w.start + this.windowMs) this.#windows.delete(key);
    for (const key of this.#windows.keys()) {
      if (this.#windows.size < this.#maxKeys) break;
      this.#windows.delete(key);
    }
  }
}
