import { SystemClock } from '../clock/system-clock.js';
import {
  NotFoundError,
  OutboxStorageRequiredError,
  ProviderCapabilityNotSupportedError,
  ProviderError,
  ValidationError,
} from '../errors/classes.js';
import { isPayableError, PayableError } from '../errors/payable-error.js';
import type { ErrorCode } from '../errors/codes.js';
import { DEFAULT_IDEMPOTENCY } from '../idempotency/types.js';
import { IdempotencyService } from '../idempotency/idempotency-service.js';
import { noopLogger } from '../logger/noop-logger.js';
import { DEFAULT_OUTBOX, StorageOutboxRelay } from '../outbox/outbox-relay.js';
import { EndpointsService, outboundSettings } from '../outbound/endpoints-service.js';
import type { Capability, PaymentProvider, ProviderContext, ProviderObject } from '../provider/types.js';
import { SyncQueueDriver } from '../queue/sync-queue.js';
import { ProviderResilience } from '../resilience/provider-resilience.js';
import { JOB_NAMES } from '../queue/types.js';
import { applyProviderObject, outboxMessagesFor, type ApplyResult } from '../records/apply.js';
import { RecordStore } from '../records/record-store.js';
import { parseRecordJson } from '../records/serialize.js';
import type { AnyRecord, PaymentRecord, RecordKind } from '../records/types.js';
import { canonicalJson, sha256Hex } from '../util/canonical-json.js';
import {
  cancelSchema,
  chargeSchema,
  checkoutSchema,
  customerSchema,
  idempotencyKeySchema,
  parseInput,
  refundSchema,
  subscribeSchema,
} from '../validation/schemas.js';
import { DEFAULT_INBOX, WebhookInbox } from '../webhooks/inbox.js';
import { DEFAULT_LIGHTNING_EXPIRY_SECONDS, LightningService } from '../lightning/lightning-service.js';
import type { LightningQuote } from '../records/types.js';
import { describeError, guardStorage, type PayableContext } from './context.js';
import {
  OPERATION_CAPABILITY,
  type ExecutableOperation,
  type HealthReport,
  type OperationOptions,
  type OperationResponse,
  type OutboxRelay,
  type Payable,
  type PayableOptions,
  type ProviderMap,
} from './types.js';

interface Resolved {
  name: string;
  provider: PaymentProvider;
  tenantId: string | null;
}

/**
 * Create the Payable facade.
 *
 * @example
 * ```ts
 * import { createPayable, MemoryStorageDriver } from '@payable/core';
 * import { FakeProvider } from '@payable/testing';
 *
 * const payable = createPayable({ providers: { fake: new FakeProvider() }, storage: new MemoryStorageDriver() });
 * const payment = await payable.charge({ amount: 1999, currency: 'EUR' }, { idempotencyKey: 'order-42' });
 * ```
 */
export function createPayable<const P extends ProviderMap>(options: PayableOptions<P>): Payable<P> {
  return new PayableFacade(options as unknown as PayableOptions) as unknown as Payable<P>;
}

class PayableFacade implements Payable {
  readonly providers: Readonly<ProviderMap>;
  readonly storage;
  readonly queue;
  readonly clock;
  readonly webhooks: WebhookInbox;
  readonly lightning: LightningService;
  readonly endpoints: EndpointsService;
  private readonly ctx: PayableContext;
  private readonly store: RecordStore;
  private readonly idempotency: IdempotencyService | null;
  private relay: StorageOutboxRelay | null = null;
  private sweeper: NodeJS.Timeout | null = null;
  private readonly defaultProvider: string | undefined;
  /** Circuit breakers per provider and the retry policy of `call()`. */
  private readonly resilience: ProviderResilience;

