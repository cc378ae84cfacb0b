/**
 * Inbox throughput on PostgreSQL + BullMQ (issue 3), one side per process run:
 *
 * - `payable`: a web role `createPayable({ worker: false })` receives the signed events through
 *   `payable.webhooks.receive` (called directly, no HTTP: the HTTP layer is measured by the adapter
 *   benchmark), while worker processes (`worker: true`) process them.
 * - `baseline` / `baseline-apply`: the hand-written equivalent (baseline-inbox.ts), workers marking
 *   rows processed (or applying the payment and marking them processed).
 * - `baseline-same`: hand-written code that writes the rows Payable writes, into the tables
 *   `migrate()` creates (baseline-same.ts): the same durable work, without the library.
 *
 * argv[2]: JSON {@link InboxOptions}. Sends `{ type: 'result', result }` to the parent.
 */
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { createPayable, type Payable } from '@payable/core';
import { BullMQQueueDriver } from '@payable/queue-bullmq';
import { KnexStorageDriver, migrate } from '@payable/storage-knex';
import { FakeProvider } from '@payable/testing';
import { Queue } from 'bullmq';
import knex, { type Knex } from 'knex';
import pg from 'pg';
import { createPgTables, JOB_NAME, pgReceiver } from './baseline-inbox.js';
import { createPayableTables, sameReceiver } from './baseline-same.js';
import { type Delivery, makeDeliveries } from './events.js';
import { startCpuProfile } from './profiler.js';
import {
  ATTEMPTS,
  BACKOFF_MS,
  deleteRedisPrefix,
  dropPgTables,
  exited,
  forkBench,
  nextMessage,
  PG_URL,
  POOL_MAX,
  percentile,
  REDIS_URL,
  sleep,
  tellParent,
  uniqueTag,
  WEBHOOK_SECRET,
} from './shared.js';

export type InboxSide = 'payable' | 'baseline' | 'baseline-apply' | 'baseline-same';

export interface InboxOptions {
  side: InboxSide;
  /** Events measured. */
  events: number;
  /** Events received (and processed) before the measurement, to warm up every process. */
  warmup: number;
  /** Concurrent receive calls in the web role. */
  concurrency: number;
  /** Worker processes (0: receive only, nothing processed). */
  workers: number;
  /** BullMQ concurrency of each worker process. */
  workerConcurrency: number;
  /** Profile the measured phase of the web role and of each worker into this directory (`web.cpuprofile`, `worker-<i>.cpuprofile`). */
  profileDir?: string;
  /** Give up waiting for processing after this long. */
  timeoutMs: number;
}

export interface InboxResult {
  side: InboxSide;
  events: number;
  concurrency: number;
  workers: number;
  workerConcurrency: number;
  receiveSeconds: number;
  processSeconds: number;
  receivedPerSecond: number;
  processedPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  processed: number;
  notProcessed: number;
  /** Rounds combined into this result (see {@link combineInbox}). */
  rounds: number;
  /** Every receive latency in ms, sorted (dropped before results are stored). */
  latencies?: number[];
}

/**
 * Combine rounds of one side: rates over the summed times, percentiles over every latency.
 *
 * @example
 * ```ts
 * const result = combineInbox([round1, round2]);
 * ```
 */
export function combineInbox(rounds: readonly InboxResult[]): InboxResult {
  const first = rounds[0];
  if (!first) throw new Error('no rounds');
  const sum = (f: (r: InboxResult) => number) => rounds.reduce((a, r) => a + f(r), 0);
  const latencies = rounds.flatMap((r) => r.latencies ?? []).sort((a, b) => a - b);
  const events = sum((r) => r.events);
  const errors = sum((r) => r.errors);
  const processed = sum((r) => r.processed);
  const receiveSeconds = sum((r) => r.receiveSeconds);
  const processSeconds = sum((r) => r.processSeconds);
  return {
    ...first,
    events,
    receiveSeconds,
    processSeconds,
    receivedPerSecond: (events - errors) / receiveSeconds,
    processedPerSecond: processed / processSeconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    errors,
    processed,
    notProcessed: sum((r) => r.notProcessed),
    rounds: rounds.length,
  };
}

interface WebRole {
  receive(delivery: Delivery): Promise<unknown>;
  /** Rows in the inbox table with status 'processed'. */
  processedCount(): Promise<number>;
  close(): Promise<void>;
}

async function payableWebRole(tablePrefix: string, redisPrefix: string): Promise<WebRole> {
  const db: Knex = knex({ client: 'pg', connection: PG_URL, pool: { min: 0, max: POOL_MAX } });
  await migrate(db, { tablePrefix });
  const payable: Payable = createPayable({
    providers: { fake: new FakeProvider({ secret: WEBHOOK_SECRET }) },
    storage: new KnexStorageDriver(db, undefined, { tablePrefix, destroyOnClose: false }),
    queue: new BullMQQueueDriver({
      connection: REDIS_URL,
      prefix: redisPrefix,
      attempts: ATTEMPTS,
      backoff: { type: 'exponential', delayMs: BACKOFF_MS },
    }),
    worker: false,
  });
  const table = `${tablePrefix}webhook_events`;
  return {
    receive: (d) => payable.webhooks.receive({ provider: 'fake', rawBody: d.rawBody, headers: d.headers }),
    processedCount: async () => {
      const rows = (await db(table).where('status', 'processed').count({ n: '*' })) as { n: string | number }[];
      return Number(rows[0]?.n ?? 0);
    },
    close: async () => {
      await payable.close();
      await db.destroy();
    },
  };
}

