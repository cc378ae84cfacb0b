/**
 * The hand-written baseline: what a user writes without Payable to receive a provider webhook
 * durably. Verify the HMAC signature over the raw bytes (constant-time, with a timestamp
 * tolerance), INSERT the event into a table whose unique key (provider, event id) deduplicates
 * (ON CONFLICT DO NOTHING), and either add a BullMQ job (PostgreSQL + BullMQ) or process it at once
 * (SQLite, inline). Workers mark the row processed (and, in the "apply" variant, upsert the payment
 * it is about in the same transaction, like Payable's worker does).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Queue } from 'bullmq';
import type { Pool, PoolClient } from 'pg';
import { ATTEMPTS, BACKOFF_MS } from './shared.js';

/** The job name both sides use. */
export const JOB_NAME = 'webhook.process';

/** A signature or body the baseline refuses (answered 400). */
export class BadWebhookError extends Error {}

/** The fields of a provider event the baseline keeps. */
export interface ParsedEvent {
  id: string;
  type: string;
  data: { id: string; status?: string; amount?: number; currency?: string };
}

/** Verify `x-fake-signature: t=<unix>,v1=<hex hmac-sha256(secret, "<t>.<body>")>` and parse the body. */
export function verifyAndParse(
  rawBody: Buffer,
  header: string | string[] | undefined,
  secret: string,
  toleranceSeconds = 300,
): ParsedEvent {
  if (typeof header !== 'string') throw new BadWebhookError('missing signature');
  let t = '';
  let v1 = '';
  for (const part of header.split(',')) {
    if (part.startsWith('t=')) t = part.slice(2);
    else if (part.startsWith('v1=')) v1 = part.slice(3);
  }
  const expected = createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest();
  const given = Buffer.from(v1, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new BadWebhookError('bad signature');
  }
  if (Math.abs(Date.now() / 1000 - Number(t)) > toleranceSeconds) throw new BadWebhookError('stale signature');
  let event: ParsedEvent;
  try {
    event = JSON.parse(rawBody.toString('utf8')) as ParsedEvent;
  } catch {
    throw new BadWebhookError('not JSON');
  }
  if (typeof event?.id !== 'string' || typeof event.data?.id !== 'string') throw new BadWebhookError('no id');
  return event;
}

/** The baseline's tables on PostgreSQL: `<prefix>events`, `<prefix>payments`. */
export async function createPgTables(pool: Pool, prefix: string): Promise<void> {
  await pool.query(`CREATE TABLE IF NOT EXISTS ${prefix}events (
    id bigserial PRIMARY KEY,
    provider text NOT NULL,
    event_id text NOT NULL,
    type text NOT NULL,
    payload text NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    received_at timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz,
    UNIQUE (provider, event_id)
  )`);
  await pool.query(`CREATE INDEX IF NOT EXISTS ${prefix}events_status ON ${prefix}events (status)`);
  await pool.query(`CREATE TABLE IF NOT EXISTS ${prefix}payments (
    id bigserial PRIMARY KEY,
    provider text NOT NULL,
    provider_id text NOT NULL,
    status text NOT NULL,
    amount bigint NOT NULL,
    currency text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, provider_id)
  )`);
}

