import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  InvalidWebhookPayloadError,
  NotFoundError,
  WebhookProviderAmbiguousError,
  WebhookProviderUnknownError,
} from '../errors/classes.js';
import { describeError, guardStorage, requireWebhookStorage, type PayableContext } from '../facade/context.js';
import type {
  ReceiveInput,
  ReceiveResult,
  WebhookEventView,
  WebhookHandler,
  WebhookHandlerEvent,
  WebhooksApi,
} from '../facade/types.js';
import type {
  JsonValue,
  NormalizedEvent,
  PayableEventType,
  PaymentProvider,
  ProviderObject,
} from '../provider/types.js';
import { JOB_NAMES, type JobContext } from '../queue/types.js';
import { isRefusedSettlement } from '../lightning/settlement.js';
import { applyProviderObject, outboxMessagesFor, type ApplyResult } from '../records/apply.js';
import type { RecordStore } from '../records/record-store.js';
import { parseRecordJson } from '../records/serialize.js';
import type { Page, PaymentStatus } from '../records/types.js';
import type {
  ClaimedWebhookEvent,
  StorageDriver,
  StorageSession,
  StoredWebhookEvent,
  WebhookEventPatch,
  WebhookEventStatus,
} from '../storage/types.js';
import { newId } from '../util/ids.js';
import { sleep, withTimeout } from '../util/time.js';
import { normalizeHeaders } from './headers.js';

/** Thrown inside a fast-path transaction to roll it back and take the step-by-step path. */
const SLOW_PATH = Symbol('slow path');

/** Inbox settings. */
export interface InboxSettings {
  leaseMs: number;
  staleAfterMs: number;
  /** Attempts before an event processed outside the queue is marked failed. */
  maxAttempts: number;
  /** How long a dispatch may take before the HTTP answer goes out anyway (the sweeper catches up). */
  dispatchTimeoutMs: number;
  /** How long to wait for another worker to finish with the same object. */
  lockWaitMs: number;
  onFailed?: (event: WebhookEventView, error: Error) => void | Promise<void>;
}

/** Default inbox settings. */
export const DEFAULT_INBOX: InboxSettings = {
  leaseMs: 60_000,
  staleAfterMs: 60_000,
  maxAttempts: 3,
  dispatchTimeoutMs: 1_000,
  lockWaitMs: 10_000,
};

/** The public view of a stored event: everything but the raw payload and lease internals. */
export function toWebhookEventView(e: StoredWebhookEvent): WebhookEventView {
  return {
    id: e.id,
    tenantId: e.tenantId,
    provider: e.provider,
    providerEventId: e.providerEventId,
    type: e.type,
    providerType: e.providerType,
    status: e.status,
    attempts: e.attempts,
    lastError: e.lastError,
    receivedAt: e.receivedAt,
    updatedAt: e.updatedAt,
    processedAt: e.processedAt,
  };
}

const PAYMENT_EVENT_TYPES: Partial<Record<PaymentStatus, PayableEventType>> = {
  succeeded: 'payment.succeeded',
  failed: 'payment.failed',
  canceled: 'payment.canceled',
  expired: 'payment.expired',
  processing: 'payment.processing',
  underpaid: 'payment.underpaid',
  requires_action: 'payment.requires_action',
};

/** The event type a payment's current status means (`unknown` for a status no event names, e.g. pending). */
function paymentEventType(status: PaymentStatus): PayableEventType {
  return PAYMENT_EVENT_TYPES[status] ?? 'unknown';
}

/** The per-object serialization key of an event: two events for one object never apply at once. */
function objectKeyOf(provider: string, event: NormalizedEvent): string | null {
  return event.object ? `${provider}:${event.object.kind}:${event.object.providerId}` : null;
}

/**
 * The webhook inbox: receive fast (verify, store deduplicated, dispatch), process durably (claim,
 * apply with monotonic transitions + outbox in one transaction, run handlers, mark processed),
 * retry, and sweep what was left pending.
 */
export class WebhookInbox implements WebhooksApi {
  private readonly handlers = new Map<string, Set<WebhookHandler>>();
  private readonly workerId = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private runs = 0;
  /** Whether this process's inline queue processes webhooks at once (set by the facade). */
  private processesInline = false;