async function baselineWebRole(tablePrefix: string, redisPrefix: string, same: boolean): Promise<WebRole> {
  const pool = new pg.Pool({ connectionString: PG_URL, max: POOL_MAX });
  if (same) {
    // Payable's own tables, so that both sides write the same rows into the same indexes.
    await createPayableTables({ client: 'pg', connection: PG_URL }, tablePrefix);
  } else {
    await createPgTables(pool, tablePrefix);
  }
  const url = new URL(REDIS_URL);
  const queue = new Queue(JOB_NAME, {
    connection: { host: url.hostname, port: Number(url.port || 6379) },
    prefix: redisPrefix,
  });
  await queue.waitUntilReady();
  const receive = (same ? sameReceiver : pgReceiver)(pool, queue, tablePrefix, WEBHOOK_SECRET);
  const table = same ? `${tablePrefix}webhook_events` : `${tablePrefix}events`;
  return {
    receive: (d) => receive(Buffer.from(d.rawBody, 'utf8'), d.headers),
    processedCount: async () => {
      const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE status = 'processed'`);
      return Number(rows[0]?.n ?? 0);
    },
    close: async () => {
      await queue.close();
      await pool.end();
    },
  };
}

/** Receive `deliveries` with `concurrency` calls in flight; returns each call's latency in ms and the error count. */
async function receiveAll(
  web: WebRole,
  deliveries: readonly Delivery[],
  concurrency: number,
): Promise<{ latencies: number[]; errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const lane = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      const d = deliveries[i];
      if (d === undefined) return;
      const start = performance.now();
      try {
        await web.receive(d);
        latencies.push(performance.now() - start);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { latencies, errors };
}

async function waitProcessed(web: WebRole, target: number, deadline: number): Promise<number> {
  for (;;) {
    const n = await web.processedCount();
    if (n >= target || performance.now() > deadline) return n;
    await sleep(25);
  }
}

/** One inbox measurement; cleans up its tables and Redis keys. */
export async function runInbox(options: InboxOptions): Promise<InboxResult> {
  const tablePrefix = `${uniqueTag('bi')}_`;
  const redisPrefix = `bench-${tablePrefix.slice(0, -1)}`;
  const isPayable = options.side === 'payable';
  const workers: ReturnType<typeof forkBench>[] = [];
  let web: WebRole | null = null;
  try {
    web = isPayable
      ? await payableWebRole(tablePrefix, redisPrefix)
      : await baselineWebRole(tablePrefix, redisPrefix, options.side === 'baseline-same');
    for (let i = 0; i < options.workers; i++) {
      const args = {
        tablePrefix,
        redisPrefix,
        concurrency: options.workerConcurrency,
        variant: options.side === 'baseline-apply' ? 'apply' : options.side === 'baseline-same' ? 'same' : 'mark',
      };
      workers.push(forkBench(isPayable ? './worker-payable.ts' : './worker-baseline.ts', [JSON.stringify(args)]));
    }
    await Promise.all(workers.map((w) => nextMessage(w, 'ready')));

    const tag = tablePrefix.slice(0, -1);
    // Warm up every process (JIT, pools, connections), then measure.
    const warm = makeDeliveries(options.warmup, `${tag}w`);
    await receiveAll(web, warm, options.concurrency);
    if (options.workers > 0) await waitProcessed(web, options.warmup, performance.now() + options.timeoutMs);
    await sleep(500);

    const deliveries = makeDeliveries(options.events, tag);
    let stopProfile: ((file: string) => Promise<void>) | null = null;
    if (options.profileDir) {
      const acks = workers.map((w) => nextMessage(w, 'profile-started'));
      for (const w of workers) w.send({ type: 'profile-start' });
      await Promise.all(acks);
      stopProfile = await startCpuProfile();
    }
    const started = performance.now();
    const { latencies, errors } = await receiveAll(web, deliveries, options.concurrency);
    const received = performance.now();
    const total = options.warmup + options.events;
    // Without workers (receive only) nothing is processed: the processing figures stay 0.
    const processed =
      options.workers > 0 ? (await waitProcessed(web, total, received + options.timeoutMs)) - options.warmup : 0;
    const done = performance.now();
    if (options.profileDir && stopProfile) {
      const dir = options.profileDir;
      await stopProfile(join(dir, 'web.cpuprofile'));
      const written = workers.map((w) => nextMessage(w, 'profile-done'));
      for (const [i, w] of workers.entries())
        w.send({ type: 'profile-stop', file: join(dir, `worker-${i}.cpuprofile`) });
      await Promise.all(written);
    }

    latencies.sort((a, b) => a - b);
    const receiveSeconds = (received - started) / 1000;
    const processSeconds = (done - started) / 1000;
    return {
      side: options.side,
      events: options.events,
      concurrency: options.concurrency,
      workers: options.workers,
      workerConcurrency: options.workerConcurrency,
      receiveSeconds,
      processSeconds,
      receivedPerSecond: (options.events - errors) / receiveSeconds,
      processedPerSecond: processed / processSeconds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      errors,
      processed,
      notProcessed: options.workers > 0 ? options.events - processed : 0,
      rounds: 1,
      latencies,
    };
  } finally {
    for (const w of workers) if (w.connected) w.send({ type: 'stop' });
    await Promise.all(workers.map((w) => exited(w)));
    await web?.close().catch(() => undefined);
    await dropPgTables(tablePrefix);
    await deleteRedisPrefix(redisPrefix);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const options = JSON.parse(process.argv[2] ?? '{}') as InboxOptions;
  runInbox(options).then(
    (result) => {
      tellParent({ type: 'result', result });
      process.exit(0);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
