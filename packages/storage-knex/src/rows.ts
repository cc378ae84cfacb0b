import {
  InternalError,
  reviveDates,
  ValidationError,
  type AnyRecord,
  type DeliveryPatch,
  type DeliveryStatus,
  type EndpointPatch,
  type EndpointStatus,
  type OutboxPatch,
  type PayableEventType,
  type StoredDelivery,
  type StoredDeliveryAttempt,
  type StoredEndpoint,
  type StoredIdempotencyKey,
  type StoredL402RootKey,
  type StoredL402SpentToken,
  type StoredOutboxMessage,
  type ClaimedWebhookEvent,
  type StoredWebhookEvent,
  type WebhookEventPatch,
  type WebhookEventStatus,
  type WebhookScheme,
  type OutboxStatus,
} from '@payable/core';

/** A row as a database driver returns it. */
export type Row = Record<string, unknown>;

/** Column lengths the schema declares for keys (checked before writing, so errors are clear). */
export const LIMITS = {
  id: 64,
  tenant: 191,
  provider: 64,
  providerId: 255,
  key: 255,
  lockName: 191,
  /** Event types (outbox `type`, delivery `event_type`). */
  type: 128,
  /** Short enum-like columns (statuses, schemes). */
  tag: 16,
  scheme: 32,
  /** Lease owners (`locked_by`). */
  owner: 255,
  /** `mediumtext` on MySQL: the longest text Payable stores (in bytes). */
  longTextBytes: 16_777_215,
} as const;

/** The largest value of a 32-bit `integer` column. */
const INT_MAX = 2_147_483_647;

/** Field names whose ISO strings are turned back into Dates when a record is read (outside `metadata`). */
const RECORD_DATE_KEYS = new Set([
  'createdAt',
  'updatedAt',
  'expiresAt',
  'currentPeriodEnd',
  'canceledAt',
  'trialEnd',
  'quotedAt',
]);
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;
/** How a record's dates are revived: ISO strings only, never inside the user's `metadata`. */
const RECORD_REVIVE = { skip: 'metadata', pattern: ISO_DATE } as const;

/** Epoch milliseconds: how every time is stored (a `bigint` column), exact on every dialect. */
export function toMs(date: Date): number {
  const ms = date instanceof Date ? date.getTime() : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new ValidationError('A time to store is not a valid Date.', { context: { reason: 'invalid_date' } });
  }
  return ms;
}

/** `toMs`, keeping `null`. */
export function toMsOrNull(date: Date | null | undefined): number | null {
  return date === null || date === undefined ? null : toMs(date);
}

/** A number from a numeric column (pg returns `bigint` as a string; better-sqlite3 may return a bigint). */
export function num(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint' || typeof value === 'string') return Number(value);
  throw new InternalError('A numeric column held an unexpected value.', { context: { type: typeof value } });
}

function numOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : num(value);
}

function dateOf(value: unknown): Date {
  return new Date(num(value));
}

function dateOrNull(value: unknown): Date | null {
  return value === null || value === undefined ? null : dateOf(value);
}

function str(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  throw new InternalError('A text column held an unexpected value.', { context: { type: typeof value } });
}

function strOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : str(value);
}

/**
 * The value stored in `tenant_key`: the tenant id, or `''` for no tenant. Unique keys include this
 * NOT NULL column (a NULL would never collide in a unique index), so single-tenant rows deduplicate
 * on every dialect. An empty tenant id is refused: it would be the same key as no tenant.
 */
export function tenantKey(tenantId: string | null | undefined): string {
  if (tenantId === null || tenantId === undefined) return '';
  if (typeof tenantId !== 'string' || tenantId.length === 0) {
    throw new ValidationError('tenantId must be a non-empty string or null.', {
      context: { field: 'tenantId', reason: 'invalid' },
    });
  }
  checkLength('tenantId', tenantId, LIMITS.tenant);
  return tenantId;
}

/** Refuse a key longer than its column (a clear ValidationError instead of a database error). */
export function checkLength(fieldName: string, value: string, max: number): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw new ValidationError(`${fieldName} must be a non-empty string of at most ${max} characters.`, {
      context: { field: fieldName, reason: value?.length ? 'too_long' : 'empty', max },
    });
  }
}

// Billing records ----------------------------------------------------------------------------

