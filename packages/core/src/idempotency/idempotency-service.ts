import type { Clock } from '../clock/types.js';
import { IdempotencyConflictError, IdempotencyInProgressError } from '../errors/classes.js';
import { isPayableError } from '../errors/payable-error.js';
import type { StorageDriver, StoredIdempotencyKey } from '../storage/types.js';
import { guardStorage } from '../facade/context.js';
import type { IdempotencySettings, IdempotentResponse } from './types.js';

/** What `run` answers: the response and whether it is a stored one. */
export interface IdempotentResult extends IdempotentResponse {
  replayed: boolean;
}

/** Which errors reached the provider (their answer is part of the request's outcome and is stored). */
function reachedProvider(error: unknown): boolean {
  return isPayableError(error) && error.code === 'PROVIDER_ERROR';
}

/**
 * Runs operations at most once per idempotency key. The key and a fingerprint of the request are
 * stored before the work starts (a unique key in the store decides who runs); the response is
 * stored when it ends and replayed byte for byte after.
 */
export class IdempotencyService {
  constructor(
    private readonly storage: StorageDriver,
    private readonly clock: Clock,
    private readonly settings: IdempotencySettings,
  ) {}

  private fresh(tenantId: string | null, key: string, fingerprint: string): StoredIdempotencyKey {
    const now = this.clock.now();
    return {
      tenantId,
      key,
      fingerprint,
      status: 'in_progress',
      lockedUntil: new Date(now.getTime() + this.settings.lockTimeoutMs),
      responseStatus: null,
      responseBody: null,
      createdAt: now,
      expiresAt: new Date(now.getTime() + this.settings.retentionMs),
    };
  }

  /** Take the key, or answer what its earlier use says. `null` means: go ahead and run. */
  private async begin(tenantId: string | null, key: string, fingerprint: string): Promise<IdempotentResult | null> {
    const row = this.fresh(tenantId, key, fingerprint);
    const { inserted, row: existing } = await guardStorage(() => this.storage.insertIdempotencyKey(row));
    if (inserted) return null;
    const now = this.clock.now();
    const expectLockedUntil = existing.lockedUntil;
    if (existing.expiresAt.getTime() <= now.getTime()) {
      // An expired key is a new key: take it over (one taker wins the compare-and-set).
      const { tenantId: _t, key: _k, ...patch } = row;
      const took = await guardStorage(() =>
        this.storage.updateIdempotencyKey(tenantId, key, patch, { expectLockedUntil }),
      );
      if (took) return null;
      throw this.inProgress(key);
    }
    if (existing.fingerprint !== fingerprint) {
      throw new IdempotencyConflictError(
        `Idempotency key "${key}" was already used with a different request. Use a new key for a new request.`,
        { context: { key } },
      );
    }
    if (existing.status === 'completed' && existing.responseStatus !== null && existing.responseBody !== null) {
      return { status: existing.responseStatus, body: existing.responseBody, replayed: true };
    }
    if (existing.lockedUntil && existing.lockedUntil.getTime() > now.getTime()) throw this.inProgress(key);
    // The lock of a crashed request has expired: one retry takes over.
    const took = await guardStorage(() =>
      this.storage.updateIdempotencyKey(
        tenantId,
        key,
        { lockedUntil: row.lockedUntil, status: 'in_progress' },
        { expectLockedUntil },
      ),
    );
    if (took) return null;
    throw this.inProgress(key);
  }

  private inProgress(key: string): Error {
    return new IdempotencyInProgressError(
      `A request with idempotency key "${key}" is still in progress. Retry after it completes.`,
      { context: { key } },
    );
  }

  /**
   * Run `work` once for (tenantId, key): a first call runs it and stores its response; a repeat
   * with the same fingerprint replays the stored response; a different fingerprint is
   * IDEMPOTENCY_CONFLICT; a concurrent repeat is IDEMPOTENCY_IN_PROGRESS. A failure that did not
   * reach the provider releases the key; a provider's refusal is stored and replayed like a result.
   */
  async run(
    tenantId: string | null,
    key: string,
    fingerprint: string,
    work: () => Promise<IdempotentResponse>,
    errorResponse: (error: unknown) => IdempotentResponse,
  ): Promise<IdempotentResult> {
    const earlier = await this.begin(tenantId, key, fingerprint);
    if (earlier) return earlier;
    let response: IdempotentResponse;
    try {
      response = await work();
    } catch (error) {
      if (reachedProvider(error)) {
        await this.complete(tenantId, key, errorResponse(error));
      } else {
        await this.storage.deleteIdempotencyKey(tenantId, key).catch(() => undefined);
      }
      throw error;
    }
    await this.complete(tenantId, key, response);
    return { ...response, replayed: false };
  }

  private async complete(tenantId: string | null, key: string, response: IdempotentResponse): Promise<void> {
    await guardStorage(() =>
      this.storage.updateIdempotencyKey(tenantId, key, {
        status: 'completed',
        lockedUntil: null,
        responseStatus: response.status,
        responseBody: response.body,
      }),
    );
  }

  /** Delete keys past their retention. Returns how many. */
  purge(): Promise<number> {
    return guardStorage(() => this.storage.purgeIdempotencyKeys(this.clock.now()));
  }
}
