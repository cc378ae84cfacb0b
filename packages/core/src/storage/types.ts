import type { PayableEventType } from '../provider/types.js';
import type { Page, RecordByKind, RecordKind } from '../records/types.js';

/** Where a received webhook event is in its processing. */
export type WebhookEventStatus = 'pending' | 'processing' | 'processed' | 'failed';

/** A webhook event as the inbox stores it. */
export interface StoredWebhookEvent {
  /** Payable's id for the stored event (`evt_…`). */
  id: string;
  tenantId: string | null;
  provider: string;
  /** The provider's event id: (tenantId, provider, providerEventId) is unique. */
  providerEventId: string;
  type: PayableEventType;
  providerType: string;
  status: WebhookEventStatus;
  attempts: number;
  lastError: string | null;
  /** The raw body as received (ciphertext at rest when encryption is configured). */
  payload: string;
  /** The normalized event as JSON (ciphertext at rest when encryption is configured: it may carry customer PII). */
  normalized: string;
  /** The object the event concerns (`provider:kind:providerId`), the per-object serialization key. */
  objectKey: string | null;
  receivedAt: Date;
  updatedAt: Date;
  processedAt: Date | null;
  lockedBy: string | null;
  lockedUntil: Date | null;
}

/** The fields of a stored event that processing changes. */
export type WebhookEventPatch = Partial<
  Pick<
    StoredWebhookEvent,
    'status' | 'attempts' | 'lastError' | 'processedAt' | 'lockedBy' | 'lockedUntil' | 'updatedAt'
  >
>;

/** A query over the inbox (the sweeper, the CLI, the admin routes). */
export interface WebhookEventQuery {
  status?: WebhookEventStatus;
  provider?: string;
  /** Only events last updated strictly before this time. */
  updatedBefore?: Date;
  limit: number;
  cursor?: string | null;
}

/** A stored idempotency key. (tenantId, key) is unique. */
export interface StoredIdempotencyKey {
  tenantId: string | null;
  key: string;
  /** sha256 over the operation and its canonical input. */
  fingerprint: string;
  status: 'in_progress' | 'completed';
  /** While `in_progress`: the lock's end; after it a retry may take over. */
  lockedUntil: Date | null;
  /** The response to replay, once completed: HTTP status and the exact JSON body. */
  responseStatus: number | null;
  responseBody: string | null;
  createdAt: Date;
  expiresAt: Date;
}

/** Where an outbox row is in its delivery. */
export type OutboxStatus = 'pending' | 'processing' | 'delivered' | 'dead';