/** The columns of a record row: the keys and list filters as columns, the whole record as JSON in `data`. */
export function recordToRow(record: AnyRecord): Row {
  checkLength('id', record.id, LIMITS.id);
  checkLength('provider', record.provider, LIMITS.provider);
  checkLength('providerId', record.providerId, LIMITS.providerId);
  const fields = record as unknown as Record<string, unknown>;
  const status = fields.status;
  const customerId = fields.customerId;
  const amount = fields.amount;
  const currency = fields.currency;
  return {
    id: record.id,
    tenant_id: record.tenantId ?? null,
    tenant_key: tenantKey(record.tenantId),
    provider: record.provider,
    provider_id: record.providerId,
    status: typeof status === 'string' ? status : null,
    customer_id: typeof customerId === 'string' ? customerId : null,
    amount: typeof amount === 'number' && Number.isSafeInteger(amount) ? amount : null,
    currency: typeof currency === 'string' ? currency : null,
    created_at: toMs(record.createdAt),
    updated_at: toMs(record.updatedAt),
    data: JSON.stringify(record),
  };
}

/** The record a row holds (from its `data` JSON, dates revived). */
export function rowToRecord<R extends AnyRecord>(row: Row): R {
  const parsed: unknown = JSON.parse(str(row.data));
  if (typeof parsed === 'object' && parsed !== null) reviveDates(parsed, RECORD_DATE_KEYS, RECORD_REVIVE);
  return parsed as R;
}

// Webhook inbox -------------------------------------------------------------------------------

/** The row of a stored webhook event. */
export function eventToRow(event: StoredWebhookEvent): Row {
  checkLength('id', event.id, LIMITS.id);
  checkLength('provider', event.provider, LIMITS.provider);
  checkLength('providerEventId', event.providerEventId, LIMITS.providerId);
  return {
    id: event.id,
    tenant_id: event.tenantId ?? null,
    tenant_key: tenantKey(event.tenantId),
    provider: event.provider,
    provider_event_id: event.providerEventId,
    type: event.type,
    provider_type: event.providerType,
    status: event.status,
    attempts: event.attempts,
    last_error: event.lastError,
    payload: event.payload,
    normalized: event.normalized,
    object_key: event.objectKey,
    received_at: toMs(event.receivedAt),
    updated_at: toMs(event.updatedAt),
    processed_at: toMsOrNull(event.processedAt),
    locked_by: event.lockedBy,
    locked_until: toMsOrNull(event.lockedUntil),
  };
}

/** The stored webhook event a row holds. */
export function rowToEvent(row: Row): StoredWebhookEvent {
  const event = rowToClaimedEvent(row) as StoredWebhookEvent;
  event.payload = str(row.payload);
  return event;
}

/**
 * The columns of a webhook event row but its raw payload: what a claim with `{ payload: false }`
 * reads back (see `rowToClaimedEvent`).
 */
export const CLAIMED_EVENT_COLUMNS: readonly string[] = [
  'id',
  'tenant_id',
  'provider',
  'provider_event_id',
  'type',
  'provider_type',
  'status',
  'attempts',
  'last_error',
  'normalized',
  'object_key',
  'received_at',
  'updated_at',
  'processed_at',
  'locked_by',
  'locked_until',
];

/** The webhook event a row holds, without its raw payload (the row needs only `CLAIMED_EVENT_COLUMNS`). */
export function rowToClaimedEvent(row: Row): ClaimedWebhookEvent {
  return {
    id: str(row.id),
    tenantId: strOrNull(row.tenant_id),
    provider: str(row.provider),
    providerEventId: str(row.provider_event_id),
    type: str(row.type) as PayableEventType,
    providerType: str(row.provider_type),
    status: str(row.status) as WebhookEventStatus,
    attempts: num(row.attempts),
    lastError: strOrNull(row.last_error),
    normalized: str(row.normalized),
    objectKey: strOrNull(row.object_key),
    receivedAt: dateOf(row.received_at),
    updatedAt: dateOf(row.updated_at),
    processedAt: dateOrNull(row.processed_at),
    lockedBy: strOrNull(row.locked_by),
    lockedUntil: dateOrNull(row.locked_until),
  };
}

