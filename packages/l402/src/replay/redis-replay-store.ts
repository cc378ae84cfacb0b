import { isPayableError, StorageUnavailableError, ValidationError } from '@payable/core';
import { DEFAULT_REPLAY_TTL_MS, type ReplayStore, type ReplayToken, replayKey, replayTtlMs } from './types.js';

/**
 * The one Redis command {@link RedisReplayStore} needs, `SET key value PX ms NX`, as ioredis
 * types it (an ioredis `Redis` or `Cluster` fits; for node-redis, wrap `client.set(key, value, { PX, NX: true })`).
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * const redis: RedisSetClient = new Redis(process.env.REDIS_URL!);
 * ```
 */
export interface RedisSetClient {
  set(key: string, value: string, millisecondsToken: 'PX', milliseconds: number, nx: 'NX'): Promise<unknown>;
}

/**
 * Options of {@link RedisReplayStore}.
 *
 * @example
 * ```ts
 * new RedisReplayStore({ redis, prefix: 'shop:l402:spent:' });
 * ```
 */
export interface RedisReplayStoreOptions {
  /** An ioredis client (or anything with its `set(key, value, 'PX', ms, 'NX')`). */
  redis: RedisSetClient;
  /** Key prefix. Default `payable:l402:spent:`. */
  prefix?: string;
  /** How long a hash of a token without expiry is kept, in ms. Default 24 h. */
  defaultTtlMs?: number;
}

/**
 * Spent tokens in Redis, shared by every instance: `SET <prefix><tenant>:<payment hash> 1 PX <until
 * the token expires> NX` answers `OK` to exactly one caller. Keys expire with their tokens. The
 * paywall keeps the storage driver behind it as the durable layer (Redis may be flushed).
 * `ioredis` is an optional peer dependency: pass your client.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * const replayStore = new RedisReplayStore({ redis: new Redis(process.env.REDIS_URL!) });
 * new L402Paywall({ payable, provider: 'lnd', service: 'api', replay: 'single-use', replayStore });
 * ```
 */
export class RedisReplayStore implements ReplayStore {
  readonly #redis: RedisSetClient;
  readonly #prefix: string;
  readonly #defaultTtlMs: number;

  constructor(options: RedisReplayStoreOptions) {
    if (typeof options?.redis?.set !== 'function') {
      throw new ValidationError('RedisReplayStore needs a Redis client with set(): new RedisReplayStore({ redis })', {
        context: { field: 'redis', reason: 'required' },
      });
    }
    this.#redis = options.redis;
    this.#prefix = options.prefix ?? 'payable:l402:spent:';
    this.#defaultTtlMs = options.defaultTtlMs ?? DEFAULT_REPLAY_TTL_MS;
  }

  async consume(token: ReplayToken): Promise<boolean> {
    const ttl = Math.ceil(replayTtlMs(token, this.#defaultTtlMs));
    let answer: unknown;
    try {
      answer = await this.#redis.set(`${this.#prefix}${replayKey(token)}`, '1', 'PX', ttl, 'NX');
    } catch (error) {
      if (isPayableError(error)) throw error;
      throw new StorageUnavailableError('The L402 replay store (Redis) is unavailable; retry later.', {
        cause: error,
        context: { store: 'redis' },
      });
    }
    return answer === 'OK';
  }
}
