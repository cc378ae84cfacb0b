/**
 * The paywall's rate limiter is core's: `MemoryRateLimiter` and the `RateLimiter` /
 * `RateLimitDecision` types live in `@payable/core` (one implementation for the HTTP handler and the
 * paywall) and are re-exported here under the same names, so `@payable/l402`'s API is unchanged.
 * A `RedisRateLimiter` from `@payable/core` fits the paywall's `rateLimit.limiter` as well.
 *
 * @example
 * ```ts
 * import { MemoryRateLimiter } from '@payable/l402';
 * new L402Paywall({ payable, provider: 'lnd', service: 'api', rateLimit: { limiter: new MemoryRateLimiter({ limit: 20 }) } });
 * ```
 */
export {
  MemoryRateLimiter,
  type MemoryRateLimiterOptions,
  type RateLimitDecision,
  type RateLimiter,
} from '@payable/core';
