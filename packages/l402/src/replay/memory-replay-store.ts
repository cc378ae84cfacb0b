import { ValidationError } from '@payable/core';
import { DEFAULT_REPLAY_TTL_MS, type ReplayStore, type ReplayToken, replayKey, replayTtlMs } from './types.js';

/**
 * Options of {@link MemoryReplayStore}.
 *
 * @example
 * ```ts
 * new MemoryReplayStore({ maxEntries: 50_000 });
 * ```
 */
export interface MemoryReplayStoreOptions {
  /** The most hashes kept; past it, expired ones are dropped, then the oldest. Default 100 000. */
  maxEntries?: number;
  /** How long a hash of a token without expiry is kept, in ms. Default 24 h. */
  defaultTtlMs?: number;
}

/**
 * Spent tokens in this process's memory: the fastest layer, gone on restart and not shared
 * between instances (the paywall keeps the storage driver behind it as the durable layer).
 *
 * @example
 * ```ts
 * new L402Paywall({ payable, provider: 'lnd', service: 'api', replay: 'single-use', replayStore: new MemoryReplayStore() });
 * ```
 */
export class MemoryReplayStore implements ReplayStore {
  readonly #spent = new Map<string, number>();
  readonly #maxEntries: number;
  readonly #defaultTtlMs: number;

  constructor(options: MemoryReplayStoreOptions = {}) {
    const max = options.maxEntries ?? 100_000;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new ValidationError('maxEntries must be a positive integer', {
        context: { field: 'maxEntries', reason: 'invalid' },
      });
    }
    this.#maxEntries = max;
    this.#defaultTtlMs = options.defaultTtlMs ?? DEFAULT_REPLAY_TTL_MS;
  }

  /** How many hashes are kept now. */
  get size(): number {
    return this.#spent.size;
  }

  async consume(token: ReplayToken): Promise<boolean> {
    const key = replayKey(token);
    const now = token.now.getTime();
    const until = this.#spent.get(key);
    if (until !== undefined && until > now) return false;
    if (until === undefined && this.#spent.size >= this.#maxEntries) this.#evict(now);
    this.#spent.delete(key);
    this.#spent.set(key, now + replayTtlMs(token, this.#defaultTtlMs));
    return true;
  }

  #evict(now: number): void {
    for (const [key, until] of this.#spent) if (until <= now) this.#spent.delete(key);
    // Still full: drop the oldest insertions (Map keeps insertion order).
    for (const key of this.#spent.keys()) {
      if (this.#spent.size < this.#maxEntries) break;
      this.#spent.delete(key);
    }
  }
}