  constructor(
    private readonly ctx: PayableContext,
    private readonly store: RecordStore,
    private readonly settings: InboxSettings,
  ) {}

  /** Encrypt a stored event's column (raw payload, normalized event: both may carry PII) when configured. */
  private seal(text: string, id: string, column: 'payload' | 'normalized'): string {
    return this.ctx.encryption ? this.ctx.encryption.encrypt(text, `webhook:${id}:${column}`) : text;
  }

  private open(text: string, id: string, column: 'payload' | 'normalized'): string {
    return this.ctx.encryption ? this.ctx.encryption.decrypt(text, `webhook:${id}:${column}`) : text;
  }

  /** The normalized event a stored event holds, its dates revived (parsed once). */
  private normalizedOf(e: ClaimedWebhookEvent): NormalizedEvent {
    return parseRecordJson<NormalizedEvent>(this.open(e.normalized, e.id, 'normalized'));
  }

  /** Register a handler for a type, or '*'. */
  on(type: PayableEventType | '*', handler: WebhookHandler): () => void {
    let set = this.handlers.get(type);
    if (!set) {
      set = new Set();
      this.handlers.set(type, set);
    }
    set.add(handler);
    return () => set.delete(handler);
  }

  private resolveProvider(name: string | undefined): [string, PaymentProvider] {
    const names = Object.keys(this.ctx.providers);
    if (name === undefined || name === '') {
      if (names.length !== 1) {
        throw new WebhookProviderAmbiguousError(
          `Several providers are registered (${names.join(', ')}): send webhooks to /webhooks/:provider, e.g. /webhooks/${names[0] ?? 'stripe'}.`,
          { context: { providers: names } },
        );
      }
      name = names[0] as string;
    }
    const provider = Object.hasOwn(this.ctx.providers, name) ? this.ctx.providers[name] : undefined;
    if (!provider) {
      throw new WebhookProviderUnknownError(`No provider named "${name}" is registered.`, {
        context: { provider: name, providers: names },
      });
    }
    return [name, provider];
  }

  /**
   * The facade registered this process's webhook worker on an inline queue: a received event is
   * processed before `receive` resolves, so (without handlers) it can be stored and applied in one
   * transaction. Internal.
   */
  processInline(): void {
    this.processesInline = this.ctx.queue.inline === true;
  }