  constructor(options: PayableOptions) {
    const names = Object.keys(options.providers ?? {});
    if (names.length === 0) {
      throw new ValidationError('createPayable needs at least one provider: { providers: { name: provider } }.', {
        context: { field: 'providers' },
      });
    }
    if (options.defaultProvider !== undefined && !names.includes(options.defaultProvider)) {
      throw new ValidationError(`defaultProvider "${options.defaultProvider}" is not a registered provider.`, {
        context: { field: 'defaultProvider', providers: names },
      });
    }
    this.providers = Object.freeze({ ...options.providers });
    this.storage = options.storage ?? null;
    this.clock = options.clock ?? new SystemClock();
    this.defaultProvider = options.defaultProvider;
    const logger = options.logger ?? noopLogger;
    this.queue = options.queue ?? new SyncQueueDriver({ logger });
    this.ctx = {
      providers: this.providers,
      storage: this.storage,
      queue: this.queue,
      encryption: options.encryption ?? null,
      clock: this.clock,
      logger,
      hooks: options.hooks ?? {},
    };
    this.store = new RecordStore(this.ctx.encryption);
    this.resilience = new ProviderResilience(options.resilience, this.ctx);
    this.idempotency = this.storage
      ? new IdempotencyService(this.storage, this.clock, { ...DEFAULT_IDEMPOTENCY, ...options.idempotency })
      : null;
    this.webhooks = new WebhookInbox(this.ctx, this.store, {
      ...DEFAULT_INBOX,
      ...options.webhooks,
    });
    this.lightning = new LightningService(this.ctx, this.store, this.webhooks, options.lightning ?? {});
    this.endpoints = new EndpointsService(this.ctx, outboundSettings(options.outbound));
    if (options.outbox) this.outboxSettings = { ...DEFAULT_OUTBOX, ...options.outbox };
    if (this.storage && options.worker !== false) {
      this.webhooks.processInline();
      this.queue
        .process(JOB_NAMES.webhookProcess, (payload, job) => this.webhooks.runJob(payload, job))
        .catch((error: unknown) => logger.error({ error: describeError(error) }, 'could not start the webhook worker'));
      const every = options.webhooks?.sweepIntervalMs ?? 60_000;
      if (every > 0) {
        this.sweeper = setInterval(() => {
          void this.maintain();
        }, every);
        this.sweeper.unref();
      }
    }
  }

  private outboxSettings = DEFAULT_OUTBOX;

  private async maintain(): Promise<void> {
    try {
      await this.webhooks.sweep();
      await this.idempotency?.purge();
      await this.lightning.expire();
    } catch (error) {
      this.ctx.logger.warn({ error: describeError(error) }, 'maintenance round failed');
    }
  }

  supports(capability: Capability, provider?: string): boolean {
    const name = provider ?? this.defaultName();
    const p = name !== undefined && Object.hasOwn(this.providers, name) ? this.providers[name] : undefined;
    return p ? (p.capabilities as readonly Capability[]).includes(capability) : false;
  }

  private defaultName(): string | undefined {
    const names = Object.keys(this.providers);
    return this.defaultProvider ?? (names.length === 1 ? names[0] : undefined);
  }

  /** Pick the provider and check the capability: before validation and before any lookup. */
  private resolve(capability: Capability, options: OperationOptions | undefined): Resolved {
    const names = Object.keys(this.providers);
    const name = options?.provider ?? this.defaultName();
    if (name === undefined) {
      throw new ValidationError(
        `Several providers are registered (${names.join(', ')}): name one with { provider } or set defaultProvider.`,
        { context: { field: 'provider', reason: 'required', providers: names } },
      );
    }
    const provider = Object.hasOwn(this.providers, name) ? this.providers[name] : undefined;
    if (!provider) {
      throw new ValidationError(`No provider named "${name}" is registered.`, {
        context: { field: 'provider', reason: 'unknown', providers: names },
      });
    }
    if (!(provider.capabilities as readonly Capability[]).includes(capability)) {
      throw new ProviderCapabilityNotSupportedError(`Provider "${name}" does not support ${capability}.`, {
        context: { provider: name, capability },
      });
    }
    return { name, provider, tenantId: options?.tenantId ?? null };
  }

  private providerCtx(r: Resolved, key: string | null): ProviderContext {
    return { idempotencyKey: r.provider.idempotency === 'native' ? key : null, tenantId: r.tenantId };
  }