/** The columns a webhook event patch sets (fields left `undefined` are not touched). */
export function eventPatchToRow(patch: WebhookEventPatch): Row {
  const row: Row = {};
  if (patch.status !== undefined) row.status = patch.status;
  if (patch.attempts !== undefined) row.attempts = patch.attempts;
  if (patch.lastError !== undefined) row.last_error = patch.lastError;
  if (patch.processedAt !== undefined) row.processed_at = toMsOrNull(patch.processedAt);
  if (patch.lockedBy !== undefined) row.locked_by = patch.lockedBy;
  if (patch.lockedUntil !== undefined) row.locked_until = toMsOrNull(patch.lockedUntil);
  if (patch.updatedAt !== undefined) row.updated_at = toMs(patch.updatedAt);
  return row;
}

// Idempotency ---------------------------------------------------------------------------------

/** The patchable fields of an idempotency key. */
export type IdempotencyPatch = Partial<
  Pick<
    StoredIdempotencyKey,
    'status' | 'lockedUntil' | 'responseStatus' | 'responseBody' | 'fingerprint' | 'createdAt' | 'expiresAt'
  >
>;

/** The row of a stored idempotency key. */
export function idempotencyToRow(key: StoredIdempotencyKey): Row {
  checkLength('key', key.key, LIMITS.key);
  return {
    tenant_id: key.tenantId ?? null,
    tenant_key: tenantKey(key.tenantId),
    key: key.key,
    fingerprint: key.fingerprint,
    status: key.status,
    locked_until: toMsOrNull(key.lockedUntil),
    response_status: key.responseStatus,
    response_body: key.responseBody,
    created_at: toMs(key.createdAt),
    expires_at: toMs(key.expiresAt),
  };
}

/** The idempotency key a row holds. */
export function rowToIdempotency(row: Row): StoredIdempotencyKey {
  return {
    tenantId: strOrNull(row.tenant_id),
    key: str(row.key),
    fingerprint: str(row.fingerprint),
    status: str(row.status) as StoredIdempotencyKey['status'],
    lockedUntil: dateOrNull(row.locked_until),
    responseStatus: numOrNull(row.response_status),
    responseBody: strOrNull(row.response_body),
    createdAt: dateOf(row.created_at),
    expiresAt: dateOf(row.expires_at),
  };
}

/** The columns an idempotency patch sets. */
export function idempotencyPatchToRow(patch: IdempotencyPatch): Row {
  const row: Row = {};
  if (patch.status !== undefined) row.status = patch.status;
  if (patch.lockedUntil !== undefined) row.locked_until = toMsOrNull(patch.lockedUntil);
  if (patch.responseStatus !== undefined) row.response_status = patch.responseStatus;
  if (patch.responseBody !== undefined) row.response_body = patch.responseBody;
  if (patch.fingerprint !== undefined) row.fingerprint = patch.fingerprint;
  if (patch.createdAt !== undefined) row.created_at = toMs(patch.createdAt);
  if (patch.expiresAt !== undefined) row.expires_at = toMs(patch.expiresAt);
  return row;
}

// Outbox --------------------------------------------------------------------------------------

/** The row of an outbox message. */
export function outboxToRow(message: StoredOutboxMessage): Row {
  checkLength('id', message.id, LIMITS.id);
  checkLength('aggregateKey', message.aggregateKey, LIMITS.key);
  return {
    id: message.id,
    tenant_id: message.tenantId ?? null,
    tenant_key: tenantKey(message.tenantId),
    aggregate_key: message.aggregateKey,
    type: message.type,
    payload: message.payload,
    status: message.status,
    attempts: message.attempts,
    available_at: toMs(message.availableAt),
    locked_by: message.lockedBy,
    locked_until: toMsOrNull(message.lockedUntil),
    last_error: message.lastError,
    created_at: toMs(message.createdAt),
    delivered_at: toMsOrNull(message.deliveredAt),
  };
}

/** The outbox message a row holds. */
export function rowToOutbox(row: Row): StoredOutboxMessage {
  return {
    id: str(row.id),
    tenantId: strOrNull(row.tenant_id),
    aggregateKey: str(row.aggregate_key),
    type: str(row.type),
    payload: str(row.payload),
    status: str(row.status) as OutboxStatus,
    attempts: num(row.attempts),
    availableAt: dateOf(row.available_at),
    lockedBy: strOrNull(row.locked_by),
    lockedUntil: dateOrNull(row.locked_until),
    lastError: strOrNull(row.last_error),
    createdAt: dateOf(row.created_at),
    deliveredAt: dateOrNull(row.delivered_at),
  };
}

