import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { describeError, guardStorage, type PayableContext } from '../facade/context.js';
import type { DomainEvent, OutboxRelay, OutboxSubscriber } from '../facade/types.js';
import type { StorageDriver, StoredOutboxMessage } from '../storage/types.js';
import { sleep } from '../util/time.js';

/** Outbox relay settings. */
export interface OutboxSettings {
  maxAttempts: number;
  leaseMs: number;
  /** Delay before retry n (1-based): exponential from 1 s, capped at 1 h, with jitter. */
  backoffMs: (attempt: number) => number;
}

/** Default outbox settings. */
export const DEFAULT_OUTBOX: OutboxSettings = {
  maxAttempts: 10,
  leaseMs: 30_000,
  backoffMs: (attempt) => {
    const base = Math.min(3_600_000, 1000 * 2 ** (attempt - 1));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  },
};

/** Where outbox messages go besides the subscribers: outbound webhook endpoints. Internal. */
export interface OutboundFanOut {
  /** Turn messages into deliveries for the matching endpoints (idempotent per message and endpoint). */
  fanOut(messages: readonly StoredOutboxMessage[]): Promise<number>;
  /** Send the deliveries that are due; returns how many were delivered. */
  deliverOnce(options?: { limit?: number }): Promise<number>;
}

/**
 * The outbox relay: claims batches of domain events written in the same transaction as their
 * state change, hands each to the outbound webhook endpoints (as deliveries) and to every
 * subscriber at least once, in order per aggregate, retries with backoff, and marks them
 * delivered (or dead after `maxAttempts`). Each round then sends the due webhook deliveries.
 */
export class StorageOutboxRelay implements OutboxRelay {
  private readonly subscribers = new Set<OutboxSubscriber>();
  private readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private running: Promise<void> | null = null;
  private stopping = false;

  constructor(
    private readonly ctx: PayableContext,
    private readonly storage: StorageDriver,
    private readonly settings: OutboxSettings,
    private readonly outbound: OutboundFanOut | null = null,
  ) {}

  subscribe(subscriber: OutboxSubscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  async dispatchOnce(options: { limit?: number } = {}): Promise<number> {
    const limit = options.limit ?? 100;
    let delivered = 0;
    let handled = 0;
    while (handled < limit) {
      const now = this.ctx.clock.now();
      const batch = await guardStorage(() =>
        this.storage.claimOutbox(
          { owner: this.owner, now, until: new Date(now.getTime() + this.settings.leaseMs) },
          limit - handled,
        ),
      );
      if (batch.length === 0) break;
      // One fan-out per batch (one endpoint lookup); deliveries are deduplicated per (endpoint, event).
      let fanOutError: unknown = null;
      if (this.outbound) {
        try {
          await this.outbound.fanOut(batch);
        } catch (error) {
          fanOutError = error;
        }
      }
      for (const message of batch) {
        handled++;
        const attempts = message.attempts + 1;
        try {
          const event = JSON.parse(message.payload) as DomainEvent;
          if (fanOutError !== null) throw fanOutError;
          for (const subscriber of this.subscribers) await subscriber(event);
          const at = this.ctx.clock.now();
          await this.storage.updateOutbox(
            message.id,
            { status: 'delivered', attempts, deliveredAt: at, lockedBy: null, lockedUntil: null, lastError: null },
            { owner: this.owner },
          );
          delivered++;
        } catch (error) {
          const dead = attempts >= this.settings.maxAttempts;
          const at = this.ctx.clock.now();
          await this.storage.updateOutbox(
            message.id,
            {
              status: dead ? 'dead' : 'pending',
              attempts,
              lastError: describeError(error),
              availableAt: new Date(at.getTime() + (dead ? 0 : this.settings.backoffMs(attempts))),
              lockedBy: null,
              lockedUntil: null,
            },
            { owner: this.owner },
          );
          this.ctx.logger.warn(
            { messageId: message.id, type: message.type, attempts, dead, error: describeError(error) },
            'outbox delivery failed',
          );
        }
      }
    }
    if (this.outbound) await this.outbound.deliverOnce({ limit });
    return delivered;
  }

  start(options: { intervalMs?: number } = {}): void {
    if (this.running) return;
    const interval = options.intervalMs ?? 1000;
    this.stopping = false;
    this.running = (async () => {
      while (!this.stopping) {
        try {
          await this.dispatchOnce();
        } catch (error) {
          this.ctx.logger.warn({ error: describeError(error) }, 'outbox relay round failed');
        }
        if (!this.stopping) await sleep(interval);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
    this.running = null;
  }
}