  /**
   * Call the provider through its circuit breaker (refused with PROVIDER_UNAVAILABLE while open),
   * retrying transient failures of reads and of calls carrying a key the provider honours; anything
   * it throws that is not a PayableError becomes PROVIDER_ERROR.
   */
  private async call<T>(
    r: Resolved,
    op: string,
    fn: () => Promise<T> | undefined,
    key: string | null = null,
  ): Promise<T> {
    // A key the provider honours makes a retry safe: the provider answers it with the first result.
    const keyed = key !== null && r.provider.idempotency === 'native';
    try {
      return await this.resilience.run(
        r.name,
        op,
        () => {
          const result = fn();
          if (result === undefined) {
            throw new ProviderCapabilityNotSupportedError(`Provider "${r.name}" does not implement ${op}.`, {
              context: { provider: r.name, capability: op },
            });
          }
          return result;
        },
        { keyed },
      );
    } catch (error) {
      if (isPayableError(error)) throw error;
      this.ctx.logger.error({ provider: r.name, op, error: describeError(error) }, 'provider call failed');
      // A raw timeout, connection error or 5xx is PROVIDER_UNAVAILABLE (retry later; an idempotency key is released).
      throw (
        this.resilience.unavailable(error, r.name, op) ??
        new ProviderError(`Provider "${r.name}" failed during ${op}.`, {
          context: { provider: r.name, op },
          cause: error,
        })
      );
    }
  }

  /** Record what the provider answered (upsert + outbox in one transaction). */
  private async record(r: Resolved, object: ProviderObject): Promise<AnyRecord> {
    if (!this.storage) return this.unstored(r, object);
    const storage = this.storage;
    const result = await guardStorage(() =>
      storage.transaction(async (tx) => {
        const applied: ApplyResult = await applyProviderObject(
          {
            session: tx,
            store: this.store,
            clock: this.clock,
            tenantId: r.tenantId,
            provider: r.name,
            settlementProof: r.provider.settlementProof ?? 'preimage',
          },
          object,
        );
        const messages = outboxMessagesFor(applied, this.clock.now());
        if (messages.length > 0) await tx.appendOutbox(messages);
        return applied;
      }),
    );
    return result.record;
  }

  /** Without storage, operations still work; their records are just not kept. */
  private unstored(r: Resolved, object: ProviderObject): AnyRecord {
    const now = this.clock.now();
    const { kind: _kind, ...fields } = object;
    return {
      id: object.providerId,
      tenantId: r.tenantId,
      provider: r.name,
      metadata: {},
      createdAt: now,
      updatedAt: now,
      ...fields,
    } as unknown as AnyRecord;
  }

  private async findLocal(
    kind: RecordKind,
    id: string,
    r: { name: string; tenantId: string | null },
  ): Promise<AnyRecord | null> {
    if (!this.storage) return null;
    const storage = this.storage;
    const byId = await guardStorage(() => this.store.get(storage, kind, id, r.tenantId));
    if (byId) return byId;
    return guardStorage(() => this.store.find(storage, kind, r.tenantId, r.name, id));
  }

  /** A Payable customer id → the provider's id; an id Payable has no record of is taken as the provider's own. */
  private async customerProviderId(r: Resolved, customerId: string | undefined): Promise<string | null> {
    if (!customerId) return null;
    const local = await this.findLocal('customer', customerId, r);
    return local ? local.providerId : customerId;
  }

  async execute(
    operation: ExecutableOperation,
    input: unknown,
    options: OperationOptions = {},
  ): Promise<OperationResponse> {
    const r = this.resolve(OPERATION_CAPABILITY[operation], options);
    const work = this.prepare(operation, r, input);
    const key = options.idempotencyKey;
    if (key === undefined) {
      const { status, body } = await work(null);
      return { status, body, replayed: false };
    }
    parseInput(idempotencyKeySchema, key, 'idempotencyKey');
    if (!this.idempotency) {
      // Without storage, the key still reaches providers that accept one.
      const { status, body } = await work(key);
      return { status, body, replayed: false };
    }
    const fingerprint = sha256Hex(canonicalJson({ operation, provider: r.name, input }));
    return this.idempotency.run(
      r.tenantId,
      key,
      fingerprint,
      () => work(key),
      (error) => ({
        status: (error as PayableError).httpStatus,
        body: JSON.stringify((error as PayableError).toJSON()),
      }),
    );
  }