/** The columns an outbox patch sets. */
export function outboxPatchToRow(patch: OutboxPatch): Row {
  const row: Row = {};
  if (patch.status !== undefined) row.status = patch.status;
  if (patch.attempts !== undefined) row.attempts = patch.attempts;
  if (patch.availableAt !== undefined) row.available_at = toMs(patch.availableAt);
  if (patch.lockedBy !== undefined) row.locked_by = patch.lockedBy;
  if (patch.lockedUntil !== undefined) row.locked_until = toMsOrNull(patch.lockedUntil);
  if (patch.lastError !== undefined) row.last_error = patch.lastError;
  if (patch.deliveredAt !== undefined) row.delivered_at = toMsOrNull(patch.deliveredAt);
  return row;
}

// Outbound webhooks ---------------------------------------------------------------------------

function checkInteger(fieldName: string, value: number, max = INT_MAX): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new ValidationError(`${fieldName} must be a whole number from 0 to ${max}.`, {
      context: { field: fieldName, reason: 'invalid' },
    });
  }
}

function checkText(fieldName: string, value: string | null, maxBytes: number = LIMITS.longTextBytes): void {
  if (value === null) return;
  if (typeof value !== 'string' || Buffer.byteLength(value, 'utf8') > maxBytes) {
    throw new ValidationError(`${fieldName} must be a string of at most ${maxBytes} bytes.`, {
      context: { field: fieldName, reason: typeof value === 'string' ? 'too_long' : 'invalid', max: maxBytes },
    });
  }
}

function checkEvents(events: string[]): void {
  if (!Array.isArray(events) || !events.every((event) => typeof event === 'string')) {
    throw new ValidationError('events must be an array of strings.', {
      context: { field: 'events', reason: 'invalid' },
    });
  }
}

function parseEvents(value: unknown): string[] {
  const parsed: unknown = JSON.parse(str(value));
  if (!Array.isArray(parsed) || !parsed.every((event) => typeof event === 'string')) {
    throw new InternalError('A stored endpoint has malformed events.', { context: { column: 'events' } });
  }
  return parsed;
}

/** The row of an outbound webhook endpoint (`events` as JSON text). */
export function endpointToRow(endpoint: StoredEndpoint): Row {
  checkLength('id', endpoint.id, LIMITS.id);
  checkText('url', endpoint.url, 65_535);
  checkEvents(endpoint.events);
  checkLength('scheme', endpoint.scheme, LIMITS.scheme);
  checkLength('status', endpoint.status, LIMITS.tag);
  return {
    id: endpoint.id,
    tenant_id: endpoint.tenantId ?? null,
    tenant_key: tenantKey(endpoint.tenantId),
    url: endpoint.url,
    events: JSON.stringify(endpoint.events),
    scheme: endpoint.scheme,
    description: endpoint.description,
    secret: endpoint.secret,
    previous_secret: endpoint.previousSecret,
    previous_secret_expires_at: toMsOrNull(endpoint.previousSecretExpiresAt),
    status: endpoint.status,
    disabled_reason: endpoint.disabledReason,
    created_at: toMs(endpoint.createdAt),
    updated_at: toMs(endpoint.updatedAt),
  };
}

/** The endpoint a row holds. */
export function rowToEndpoint(row: Row): StoredEndpoint {
  return {
    id: str(row.id),
    tenantId: strOrNull(row.tenant_id),
    url: str(row.url),
    events: parseEvents(row.events),
    scheme: str(row.scheme) as WebhookScheme,
    description: strOrNull(row.description),
    secret: str(row.secret),
    previousSecret: strOrNull(row.previous_secret),
    previousSecretExpiresAt: dateOrNull(row.previous_secret_expires_at),
    status: str(row.status) as EndpointStatus,
    disabledReason: strOrNull(row.disabled_reason),
    createdAt: dateOf(row.created_at),
    updatedAt: dateOf(row.updated_at),
  };
}