/** A domain event waiting in the outbox. */
export interface StoredOutboxMessage {
  /** Time-ordered id (`msg_…`): rows of one aggregate are delivered in id order. */
  id: string;
  tenantId: string | null;
  /** The aggregate (e.g. `payment:pay_…`): per-aggregate order is kept. */
  aggregateKey: string;
  type: string;
  /** The domain event `{ id, type, createdAt, data }` as JSON. */
  payload: string;
  status: OutboxStatus;
  attempts: number;
  availableAt: Date;
  lockedBy: string | null;
  lockedUntil: Date | null;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

/** The fields of an outbox row that delivery changes. */
export type OutboxPatch = Partial<
  Pick<
    StoredOutboxMessage,
    'status' | 'attempts' | 'availableAt' | 'lockedBy' | 'lockedUntil' | 'lastError' | 'deliveredAt'
  >
>;

/** A query over billing records. Lists are newest first; `cursor` continues a page. */
export interface RecordQuery {
  tenantId: string | null;
  provider?: string;
  customerId?: string;
  status?: string;
  limit: number;
  cursor?: string | null;
}

/** Identifies a record by its provider's id. */
export interface ProviderRef {
  tenantId: string | null;
  provider: string;
  providerId: string;
}

/**
 * An L402 token's root key as stored (`id` is the hex sha256 of the token identifier). `rootKey` is
 * the value the paywall wrote: hex, or ciphertext when the paywall encrypts root keys.
 */
export interface StoredL402RootKey {
  /** Hex sha256 of the macaroon identifier (64 characters): the primary key. */
  id: string;
  tenantId: string | null;
  /** The root key as the paywall encoded it (hex, or ciphertext of it). */
  rootKey: string;
  createdAt: Date;
  /** When the token it signs expires (`purgeL402RootKeys` deletes it after); `null`: never. */
  expiresAt: Date | null;
}

/** An L402 payment hash redeemed under the single-use replay policy. (tenantId, paymentHash) is unique. */
export interface StoredL402SpentToken {
  tenantId: string | null;
  /** The token's payment hash, 64 lowercase hex characters. */
  paymentHash: string;
  spentAt: Date;
}

/** A signature scheme of outbound webhooks: Standard Webhooks (default) or Payable's `t=…,v1=…` header. */
export type WebhookScheme = 'standard-webhooks' | 'payable-v1';

/** Whether an endpoint receives deliveries. */
export type EndpointStatus = 'enabled' | 'disabled';

/** An outbound webhook endpoint an app registered: where Payable sends its domain events. */
export interface StoredEndpoint {
  /** Payable's id (`ep_…`, time-ordered). */
  id: string;
  tenantId: string | null;
  url: string;
  /** Event types it receives: exact (`payment.succeeded`), a prefix pattern (`payment.*`) or `*`. */
  events: string[];
  scheme: WebhookScheme;
  description: string | null;
  /** The signing secret (ciphertext at rest when encryption is configured). */
  secret: string;
  /** The secret before the last rotation, still signing until `previousSecretExpiresAt` (ciphertext at rest too). */
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
  status: EndpointStatus;
  /** Why it was disabled (`gone` after a 410, `manual`, …), `null` while enabled. */
  disabledReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The fields of an endpoint that can change. */
export type EndpointPatch = Partial<
  Pick<
    StoredEndpoint,
    | 'url'
    | 'events'
    | 'scheme'
    | 'description'
    | 'secret'
    | 'previousSecret'
    | 'previousSecretExpiresAt'
    | 'status'
    | 'disabledReason'
    | 'updatedAt'
  >
>;

/** A query over endpoints, oldest first (by id). */
export interface EndpointQuery {
  /** Absent (`undefined`): every tenant's endpoints; `null`: only those without a tenant; a string: that tenant's. */
  tenantId?: string | null;
  status?: EndpointStatus;
  limit: number;
  cursor?: string | null;
}

/** Where a delivery (one event to one endpoint) is. */
export type DeliveryStatus = 'pending' | 'processing' | 'delivered' | 'failed';

/** One domain event to one endpoint. (endpointId, eventId) is unique: fan-out twice inserts once. */
export interface StoredDelivery {
  /** Payable's id (`dlv_…`, time-ordered). */
  id: string;
  tenantId: string | null;
  endpointId: string;
  /** The domain event's id: the `webhook-id` receivers deduplicate on. */
  eventId: string;
  eventType: string;
  /** The exact JSON body sent, the domain event `{ id, type, createdAt, data }`. */
  payload: string;
  status: DeliveryStatus;
  /** Attempts made so far. */
  attempts: number;
  /** When it may be sent (next). */
  nextAttemptAt: Date;
  lockedBy: string | null;
  lockedUntil: Date | null;
  /** HTTP status of the last attempt (`null`: none, or no response). */
  lastStatus: number | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
  deliveredAt: Date | null;
}

/** The fields of a delivery that sending changes. */
export type DeliveryPatch = Partial<
  Pick<
    StoredDelivery,
    | 'status'
    | 'attempts'
    | 'nextAttemptAt'
    | 'lockedBy'
    | 'lockedUntil'
    | 'lastStatus'
    | 'lastError'
    | 'updatedAt'
    | 'deliveredAt'
  >
>;

/** A query over one endpoint's deliveries, newest first. */
export interface DeliveryQuery {
  endpointId: string;
  status?: DeliveryStatus;
  limit: number;
  cursor?: string | null;
}

/** One attempt of a delivery, as the delivery log keeps it. */
export interface StoredDeliveryAttempt {
  /** Payable's id (`att_…`, time-ordered). */
  id: string;
  deliveryId: string;
  endpointId: string;
  /** 1 for the first attempt. */
  attempt: number;
  startedAt: Date;
  /** Whole milliseconds (a fraction is a `ValidationError`: round before storing). */
  durationMs: number;
  /** The receiver's HTTP status; `null` when there was no response (timeout, refused, forbidden address). */
  responseStatus: number | null;
  /** The start of the response body, up to the configured cap. */
  responseBody: string | null;
  error: string | null;
  /** When the next attempt is due; `null` when none follows (delivered, given up, endpoint disabled). */
  nextAttemptAt: Date | null;
}

/** A lease claim: who claims, until when, judged at `now`. */
export interface Lease {
  owner: string;
  now: Date;
  until: Date;
}

/**
 * Options of `claimWebhookEvent`.
 *
 * @example
 * ```ts
 * await storage.transaction(async (tx) => {
 *   const event = await tx.claimWebhookEvent(id, lease, { processed: true });
 *   if (event) await apply(tx, event); // a throw rolls the claim back too
 * });
 * ```
 */
export interface ClaimOptions {
  /** Mark the event `processed` in the claim itself (see `claimWebhookEvent`). Default `false`. */
  processed?: boolean;
  /**
   * `false`: answer the claimed event without its raw `payload`, for a caller that works from the
   * normalized event only; a large provider payload is then not read back. Default `true`.
   */
  payload?: boolean;
}

/**
 * A claimed webhook event without its raw payload: what `claimWebhookEvent` answers with
 * `{ payload: false }`.
 *
 * @example
 * ```ts
 * const event: ClaimedWebhookEvent | null = await tx.claimWebhookEvent(id, lease, { processed: true, payload: false });
 * ```
 */
export type ClaimedWebhookEvent = Omit<StoredWebhookEvent, 'payload'>;

/**
 * Claim options that leave the raw payload out of the answer: `claimWebhookEvent` then answers a
 * {@link ClaimedWebhookEvent}.
 *
 * @example
 * ```ts
 * const fastPath: ClaimWithoutPayload = { processed: true, payload: false };
 * ```
 */
export type ClaimWithoutPayload = ClaimOptions & { payload: false };

/**
 * The operations of the storage port. Every write that deduplicates does it with a unique key in
 * the store (never read-then-write); every claim is atomic across processes.
 */
export interface StorageSession {
  // Billing records
  /** Insert, or return the existing record with the same (tenantId, provider, providerId). */
  insertRecord<K extends RecordKind>(
    kind: K,
    record: RecordByKind[K],
  ): Promise<{ inserted: boolean; record: RecordByKind[K] }>;
  /** A record by Payable id within a tenant. `forUpdate` locks the row until the transaction ends. */
  getRecord<K extends RecordKind>(
    kind: K,
    id: string,
    tenantId: string | null,
    options?: { forUpdate?: boolean },
  ): Promise<RecordByKind[K] | null>;
  /** A record by its provider's id. */
  findRecord<K extends RecordKind>(
    kind: K,
    ref: ProviderRef,
    options?: { forUpdate?: boolean },
  ): Promise<RecordByKind[K] | null>;
  /** Replace a record (matched by id and tenant). Returns `false` when there is none. */
  updateRecord<K extends RecordKind>(kind: K, record: RecordByKind[K]): Promise<boolean>;
  /** Newest first, paginated. */
  listRecords<K extends RecordKind>(kind: K, query: RecordQuery): Promise<Page<RecordByKind[K]>>;