  /** Validate `input` now (so bad input never takes a key) and return the work to run. */
  private prepare(
    operation: ExecutableOperation,
    r: Resolved,
    input: unknown,
  ): (key: string | null) => Promise<{ status: number; body: string }> {
    const p = r.provider;
    const created = (record: AnyRecord) => ({ status: 201, body: JSON.stringify(record) });
    switch (operation) {
      case 'charge': {
        const i = parseInput(chargeSchema, input, 'charge');
        const lightning = (p.capabilities as readonly Capability[]).includes('lightning');
        if (i.descriptionHash !== undefined && !lightning) {
          throw new ValidationError(`Invalid charge: descriptionHash is for Lightning providers, not "${r.name}".`, {
            context: { field: 'descriptionHash', reason: 'lightning_only' },
          });
        }
        const fiat = lightning && i.currency !== 'BTC';
        if (fiat && !this.lightning.canQuote) {
          // Fails before the idempotency key is taken (a configuration error, not a request outcome).
          throw new ValidationError(
            `A Lightning charge in ${i.currency} needs a rate source: createPayable({ lightning: { rates } }), or charge in BTC (satoshis).`,
            { context: { field: 'currency', reason: 'no_rate_source', currency: i.currency } },
          );
        }
        return async (key) => {
          const customerProviderId = await this.customerProviderId(r, i.customerId);
          // Lightning: fiat is priced in satoshis once, and the quote is locked on the record.
          const quote: LightningQuote | null = fiat ? await this.lightning.quote(i.amount, i.currency) : null;
          const paid = await this.call(
            r,
            'charge',
            () =>
              p.charge?.(
                {
                  amount: quote ? quote.sats : i.amount,
                  currency: quote ? 'BTC' : i.currency,
                  customerProviderId,
                  description: i.description ?? null,
                  metadata: i.metadata ?? {},
                  // The invoice expiry is the payment's expiry, exactly.
                  expiresIn: i.expiresIn ?? (lightning ? DEFAULT_LIGHTNING_EXPIRY_SECONDS : null),
                  capture: i.capture ?? true,
                  ...(lightning ? { descriptionHash: i.descriptionHash ?? null } : {}),
                },
                this.providerCtx(r, key),
              ),
            key,
          );
          const details = paid.lightning && quote ? { ...paid.lightning, quote } : paid.lightning;
          return created(
            await this.record(r, {
              kind: 'payment',
              ...paid,
              ...(details === undefined ? {} : { lightning: details }),
              metadata: paid.metadata ?? i.metadata ?? {},
            }),
          );
        };
      }
      case 'refund': {
        const i = parseInput(refundSchema, input, 'refund');
        return async (key) => {
          const payment = (await this.findLocal('payment', i.paymentId, r)) as PaymentRecord | null;
          if (!payment) throw new NotFoundError(`No payment "${i.paymentId}".`, { context: { id: i.paymentId } });
          const remaining = payment.amount - payment.amountRefunded;
          const amount = i.amount ?? remaining;
          if (!['succeeded', 'partially_refunded', 'underpaid'].includes(payment.status)) {
            throw new ValidationError(
              `Payment ${payment.id} is ${payment.status}: only paid payments can be refunded.`,
              {
                context: { field: 'paymentId', reason: 'not_refundable', status: payment.status },
              },
            );
          }
          if (amount <= 0 || amount > remaining) {
            throw new ValidationError(`Refund amount ${amount} exceeds the ${remaining} left to refund.`, {
              context: { field: 'amount', reason: 'exceeds_refundable', refundable: remaining },
            });
          }
          const refund = await this.call(
            r,
            'refund',
            () =>
              p.refund?.(
                {
                  paymentProviderId: payment.providerId,
                  amount,
                  currency: payment.currency,
                  reason: i.reason ?? null,
                  metadata: i.metadata ?? {},
                },
                this.providerCtx(r, key),
              ),
            key,
          );
          const record = await this.record(r, {
            kind: 'refund',
            ...refund,
            metadata: refund.metadata ?? i.metadata ?? {},
          });
          if (refund.status !== 'failed' && refund.status !== 'canceled') {
            const refunded = payment.amountRefunded + refund.amount;
            await this.record(r, {
              kind: 'payment',
              providerId: payment.providerId,
              status: refunded >= payment.amount ? 'refunded' : 'partially_refunded',
              amount: payment.amount,
              currency: payment.currency,
              amountRefunded: refunded,
            });
          }
          return created(record);
        };
      }
      case 'createCustomer': {
        const i = parseInput(customerSchema, input, 'customer');
        return async (key) => {
          const c = await this.call(
            r,
            'createCustomer',
            () =>
              p.createCustomer?.(
                { email: i.email ?? null, name: i.name ?? null, metadata: i.metadata ?? {} },
                this.providerCtx(r, key),
              ),
            key,
          );
          return created(await this.record(r, { kind: 'customer', ...c, metadata: c.metadata ?? i.metadata ?? {} }));
        };
      }
      case 'createCheckout': {
        const i = parseInput(checkoutSchema, input, 'checkout');
        return async (key) => {
          const customerProviderId = await this.customerProviderId(r, i.customerId);
          const byPrice = 'priceId' in i;
          const co = await this.call(
            r,
            'createCheckout',
            () =>
              p.createCheckout?.(
                {
                  mode: byPrice ? 'subscription' : 'payment',
                  amount: byPrice ? null : i.amount,
                  currency: byPrice ? null : i.currency,
                  priceId: byPrice ? i.priceId : null,
                  successUrl: i.successUrl,
                  cancelUrl: i.cancelUrl,
                  customerProviderId,
                  metadata: i.metadata ?? {},
                },
                this.providerCtx(r, key),
              ),
            key,
          );
          return created(await this.record(r, { kind: 'checkout', ...co, metadata: co.metadata ?? i.metadata ?? {} }));
        };
      }
      case 'subscribe': {
        const i = parseInput(subscribeSchema, input, 'subscription');
        return async (key) => {
          const customerProviderId = (await this.customerProviderId(r, i.customerId)) as string;
          const s = await this.call(
            r,
            'subscribe',
            () =>
              p.subscribe?.(
                { customerProviderId, priceId: i.priceId, trialDays: i.trialDays ?? null, metadata: i.metadata ?? {} },
                this.providerCtx(r, key),
              ),
            key,
          );
          return created(
            await this.record(r, { kind: 'subscription', ...s, metadata: s.metadata ?? i.metadata ?? {} }),
          );
        };
      }
      case 'cancelSubscription': {
        const i = parseInput(cancelSchema, input, 'cancel');
        return async (key) => {
          const sub = await this.findLocal('subscription', i.id, r);
          if (!sub) throw new NotFoundError(`No subscription "${i.id}".`, { context: { id: i.id } });
          const s = await this.call(
            r,
            'cancelSubscription',
            () =>
              p.cancelSubscription?.(sub.providerId, { atPeriodEnd: i.atPeriodEnd ?? false }, this.providerCtx(r, key)),
            key,
          );
          const record = await this.record(r, { kind: 'subscription', ...s, metadata: s.metadata ?? sub.metadata });
          return { status: 200, body: JSON.stringify(record) };
        };
      }
    }
  }

