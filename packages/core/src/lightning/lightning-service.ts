import { ProviderUnavailableError, ValidationError } from '../errors/classes.js';
import { isPayableError } from '../errors/payable-error.js';
import { guardStorage, requireWebhookStorage, type PayableContext } from '../facade/context.js';
import type { Capability } from '../provider/types.js';
import { applyProviderObject, outboxMessagesFor } from '../records/apply.js';
import type { RecordStore } from '../records/record-store.js';
import type { LightningQuote, PaymentRecord } from '../records/types.js';
import type { WebhookInbox } from '../webhooks/inbox.js';
import { type ListenTarget, SettlementListener } from './listener.js';
import { lockQuote } from './rates.js';
import type { LightningApi, LightningListener, LightningListenOptions, LightningOptions } from './types.js';

/**
 * The seconds a Lightning invoice lives when the charge names no `expiresIn`: 3600.
 *
 * @example
 * ```ts
 * const expiry = input.expiresIn ?? DEFAULT_LIGHTNING_EXPIRY_SECONDS;
 * ```
 */
export const DEFAULT_LIGHTNING_EXPIRY_SECONDS = 3600;

/**
 * Whether a payment is a Lightning invoice still waiting for the payer whose expiry has come:
 * from the instant `expiresAt` is reached, it is expired.
 *
 * @example
 * ```ts
 * isLightningInvoiceDue(payment, clock.now()); // true at and after payment.expiresAt
 * ```
 */
export function isLightningInvoiceDue(payment: PaymentRecord, now: Date): boolean {
  return (
    payment.status === 'pending' &&
    payment.lightning !== null &&
    payment.expiresAt !== null &&
    now.getTime() >= payment.expiresAt.getTime()
  );
}

/** `payable.lightning`: quotes, expiry, and the settlement listeners. Internal to the facade. */
export class LightningService implements LightningApi {
  readonly #listeners = new Set<SettlementListener>();

  constructor(
    private readonly ctx: PayableContext,
    private readonly store: RecordStore,
    private readonly inbox: WebhookInbox,
    private readonly options: LightningOptions,
  ) {}

  /** Whether fiat can be priced (a rate source is configured). */
  get canQuote(): boolean {
    return this.options.rates !== undefined;
  }

  async quote(amount: number, currency: string): Promise<LightningQuote> {
    const rates = this.options.rates;
    const code = currency.toUpperCase();
    if (!rates) {
      throw new ValidationError(
        `A Lightning charge in ${code} needs a rate source: createPayable({ lightning: { rates } }), or charge in BTC (satoshis).`,
        { context: { field: 'currency', reason: 'no_rate_source', currency: code } },
      );
    }
    let rate: Awaited<ReturnType<typeof rates.quote>>;
    try {
      rate = await rates.quote(code);
    } catch (error) {
      if (isPayableError(error)) throw error;
      throw new ProviderUnavailableError(`The rate source could not quote ${code}; retry later.`, {
        context: { currency: code, reason: 'rate_source' },
        cause: error,
      });
    }
    return lockQuote(amount, code, rate);
  }

  listen(options: LightningListenOptions = {}): LightningListener {
    const storage = requireWebhookStorage(this.ctx);
    const names = options.provider === undefined ? Object.keys(this.ctx.providers) : [options.provider];
    const targets: ListenTarget[] = [];
    for (const name of names) {
      const provider = Object.hasOwn(this.ctx.providers, name) ? this.ctx.providers[name] : undefined;
      if (!provider) {
        throw new ValidationError(`No provider named "${name}" is registered.`, {
          context: { field: 'provider', reason: 'unknown' },
        });
      }
      if (provider.subscribeSettlements) targets.push({ name, provider: provider as ListenTarget['provider'] });
      else if (options.provider !== undefined) {
        throw new ValidationError(`Provider "${name}" has no settlement stream to listen to (it sends webhooks).`, {
          context: { field: 'provider', reason: 'no_settlement_stream', provider: name },
        });
      }
    }
    if (targets.length === 0) {
      throw new ValidationError('No registered provider has a settlement stream to listen to (e.g. LndProvider).', {
        context: { field: 'provider', reason: 'no_settlement_stream' },
      });
    }
    const listener = new SettlementListener(
      this.ctx,
      storage,
      this.store,
      this.inbox,
      targets,
      options.tenantId ?? null,
      options.backoff,
    );
    this.#listeners.add(listener);
    return listener;
  }

  /** Persist the expiry of `payment` when it is due (emitting `payment.expired`); the current record. */
  async expireIfDue(payment: PaymentRecord): Promise<PaymentRecord> {
    const storage = this.ctx.storage;
    if (!storage || !isLightningInvoiceDue(payment, this.ctx.clock.now())) return payment;
    const result = await guardStorage(() =>
      storage.transaction(async (tx) => {
        const applied = await applyProviderObject(
          {
            session: tx,
            store: this.store,
            clock: this.ctx.clock,
            tenantId: payment.tenantId,
            provider: payment.provider,
          },
          {
            kind: 'payment',
            providerId: payment.providerId,
            status: 'expired',
            amount: payment.amount,
            currency: payment.currency,
          },
        );
        const messages = outboxMessagesFor(applied, this.ctx.clock.now());
        if (messages.length > 0) await tx.appendOutbox(messages);
        return applied;
      }),
    );
    if (result.changed) {
      this.ctx.logger.info({ paymentId: payment.id, provider: payment.provider }, 'Lightning invoice expired');
    }
    return result.record as PaymentRecord;
  }

  async expire(options: { tenantId?: string | null; limit?: number } = {}): Promise<number> {
    const storage = this.ctx.storage;
    if (!storage) return 0;
    const tenantId = options.tenantId ?? null;
    const limit = options.limit ?? 1000;
    const now = this.ctx.clock.now();
    let expired = 0;
    const lightningProviders = Object.entries(this.ctx.providers)
      .filter(([, p]) => (p.capabilities as readonly Capability[]).includes('lightning'))
      .map(([name]) => name);
    for (const provider of lightningProviders) {
      let cursor: string | null = null;
      do {
        const page = await guardStorage(() =>
          this.store.list(storage, 'payment', { tenantId, provider, status: 'pending', limit: 100, cursor }),
        );
        for (const payment of page.data) {
          if (expired >= limit) return expired;
          if (!isLightningInvoiceDue(payment, now)) continue;
          if ((await this.expireIfDue(payment)).status === 'expired') expired++;
        }
        cursor = page.nextCursor;
      } while (cursor !== null);
    }
    return expired;
  }

  /** Stop every listener started here. */
  async close(): Promise<void> {
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    await Promise.all(listeners.map((l) => l.stop()));
  }
}