  // Webhook inbox
  /** Insert, or return the existing event with the same (tenantId, provider, providerEventId). */
  insertWebhookEvent(event: StoredWebhookEvent): Promise<{ inserted: boolean; event: StoredWebhookEvent }>;
  getWebhookEvent(id: string): Promise<StoredWebhookEvent | null>;
  /**
   * Atomically move an event to `processing` for `lease.owner` (attempts + 1) when it is `pending`,
   * or `processing` with an expired lease. Returns the claimed event, or `null`.
   *
   * With `{ processed: true }` the claim marks the event `processed` at once instead (attempts + 1,
   * `processedAt` and `updatedAt` = `lease.now`, no lease, no `lastError`), in the same statement.
   * It is meant for a transaction that does the event's work: the claim's row lock keeps other
   * claimers out until the commit, and a rollback undoes the claim with the work.
   *
   * With `{ payload: false }` the answer leaves the raw payload out (see `ClaimedWebhookEvent`).
   */
  claimWebhookEvent(id: string, lease: Lease, options: ClaimWithoutPayload): Promise<ClaimedWebhookEvent | null>;
  claimWebhookEvent(id: string, lease: Lease, options?: ClaimOptions): Promise<StoredWebhookEvent | null>;
  /** Update an event; with `owner`, only while that owner holds it. Returns whether a row changed. */
  updateWebhookEvent(id: string, patch: WebhookEventPatch, options?: { owner?: string }): Promise<boolean>;
  /** Oldest first. */
  listWebhookEvents(query: WebhookEventQuery): Promise<Page<StoredWebhookEvent>>;
  /** How many events are in each status. */
  countWebhookEvents(): Promise<Record<WebhookEventStatus, number>>;