/** The columns an endpoint patch sets. */
export function endpointPatchToRow(patch: EndpointPatch): Row {
  const row: Row = {};
  if (patch.url !== undefined) {
    checkText('url', patch.url, 65_535);
    row.url = patch.url;
  }
  if (patch.events !== undefined) {
    checkEvents(patch.events);
    row.events = JSON.stringify(patch.events);
  }
  if (patch.scheme !== undefined) row.scheme = patch.scheme;
  if (patch.description !== undefined) row.description = patch.description;
  if (patch.secret !== undefined) row.secret = patch.secret;
  if (patch.previousSecret !== undefined) row.previous_secret = patch.previousSecret;
  if (patch.previousSecretExpiresAt !== undefined)
    row.previous_secret_expires_at = toMsOrNull(patch.previousSecretExpiresAt);
  if (patch.status !== undefined) row.status = patch.status;
  if (patch.disabledReason !== undefined) row.disabled_reason = patch.disabledReason;
  if (patch.updatedAt !== undefined) row.updated_at = toMs(patch.updatedAt);
  return row;
}

/**
 * The row of a delivery. Every column is checked against its size here: on MySQL deliveries are
 * inserted with `INSERT IGNORE`, which would otherwise truncate an over-long value with a warning.
 */
export function deliveryToRow(delivery: StoredDelivery): Row {
  checkLength('id', delivery.id, LIMITS.id);
  checkLength('endpointId', delivery.endpointId, LIMITS.id);
  checkLength('eventId', delivery.eventId, LIMITS.providerId);
  checkLength('eventType', delivery.eventType, LIMITS.type);
  checkLength('status', delivery.status, LIMITS.tag);
  checkText('payload', delivery.payload);
  checkInteger('attempts', delivery.attempts);
  if (delivery.lockedBy !== null) checkLength('lockedBy', delivery.lockedBy, LIMITS.owner);
  if (delivery.lastStatus !== null) checkInteger('lastStatus', delivery.lastStatus);
  checkText('lastError', delivery.lastError);
  return {
    id: delivery.id,
    tenant_id: delivery.tenantId ?? null,
    tenant_key: tenantKey(delivery.tenantId),
    endpoint_id: delivery.endpointId,
    event_id: delivery.eventId,
    event_type: delivery.eventType,
    payload: delivery.payload,
    status: delivery.status,
    attempts: delivery.attempts,
    next_attempt_at: toMs(delivery.nextAttemptAt),
    locked_by: delivery.lockedBy,
    locked_until: toMsOrNull(delivery.lockedUntil),
    last_status: delivery.lastStatus,
    last_error: delivery.lastError,
    created_at: toMs(delivery.createdAt),
    updated_at: toMs(delivery.updatedAt),
    delivered_at: toMsOrNull(delivery.deliveredAt),
  };
}

/** The delivery a row holds. */
export function rowToDelivery(row: Row): StoredDelivery {
  return {
    id: str(row.id),
    tenantId: strOrNull(row.tenant_id),
    endpointId: str(row.endpoint_id),
    eventId: str(row.event_id),
    eventType: str(row.event_type),
    payload: str(row.payload),
    status: str(row.status) as DeliveryStatus,
    attempts: num(row.attempts),
    nextAttemptAt: dateOf(row.next_attempt_at),
    lockedBy: strOrNull(row.locked_by),
    lockedUntil: dateOrNull(row.locked_until),
    lastStatus: numOrNull(row.last_status),
    lastError: strOrNull(row.last_error),
    createdAt: dateOf(row.created_at),
    updatedAt: dateOf(row.updated_at),
    deliveredAt: dateOrNull(row.delivered_at),
  };
}

/** The columns a delivery patch sets. */
export function deliveryPatchToRow(patch: DeliveryPatch): Row {
  const row: Row = {};
  if (patch.status !== undefined) row.status = patch.status;
  if (patch.attempts !== undefined) {
    checkInteger('attempts', patch.attempts);
    row.attempts = patch.attempts;
  }
  if (patch.nextAttemptAt !== undefined) row.next_attempt_at = toMs(patch.nextAttemptAt);
  if (patch.lockedBy !== undefined) row.locked_by = patch.lockedBy;
  if (patch.lockedUntil !== undefined) row.locked_until = toMsOrNull(patch.lockedUntil);
  if (patch.lastStatus !== undefined) {
    if (patch.lastStatus !== null) checkInteger('lastStatus', patch.lastStatus);
    row.last_status = patch.lastStatus;
  }
  if (patch.lastError !== undefined) row.last_error = patch.lastError;
  if (patch.updatedAt !== undefined) row.updated_at = toMs(patch.updatedAt);
  if (patch.deliveredAt !== undefined) row.delivered_at = toMsOrNull(patch.deliveredAt);
  return row;
}

