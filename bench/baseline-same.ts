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
import type { Pool } from 'pg';
import { inTransaction, JOB_NAME, verifyAndParse } from './baseline-inbox.js';
import { ATTEMPTS, BACKOFF_MS } from './shared.js';

/** Statuses a payment is never moved back from. */
const FINAL = new Set(['succeeded', 'failed', 'canceled', 'expired']);

/** PostgreSQL + BullMQ receive into Payable's `webhook_events` table. */
export function sameReceiver(pool: Pool, queue: Queue, prefix: string, secret: string) {
  const insert = `INSERT INTO ${prefix}webhook_events (id, tenant_id, tenant_key, provider, provider_event_id, type,
      provider_type, status, attempts, last_error, payload, normalized, object_key, received_at, updated_at,
      processed_at, locked_by, locked_until)
    VALUES ($1, NULL, '', 'fake', $2, $3, $4, 'pending', 0, NULL, $5, $6, $7, $8, $8, NULL, NULL, NULL)
    ON CONFLICT (tenant_key, provider, provider_event_id) DO NOTHING RETURNING id`;
  return async function receive(rawBody: Buffer, headers: Record<string, string | string[] | undefined>) {
    const event = verifyAndParse(rawBody, headers['x-fake-signature'], secret);
    const created = (event as { created?: number }).created;
    const normalized = {
      id: event.id,
      type: event.type,
      providerType: event.type,
      createdAt: new Date((created ?? 0) * 1000).toISOString(),
      object: {
        kind: 'payment',
        providerId: event.data.id,
        amount: event.data.amount,
        currency: event.data.currency,
        status: event.data.status,
      },
    };
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
    VALUES ($1, NULL, '', 'fake', $2, $3, NULL, $4, $5, $6, $6, $7)`;
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
          const found = await client.query<{ id: string; status: string; created_at: string; data: string }>(find, [
            object.providerId,
          ]);
          const existing = found.rows[0];
          const iso = new Date(now).toISOString();
          const types: string[] = [];
          let record: Record<string, unknown> | null = null;
          if (!existing) {
            record = paymentRecord(`pay_${randomUUID()}`, object, iso, iso);
            await client.query(insert, [
              record.id,
              object.providerId,
              object.status,
              object.amount,
              object.currency,
              now,
              JSON.stringify(record),
            ]);
            types.push('payment.created');
            if (object.status !== 'pending') types.push(`payment.${object.status}`);
          } else if (existing.status !== object.status && !FINAL.has(existing.status)) {
            const createdAt = (JSON.parse(existing.data) as { createdAt: string }).createdAt;
            record = paymentRecord(existing.id, object, createdAt, iso);
            await client.query(update, [
              existing.id,
              object.status,
              object.amount,
              object.currency,
              now,
              JSON.stringify(record),
            ]);
            types.push(`payment.${object.status}`);
          }
          if (record) {
            const data = JSON.stringify({ object: 'payment', ...record });
            const ids = types.map(() => `evt_${randomUUID()}`);
            const payloads = types.map(
              (type, i) =>
                `{"id":${JSON.stringify(ids[i])},"type":${JSON.stringify(type)},"createdAt":"${iso}","tenantId":null,"data":${data}}`,
            );
            await client.query(outbox, [`payment:${record.id}`, now, ids, types, payloads]);
          }
        }
      }
    });
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
