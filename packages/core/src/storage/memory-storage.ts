import { InternalError, StorageUnavailableError, ValidationError } from '../errors/index.js';
import type { AnyRecord, Page, RecordByKind, RecordKind } from '../records/types.js';
import type {
  DeliveryPatch,
  DeliveryQuery,
  EndpointPatch,
  EndpointQuery,
  ClaimedWebhookEvent,
  ClaimOptions,
  ClaimWithoutPayload,
  Lease,
  OutboxPatch,
  ProviderRef,
  RecordQuery,
  StorageDriver,
  StorageSession,
  StoredDelivery,
  StoredDeliveryAttempt,
  StoredEndpoint,
  StoredIdempotencyKey,
  StoredL402RootKey,
  StoredL402SpentToken,
  StoredOutboxMessage,
  StoredWebhookEvent,
  WebhookEventPatch,
  WebhookEventQuery,
  WebhookEventStatus,
} from './types.js';

type Undo = () => void;
type IdempotencyPatch = Parameters<StorageSession['updateIdempotencyKey']>[2];

const WEBHOOK_PATCH_KEYS = [
  'status',
  'attempts',
  'lastError',
  'processedAt',
  'lockedBy',
  'lockedUntil',
  'updatedAt',
] as const satisfies readonly (keyof WebhookEventPatch)[];
const OUTBOX_PATCH_KEYS = [
  'status',
  'attempts',
  'availableAt',
  'lockedBy',
  'lockedUntil',
  'lastError',
  'deliveredAt',
] as const satisfies readonly (keyof OutboxPatch)[];
const ENDPOINT_PATCH_KEYS = [
  'url',
  'events',
  'scheme',
  'description',
  'secret',
  'previousSecret',
  'previousSecretExpiresAt',
  'status',
  'disabledReason',
  'updatedAt',
] as const satisfies readonly (keyof EndpointPatch)[];
const DELIVERY_PATCH_KEYS = [
  'status',
  'attempts',
  'nextAttemptAt',
  'lockedBy',
  'lockedUntil',
  'lastStatus',
  'lastError',
  'updatedAt',
  'deliveredAt',
] as const satisfies readonly (keyof DeliveryPatch)[];
const IDEMPOTENCY_PATCH_KEYS = [
  'status',
  'lockedUntil',
  'responseStatus',
  'responseBody',
  'fingerprint',
  'createdAt',
  'expiresAt',
] as const satisfies readonly (keyof IdempotencyPatch)[];