  async receive(input: ReceiveInput): Promise<ReceiveResult> {
    const [providerName, provider] = this.resolveProvider(input.provider);
    const raw = input.rawBody;
    if (!(Buffer.isBuffer(raw) || typeof raw === 'string')) {
      throw new InvalidWebhookPayloadError(
        'The webhook body was already parsed (a JSON body parser ran first): mount the Payable routes before any JSON body parser so the raw bytes reach the signature check.',
        { context: { provider: providerName } },
      );
    }
    const payload = Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'utf8');
    if (payload.length === 0) {
      throw new InvalidWebhookPayloadError('The webhook body is empty.', { context: { provider: providerName } });
    }
    requireWebhookStorage(this.ctx);
    const event = await provider.verifyWebhook({
      payload,
      headers: normalizeHeaders(input.headers),
      ...(input.signatureHeader ? { signatureHeader: input.signatureHeader } : {}),
      now: this.ctx.clock.now(),
    });
    return this.storeEvent(providerName, input.tenantId ?? null, event, payload.toString('utf8'));
  }

  /**
   * Store an event that a trusted source already verified, deduplicated on its id, and dispatch
   * it: the same processing, outbox and handlers as a webhook. Payable's Lightning listener feeds
   * a node's settlement stream (read over the node's authenticated connection) through here;
   * deliveries from outside always go through `receive` and the provider's signature check.
   */
  async ingest(input: {
    provider: string;
    tenantId?: string | null;
    event: NormalizedEvent;
    payload: string;
  }): Promise<ReceiveResult> {
    const [providerName] = this.resolveProvider(input.provider);
    return this.storeEvent(providerName, input.tenantId ?? null, input.event, input.payload);
  }

  private async storeEvent(
    providerName: string,
    tenantId: string | null,
    event: NormalizedEvent,
    text: string,
  ): Promise<ReceiveResult> {
    const storage = requireWebhookStorage(this.ctx);
    const now = this.ctx.clock.now();
    const id = newId('wh', now.getTime());
    const row: StoredWebhookEvent = {
      id,
      tenantId,
      provider: providerName,
      providerEventId: event.id,
      type: event.type,
      providerType: event.providerType,
      status: 'pending',
      attempts: 0,
      lastError: null,
      payload: this.seal(text, id, 'payload'),
      normalized: this.seal(JSON.stringify(event), id, 'normalized'),
      objectKey: objectKeyOf(providerName, event),
      receivedAt: now,
      updatedAt: now,
      processedAt: null,
      lockedBy: null,
      lockedUntil: null,
    };
    if (this.processesInline && this.handlers.size === 0 && !this.needsRefetch(providerName, event)) {
      const done = await this.storeAndApply(storage, row, event);
      if (done) return done;
    }
    const { inserted, event: stored } = await guardStorage(() => storage.insertWebhookEvent(row));
    this.ctx.logger.info(
      { provider: providerName, eventId: stored.id, type: event.type, duplicate: !inserted },
      inserted ? 'webhook stored' : 'webhook duplicate',
    );
    if (inserted || stored.status === 'pending') {
      await this.dispatch(stored.id, inserted ? stored.id : `${stored.id}-r${stored.attempts}`);
    }
    // An inline queue has processed it by now: report where it got to. Otherwise it is what we stored.
    const latest = this.ctx.queue.inline
      ? ((await storage.getWebhookEvent(stored.id).catch(() => null)) ?? stored)
      : stored;
    return { eventId: stored.id, duplicate: !inserted, status: latest.status };
  }

  /** Whether applying the event means asking the provider for the object's current state first. */
  private needsRefetch(providerName: string, event: NormalizedEvent): boolean {
    return Boolean(
      event.object && event.refetch && event.object.kind === 'payment' && this.ctx.providers[providerName]?.getPayment,
    );
  }

  /**
   * The inline fast path: store the event as processed and apply its object in one transaction
   * (one commit instead of three). `null` when the slow path must run instead: a duplicate (the
   * slow path reports or re-dispatches it) or an apply that failed (the transaction rolled back,
   * so nothing was stored; the slow path stores the event first, then records the failure).
   */
  private async storeAndApply(
    storage: StorageDriver,
    row: StoredWebhookEvent,
    event: NormalizedEvent,
  ): Promise<ReceiveResult | null> {
    const started = Date.now();
    const done = this.ctx.clock.now();
    const processed: StoredWebhookEvent = {
      ...row,
      status: 'processed',
      attempts: 1,
      processedAt: done,
      updatedAt: done,
    };
    let stored: boolean;
    try {
      stored = await storage.transaction(async (tx) => {
        const { inserted } = await tx.insertWebhookEvent(processed);
        if (!inserted) return false;
        if (event.object) await this.applyIn(tx, processed, event.object);
        return true;
      });
    } catch (error) {
      this.ctx.logger.warn(
        { eventId: row.id, provider: row.provider, error: describeError(error) },
        'webhook could not be applied at once; storing it first',
      );
      return null;
    }
    if (!stored) return null;
    this.ctx.logger.info(
      { provider: row.provider, eventId: row.id, type: row.type, duplicate: false },
      'webhook stored',
    );
    this.ctx.hooks.onEvent?.({
      name: 'webhook.processed',
      durationMs: Date.now() - started,
      fields: { eventId: row.id, provider: row.provider, type: row.type },
    });
    return { eventId: row.id, duplicate: false, status: 'processed' };
  }

  /** Dispatch processing; a queue that is down or slow never fails the receive (the sweeper catches up). */
  private async dispatch(eventId: string, jobId: string): Promise<void> {
    try {
      await withTimeout(
        this.ctx.queue.dispatch(JOB_NAMES.webhookProcess, { eventId }, { jobId }),
        this.settings.dispatchTimeoutMs,
        () => new Error(`dispatch timed out after ${this.settings.dispatchTimeoutMs} ms`),
      );
    } catch (error) {
      this.ctx.logger.warn({ eventId, error: describeError(error) }, 'webhook dispatch failed; the sweeper will retry');
    }
  }

  async get(eventId: string): Promise<WebhookEventView> {
    const storage = requireWebhookStorage(this.ctx);
    const e = await guardStorage(() => storage.getWebhookEvent(eventId));
    if (!e) throw new NotFoundError(`No webhook event "${eventId}".`, { context: { id: eventId } });
    return toWebhookEventView(e);
  }

  async list(
    query: { status?: WebhookEventStatus; limit?: number; cursor?: string | null } = {},
  ): Promise<Page<WebhookEventView>> {
    const storage = requireWebhookStorage(this.ctx);
    const page = await guardStorage(() =>
      storage.listWebhookEvents({
        limit: query.limit ?? 50,
        ...(query.status ? { status: query.status } : {}),
        ...(query.cursor ? { cursor: query.cursor } : {}),
      }),
    );
    return { ...page, data: page.data.map(toWebhookEventView) };
  }

  async replay(eventId: string): Promise<WebhookEventView> {
    const storage = requireWebhookStorage(this.ctx);
    const e = await guardStorage(() => storage.getWebhookEvent(eventId));
    if (!e) throw new NotFoundError(`No webhook event "${eventId}".`, { context: { id: eventId } });
    const now = this.ctx.clock.now();
    const leaseLive = e.status === 'processing' && e.lockedUntil !== null && e.lockedUntil > now;
    if (!leaseLive) {
      await guardStorage(() =>
        storage.updateWebhookEvent(eventId, { status: 'pending', lockedBy: null, lockedUntil: null, updatedAt: now }),
      );
      await this.dispatch(eventId, `${eventId}-replay-${now.getTime()}`);
    }
    return this.get(eventId);
  }

  async sweep(options: { olderThanMs?: number; limit?: number } = {}): Promise<number> {
    const storage = requireWebhookStorage(this.ctx);
    const now = this.ctx.clock.now().getTime();
    const limit = options.limit ?? 100;
    const stalePending = await guardStorage(() =>
      storage.listWebhookEvents({
        status: 'pending',
        updatedBefore: new Date(now - (options.olderThanMs ?? this.settings.staleAfterMs)),
        limit,
      }),
    );
    const abandoned = await guardStorage(() =>
      storage.listWebhookEvents({ status: 'processing', updatedBefore: new Date(now - this.settings.leaseMs), limit }),
    );
    const events = [...stalePending.data, ...abandoned.data];
    for (const e of events) await this.dispatch(e.id, `${e.id}-s${e.attempts}`);
    if (events.length > 0) this.ctx.logger.info({ count: events.length }, 'webhook sweeper re-dispatched events');
    return events.length;
  }

  /** The queue job: process the event, rethrowing so the queue retries. */
  async runJob(payload: JsonValue, job: JobContext): Promise<void> {
    const eventId = (payload as { eventId?: unknown } | null)?.eventId;
    if (typeof eventId !== 'string') throw new Error('webhook.process job without an eventId');
    await this.processEvent(eventId, job);
  }

  async process(eventId: string): Promise<WebhookEventView> {
    await this.processEvent(eventId, null);
    return this.get(eventId);
  }

  private async acquireObjectLock(storage: StorageDriver, name: string, owner: string): Promise<boolean> {
    const deadline = Date.now() + this.settings.lockWaitMs;
    for (;;) {
      const now = this.ctx.clock.now();
      const took = await storage.acquireLock(name, {
        owner,
        now,
        until: new Date(now.getTime() + this.settings.leaseMs),
      });
      if (took) return true;
      if (Date.now() >= deadline) return false;
      await sleep(15);
    }
  }

  private async processEvent(eventId: string, job: JobContext | null): Promise<void> {
    const storage = requireWebhookStorage(this.ctx);
    const now = this.ctx.clock.now();
    // Each run is its own owner: two jobs of one process must not share a lease or a lock.
    const owner = `${this.workerId}:${++this.runs}`;
    if (this.handlers.size === 0 && (await this.claimAndApply(storage, eventId, owner))) return;
    const claimed = await guardStorage(() =>
      storage.claimWebhookEvent(eventId, { owner, now, until: new Date(now.getTime() + this.settings.leaseMs) }),
    );
    if (!claimed) return; // processed, failed, or another worker holds it
    // With handlers to run after the commit, the object lock keeps two events of one object (their
    // apply and their handlers) from running at once, across processes. Without handlers, the row
    // lock the apply transaction takes (`forUpdate`) already serializes them, and the event is
    // marked processed in that same transaction: fewer round trips on the hot path.
    const withHandlers = this.handlers.size > 0;
    const lockName = withHandlers && claimed.objectKey ? `object:${claimed.tenantId ?? ''}:${claimed.objectKey}` : null;
    if (lockName && !(await this.acquireObjectLock(storage, lockName, owner))) {
      await storage.updateWebhookEvent(
        eventId,
        {
          status: 'pending',
          attempts: Math.max(0, claimed.attempts - 1),
          lockedBy: null,
          lockedUntil: null,
          updatedAt: this.ctx.clock.now(),
        },
        { owner },
      );
      throw new Error(`object ${claimed.objectKey} is busy with another event; retrying`);
    }
    const started = Date.now();
    try {
      const applied = await this.apply(storage, claimed, withHandlers ? null : owner);
      if (withHandlers || !applied.markedProcessed) {
        await this.runHandlers(claimed, applied.result, applied.type);
        await storage.updateWebhookEvent(eventId, this.processedPatch(), { owner });
      }
      this.ctx.hooks.onEvent?.({
        name: 'webhook.processed',
        durationMs: Date.now() - started,
        fields: { eventId, provider: claimed.provider, type: claimed.type },
      });
    } catch (error) {
      // A refused Lightning settlement fails for good at once: retrying cannot change the answer.
      const refused = isRefusedSettlement(error);
      if (refused) {
        this.ctx.logger.error(
          {
            eventId,
            provider: claimed.provider,
            providerEventId: claimed.providerEventId,
            reason: error.context.reason,
            paymentHash: error.context.paymentHash,
          },
          'Lightning settlement refused: not credited',
        );
      }
      await this.fail(storage, claimed, error, job, owner, refused);
      if (!refused) throw error;
    } finally {
      if (lockName) await storage.releaseLock(lockName, owner).catch(() => undefined);
    }
  }

  /**
   * The worker's fast path when no handlers run: claim, apply and mark processed in one
   * transaction (one commit instead of two; the claim itself marks the event processed, so no
   * statement follows the work). The claim's row lock keeps other workers out until the commit,
   * when they see the event processed. Answers `false` when the slow path must run: the
   * event needs a re-fetch from the provider (no network call inside a transaction), or the apply
   * failed (rolled back, claim included; the slow path claims again and records the failure).
   */
  private async claimAndApply(storage: StorageDriver, eventId: string, owner: string): Promise<boolean> {
    const started = Date.now();
    let claimed: ClaimedWebhookEvent | null = null;
    try {
      claimed = await storage.transaction(async (tx) => {
        const now = this.ctx.clock.now();
        // Claimed and marked processed in one statement: the rollback of a failed apply undoes both.
        // The apply works from the normalized event: the raw payload is not read back.
        const row = await tx.claimWebhookEvent(
          eventId,
          { owner, now, until: new Date(now.getTime() + this.settings.leaseMs) },
          { processed: true, payload: false },
        );
        if (!row) return null;
        const event = this.normalizedOf(row);
        if (this.needsRefetch(row.provider, event)) throw SLOW_PATH;
        if (event.object) await this.applyIn(tx, row, event.object);
        return row;
      });
    } catch (error) {
      if (error !== SLOW_PATH) {
        this.ctx.logger.warn(
          { eventId, error: describeError(error) },
          'webhook apply failed; retrying it step by step',
        );
      }
      return false;
    }
    if (claimed) {
      this.ctx.hooks.onEvent?.({
        name: 'webhook.processed',
        durationMs: Date.now() - started,
        fields: { eventId, provider: claimed.provider, type: claimed.type },
      });
    }
    return true;
  }

  /** Apply a provider object and write its outbox messages, inside `tx`. */
  private async applyIn(
    tx: StorageSession,
    claimed: ClaimedWebhookEvent,
    object: ProviderObject,
  ): Promise<ApplyResult> {
    const result = await applyProviderObject(
      {
        session: tx,
        store: this.store,
        clock: this.ctx.clock,
        tenantId: claimed.tenantId,
        provider: claimed.provider,
        settlementProof: this.ctx.providers[claimed.provider]?.settlementProof ?? 'preimage',
      },
      object,
    );
    const messages = outboxMessagesFor(result, this.ctx.clock.now());
    if (messages.length > 0) await tx.appendOutbox(messages);
    if (result.stale) {
      this.ctx.logger.info(
        { eventId: claimed.id, kind: result.kind, from: result.previousStatus, type: claimed.type },
        'stale webhook: status transition refused',
      );
    }
    return result;
  }

  /**
   * Apply the event's object. When the event asks for a re-fetch, the provider's current state is
   * applied instead, and handlers see the type that state means (a forged or stale `paid` claim
   * never reaches `payment.succeeded` handlers).
   */
  private processedPatch(): WebhookEventPatch {
    const done = this.ctx.clock.now();
    return {
      status: 'processed',
      processedAt: done,
      lastError: null,
      lockedBy: null,
      lockedUntil: null,
      updatedAt: done,
    };
  }

  private async apply(
    storage: StorageDriver,
    claimed: StoredWebhookEvent,
    markProcessedAs: string | null,
  ): Promise<{ result: ApplyResult | null; type: PayableEventType; markedProcessed: boolean }> {
    const event = this.normalizedOf(claimed);
    let object = event.object;
    let type = claimed.type;
    const provider = this.ctx.providers[claimed.provider];
    if (object && event.refetch && object.kind === 'payment' && provider?.getPayment) {
      const fresh = await provider.getPayment(object.providerId, { idempotencyKey: null, tenantId: claimed.tenantId });
      object = { kind: 'payment', ...fresh };
      type = paymentEventType(fresh.status);
    }
    if (!object) return { result: null, type, markedProcessed: false };
    const current = object;
    const result = await storage.transaction(async (tx) => {
      const result = await this.applyIn(tx, claimed, current);
      if (markProcessedAs) await tx.updateWebhookEvent(claimed.id, this.processedPatch(), { owner: markProcessedAs });
      return result;
    });
    return { result, type, markedProcessed: markProcessedAs !== null };
  }

  private async runHandlers(
    claimed: StoredWebhookEvent,
    result: ApplyResult | null,
    type: PayableEventType,
  ): Promise<void> {
    const handlers = [...(this.handlers.get(type) ?? []), ...(this.handlers.get('*') ?? [])];
    if (handlers.length === 0) return;
    const text = this.open(claimed.payload, claimed.id, 'payload');
    let payload: JsonValue;
    try {
      payload = JSON.parse(text) as JsonValue;
    } catch {
      payload = text;
    }
    const event: WebhookHandlerEvent = {
      eventId: claimed.id,
      provider: claimed.provider,
      tenantId: claimed.tenantId,
      type,
      providerType: claimed.providerType,
      providerEventId: claimed.providerEventId,
      payload,
      record: result ? (JSON.parse(JSON.stringify(result.record)) as JsonValue) : null,
    };
    for (const handler of handlers) await handler(event);
  }

  private async fail(
    storage: StorageDriver,
    claimed: StoredWebhookEvent,
    error: unknown,
    job: JobContext | null,
    owner: string,
    permanent = false,
  ): Promise<void> {
    const final = permanent || (job ? job.attempt >= job.maxAttempts : claimed.attempts >= this.settings.maxAttempts);
    const now = this.ctx.clock.now();
    const lastError = describeError(error);
    await storage
      .updateWebhookEvent(
        claimed.id,
        { status: final ? 'failed' : 'pending', lastError, lockedBy: null, lockedUntil: null, updatedAt: now },
        { owner },
      )
      .catch(() => undefined);
    this.ctx.logger.warn(
      { eventId: claimed.id, provider: claimed.provider, attempts: claimed.attempts, final, error: lastError },
      final ? 'webhook failed after its final attempt' : 'webhook processing failed; will retry',
    );
    this.ctx.hooks.onError?.(error, { eventId: claimed.id, final });
    if (final && this.settings.onFailed) {
      const err = error instanceof Error ? error : new Error(lastError);
      await Promise.resolve(
        this.settings.onFailed(toWebhookEventView({ ...claimed, status: 'failed', lastError }), err),
      ).catch((e: unknown) => this.ctx.logger.error({ error: describeError(e) }, 'webhooks.onFailed threw'));
    }
  }
}