  /** Run an operation through `execute` and give back the record (or throw the error it stored). */
  private async run<T>(operation: ExecutableOperation, input: unknown, options?: OperationOptions): Promise<T> {
    const { status, body } = await this.execute(operation, input, options);
    if (status >= 400) {
      const stored = JSON.parse(body) as { error: ErrorCode; message: string; context: Record<string, unknown> };
      throw new PayableError(stored.error, stored.message, { context: stored.context });
    }
    return parseRecordJson<T>(body);
  }

  charge(input: Parameters<Payable['charge']>[0], options?: OperationOptions) {
    return this.run<PaymentRecord>('charge', input, options);
  }
  refund(input: Parameters<Payable['refund']>[0], options?: OperationOptions) {
    return this.run<Awaited<ReturnType<Payable['refund']>>>('refund', input, options);
  }
  createCustomer(input: Parameters<Payable['createCustomer']>[0], options?: OperationOptions) {
    return this.run<Awaited<ReturnType<Payable['createCustomer']>>>('createCustomer', input, options);
  }
  createCheckout(input: Parameters<Payable['createCheckout']>[0], options?: OperationOptions) {
    return this.run<Awaited<ReturnType<Payable['createCheckout']>>>('createCheckout', input, options);
  }
  subscribe(input: Parameters<Payable['subscribe']>[0], options?: OperationOptions) {
    return this.run<Awaited<ReturnType<Payable['subscribe']>>>('subscribe', input, options);
  }
  cancelSubscription(id: string, options: Parameters<Payable['cancelSubscription']>[1] = {}) {
    const { atPeriodEnd, ...rest } = options;
    return this.run<Awaited<ReturnType<Payable['cancelSubscription']>>>(
      'cancelSubscription',
      atPeriodEnd === undefined ? { id } : { id, atPeriodEnd },
      rest,
    );
  }

  async getCustomer(id: string, options?: OperationOptions) {
    const r = this.resolve('customers', options);
    const local = await this.findLocal('customer', id, r);
    if (!local) throw new NotFoundError(`No customer "${id}".`, { context: { id } });
    return local as Awaited<ReturnType<Payable['getCustomer']>>;
  }