/** A deep copy: callers never share objects with the store (Dates stay Dates). */
function copy<T>(value: T): T {
  return structuredClone(value);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sameInstant(a: Date | null, b: Date | null): boolean {
  if (a === null || b === null) return a === b;
  return a.getTime() === b.getTime();
}

/** The unique key of a (tenant, namespace, id) triple; `null` and `"null"` tenants stay distinct. */
function uniqueKey(...parts: (string | null | undefined)[]): string {
  return JSON.stringify(parts.map((part) => part ?? null));
}

function applyPatch<T extends object, P extends Partial<T>>(row: T, patch: P, keys: readonly (keyof P & keyof T)[]): T {
  const next = { ...row };
  for (const key of keys) {
    const value = patch[key];
    if (value !== undefined) next[key] = copy(value) as unknown as T[typeof key];
  }
  return next;
}

function field(row: object, name: string): unknown {
  return (row as Record<string, unknown>)[name];
}

function encodeCursor(time: Date, id: string): string {
  return Buffer.from(JSON.stringify([time.getTime(), id]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { time: number; id: string } {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2 && Number.isFinite(parsed[0]) && typeof parsed[1] === 'string') {
      return { time: parsed[0] as number, id: parsed[1] };
    }
  } catch {
    // fall through to the validation error
  }
  throw new ValidationError('The list cursor is not one this store issued.', {
    context: { field: 'cursor', reason: 'malformed' },
  });
}

/** Pages `sorted` (already in list order) after `cursor`; `after` says whether a row follows it. */
function paginate<T>(
  sorted: T[],
  limit: number,
  cursor: string | null | undefined,
  after: (row: T, position: { time: number; id: string }) => boolean,
  cursorOf: (row: T) => string,
): Page<T> {
  const position = cursor ? decodeCursor(cursor) : null;
  const rest = position ? sorted.filter((row) => after(row, position)) : sorted;
  const size = Math.max(0, Math.floor(limit));
  const data = rest.slice(0, size);
  const hasMore = rest.length > data.length;
  const last = data[data.length - 1];
  return { data: data.map(copy), hasMore, nextCursor: hasMore && last !== undefined ? cursorOf(last) : null };
}

interface RecordTable {
  byId: Map<string, AnyRecord>;
  /** uniqueKey(tenantId, provider, providerId) → id */
  byRef: Map<string, string>;
}

/** A single-threaded mutex: `run` calls execute one at a time, in call order. */
class Mutex {
  #tail: Promise<void> = Promise.resolve();

  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    const previous = this.#tail;
    let release: () => void = () => undefined;
    this.#tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

/**
 * The tables and their synchronous operations. Every write goes through `put`/`remove`, which
 * record an undo step while a journal is open, so transactions (and single operations) roll back.
 */
class MemoryEngine {
  readonly #records = new Map<RecordKind, RecordTable>();
  readonly #events = new Map<string, StoredWebhookEvent>();
  readonly #eventRefs = new Map<string, string>();
  readonly #locks = new Map<string, { owner: string; until: Date }>();
  readonly #cursors = new Map<string, string>();
  readonly #l402RootKeys = new Map<string, StoredL402RootKey>();
  /** uniqueKey(tenantId, paymentHash) → row */
  readonly #l402Spent = new Map<string, StoredL402SpentToken>();
  readonly #idempotency = new Map<string, StoredIdempotencyKey>();
  readonly #outbox = new Map<string, StoredOutboxMessage>();
  readonly #endpoints = new Map<string, StoredEndpoint>();
  readonly #deliveries = new Map<string, StoredDelivery>();
  /** uniqueKey(endpointId, eventId) → delivery id */
  readonly #deliveryRefs = new Map<string, string>();
  readonly #deliveryAttempts = new Map<string, StoredDeliveryAttempt>();
  #journal: Undo[] | null = null;

  // Journal -----------------------------------------------------------------------------------

  /** Runs `op` atomically: on a throw, its writes are undone (inside or outside a transaction). */
  atomically<T>(op: () => T): T {
    const outer = this.#journal;
    const journal = outer ?? [];
    const mark = journal.length;
    this.#journal = journal;
    try {
      return op();
    } catch (error) {
      this.#undoTo(journal, mark);
      throw error;
    } finally {
      this.#journal = outer;
    }
  }

  begin(): void {
    if (this.#journal !== null) throw new InternalError('A memory storage transaction is already open.');
    this.#journal = [];
  }

  commit(): void {
    this.#journal = null;
  }

  rollback(): void {
    if (this.#journal) this.#undoTo(this.#journal, 0);
    this.#journal = null;
  }

  savepoint(): number {
    return this.#journal?.length ?? 0;
  }

  rollbackTo(mark: number): void {
    if (this.#journal) this.#undoTo(this.#journal, mark);
  }

  #undoTo(journal: Undo[], mark: number): void {
    while (journal.length > mark) journal.pop()?.();
  }

  #put<K, V>(map: Map<K, V>, key: K, value: V): void {
    if (this.#journal) {
      if (map.has(key)) {
        const previous = map.get(key) as V;
        this.#journal.push(() => map.set(key, previous));
      } else {
        this.#journal.push(() => map.delete(key));
      }
    }
    map.set(key, value);
  }

  #remove<K, V>(map: Map<K, V>, key: K): void {
    if (!map.has(key)) return;
    if (this.#journal) {
      const previous = map.get(key) as V;
      this.#journal.push(() => map.set(key, previous));
    }
    map.delete(key);
  }

  // Billing records ---------------------------------------------------------------------------

  #table(kind: RecordKind): RecordTable {
    let table = this.#records.get(kind);
    if (!table) {
      table = { byId: new Map(), byRef: new Map() };
      this.#records.set(kind, table);
    }
    return table;
  }

  insertRecord<K extends RecordKind>(kind: K, record: RecordByKind[K]): { inserted: boolean; record: RecordByKind[K] } {
    const table = this.#table(kind);
    const ref = uniqueKey(record.tenantId, record.provider, record.providerId);
    const existingId = table.byRef.get(ref);
    const existing = existingId === undefined ? undefined : table.byId.get(existingId);
    if (existing) return { inserted: false, record: copy(existing) as RecordByKind[K] };
    if (table.byId.has(record.id)) {
      throw new InternalError(`A ${kind} record with this id already exists.`, { context: { kind, id: record.id } });
    }
    const stored = copy(record);
    this.#put(table.byId, stored.id, stored);
    this.#put(table.byRef, ref, stored.id);
    return { inserted: true, record: copy(stored) };
  }

  getRecord<K extends RecordKind>(kind: K, id: string, tenantId: string | null): RecordByKind[K] | null {
    const record = this.#table(kind).byId.get(id);
    if (!record || (record.tenantId ?? null) !== (tenantId ?? null)) return null;
    return copy(record) as RecordByKind[K];
  }

  findRecord<K extends RecordKind>(kind: K, ref: ProviderRef): RecordByKind[K] | null {
    const table = this.#table(kind);
    const id = table.byRef.get(uniqueKey(ref.tenantId, ref.provider, ref.providerId));
    const record = id === undefined ? undefined : table.byId.get(id);
    return record ? (copy(record) as RecordByKind[K]) : null;
  }

  updateRecord<K extends RecordKind>(kind: K, record: RecordByKind[K]): boolean {
    const table = this.#table(kind);
    const existing = table.byId.get(record.id);
    if (!existing || (existing.tenantId ?? null) !== (record.tenantId ?? null)) return false;
    const oldRef = uniqueKey(existing.tenantId, existing.provider, existing.providerId);
    const newRef = uniqueKey(record.tenantId, record.provider, record.providerId);
    if (oldRef !== newRef) {
      const holder = table.byRef.get(newRef);
      if (holder !== undefined && holder !== record.id) {
        throw new InternalError(`Another ${kind} record already has this provider id.`, {
          context: { kind, id: record.id, provider: record.provider, providerId: record.providerId },
        });
      }
      this.#remove(table.byRef, oldRef);
      this.#put(table.byRef, newRef, record.id);
    }
    this.#put(table.byId, record.id, copy(record));
    return true;
  }

  listRecords<K extends RecordKind>(kind: K, query: RecordQuery): Page<RecordByKind[K]> {
    const wanted = (name: string, value: string | null | undefined, row: AnyRecord): boolean =>
      value === undefined || value === null || field(row, name) === value;
    const rows = [...this.#table(kind).byId.values()].filter(
      (row) =>
        (row.tenantId ?? null) === (query.tenantId ?? null) &&
        wanted('provider', query.provider, row) &&
        wanted('customerId', query.customerId, row) &&
        wanted('status', query.status, row),
    );
    // Newest first: createdAt descending, then id descending.
    rows.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || compareStrings(b.id, a.id));
    const page = paginate(
      rows,
      query.limit,
      query.cursor,
      (row, at) => row.createdAt.getTime() < at.time || (row.createdAt.getTime() === at.time && row.id < at.id),
      (row) => encodeCursor(row.createdAt, row.id),
    );
    return page as Page<RecordByKind[K]>;
  }

  // Webhook inbox -----------------------------------------------------------------------------

  insertWebhookEvent(event: StoredWebhookEvent): { inserted: boolean; event: StoredWebhookEvent } {
    const ref = uniqueKey(event.tenantId, event.provider, event.providerEventId);
    const existingId = this.#eventRefs.get(ref);
    const existing = existingId === undefined ? undefined : this.#events.get(existingId);
    if (existing) return { inserted: false, event: copy(existing) };
    if (this.#events.has(event.id)) {
      throw new InternalError('A webhook event with this id already exists.', { context: { id: event.id } });
    }
    const stored = copy(event);
    this.#put(this.#events, stored.id, stored);
    this.#put(this.#eventRefs, ref, stored.id);
    return { inserted: true, event: copy(stored) };
  }

  getWebhookEvent(id: string): StoredWebhookEvent | null {
    const event = this.#events.get(id);
    return event ? copy(event) : null;
  }

  claimWebhookEvent(id: string, lease: Lease, options?: ClaimOptions): StoredWebhookEvent | ClaimedWebhookEvent | null {
    const event = this.#events.get(id);
    if (!event) return null;
    const now = lease.now.getTime();
    const claimable =
      event.status === 'pending' ||
      (event.status === 'processing' && (event.lockedUntil === null || event.lockedUntil.getTime() <= now));
    if (!claimable) return null;
    const claimed: StoredWebhookEvent = options?.processed
      ? {
          ...event,
          status: 'processed',
          attempts: event.attempts + 1,
          lastError: null,
          lockedBy: null,
          lockedUntil: null,
          processedAt: copy(lease.now),
          updatedAt: copy(lease.now),
        }
      : {
          ...event,
          status: 'processing',
          attempts: event.attempts + 1,
          lockedBy: lease.owner,
          lockedUntil: copy(lease.until),
          updatedAt: copy(lease.now),
        };
    this.#put(this.#events, id, claimed);
    if (options?.payload === false) {
      const { payload: _payload, ...rest } = claimed;
      return copy(rest);
    }
    return copy(claimed);
  }

  updateWebhookEvent(id: string, patch: WebhookEventPatch, options?: { owner?: string }): boolean {
    const event = this.#events.get(id);
    if (!event) return false;
    if (options?.owner !== undefined && event.lockedBy !== options.owner) return false;
    this.#put(this.#events, id, applyPatch(event, patch, WEBHOOK_PATCH_KEYS));
    return true;
  }

  listWebhookEvents(query: WebhookEventQuery): Page<StoredWebhookEvent> {
    const before = query.updatedBefore?.getTime();
    const rows = [...this.#events.values()].filter(
      (event) =>
        (query.status === undefined || event.status === query.status) &&
        (query.provider === undefined || event.provider === query.provider) &&
        (before === undefined || event.updatedAt.getTime() < before),
    );
    // Oldest first: receivedAt ascending, then id ascending.
    rows.sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime() || compareStrings(a.id, b.id));
    return paginate(
      rows,
      query.limit,
      query.cursor,
      (row, at) => row.receivedAt.getTime() > at.time || (row.receivedAt.getTime() === at.time && row.id > at.id),
      (row) => encodeCursor(row.receivedAt, row.id),
    );
  }

  countWebhookEvents(): Record<WebhookEventStatus, number> {
    const counts: Record<WebhookEventStatus, number> = { pending: 0, processing: 0, processed: 0, failed: 0 };
    for (const event of this.#events.values()) counts[event.status] += 1;
    return counts;
  }

  // Locks -------------------------------------------------------------------------------------

  acquireLock(name: string, lease: Lease): boolean {
    const current = this.#locks.get(name);
    const free =
      current === undefined || current.owner === lease.owner || current.until.getTime() <= lease.now.getTime();
    if (!free) return false;
    this.#put(this.#locks, name, { owner: lease.owner, until: copy(lease.until) });
    return true;
  }

  releaseLock(name: string, owner: string): void {
    if (this.#locks.get(name)?.owner === owner) this.#remove(this.#locks, name);
  }

  // Cursors -----------------------------------------------------------------------------------

  getCursor(name: string): string | null {
    return this.#cursors.get(name) ?? null;
  }

  setCursor(name: string, value: string): void {
    this.#put(this.#cursors, name, value);
  }

  // L402 --------------------------------------------------------------------------------------

  putL402RootKey(row: StoredL402RootKey): { inserted: boolean } {
    if (this.#l402RootKeys.has(row.id)) return { inserted: false };
    this.#put(this.#l402RootKeys, row.id, copy(row));
    return { inserted: true };
  }

  getL402RootKey(id: string): StoredL402RootKey | null {
    const row = this.#l402RootKeys.get(id);
    return row ? copy(row) : null;
  }

  deleteL402RootKey(id: string): boolean {
    if (!this.#l402RootKeys.has(id)) return false;
    this.#remove(this.#l402RootKeys, id);
    return true;
  }

  purgeL402RootKeys(before: Date): number {
    let purged = 0;
    for (const [id, row] of [...this.#l402RootKeys]) {
      if (row.expiresAt !== null && row.expiresAt.getTime() <= before.getTime()) {
        this.#remove(this.#l402RootKeys, id);
        purged += 1;
      }
    }
    return purged;
  }

  insertL402SpentToken(row: StoredL402SpentToken): { inserted: boolean } {
    const key = uniqueKey(row.tenantId, row.paymentHash);
    if (this.#l402Spent.has(key)) return { inserted: false };
    this.#put(this.#l402Spent, key, copy(row));
    return { inserted: true };
  }

  purgeL402SpentTokens(before: Date): number {
    let purged = 0;
    for (const [key, row] of [...this.#l402Spent]) {
      if (row.spentAt.getTime() <= before.getTime()) {
        this.#remove(this.#l402Spent, key);
        purged += 1;
      }
    }
    return purged;
  }

  // Idempotency -------------------------------------------------------------------------------

  insertIdempotencyKey(row: StoredIdempotencyKey): { inserted: boolean; row: StoredIdempotencyKey } {
    const key = uniqueKey(row.tenantId, row.key);
    const existing = this.#idempotency.get(key);
    if (existing) return { inserted: false, row: copy(existing) };
    const stored = copy(row);
    this.#put(this.#idempotency, key, stored);
    return { inserted: true, row: copy(stored) };
  }

  updateIdempotencyKey(
    tenantId: string | null,
    key: string,
    patch: IdempotencyPatch,
    options?: { expectLockedUntil?: Date | null },
  ): boolean {
    const id = uniqueKey(tenantId, key);
    const row = this.#idempotency.get(id);
    if (!row) return false;
    const expected = options?.expectLockedUntil;
    if (expected !== undefined && !sameInstant(row.lockedUntil, expected)) return false;
    this.#put(this.#idempotency, id, applyPatch(row, patch, IDEMPOTENCY_PATCH_KEYS));
    return true;
  }

  deleteIdempotencyKey(tenantId: string | null, key: string): void {
    this.#remove(this.#idempotency, uniqueKey(tenantId, key));
  }

  purgeIdempotencyKeys(before: Date): number {
    let purged = 0;
    for (const [id, row] of [...this.#idempotency]) {
      if (row.expiresAt.getTime() <= before.getTime()) {
        this.#remove(this.#idempotency, id);
        purged += 1;
      }
    }
    return purged;
  }

  // Outbox ------------------------------------------------------------------------------------

  appendOutbox(messages: StoredOutboxMessage[]): void {
    const ids = new Set<string>();
    for (const message of messages) {
      if (this.#outbox.has(message.id) || ids.has(message.id)) {
        throw new InternalError('An outbox message with this id already exists.', { context: { id: message.id } });
      }
      ids.add(message.id);
    }
    for (const message of messages) this.#put(this.#outbox, message.id, copy(message));
  }

  claimOutbox(lease: Lease, limit: number): StoredOutboxMessage[] {
    const now = lease.now.getTime();
    // The earliest undelivered message of each aggregate: only it may be delivered next.
    const heads = new Map<string, StoredOutboxMessage>();
    for (const message of this.#outbox.values()) {
      if (message.status === 'delivered' || message.status === 'dead') continue;
      const head = heads.get(message.aggregateKey);
      if (!head || message.id < head.id) heads.set(message.aggregateKey, message);
    }
    const claimable = [...heads.values()]
      .filter(
        (message) =>
          (message.status === 'pending' && message.availableAt.getTime() <= now) ||
          (message.status === 'processing' && (message.lockedUntil === null || message.lockedUntil.getTime() <= now)),
      )
      .sort((a, b) => compareStrings(a.id, b.id))
      .slice(0, Math.max(0, Math.floor(limit)));
    return claimable.map((message) => {
      const claimed: StoredOutboxMessage = {
        ...message,
        status: 'processing',
        lockedBy: lease.owner,
        lockedUntil: copy(lease.until),
      };
      this.#put(this.#outbox, message.id, claimed);
      return copy(claimed);
    });
  }

  updateOutbox(id: string, patch: OutboxPatch, options?: { owner?: string }): boolean {
    const message = this.#outbox.get(id);
    if (!message) return false;
    if (options?.owner !== undefined && message.lockedBy !== options.owner) return false;
    this.#put(this.#outbox, id, applyPatch(message, patch, OUTBOX_PATCH_KEYS));
    return true;
  }

  getOutboxMessage(id: string): StoredOutboxMessage | null {
    const message = this.#outbox.get(id);
    return message ? copy(message) : null;
  }

  // Outbound webhook endpoints, deliveries and their log ---------------------------------------

  insertEndpoint(row: StoredEndpoint): void {
    if (this.#endpoints.has(row.id)) {
      throw new InternalError('An endpoint with this id already exists.', { context: { id: row.id } });
    }
    this.#put(this.#endpoints, row.id, copy(row));
  }

  getEndpoint(id: string): StoredEndpoint | null {
    const endpoint = this.#endpoints.get(id);
    return endpoint ? copy(endpoint) : null;
  }

  listEndpoints(query: EndpointQuery): Page<StoredEndpoint> {
    const rows = [...this.#endpoints.values()].filter(
      (endpoint) =>
        (query.tenantId === undefined || (endpoint.tenantId ?? null) === (query.tenantId ?? null)) &&
        (query.status === undefined || endpoint.status === query.status),
    );
    // Oldest first: ids are time-ordered.
    rows.sort((a, b) => compareStrings(a.id, b.id));
    return paginate(
      rows,
      query.limit,
      query.cursor,
      (row, at) => row.id > at.id,
      (row) => encodeCursor(row.createdAt, row.id),
    );
  }

  updateEndpoint(id: string, patch: EndpointPatch): boolean {
    const endpoint = this.#endpoints.get(id);
    if (!endpoint) return false;
    this.#put(this.#endpoints, id, applyPatch(endpoint, patch, ENDPOINT_PATCH_KEYS));
    return true;
  }

  insertDeliveries(rows: StoredDelivery[]): number {
    // Check the whole batch first: a refused batch stores nothing.
    const accepted: StoredDelivery[] = [];
    const refs = new Set<string>();
    const ids = new Set<string>();
    for (const row of rows) {
      const ref = uniqueKey(row.endpointId, row.eventId);
      if (this.#deliveryRefs.has(ref) || refs.has(ref)) continue;
      if (this.#deliveries.has(row.id) || ids.has(row.id)) {
        throw new InternalError('A delivery with this id already exists.', { context: { id: row.id } });
      }
      refs.add(ref);
      ids.add(row.id);
      accepted.push(row);
    }
    for (const row of accepted) {
      this.#put(this.#deliveries, row.id, copy(row));
      this.#put(this.#deliveryRefs, uniqueKey(row.endpointId, row.eventId), row.id);
    }
    return accepted.length;
  }

  claimDeliveries(lease: Lease, limit: number): StoredDelivery[] {
    const now = lease.now.getTime();
    const due = [...this.#deliveries.values()]
      .filter(
        (delivery) =>
          (delivery.status === 'pending' && delivery.nextAttemptAt.getTime() <= now) ||
          (delivery.status === 'processing' &&
            (delivery.lockedUntil === null || delivery.lockedUntil.getTime() <= now)),
      )
      .sort((a, b) => a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime() || compareStrings(a.id, b.id))
      .slice(0, Math.max(0, Math.floor(limit)));
    return due.map((delivery) => {
      const claimed: StoredDelivery = {
        ...delivery,
        status: 'processing',
        lockedBy: lease.owner,
        lockedUntil: copy(lease.until),
        updatedAt: copy(lease.now),
      };
      this.#put(this.#deliveries, delivery.id, claimed);
      return copy(claimed);
    });
  }

  updateDelivery(id: string, patch: DeliveryPatch, options?: { owner?: string }): boolean {
    const delivery = this.#deliveries.get(id);
    if (!delivery) return false;
    if (options?.owner !== undefined && delivery.lockedBy !== options.owner) return false;
    this.#put(this.#deliveries, id, applyPatch(delivery, patch, DELIVERY_PATCH_KEYS));
    return true;
  }

  getDelivery(id: string): StoredDelivery | null {
    const delivery = this.#deliveries.get(id);
    return delivery ? copy(delivery) : null;
  }

  listDeliveries(query: DeliveryQuery): Page<StoredDelivery> {
    const rows = [...this.#deliveries.values()].filter(
      (delivery) =>
        delivery.endpointId === query.endpointId && (query.status === undefined || delivery.status === query.status),
    );
    // Newest first: ids are time-ordered.
    rows.sort((a, b) => compareStrings(b.id, a.id));
    return paginate(
      rows,
      query.limit,
      query.cursor,
      (row, at) => row.id < at.id,
      (row) => encodeCursor(row.createdAt, row.id),
    );
  }

  appendDeliveryAttempt(row: StoredDeliveryAttempt): void {
    if (!Number.isSafeInteger(row.durationMs) || row.durationMs < 0) {
      throw new ValidationError('durationMs must be a whole, non-negative number of milliseconds.', {
        context: { field: 'durationMs', reason: 'invalid' },
      });
    }
    if (this.#deliveryAttempts.has(row.id)) {
      throw new InternalError('A delivery attempt with this id already exists.', { context: { id: row.id } });
    }
    this.#put(this.#deliveryAttempts, row.id, copy(row));
  }

  listDeliveryAttempts(deliveryId: string): StoredDeliveryAttempt[] {
    return [...this.#deliveryAttempts.values()]
      .filter((attempt) => attempt.deliveryId === deliveryId)
      .sort((a, b) => compareStrings(a.id, b.id))
      .map(copy);
  }
}

/** The storage operations, each run through `run` (the driver's mutex, or a transaction's guard). */
abstract class MemorySession implements StorageSession {
  protected readonly engine: MemoryEngine;

  protected constructor(engine: MemoryEngine) {
    this.engine = engine;
  }

  /** Runs one synchronous engine operation (atomically) in this session's context. */
  protected abstract run<T>(op: () => T): Promise<T>;

  insertRecord<K extends RecordKind>(
    kind: K,
    record: RecordByKind[K],
  ): Promise<{ inserted: boolean; record: RecordByKind[K] }> {
    return this.run(() => this.engine.insertRecord(kind, record));
  }

  getRecord<K extends RecordKind>(
    kind: K,
    id: string,
    tenantId: string | null,
    _options?: { forUpdate?: boolean },
  ): Promise<RecordByKind[K] | null> {
    // Every operation is serialized, so a read inside a transaction already excludes other writers.
    return this.run(() => this.engine.getRecord(kind, id, tenantId));
  }

  findRecord<K extends RecordKind>(
    kind: K,
    ref: ProviderRef,
    _options?: { forUpdate?: boolean },
  ): Promise<RecordByKind[K] | null> {
    return this.run(() => this.engine.findRecord(kind, ref));
  }

  updateRecord<K extends RecordKind>(kind: K, record: RecordByKind[K]): Promise<boolean> {
    return this.run(() => this.engine.updateRecord(kind, record));
  }

  listRecords<K extends RecordKind>(kind: K, query: RecordQuery): Promise<Page<RecordByKind[K]>> {
    return this.run(() => this.engine.listRecords(kind, query));
  }

  insertWebhookEvent(event: StoredWebhookEvent): Promise<{ inserted: boolean; event: StoredWebhookEvent }> {
    return this.run(() => this.engine.insertWebhookEvent(event));
  }

  getWebhookEvent(id: string): Promise<StoredWebhookEvent | null> {
    return this.run(() => this.engine.getWebhookEvent(id));
  }

  claimWebhookEvent(id: string, lease: Lease, options: ClaimWithoutPayload): Promise<ClaimedWebhookEvent | null>;
  claimWebhookEvent(id: string, lease: Lease, options?: ClaimOptions): Promise<StoredWebhookEvent | null>;
  claimWebhookEvent(
    id: string,
    lease: Lease,
    options?: ClaimOptions,
  ): Promise<StoredWebhookEvent | ClaimedWebhookEvent | null> {
    return this.run(() => this.engine.claimWebhookEvent(id, lease, options));
  }

  updateWebhookEvent(id: string, patch: WebhookEventPatch, options?: { owner?: string }): Promise<boolean> {
    return this.run(() => this.engine.updateWebhookEvent(id, patch, options));
  }

  listWebhookEvents(query: WebhookEventQuery): Promise<Page<StoredWebhookEvent>> {
    return this.run(() => this.engine.listWebhookEvents(query));
  }

  countWebhookEvents(): Promise<Record<WebhookEventStatus, number>> {
    return this.run(() => this.engine.countWebhookEvents());
  }

  acquireLock(name: string, lease: Lease): Promise<boolean> {
    return this.run(() => this.engine.acquireLock(name, lease));
  }

  releaseLock(name: string, owner: string): Promise<void> {
    return this.run(() => this.engine.releaseLock(name, owner));
  }

  getCursor(name: string): Promise<string | null> {
    return this.run(() => this.engine.getCursor(name));
  }

  setCursor(name: string, value: string): Promise<void> {
    return this.run(() => this.engine.setCursor(name, value));
  }

  putL402RootKey(row: StoredL402RootKey): Promise<{ inserted: boolean }> {
    return this.run(() => this.engine.putL402RootKey(row));
  }

  getL402RootKey(id: string): Promise<StoredL402RootKey | null> {
    return this.run(() => this.engine.getL402RootKey(id));
  }

  deleteL402RootKey(id: string): Promise<boolean> {
    return this.run(() => this.engine.deleteL402RootKey(id));
  }

  purgeL402RootKeys(before: Date): Promise<number> {
    return this.run(() => this.engine.purgeL402RootKeys(before));
  }

  insertL402SpentToken(row: StoredL402SpentToken): Promise<{ inserted: boolean }> {
    return this.run(() => this.engine.insertL402SpentToken(row));
  }

  purgeL402SpentTokens(before: Date): Promise<number> {
    return this.run(() => this.engine.purgeL402SpentTokens(before));
  }

  insertIdempotencyKey(row: StoredIdempotencyKey): Promise<{ inserted: boolean; row: StoredIdempotencyKey }> {
    return this.run(() => this.engine.insertIdempotencyKey(row));
  }

  updateIdempotencyKey(
    tenantId: string | null,
    key: string,
    patch: IdempotencyPatch,
    options?: { expectLockedUntil?: Date | null },
  ): Promise<boolean> {
    return this.run(() => this.engine.updateIdempotencyKey(tenantId, key, patch, options));
  }

  deleteIdempotencyKey(tenantId: string | null, key: string): Promise<void> {
    return this.run(() => this.engine.deleteIdempotencyKey(tenantId, key));
  }

  purgeIdempotencyKeys(before: Date): Promise<number> {
    return this.run(() => this.engine.purgeIdempotencyKeys(before));
  }

  appendOutbox(messages: StoredOutboxMessage[]): Promise<void> {
    return this.run(() => this.engine.appendOutbox(messages));
  }

  claimOutbox(lease: Lease, limit: number): Promise<StoredOutboxMessage[]> {
    return this.run(() => this.engine.claimOutbox(lease, limit));
  }

  updateOutbox(id: string, patch: OutboxPatch, options?: { owner?: string }): Promise<boolean> {
    return this.run(() => this.engine.updateOutbox(id, patch, options));
  }

  getOutboxMessage(id: string): Promise<StoredOutboxMessage | null> {
    return this.run(() => this.engine.getOutboxMessage(id));
  }

  insertEndpoint(row: StoredEndpoint): Promise<void> {
    return this.run(() => this.engine.insertEndpoint(row));
  }

  getEndpoint(id: string): Promise<StoredEndpoint | null> {
    return this.run(() => this.engine.getEndpoint(id));
  }

  listEndpoints(query: EndpointQuery): Promise<Page<StoredEndpoint>> {
    return this.run(() => this.engine.listEndpoints(query));
  }

  updateEndpoint(id: string, patch: EndpointPatch): Promise<boolean> {
    return this.run(() => this.engine.updateEndpoint(id, patch));
  }

  insertDeliveries(rows: StoredDelivery[]): Promise<number> {
    return this.run(() => this.engine.insertDeliveries(rows));
  }

  claimDeliveries(lease: Lease, limit: number): Promise<StoredDelivery[]> {
    return this.run(() => this.engine.claimDeliveries(lease, limit));
  }

  updateDelivery(id: string, patch: DeliveryPatch, options?: { owner?: string }): Promise<boolean> {
    return this.run(() => this.engine.updateDelivery(id, patch, options));
  }

  getDelivery(id: string): Promise<StoredDelivery | null> {
    return this.run(() => this.engine.getDelivery(id));
  }

  listDeliveries(query: DeliveryQuery): Promise<Page<StoredDelivery>> {
    return this.run(() => this.engine.listDeliveries(query));
  }

  appendDeliveryAttempt(row: StoredDeliveryAttempt): Promise<void> {
    return this.run(() => this.engine.appendDeliveryAttempt(row));
  }

  listDeliveryAttempts(deliveryId: string): Promise<StoredDeliveryAttempt[]> {
    return this.run(() => this.engine.listDeliveryAttempts(deliveryId));
  }
}

/** The `tx` handed to a transaction's callback: runs inline (the driver's mutex is already held). */
class MemoryTransaction extends MemorySession {
  #active = true;

  constructor(engine: MemoryEngine) {
    super(engine);
  }

  protected async run<T>(op: () => T): Promise<T> {
    this.#assertActive();
    return this.engine.atomically(op);
  }

  /** A nested transaction runs inline in this one; a throw undoes only its own writes (a savepoint). */
  async transaction<T>(fn: (tx: StorageSession) => Promise<T>): Promise<T> {
    this.#assertActive();
    const mark = this.engine.savepoint();
    try {
      return await fn(this);
    } catch (error) {
      if (this.#active) this.engine.rollbackTo(mark);
      throw error;
    }
  }

  end(): void {
    this.#active = false;
  }

  #assertActive(): void {
    if (!this.#active) {
      throw new InternalError('This transaction has already ended; use the storage driver, not a finished tx.');
    }
  }
}

/**
 * The in-memory reference implementation of the storage port, for tests, examples and local
 * development (nothing survives the process). It keeps the port's guarantees honestly: unique keys
 * deduplicate, every operation and transaction is serialized through one mutex, a throw inside
 * `transaction(fn)` undoes every write made through its `tx`, and callers only ever get copies.
 *
 * Calls made on the driver (not on `tx`) while a transaction runs wait until it ends: inside
 * `transaction(fn)`, use `tx`.
 *
 * @example
 * ```ts
 * const storage = new MemoryStorageDriver();
 * const payable = createPayable({ providers: { fake }, storage });
 * await storage.transaction(async (tx) => {
 *   await tx.updateRecord('payment', { ...payment, status: 'succeeded' });
 *   await tx.appendOutbox([message]);
 * });
 * ```
 */
export class MemoryStorageDriver extends MemorySession implements StorageDriver {
  /** Always `memory`. */
  readonly name = 'memory';
  readonly #mutex = new Mutex();
  #closed = false;

  constructor() {
    super(new MemoryEngine());
  }

  protected async run<T>(op: () => T): Promise<T> {
    this.#assertOpen();
    return this.#mutex.run(() => this.engine.atomically(op));
  }

  /**
   * Runs `fn` alone (other calls and transactions wait), committing its writes when it resolves
   * and undoing every one of them when it throws; the error is rethrown.
   */
  async transaction<T>(fn: (tx: StorageSession) => Promise<T>): Promise<T> {
    this.#assertOpen();
    return this.#mutex.run(async () => {
      const tx = new MemoryTransaction(this.engine);
      this.engine.begin();
      try {
        const result = await fn(tx);
        this.engine.commit();
        return result;
      } catch (error) {
        this.engine.rollback();
        throw error;
      } finally {
        tx.end();
      }
    });
  }

  /** Resolves while the driver is open; throws `StorageUnavailableError` after `close()`. */
  async ping(): Promise<void> {
    this.#assertOpen();
  }

  /** Waits for the work already queued, then refuses every later call. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#mutex.run(() => undefined);
  }

  #assertOpen(): void {
    if (this.#closed) throw new StorageUnavailableError('The memory storage driver is closed.');
  }
}
