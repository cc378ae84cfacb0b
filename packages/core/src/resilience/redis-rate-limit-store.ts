import { ValidationError } from '../errors/classes.js';
import {
  checkRateLimitPolicy,
  decide,
  type RateLimitDecision,
  type RateLimiter,
  type RateLimitPolicy,
} from './rate-limit.js';

/**
 * The one Redis command {@link RedisRateLimiter} uses, shaped like ioredis's `eval` (an ioredis
 * `Redis` or `Cluster` fits as is; with node-redis, wrap `client.eval(script, { keys, arguments })`).
 * The core does not depend on a Redis client.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * const client: RedisEvalClient = new Redis(process.env.REDIS_URL!);
 * ```
 */
export interface RedisEvalClient {
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
}

/**
 * Options of {@link RedisRateLimiter}.
 *
 * @example
 * ```ts
 * new RedisRateLimiter({ client: redis, limit: 60, windowMs: 60_000, prefix: 'shop:ratelimit:' });
 * ```
 */
export interface RedisRateLimiterOptions extends RateLimitPolicy {
  client: RedisEvalClient;
  /** Prepended to every key. Default `payable:ratelimit:`. */
  prefix?: string;
}

/**
 * One atomic step of a fixed window: count the hit, start the window's expiry on its first hit,
 * answer the count and the milliseconds left. A key left without expiry (never expected) gets one.
 */
const FIXED_WINDOW_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { count, ttl }
`;

/**
 * A fixed-window rate limiter on Redis: every process that uses the same Redis and prefix shares
 * one count per key, so a limit holds across any number of instances. Each hit is one Lua script
 * (`INCR`, `PEXPIRE` on the window's first hit, `PTTL`), atomic on the server; the window is timed
 * by Redis, so clocks of the instances need not agree.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { createHttpHandler, RedisRateLimiter } from '@payable/core';
 *
 * const redis = new Redis(process.env.REDIS_URL!);
 * createHttpHandler(payable, {
 *   authorize,
 *   rateLimit: { limiter: (group, policy) => new RedisRateLimiter({ client: redis, prefix: `payable:rl:${group}:`, ...policy }) },
 * });
 * ```
 */
export class RedisRateLimiter implements RateLimiter {
  readonly limit: number;
  readonly windowMs: number;
  readonly prefix: string;
  readonly #client: RedisEvalClient;

  constructor(options: RedisRateLimiterOptions) {
    const { limit, windowMs } = checkRateLimitPolicy(options);
    if (typeof options.client?.eval !== 'function') {
      throw new ValidationError('RedisRateLimiter needs a Redis client with eval (an ioredis Redis instance).', {
        context: { field: 'client', reason: 'must have an eval method' },
      });
    }
    this.limit = limit;
    this.windowMs = windowMs;
    this.prefix = options.prefix ?? 'payable:ratelimit:';
    this.#client = options.client;
  }

  async hit(key: string, now: Date): Promise<RateLimitDecision> {
    const reply = await this.#client.eval(FIXED_WINDOW_SCRIPT, 1, this.prefix + key, this.windowMs);
    const [count, ttl] = Array.isArray(reply) ? reply.map(Number) : [];
    if (count === undefined || ttl === undefined || !Number.isFinite(count) || !Number.isFinite(ttl)) {
      throw new TypeError('RedisRateLimiter: unexpected reply to the rate-limit script');
    }
    const nowMs = now.getTime();
    return decide(this.limit, count, nowMs + Math.max(0, ttl), nowMs);
  }
}
