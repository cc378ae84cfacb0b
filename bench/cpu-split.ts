/**
 * CPU per webhook by process, as the operating system counts it: this Node.js process
 * (`process.cpuUsage`, user + system) and the PostgreSQL server (every `postgres` process's user +
 * system time from /proc), for Payable and the hand-written code, receive and process apart. No
 * HTTP and no Redis: Payable's jobs go to a queue that keeps them, and the hand-written side only
 * inserts, so both sides measure their database work and the code around it. It complements the
 * inspector's profiles, which sample wall-clock time: a sample taken while this thread waits in a
 * socket write (PostgreSQL, woken by the write, running on the same core) lands on `writev`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { migrate } from '@payable/storage-knex';
import knex, { type Knex } from 'knex';
import pg from 'pg';
import type { Queue } from 'bullmq';
import { createPgTables, pgApplyAndMark, verifyAndParse } from './baseline-inbox.js';
import { createPayableTables, sameApply, sameReceiver } from './baseline-same.js';
import { makeDeliveries } from './events.js';
import { capturingPayable } from './query-count.js';
import { dropPgTables, PG_URL, POOL_MAX, uniqueTag, WEBHOOK_SECRET } from './shared.js';

/** CPU per event of one step (µs), and how many events per second it ran at in this measurement. */
export interface CpuPerEvent {
  nodeUs: number;
  /** `null` where /proc cannot be read (not Linux, or PostgreSQL on another host). */
  postgresUs: number | null;
  perSecond: number;
}

/** The CPU split of both sides, and what a knex transaction costs over BEGIN/COMMIT sent by hand. */
export interface CpuSplit {
  events: number;
  concurrency: number;
  payable: { receive: CpuPerEvent; process: CpuPerEvent };
  /** Receive: verify + `INSERT … ON CONFLICT DO NOTHING`; process: the "apply" worker (bench/baseline-inbox.ts). */
  handWritten: { receive: CpuPerEvent; process: CpuPerEvent };
  /** The hand-written code doing the same durable work as Payable (bench/baseline-same.ts); absent in older runs. */
  sameWork?: { receive: CpuPerEvent; process: CpuPerEvent };
  /** This process's CPU per transaction with one statement: through `knex.transaction`, and by hand on the same pool. */
  transaction: { knexUs: number; byHandUs: number; transactions: number };
}

const CLOCK_TICK_US = 10_000; // USER_HZ = 100 on Linux

/** User + system CPU of every process named `postgres` on this machine, in µs; `null` without /proc. */
function postgresCpuUs(): number | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  let ticks = 0;
  let found = false;
  for (const pid of entries) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // the process ended
    }
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    if (stat.slice(open + 1, close) !== 'postgres') continue;
    // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
    const fields = stat.slice(close + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
    found = true;
  }
  return found ? ticks * CLOCK_TICK_US : null;
}

/** Runs `work` for every item with `concurrency` in flight and measures the CPU it took per item. */
async function measure<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<unknown>,
): Promise<CpuPerEvent> {
  let next = 0;
  const pgBefore = postgresCpuUs();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index] as T, index);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const pgAfter = postgresCpuUs();
  return {
    nodeUs: (cpu.user + cpu.system) / items.length,
    postgresUs: pgBefore === null || pgAfter === null ? null : (pgAfter - pgBefore) / items.length,
    perSecond: items.length / seconds,
  };
}

