/**
 * A Payable worker process for the inbox benchmark: `createPayable({ worker: true })` on
 * PostgreSQL (KnexStorageDriver) and BullMQ, processing `webhook.process` jobs until told to stop.
 * argv[2]: JSON `{ tablePrefix, redisPrefix, concurrency }`.
 */
import { createPayable } from '@payable/core';
import { BullMQQueueDriver } from '@payable/queue-bullmq';
import { KnexStorageDriver } from '@payable/storage-knex';
import { FakeProvider } from '@payable/testing';
import knex from 'knex';
import { profileOnRequest } from './profiler.js';
import { ATTEMPTS, BACKOFF_MS, fromParent, PG_URL, POOL_MAX, REDIS_URL, tellParent, WEBHOOK_SECRET } from './shared.js';

const { tablePrefix, redisPrefix, concurrency } = JSON.parse(process.argv[2] ?? '{}') as {
  tablePrefix: string;
  redisPrefix: string;
  concurrency: number;
};

const db = knex({ client: 'pg', connection: PG_URL, pool: { min: 0, max: POOL_MAX } });
const payable = createPayable({
  providers: { fake: new FakeProvider({ secret: WEBHOOK_SECRET }) },
  storage: new KnexStorageDriver(db, undefined, { tablePrefix }),
  queue: new BullMQQueueDriver({
    connection: REDIS_URL,
    prefix: redisPrefix,
    concurrency,
    attempts: ATTEMPTS,
    backoff: { type: 'exponential', delayMs: BACKOFF_MS },
  }),
  worker: true,
});

profileOnRequest();
tellParent({ type: 'ready', pid: process.pid });
await fromParent('stop');
await payable.close();
await db.destroy().catch(() => undefined);
process.exit(0);
