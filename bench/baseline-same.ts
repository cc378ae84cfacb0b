/**
 * The hand-written baseline that does the same durable work as Payable (issue 3: "a hand-written
 * baseline that does the same durable work"): it writes the rows Payable writes, into the tables
 * `migrate()` creates, with plain `pg` and BullMQ and no library in between. Receive: verify the
 * HMAC, map the event to a normalized one, INSERT the event row (raw payload, normalized event,
 * status and times) deduplicated by its unique key, add a BullMQ job. Worker: in one transaction,
 * claim the row and mark it processed, upsert the payment (its columns and its record as JSON,
 * a succeeded payment never moved back), and append its domain events to the outbox
 * (`payment.created` and `payment.<status>` for a new payment). Written the way a careful user
 * would write it by hand: one statement per step, no query builder.
 */
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type Database from 'better-sqlite3';
import { migrate } from '@payable/storage-knex';
import knex, { type Knex } from 'knex';
import type { Pool } from 'pg';
import { inTransaction, JOB_NAME, type ParsedEvent, verifyAndParse } from './baseline-inbox.js';
import { ATTEMPTS, BACKOFF_MS } from './shared.js';

/** Statuses a payment is never moved back from. */
const FINAL = new Set(['succeeded', 'failed', 'canceled', 'expired']);

/** Payable's tables (`migrate()`), for the hand-written code to write into: the same rows, the same indexes. */
export async function createPayableTables(config: Knex.Config, tablePrefix?: string): Promise<void> {
  const schema = knex({ ...config, pool: { min: 0, max: 1 } });
  try {
    await migrate(schema, tablePrefix === undefined ? {} : { tablePrefix });
  } finally {
    await schema.destroy();
  }
}

/** PostgreSQL + BullMQ receive into Payable's `webhook_events` table. */
export function sameReceiver(pool: Pool, queue: Queue, prefix: string, secret: string) {
  const insert = `INSERT INTO ${prefix}webhook_events (id, tenant_id, tenant_key, provider, provider_event_id, type,
      provider_type, status, attempts, last_error, payload, normalized, object_key, received_at, updated_at,
      processed_at, locked_by, locked_until)
    VALUES ($1, NULL, '', 'fake', $2, $3, $4, 'pending', 0, NULL, $5, $6, $7, $8, $8, NULL, NULL, NULL)
    ON CONFLICT (tenant_key, provider, provider_event_id) DO NOTHING RETURNING id`;
  return async function receive(rawBody: Buffer, headers: Record<string, string | string[] | undefined>) {
    const event = verifyAndParse(rawBody, headers['x-fake-signature'], secret);
    const normalized = normalize(event);
    const id = `wh_${randomUUID()}`;
    const text = rawBody.toString('utf8');
    const result = await pool.query<{ id: string }>(insert, [
      id,
      event.id,
      event.type,
      event.type,
      text,
      JSON.stringify(normalized),
      `fake:payment:${event.data.id}`,
      Date.now(),
    ]);
    const row = result.rows[0];
    if (row) {
      await queue.add(
        JOB_NAME,
        { id: row.id },
        {
          jobId: row.id,
          attempts: ATTEMPTS,
          backoff: { type: 'exponential', delay: BACKOFF_MS },
          removeOnComplete: { count: 1000 },
          removeOnFail: { count: 5000 },
        },
      );
    }
    return { duplicate: row === undefined };
  };
}

interface NormalizedPayment {
  object: { providerId: string; amount: number; currency: string; status: string } | null;
}