/** Payable's web role (receive) and `webhook.process` jobs (process), in this process. */
async function payableSplit(warmup: number, events: number, concurrency: number) {
  const tablePrefix = `${uniqueTag('cs')}_`;
  const db = knex({ client: 'pg', connection: PG_URL, pool: { min: 0, max: POOL_MAX } });
  try {
    await migrate(db, { tablePrefix });
    const { payable, queue } = capturingPayable(db, tablePrefix);
    const handler = queue.handlers.get('webhook.process');
    if (!handler) throw new Error('Payable registered no webhook.process handler');
    const receive = (d: ReturnType<typeof makeDeliveries>[number]) =>
      payable.webhooks.receive({ provider: 'fake', rawBody: d.rawBody, headers: d.headers });
    const processJobs = async (): Promise<CpuPerEvent> => {
      const jobs = queue.jobs.splice(0);
      return measure(jobs, concurrency, (job, i) =>
        handler(job.payload, { id: `job${i}`, name: job.name, attempt: 1, maxAttempts: 3 }),
      );
    };
    await measure(makeDeliveries(warmup, `${tablePrefix}w`), concurrency, receive);
    await processJobs();
    const received = await measure(makeDeliveries(events, tablePrefix), concurrency, receive);
    const processed = await processJobs();
    await payable.close();
    return { receive: received, process: processed };
  } finally {
    await db.destroy();
    await dropPgTables(tablePrefix);
  }
}

type Delivery = ReturnType<typeof makeDeliveries>[number];

/**
 * Warm up, then measure `receive` over `events` deliveries and `apply` over the ids they queued
 * (`ids` hands over the ids queued since its last call).
 */
async function receiveThenApply(
  tag: string,
  sizes: { warmup: number; events: number; concurrency: number },
  receive: (d: Delivery) => Promise<unknown>,
  apply: (id: string) => Promise<unknown>,
  ids: () => string[],
): Promise<{ receive: CpuPerEvent; process: CpuPerEvent }> {
  const { warmup, events, concurrency } = sizes;
  await measure(makeDeliveries(warmup, `${tag}w`), concurrency, receive);
  await measure(ids(), concurrency, apply);
  const received = await measure(makeDeliveries(events, tag), concurrency, receive);
  const processed = await measure(ids(), concurrency, apply);
  return { receive: received, process: processed };
}

/** The hand-written receive (verify + insert) and "apply" worker, in this process. */
async function handWrittenSplit(warmup: number, events: number, concurrency: number) {
  const prefix = `${uniqueTag('ch')}_`;
  const pool = new pg.Pool({ connectionString: PG_URL, max: POOL_MAX });
  try {
    await createPgTables(pool, prefix);
    const insert = `INSERT INTO ${prefix}events (provider, event_id, type, payload) VALUES ('fake', $1, $2, $3)
      ON CONFLICT (provider, event_id) DO NOTHING RETURNING id`;
    const ids: string[] = [];
    const receive = async (d: Delivery) => {
      const event = verifyAndParse(Buffer.from(d.rawBody), d.headers['x-fake-signature'], WEBHOOK_SECRET);
      const { rows } = await pool.query<{ id: string }>(insert, [event.id, event.type, d.rawBody]);
      if (rows[0]) ids.push(rows[0].id);
    };
    const taken = () => ids.splice(0);
    return await receiveThenApply(
      prefix,
      { warmup, events, concurrency },
      receive,
      pgApplyAndMark(pool, prefix),
      taken,
    );
  } finally {
    await pool.end();
    await dropPgTables(prefix);
  }
}

/** The hand-written code doing the same durable work as Payable (receive and worker), in this process. */
async function sameWorkSplit(warmup: number, events: number, concurrency: number) {
  const prefix = `${uniqueTag('cm')}_`;
  await createPayableTables({ client: 'pg', connection: PG_URL }, prefix);
  const pool = new pg.Pool({ connectionString: PG_URL, max: POOL_MAX });
  try {
    const ids: string[] = [];
    // A queue that keeps the job ids, as Payable's side has (no Redis on either side).
    const queue = {
      add: async (_name: string, data: { id: string }) => {
        ids.push(data.id);
      },
    };
    const received = sameReceiver(pool, queue as unknown as Queue, prefix, WEBHOOK_SECRET);
    const receive = (d: Delivery) => received(Buffer.from(d.rawBody), d.headers);
    const taken = () => ids.splice(0);
    return await receiveThenApply(prefix, { warmup, events, concurrency }, receive, sameApply(pool, prefix), taken);
  } finally {
    await pool.end();
    await dropPgTables(prefix);
  }
}

