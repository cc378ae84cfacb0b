/**
 * Counts the SQL statements Payable sends to PostgreSQL to receive one webhook and to process it
 * (the `webhook.process` job), through knex's `query` event: round trips, and commits (write
 * statements outside a transaction plus transactions; each commit waits for the WAL flush).
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPayable, type JobHandler, type JsonValue, type Payable, type QueueDriver } from '@payable/core';
import { KnexStorageDriver, migrate } from '@payable/storage-knex';
import { FakeProvider } from '@payable/testing';
import Database from 'better-sqlite3';
import knex, { type Knex } from 'knex';
import { type ParsedEvent, sqliteStore } from './baseline-inbox.js';
import { makeDeliveries } from './events.js';
import { dropPgTables, PG_URL, uniqueTag, WEBHOOK_SECRET } from './shared.js';

/** Statements per event. */
export interface StatementCounts {
  /** Every statement, BEGIN and COMMIT included: one round trip each. */
  roundTrips: number;
  /** Commits: write statements outside a transaction, plus transactions. */
  commits: number;
  /** Reads outside a transaction. */
  reads: number;
  /** The statements of one event, shortened to verb and table (`INSERT webhook_events`, `BEGIN`, ...). */
  sequence: string[];
}

/** `insert into "bq1_webhook_events" (...)` → `INSERT webhook_events`. */
function shorten(sql: string, tablePrefix: string): string {
  const s = sql.trim().replace(/;$/, '');
  const verb = (s.split(/\s+/)[0] ?? '').toUpperCase();
  const table = /(?:into|from|update)\s+[`"]?([a-z0-9_]+)[`"]?/i.exec(s)?.[1]?.replace(tablePrefix, '');
  const lock = /for update/i.test(s) ? ' … FOR UPDATE' : '';
  return table ? `${verb} ${table}${lock}` : verb;
}

/** A queue that keeps the dispatched jobs and the registered handler, to run them by hand. */
export class CapturingQueue implements QueueDriver {
  readonly name = 'capture';
  readonly jobs: { name: string; payload: JsonValue }[] = [];
  readonly handlers = new Map<string, JobHandler>();
  async dispatch(name: string, payload: JsonValue): Promise<void> {
    this.jobs.push({ name, payload });
  }
  async process(name: string, handler: JobHandler): Promise<void> {
    this.handlers.set(name, handler);
  }
  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}

/** Payable on `db` (tables with `tablePrefix`) whose queue keeps the jobs, to run them by hand. */
export function capturingPayable(db: Knex, tablePrefix: string): { payable: Payable; queue: CapturingQueue } {
  const queue = new CapturingQueue();
  const payable = createPayable({
    providers: { fake: new FakeProvider({ secret: WEBHOOK_SECRET }) },
    storage: new KnexStorageDriver(db, undefined, { tablePrefix, destroyOnClose: false }),
    queue,
    webhooks: { sweepIntervalMs: 0 },
  });
  return { payable, queue };
}

function classify(statements: readonly string[], events: number, tablePrefix: string): StatementCounts {
  let commits = 0;
  let reads = 0;
  let inTx = false;
  for (const raw of statements) {
    const sql = raw.trim().toLowerCase();
    if (sql.startsWith('begin')) {
      inTx = true;
      commits++;
    } else if (sql.startsWith('commit') || sql.startsWith('rollback')) {
      inTx = false;
    } else if (!inTx) {
      if (sql.startsWith('select')) reads++;
      else commits++;
    }
  }
  const perEvent = Math.round(statements.length / events);
  return {
    roundTrips: statements.length / events,
    commits: commits / events,
    reads: reads / events,
    sequence: statements.slice(0, perEvent).map((sql) => shorten(sql, tablePrefix)),
  };
}

/** Receive and process `events` webhooks with Payable on PostgreSQL, counting statements. */
export async function countPayableStatements(
  events = 20,
): Promise<{ receive: StatementCounts; process: StatementCounts }> {
  const tablePrefix = `${uniqueTag('bq')}_`;
  const db = knex({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 4 } });
  try {
    await migrate(db, { tablePrefix });
    const { payable, queue } = capturingPayable(db, tablePrefix);
    let statements: string[] = [];
    db.on('query', (q: { sql: string }) => statements.push(q.sql));
    for (const d of makeDeliveries(events, tablePrefix)) {
      await payable.webhooks.receive({ provider: 'fake', rawBody: d.rawBody, headers: d.headers });
    }
    const receive = classify(statements, events, tablePrefix);
    statements = [];
    const handler = queue.handlers.get('webhook.process');
    if (!handler) throw new Error('Payable registered no webhook.process handler');
    for (const [i, job] of queue.jobs.entries()) {
      await handler(job.payload, { id: `job${i}`, name: job.name, attempt: 1, maxAttempts: 3 });
    }
    const process = classify(statements, events, tablePrefix);
    await payable.close();
    return { receive, process };
  } finally {
    await db.destroy();
    await dropPgTables(tablePrefix);
  }
}