/** PostgreSQL + BullMQ receive: verify, INSERT … ON CONFLICT DO NOTHING, add a job. */
export function pgReceiver(pool: Pool, queue: Queue, prefix: string, secret: string) {
  const insert = `INSERT INTO ${prefix}events (provider, event_id, type, payload) VALUES ('fake', $1, $2, $3)
    ON CONFLICT (provider, event_id) DO NOTHING RETURNING id`;
  return async function receive(rawBody: Buffer, headers: Record<string, string | string[] | undefined>) {
    const event = verifyAndParse(rawBody, headers['x-fake-signature'], secret);
    const result = await pool.query<{ id: string }>(insert, [event.id, event.type, rawBody.toString('utf8')]);
    const row = result.rows[0];
    if (row) {
      await queue.add(
        JOB_NAME,
        { id: row.id },
        {
          jobId: `ev-${row.id}`,
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

/** The baseline worker's job: mark the row processed. */
export function pgMarkProcessed(pool: Pool, prefix: string) {
  const sql = `UPDATE ${prefix}events SET status = 'processed', processed_at = now() WHERE id = $1 AND status = 'pending'`;
  return async (id: string): Promise<void> => {
    await pool.query(sql, [id]);
  };
}

/**
 * The baseline worker's job, "apply" variant: in one transaction, claim the pending row, upsert the
 * payment it is about (a succeeded payment is never moved back), mark the row processed.
 */
export function pgApplyAndMark(pool: Pool, prefix: string) {
  const claim = `SELECT payload FROM ${prefix}events WHERE id = $1 AND status = 'pending' FOR UPDATE SKIP LOCKED`;
  const upsert = `INSERT INTO ${prefix}payments (provider, provider_id, status, amount, currency)
    VALUES ('fake', $1, $2, $3, $4)
    ON CONFLICT (provider, provider_id) DO UPDATE SET status = EXCLUDED.status, amount = EXCLUDED.amount,
      currency = EXCLUDED.currency, updated_at = now()
    WHERE ${prefix}payments.status <> 'succeeded'`;
  const mark = `UPDATE ${prefix}events SET status = 'processed', processed_at = now() WHERE id = $1`;
  return (id: string): Promise<void> =>
    inTransaction(pool, async (client) => {
      const { rows } = await client.query<{ payload: string }>(claim, [id]);
      const row = rows[0];
      if (row) {
        const { data } = JSON.parse(row.payload) as ParsedEvent;
        await client.query(upsert, [data.id, data.status ?? 'pending', data.amount ?? 0, data.currency ?? 'USD']);
        await client.query(mark, [id]);
      }
    });
}

/** BEGIN, `work` on one pooled client, COMMIT; ROLLBACK and rethrow when it throws. */
export async function inTransaction(pool: Pool, work: (client: PoolClient) => Promise<void>): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await work(client);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * The hand-written route's SQLite work in one better-sqlite3 transaction: insert the event (its
 * dedupe key decides), upsert the payment, mark the event processed. Creates the tables first.
 */
export function sqliteStore(db: Database.Database): (event: ParsedEvent, payload: string) => boolean {
  db.exec(`CREATE TABLE IF NOT EXISTS events (
    id integer PRIMARY KEY AUTOINCREMENT,
    provider text NOT NULL,
    event_id text NOT NULL,
    type text NOT NULL,
    payload text NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    received_at text NOT NULL DEFAULT CURRENT_TIMESTAMP,
    processed_at text,
    UNIQUE (provider, event_id)
  );
  CREATE INDEX IF NOT EXISTS events_status ON events (status);
  CREATE TABLE IF NOT EXISTS payments (
    id integer PRIMARY KEY AUTOINCREMENT,
    provider text NOT NULL,
    provider_id text NOT NULL,
    status text NOT NULL,
    amount integer NOT NULL,
    currency text NOT NULL,
    updated_at text NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (provider, provider_id)
  );`);
  const insert = db.prepare(
    `INSERT INTO events (provider, event_id, type, payload) VALUES ('fake', ?, ?, ?)
     ON CONFLICT (provider, event_id) DO NOTHING RETURNING id`,
  );
  const upsert = db.prepare(
    `INSERT INTO payments (provider, provider_id, status, amount, currency) VALUES ('fake', ?, ?, ?, ?)
     ON CONFLICT (provider, provider_id) DO UPDATE SET status = excluded.status, amount = excluded.amount,
       currency = excluded.currency, updated_at = CURRENT_TIMESTAMP
     WHERE payments.status <> 'succeeded'`,
  );
  const mark = db.prepare(`UPDATE events SET status = 'processed', processed_at = CURRENT_TIMESTAMP WHERE id = ?`);
  return db.transaction((event: ParsedEvent, payload: string): boolean => {
    const row = insert.get(event.id, event.type, payload) as { id: number } | undefined;
    if (!row) return false;
    upsert.run(event.data.id, event.data.status ?? 'pending', event.data.amount ?? 0, event.data.currency ?? 'USD');
    mark.run(row.id);
    return true;
  });
}

/**
 * SQLite + inline processing (what Payable does with the SyncQueueDriver): verify, then in one
 * transaction INSERT the event (deduplicated), upsert the payment, mark the event processed.
 */
export function sqliteReceiver(db: Database.Database, secret: string) {
  const store = sqliteStore(db);
  return async function receive(rawBody: Buffer, headers: Record<string, string | string[] | undefined>) {
    const event = verifyAndParse(rawBody, headers['x-fake-signature'], secret);
    const inserted = store(event, rawBody.toString('utf8'));
    return { duplicate: !inserted };
  };
}
