import { isPayableError, type StorageSession, StorageUnavailableError } from '@payable/core';
import type { ReplayStore, ReplayToken } from './types.js';

/**
 * Spent tokens in the storage driver (`l402_spent_tokens`, unique per tenant and payment hash):
 * durable across instances and restarts, so a replay is refused even without Redis. The paywall
 * uses it by default under the single-use policy, behind any faster store you give it.
 *
 * @example
 * ```ts
 * const replayStore = new StorageReplayStore(payable.storage!);
 * ```
 */
export class StorageReplayStore implements ReplayStore {
  readonly #storage: Pick<StorageSession, 'insertL402SpentToken'>;

  constructor(storage: Pick<StorageSession, 'insertL402SpentToken'>) {
    this.#storage = storage;
  }

  async consume(token: ReplayToken): Promise<boolean> {
    try {
      const { inserted } = await this.#storage.insertL402SpentToken({
        tenantId: token.tenantId,
        paymentHash: token.paymentHash,
        spentAt: token.now,
      });
      return inserted;
    } catch (error) {
      if (isPayableError(error)) throw error;
      throw new StorageUnavailableError('The storage is unavailable; the token was not redeemed. Retry later.', {
        cause: error,
      });
    }
  }
}