  async listInvoices(query: Parameters<Payable['listInvoices']>[0] = {}, options?: OperationOptions) {
    const r = this.resolve('invoices', options);
    const limit = query.limit ?? 20;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      throw new ValidationError('limit must be an integer from 1 to 100.', { context: { field: 'limit' } });
    }
    const customerProviderId = await this.customerProviderId(r, query.customerId);
    const sub = query.subscriptionId ? await this.findLocal('subscription', query.subscriptionId, r) : null;
    const invoices = await this.call(r, 'listInvoices', () =>
      r.provider.listInvoices?.(
        { customerProviderId, subscriptionProviderId: sub?.providerId ?? query.subscriptionId ?? null, limit },
        this.providerCtx(r, null),
      ),
    );
    const data = [];
    for (const inv of invoices) data.push(await this.record(r, { kind: 'invoice', ...inv }));
    return { data, hasMore: false, nextCursor: null } as Awaited<ReturnType<Payable['listInvoices']>>;
  }

  async getPayment(id: string, options: { tenantId?: string | null } = {}) {
    const storage = this.storage;
    const found = storage
      ? await guardStorage(() => this.store.get(storage, 'payment', id, options.tenantId ?? null))
      : null;
    if (!found) throw new NotFoundError(`No payment "${id}".`, { context: { id } });
    return this.lightning.expireIfDue(found);
  }

  async listPayments(query: Parameters<Payable['listPayments']>[0] = {}) {
    const storage = this.storage;
    if (!storage) return { data: [], hasMore: false, nextCursor: null };
    const limit = query.limit ?? 20;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      throw new ValidationError('limit must be an integer from 1 to 100.', { context: { field: 'limit' } });
    }
    const page = await guardStorage(() =>
      this.store.list(storage, 'payment', {
        tenantId: query.tenantId ?? null,
        limit,
        ...(query.provider ? { provider: query.provider } : {}),
        ...(query.customerId ? { customerId: query.customerId } : {}),
        ...(query.status ? { status: query.status } : {}),
        ...(query.cursor ? { cursor: query.cursor } : {}),
      }),
    );
    // Lightning invoices past their expiry read (and are stored) as expired.
    const data = [];
    for (const payment of page.data) data.push(await this.lightning.expireIfDue(payment));
    return { ...page, data: query.status ? data.filter((payment) => payment.status === query.status) : data };
  }

  on(type: Parameters<Payable['on']>[0], handler: Parameters<Payable['on']>[1]): () => void {
    return this.webhooks.on(type, handler);
  }

  outbox(): OutboxRelay {
    if (!this.storage) {
      throw new OutboxStorageRequiredError('The outbox needs a storage driver: pass createPayable({ storage }).');
    }
    this.relay ??= new StorageOutboxRelay(this.ctx, this.storage, this.outboxSettings, this.endpoints);
    return this.relay;
  }

  async purgeIdempotencyKeys(): Promise<number> {
    return this.idempotency ? this.idempotency.purge() : 0;
  }

  async health(): Promise<HealthReport> {
    const report: HealthReport = {
      ok: true,
      storage: { ok: true, driver: this.storage?.name ?? null },
      queue: { ok: true, driver: this.queue.name },
      providers: {},
    };
    if (this.storage) {
      try {
        await this.storage.ping();
      } catch (error) {
        report.storage = {
          ok: false,
          driver: this.storage.name,
          error: isPayableError(error) ? error.code : 'unreachable',
        };
      }
    }
    try {
      await this.queue.ping();
    } catch {
      report.queue = { ok: false, driver: this.queue.name, error: 'unreachable' };
    }
    for (const [name, provider] of Object.entries(this.providers)) {
      if (!provider.health) {
        report.providers[name] = { ok: true };
        continue;
      }
      try {
        const h = await provider.health();
        report.providers[name] = {
          ok: h.ok,
          ...(h.details ? { details: h.details } : {}),
          ...(h.warnings ? { warnings: h.warnings } : {}),
        };
      } catch (error) {
        report.providers[name] = { ok: false, details: { error: describeError(error) } };
      }
    }
    report.ok = report.storage.ok && report.queue.ok && Object.values(report.providers).every((p) => p.ok);
    return report;
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    await this.lightning.close();
    await this.relay?.stop();
    await this.queue.close();
  }
}