  // Locks (per-object serialization across processes)
  /** Take or renew the named lock when free, expired, or already `owner`'s. */
  acquireLock(name: string, lease: Lease): Promise<boolean>;
  releaseLock(name: string, owner: string): Promise<void>;

  // Cursors (durable stream positions, e.g. a Lightning node's settle index)
  /** The value stored under `name`, or `null` when none was ever set. */
  getCursor(name: string): Promise<string | null>;
  /** Store `value` under `name`, replacing what was there (an upsert; last write wins). */
  setCursor(name: string, value: string): Promise<void>;

  // L402 (root keys of issued tokens; spent payment hashes of single-use tokens)
  /** Store a root key unless one with this `id` exists (then nothing changes: `inserted` false). */
  putL402RootKey(row: StoredL402RootKey): Promise<{ inserted: boolean }>;
  /** The root key stored under `id`, or `null` (never stored, deleted, or purged). */
  getL402RootKey(id: string): Promise<StoredL402RootKey | null>;
  /** Delete a root key (revokes its token). Whether one was deleted. */
  deleteL402RootKey(id: string): Promise<boolean>;
  /** Delete root keys whose `expiresAt` is at or before `before` (never those without one); returns how many. */
  purgeL402RootKeys(before: Date): Promise<number>;
  /**
   * Record a payment hash as spent. The unique (tenantId, paymentHash) decides, also between
   * processes: exactly one insert of a hash wins (`inserted` true); every later one is `false`.
   */
  insertL402SpentToken(row: StoredL402SpentToken): Promise<{ inserted: boolean }>;
  /** Delete spent hashes recorded at or before `before`; returns how many. */
  purgeL402SpentTokens(before: Date): Promise<number>;

  // Idempotency
  /** Insert, or return the existing key with the same (tenantId, key). */
  insertIdempotencyKey(row: StoredIdempotencyKey): Promise<{ inserted: boolean; row: StoredIdempotencyKey }>;
  /**
   * Update a key. With `expectLockedUntil`, only when the stored `lockedUntil` still equals it
   * (compare-and-set: one retry takes over a lock left by a crashed request).
   */
  updateIdempotencyKey(
    tenantId: string | null,
    key: string,
    patch: Partial<
      Pick<
        StoredIdempotencyKey,
        'status' | 'lockedUntil' | 'responseStatus' | 'responseBody' | 'fingerprint' | 'createdAt' | 'expiresAt'
      >
    >,
    options?: { expectLockedUntil?: Date | null },
  ): Promise<boolean>;
  deleteIdempotencyKey(tenantId: string | null, key: string): Promise<void>;
  /** Delete keys whose `expiresAt` is at or before `before`; returns how many. */
  purgeIdempotencyKeys(before: Date): Promise<number>;