/**
 * One statement in a transaction, `count` times: in a `knex.transaction` (the statement sent straight
 * on the transaction's connection, as the driver sends its own), and with BEGIN and COMMIT sent by
 * hand on a connection of the same pool. The difference is knex's transaction machinery.
 */
async function transactionCost(count: number, concurrency: number): Promise<CpuSplit['transaction']> {
  const db: Knex = knex({ client: 'pg', connection: PG_URL, pool: { min: 0, max: POOL_MAX } });
  type PooledClient = { query(text: string | { text: string; values: unknown[] }): Promise<unknown> };
  type Pool = { acquireConnection(): Promise<PooledClient>; releaseConnection(c: unknown): unknown };
  const client = db.client as Pool;
  const select = { text: 'select 1', values: [] };
  const viaKnex = () =>
    db.transaction(async (trx) => {
      const own = trx.client as Pool;
      const connection = await own.acquireConnection();
      try {
        await connection.query(select);
      } finally {
        await own.releaseConnection(connection);
      }
    });
  const byHand = async () => {
    const connection = await client.acquireConnection();
    try {
      await connection.query('BEGIN');
      await connection.query(select);
      await connection.query('COMMIT');
    } finally {
      await client.releaseConnection(connection);
    }
  };
  const items = Array.from({ length: count }, (_, i) => i);
  try {
    await measure(items.slice(0, Math.ceil(count / 4)), concurrency, viaKnex);
    await measure(items.slice(0, Math.ceil(count / 4)), concurrency, byHand);
    // Alternated halves, so a drift of the machine's speed hits both alike.
    const half = items.slice(0, Math.ceil(count / 2));
    const k1 = await measure(half, concurrency, viaKnex);
    const h1 = await measure(half, concurrency, byHand);
    const h2 = await measure(half, concurrency, byHand);
    const k2 = await measure(half, concurrency, viaKnex);
    return {
      knexUs: (k1.nodeUs + k2.nodeUs) / 2,
      byHandUs: (h1.nodeUs + h2.nodeUs) / 2,
      transactions: half.length * 2,
    };
  } finally {
    await db.destroy();
  }
}

/**
 * Measures {@link CpuSplit}: each side warms up on `warmup` events, then receives `events` with
 * `concurrency` in flight and processes them with as many in flight.
 */
export async function cpuSplit(events = 3000, warmup = 1000, concurrency = 16): Promise<CpuSplit> {
  // Two rounds in opposite orders (fresh tables each), averaged: a drift of the machine's speed hits both sides alike.
  const half = Math.ceil(events / 2);
  const p1 = await payableSplit(warmup, half, concurrency);
  const h1 = await handWrittenSplit(warmup, half, concurrency);
  const s1 = await sameWorkSplit(warmup, half, concurrency);
  const s2 = await sameWorkSplit(warmup, half, concurrency);
  const h2 = await handWrittenSplit(warmup, half, concurrency);
  const p2 = await payableSplit(warmup, half, concurrency);
  const transaction = await transactionCost(events * 2, concurrency);
  return {
    events: half * 2,
    concurrency,
    payable: { receive: mean(p1.receive, p2.receive), process: mean(p1.process, p2.process) },
    handWritten: { receive: mean(h1.receive, h2.receive), process: mean(h1.process, h2.process) },
    sameWork: { receive: mean(s1.receive, s2.receive), process: mean(s1.process, s2.process) },
    transaction,
  };
}

/** The mean of two measurements of the same number of events. */
function mean(a: CpuPerEvent, b: CpuPerEvent): CpuPerEvent {
  return {
    nodeUs: (a.nodeUs + b.nodeUs) / 2,
    postgresUs: a.postgresUs === null || b.postgresUs === null ? null : (a.postgresUs + b.postgresUs) / 2,
    perSecond: (a.perSecond + b.perSecond) / 2,
  };
}