/** The worker's job: claim, upsert the payment, append its domain events, in one transaction. */
export function sameApply(pool: Pool, prefix: string) {
  const claim = `UPDATE ${prefix}webhook_events SET status = 'processed', attempts = attempts + 1, processed_at = $2,
      updated_at = $2, locked_by = NULL, locked_until = NULL, last_error = NULL
    WHERE id = $1 AND (status = 'pending' OR (status = 'processing' AND locked_until <= $2)) RETURNING normalized`;
  const find = `SELECT id, status, created_at, data FROM ${prefix}payments
    WHERE tenant_key = '' AND provider = 'fake' AND provider_id = $1 FOR UPDATE`;
  const insert = `INSERT INTO ${prefix}payments (id, tenant_id, tenant_key, provider, provider_id, status, customer_id,
      amount, currency, created_at, updated_at, data)
    VALUES ($1, NULL, '', 'fake', $2, $3, NULL, $4, $5, $6, $7, $8)`;
  const update = `UPDATE ${prefix}payments SET status = $2, amount = $3, currency = $4, updated_at = $5, data = $6 WHERE id = $1`;
  const outbox = `INSERT INTO ${prefix}outbox (id, tenant_id, tenant_key, aggregate_key, type, payload, status, attempts,
      available_at, locked_by, locked_until, last_error, created_at, delivered_at)
    SELECT id, NULL, '', $1, type, payload, 'pending', 0, $2, NULL, NULL, NULL, $2, NULL
    FROM unnest($3::text[], $4::text[], $5::text[]) AS m(id, type, payload)`;
  return (eventId: string): Promise<void> =>
    inTransaction(pool, async (client) => {
      const now = Date.now();
      const claimed = await client.query<{ normalized: string }>(claim, [eventId, now]);
      const row = claimed.rows[0];
      if (row) {
        const { object } = JSON.parse(row.normalized) as NormalizedPayment;
        if (object) {
          const found = await client.query<StoredPayment>(find, [object.providerId]);
          const next = paymentChange(found.rows[0], object, now);
          if (next) {
            const { record, types, data, inserted } = next;
            await client.query(inserted ? insert : update, paymentValues(record, object, now, data, inserted));
            const { ids, payloads } = domainEvents(record, types, now);
            await client.query(outbox, [`payment:${record.id}`, now, ids, types, payloads]);
          }
        }
      }
    });
}

/**
 * SQLite + inline processing, the same durable work as Payable's SyncQueueDriver path, in the
 * tables `migrate()` creates: verify, then in one better-sqlite3 transaction insert the event as
 * processed (deduplicated by its unique key), insert or move forward the payment, append its
 * domain events to the outbox.
 */
export function sqliteSameReceiver(db: Database.Database, secret: string, prefix = 'payable_') {
  const insertEvent = db.prepare(`INSERT INTO ${prefix}webhook_events (id, tenant_id, tenant_key, provider,
      provider_event_id, type, provider_type, status, attempts, last_error, payload, normalized, object_key,
      received_at, updated_at, processed_at, locked_by, locked_until)
    VALUES (?, NULL, '', 'fake', ?, ?, ?, 'processed', 1, NULL, ?, ?, ?, ?, ?, ?, NULL, NULL)
    ON CONFLICT (tenant_key, provider, provider_event_id) DO NOTHING RETURNING id`);
  const find = db.prepare(`SELECT id, status, created_at, data FROM ${prefix}payments
    WHERE tenant_key = '' AND provider = 'fake' AND provider_id = ?`);
  const insert = db.prepare(`INSERT INTO ${prefix}payments (id, tenant_id, tenant_key, provider, provider_id, status,
      customer_id, amount, currency, created_at, updated_at, data)
    VALUES (?, NULL, '', 'fake', ?, ?, NULL, ?, ?, ?, ?, ?)`);
  const update = db.prepare(
    `UPDATE ${prefix}payments SET status = ?, amount = ?, currency = ?, updated_at = ?, data = ? WHERE id = ?`,
  );
  const outbox = db.prepare(`INSERT INTO ${prefix}outbox (id, tenant_id, tenant_key, aggregate_key, type, payload,
      status, attempts, available_at, locked_by, locked_until, last_error, created_at, delivered_at)
    VALUES (?, NULL, '', ?, ?, ?, 'pending', 0, ?, NULL, NULL, NULL, ?, NULL)`);
  const store = db.transaction((event: ParsedEvent, text: string): boolean => {
    const now = Date.now();
    const normalized = normalize(event);
    const object = normalized.object;
    const id = `wh_${randomUUID()}`;
    const json = JSON.stringify(normalized);
    const key = `fake:payment:${object.providerId}`;
    if (!insertEvent.get(id, event.id, event.type, event.type, text, json, key, now, now, now)) return false;
    const next = paymentChange(find.get(object.providerId) as StoredPayment | undefined, object, now);
    if (next) {
      const { record, types, data, inserted } = next;
      if (inserted) insert.run(...paymentValues(record, object, now, data, true));
      else update.run(object.status, object.amount, object.currency, now, data, record.id);
      const { ids, payloads } = domainEvents(record, types, now);
      for (const [i, eventId] of ids.entries()) {
        outbox.run(eventId, `payment:${record.id}`, types[i], payloads[i], now, now);
      }
    }
    return true;
  });
  return async function receive(rawBody: Buffer, headers: Record<string, string | string[] | undefined>) {
    const event = verifyAndParse(rawBody, headers['x-fake-signature'], secret);
    return { duplicate: !store(event, rawBody.toString('utf8')) };
  };
}