  // Outbox
  appendOutbox(messages: StoredOutboxMessage[]): Promise<void>;
  /**
   * Claim up to `limit` deliverable messages (pending and available, or processing with an expired
   * lease), at most the earliest undelivered one per aggregate, skipping rows other claimers hold.
   */
  claimOutbox(lease: Lease, limit: number): Promise<StoredOutboxMessage[]>;
  updateOutbox(id: string, patch: OutboxPatch, options?: { owner?: string }): Promise<boolean>;
  getOutboxMessage(id: string): Promise<StoredOutboxMessage | null>;

  // Outbound webhook endpoints, deliveries and their log
  /** Store a new endpoint; an `id` that already exists is an `InternalError`. */
  insertEndpoint(row: StoredEndpoint): Promise<void>;
  getEndpoint(id: string): Promise<StoredEndpoint | null>;
  /** Oldest first (by id), paginated, filtered by tenant (see {@link EndpointQuery}) and status. */
  listEndpoints(query: EndpointQuery): Promise<Page<StoredEndpoint>>;
  /** Update an endpoint. Returns whether it exists. */
  updateEndpoint(id: string, patch: EndpointPatch): Promise<boolean>;
  /**
   * Insert deliveries, skipping any whose (endpointId, eventId) is already stored or comes earlier
   * in the same batch (by the unique key, also between processes). Returns how many were inserted.
   * A new (endpointId, eventId) under an `id` that already exists is an `InternalError`.
   */
  insertDeliveries(rows: StoredDelivery[]): Promise<number>;
  /**
   * Claim up to `limit` due deliveries for `lease.owner`: `pending` with `nextAttemptAt` at or before
   * `lease.now`, or `processing` with an expired lease; oldest `nextAttemptAt` first, then id;
   * skipping rows other claimers hold. Sets `processing`, `lockedBy`, `lockedUntil` (`lease.until`) and
   * `updatedAt` (`lease.now`); `attempts` is unchanged. Concurrent claimers never get the same row.
   */
  claimDeliveries(lease: Lease, limit: number): Promise<StoredDelivery[]>;
  /** Update a delivery; with `owner`, only while that owner holds it. Returns whether a row changed. */
  updateDelivery(id: string, patch: DeliveryPatch, options?: { owner?: string }): Promise<boolean>;
  getDelivery(id: string): Promise<StoredDelivery | null>;
  /** One endpoint's deliveries, newest first (by id), paginated. */
  listDeliveries(query: DeliveryQuery): Promise<Page<StoredDelivery>>;
  /** Append one attempt to a delivery's log; an `id` that already exists is an `InternalError`. */
  appendDeliveryAttempt(row: StoredDeliveryAttempt): Promise<void>;
  /** A delivery's attempts, oldest first (by id); `[]` when there are none. */
  listDeliveryAttempts(deliveryId: string): Promise<StoredDeliveryAttempt[]>;
}

/**
 * The storage port: durable state for billing records and the system tables (inbox, outbox,
 * idempotency keys, locks, cursors, L402 root keys and spent tokens, outbound endpoints and deliveries). `transaction(fn)` runs `fn` atomically: a state change and its outbox
 * rows commit together or not at all.
 *
 * @example
 * ```ts
 * const storage: StorageDriver = new MemoryStorageDriver();
 * await storage.transaction(async (tx) => { await tx.appendOutbox([...]); });
 * ```
 */
export interface StorageDriver extends StorageSession {
  /** The driver's name, e.g. `memory`, `knex:pg`. */
  readonly name: string;
  transaction<T>(fn: (tx: StorageSession) => Promise<T>): Promise<T>;
  /** Resolves when the store is reachable; throws `StorageUnavailableError` when it is not. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