/**
 * Receive `events` webhooks with Payable on SQLite and the default inline SyncQueueDriver (the
 * adapter benchmark's SQLite stack), counting the statements of one request: receive and process.
 */
export async function countSqliteInlineStatements(events = 20): Promise<StatementCounts> {
  const dir = mkdtempSync(join(tmpdir(), 'payable-bench-'));
  const db = knex({
    client: 'better-sqlite3',
    connection: { filename: join(dir, 'count.db') },
    useNullAsDefault: true,
  });
  try {
    await migrate(db);
    const payable = createPayable({
      providers: { fake: new FakeProvider({ secret: WEBHOOK_SECRET }) },
      storage: new KnexStorageDriver(db, undefined, { destroyOnClose: false }),
      webhooks: { sweepIntervalMs: 0 },
    });
    const statements: string[] = [];
    db.on('query', (q: { sql: string }) => statements.push(q.sql));
    for (const d of makeDeliveries(events, 'sqlitecount')) {
      await payable.webhooks.receive({ provider: 'fake', rawBody: d.rawBody, headers: d.headers });
    }
    await payable.close();
    return classify(statements, events, 'payable_');
  } finally {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Time SQLite spends on one webhook's statements, measured apart from everything else. */
export interface SqliteEngineTime {
  events: number;
  /** Payable's statements (captured from 16 concurrent inline receives, group commits included), replayed. */
  payableUs: number;
  /** Transactions (COMMITs) in Payable's replay. */
  payableCommits: number;
  /** The hand-written route's better-sqlite3 transaction (insert, upsert, mark processed), one per event. */
  handWrittenUs: number;
}

/**
 * How long SQLite itself takes per webhook on the adapter benchmark's SQLite stack, on both sides,
 * with no HTTP, framework, knex or Payable code around it: Payable's statements (receives with 16
 * in flight, as the HTTP load has, so its group commits are in the capture) are replayed with
 * better-sqlite3 on a fresh migrated file, each statement prepared once; the hand-written route's
 * transaction runs on its own fresh file. Both in WAL mode, `synchronous` left at SQLite's FULL.
 */
export async function sqliteEngineTime(events = 2000): Promise<SqliteEngineTime> {
  const dir = mkdtempSync(join(tmpdir(), 'payable-bench-'));
  const file = (name: string): string => join(dir, name);
  try {
    // One migrated file, copied before any event lands in it: the replay starts from the same schema.
    const db = knex({ client: 'better-sqlite3', connection: { filename: file('capture.db') }, useNullAsDefault: true });
    await migrate(db);
    await db.raw('pragma wal_checkpoint(truncate)');
    copyFileSync(file('capture.db'), file('replay.db'));
    const payable = createPayable({
      providers: { fake: new FakeProvider({ secret: WEBHOOK_SECRET }) },
      storage: new KnexStorageDriver(db, undefined, { destroyOnClose: false }),
      webhooks: { sweepIntervalMs: 0 },
    });
    const deliveries = makeDeliveries(events, uniqueTag('sqlengine'));
    const captured: { sql: string; bindings: readonly unknown[] }[] = [];
    db.on('query', (q: { sql: string; bindings?: readonly unknown[] }) =>
      captured.push({ sql: q.sql, bindings: q.bindings ?? [] }),
    );
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < deliveries.length) {
          const d = deliveries[next++] as (typeof deliveries)[number];
          await payable.webhooks.receive({ provider: 'fake', rawBody: d.rawBody, headers: d.headers });
        }
      }),
    );
    await payable.close();
    await db.destroy();

    const replay = new Database(file('replay.db'));
    const prepared = new Map<string, Database.Statement>();
    const binding = (v: unknown): unknown => (v instanceof Date ? v.valueOf() : typeof v === 'boolean' ? Number(v) : v);
    let commits = 0;
    const started = performance.now();
    for (const { sql, bindings } of captured) {
      let statement = prepared.get(sql);
      if (statement === undefined) {
        statement = replay.prepare(sql);
        prepared.set(sql, statement);
      }
      const values = bindings.map(binding);
      if (statement.reader) statement.all(values);
      else statement.run(values);
      if (/^commit/i.test(sql.trim())) commits += 1;
    }
    const payableUs = ((performance.now() - started) * 1000) / events;
    replay.close();

    const hand = new Database(file('hand.db'));
    hand.pragma('journal_mode = WAL');
    const store = sqliteStore(hand);
    const parsed = deliveries.map((d) => ({ event: JSON.parse(d.rawBody) as ParsedEvent, payload: d.rawBody }));
    const begun = performance.now();
    for (const { event, payload } of parsed) store(event, payload);
    const handWrittenUs = ((performance.now() - begun) * 1000) / events;
    hand.close();
    return { events, payableUs, payableCommits: commits, handWrittenUs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
