/**
 * A hand-written worker process for the inbox benchmark: a BullMQ `Worker` whose job marks the
 * event row processed (variant `mark`), or claims it, upserts the payment and marks it processed in
 * one transaction (variant `apply`), or does in one transaction what Payable's worker does, in
 * Payable's tables (variant `same`, baseline-same.ts). argv[2]: JSON `{ tablePrefix, redisPrefix, concurrency, variant }`.
 */
import { Worker } from 'bullmq';
import pg from 'pg';
import { JOB_NAME, pgApplyAndMark, pgMarkProcessed } from './baseline-inbox.js';
import { sameApply } from './baseline-same.js';
import { profileOnRequest } from './profiler.js';
import { fromParent, PG_URL, POOL_MAX, REDIS_URL, tellParent } from './shared.js';

const { tablePrefix, redisPrefix, concurrency, variant } = JSON.parse(process.argv[2] ?? '{}') as {
  tablePrefix: string;
  redisPrefix: string;
  concurrency: number;
  variant: 'mark' | 'apply' | 'same';
};

const pool = new pg.Pool({ connectionString: PG_URL, max: POOL_MAX });
const run =
  variant === 'apply'
    ? pgApplyAndMark(pool, tablePrefix)
    : variant === 'same'
      ? sameApply(pool, tablePrefix)
      : pgMarkProcessed(pool, tablePrefix);
const url = new URL(REDIS_URL);
const worker = new Worker(
  JOB_NAME,
  async (job) => {
    await run((job.data as { id: string }).id);
  },
  {
    connection: { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null },
    prefix: redisPrefix,
    concurrency,
  },
);
await worker.waitUntilReady();

profileOnRequest();
tellParent({ type: 'ready', pid: process.pid });
await fromParent('stop');
await worker.close();
await pool.end();
process.exit(0);