/** The event mapped to a normalized one (what Payable stores beside the raw payload). */
function normalize(event: ParsedEvent) {
  const created = (event as { created?: number }).created;
  return {
    id: event.id,
    type: event.type,
    providerType: event.type,
    createdAt: new Date((created ?? 0) * 1000).toISOString(),
    object: {
      kind: 'payment',
      providerId: event.data.id,
      amount: event.data.amount ?? 0,
      currency: event.data.currency ?? 'USD',
      status: event.data.status ?? 'pending',
    },
  };
}

type PaymentObject = NonNullable<NormalizedPayment['object']>;

/** A payment row as the baseline reads it. */
interface StoredPayment {
  id: string;
  status: string;
  created_at: string;
  data: string;
}

/**
 * What applying `object` to the stored payment (if any) writes: a new record, or the record with its
 * status moved forward (a final status is never left), and the domain event types; `null` when
 * nothing changes.
 */
function paymentChange(existing: StoredPayment | undefined, object: PaymentObject, now: number) {
  const iso = new Date(now).toISOString();
  if (!existing) {
    const record = paymentRecord(`pay_${randomUUID()}`, object, iso, iso);
    const types = ['payment.created'];
    if (object.status !== 'pending') types.push(`payment.${object.status}`);
    return { record, types, data: JSON.stringify(record), inserted: true };
  }
  if (existing.status === object.status || FINAL.has(existing.status)) return null;
  const createdAt = (JSON.parse(existing.data) as { createdAt: string }).createdAt;
  const record = paymentRecord(existing.id, object, createdAt, iso);
  return { record, types: [`payment.${object.status}`], data: JSON.stringify(record), inserted: false };
}

/** The values of the payment insert (`inserted`) or update statement, in their placeholders' order. */
function paymentValues(
  record: Record<string, unknown>,
  object: PaymentObject,
  now: number,
  data: string,
  inserted: boolean,
): unknown[] {
  return inserted
    ? [record.id, object.providerId, object.status, object.amount, object.currency, now, now, data]
    : [record.id, object.status, object.amount, object.currency, now, data];
}

/** The outbox messages' ids and payloads (each the JSON of a domain event carrying the record). */
function domainEvents(record: Record<string, unknown>, types: readonly string[], now: number) {
  const iso = new Date(now).toISOString();
  const data = JSON.stringify({ object: 'payment', ...record });
  const ids = types.map(() => `evt_${randomUUID()}`);
  const payloads = types.map(
    (type, i) =>
      `{"id":${JSON.stringify(ids[i])},"type":${JSON.stringify(type)},"createdAt":"${iso}","tenantId":null,"data":${data}}`,
  );
  return { ids, payloads };
}

/** The payment's record, as Payable keeps it in the row's `data` column. */
function paymentRecord(
  id: string,
  object: NonNullable<NormalizedPayment['object']>,
  createdAt: string,
  updatedAt: string,
): Record<string, unknown> {
  return {
    id,
    tenantId: null,
    provider: 'fake',
    providerId: object.providerId,
    metadata: {},
    createdAt,
    updatedAt,
    amount: object.amount,
    currency: object.currency,
    status: object.status,
    amountRefunded: 0,
    customerId: null,
    description: null,
    expiresAt: null,
    failureCode: null,
    failureMessage: null,
    nextActionUrl: null,
    lightning: null,
  };
}