/** The row of one delivery attempt. */
export function attemptToRow(attempt: StoredDeliveryAttempt): Row {
  checkLength('id', attempt.id, LIMITS.id);
  checkLength('deliveryId', attempt.deliveryId, LIMITS.id);
  checkLength('endpointId', attempt.endpointId, LIMITS.id);
  checkInteger('attempt', attempt.attempt);
  checkInteger('durationMs', attempt.durationMs, Number.MAX_SAFE_INTEGER);
  if (attempt.responseStatus !== null) checkInteger('responseStatus', attempt.responseStatus);
  return {
    id: attempt.id,
    delivery_id: attempt.deliveryId,
    endpoint_id: attempt.endpointId,
    attempt: attempt.attempt,
    started_at: toMs(attempt.startedAt),
    duration_ms: attempt.durationMs,
    response_status: attempt.responseStatus,
    response_body: attempt.responseBody,
    error: attempt.error,
    next_attempt_at: toMsOrNull(attempt.nextAttemptAt),
  };
}

/** The delivery attempt a row holds. */
export function rowToAttempt(row: Row): StoredDeliveryAttempt {
  return {
    id: str(row.id),
    deliveryId: str(row.delivery_id),
    endpointId: str(row.endpoint_id),
    attempt: num(row.attempt),
    startedAt: dateOf(row.started_at),
    durationMs: num(row.duration_ms),
    responseStatus: numOrNull(row.response_status),
    responseBody: strOrNull(row.response_body),
    error: strOrNull(row.error),
    nextAttemptAt: dateOrNull(row.next_attempt_at),
  };
}

// L402 ----------------------------------------------------------------------------------------

const HEX64 = /^[0-9a-f]{64}$/;

/** Refuse an L402 key that is not 64 lowercase hex characters (a sha256 or a payment hash). */
export function checkHex64(fieldName: string, value: string): void {
  if (typeof value !== 'string' || !HEX64.test(value)) {
    throw new ValidationError(`${fieldName} must be 64 lowercase hex characters.`, {
      context: { field: fieldName, reason: 'invalid' },
    });
  }
}

/** The row of a stored L402 root key. */
export function l402RootKeyToRow(key: StoredL402RootKey): Row {
  checkHex64('id', key.id);
  if (typeof key.rootKey !== 'string' || key.rootKey.length === 0) {
    throw new ValidationError('rootKey must be a non-empty string.', {
      context: { field: 'rootKey', reason: 'empty' },
    });
  }
  tenantKey(key.tenantId);
  return {
    id: key.id,
    tenant_id: key.tenantId ?? null,
    root_key: key.rootKey,
    created_at: toMs(key.createdAt),
    expires_at: toMsOrNull(key.expiresAt),
  };
}

/** The L402 root key a row holds. */
export function rowToL402RootKey(row: Row): StoredL402RootKey {
  return {
    id: str(row.id),
    tenantId: strOrNull(row.tenant_id),
    rootKey: str(row.root_key),
    createdAt: dateOf(row.created_at),
    expiresAt: dateOrNull(row.expires_at),
  };
}

/** The row of a spent L402 payment hash. */
export function l402SpentToRow(token: StoredL402SpentToken): Row {
  checkHex64('paymentHash', token.paymentHash);
  return {
    tenant_id: token.tenantId ?? null,
    tenant_key: tenantKey(token.tenantId),
    payment_hash: token.paymentHash,
    spent_at: toMs(token.spentAt),
  };
}

// Cursors -------------------------------------------------------------------------------------

/** A list cursor: base64url of `[timeMs, id]` (the same shape the memory driver issues). */
export function encodeCursor(timeMs: number, id: string): string {
  return Buffer.from(JSON.stringify([timeMs, id]), 'utf8').toString('base64url');
}

/** The position a cursor names; a cursor this store did not issue is a `ValidationError`. */
export function decodeCursor(cursor: string): { time: number; id: string } {
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
