import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createPayable, type StorageDriver } from '@payable/core';
import { BullMQQueueDriver } from '@payable/queue-bullmq';
import { KnexStorageDriver, migrate } from '@payable/storage-knex';
import { FakeProvider, waitFor } from '@payable/testing';
import { Redis } from 'ioredis';
import knex, { type Knex } from 'knex';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

// Several worker *processes* on one PostgreSQL and one Redis, as in production.
const PG_URL = process.env.PAYABLE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/payable_test';
const REDIS_URL = process.env.PAYABLE_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECRET = 'whsec_multi_process';
const workerScript = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));
const packageDir = fileURLToPath(new URL('..', import.meta.url));

interface Run {
  prefix: string;
  queuePrefix: string;
  db: Knex;
  storage: StorageDriver;
  workers: ChildProcess[];
}

async function ensureDatabase(): Promise<void> {
  const admin = knex({ client: 'pg', connection: PG_URL.replace(/\/[^/]+$/, '/postgres') });
  const exists = await admin.raw("SELECT 1 FROM pg_database WHERE datname = 'payable_test'");
  if (exists.rows.length === 0) await admin.raw('CREATE DATABASE payable_test');
  await admin.destroy();
}

async function newRun(): Promise<Run> {
  const id = `${process.pid}_${Date.now().toString(36)}`;
  const prefix = `mp${id}_`;
  const db = knex({ client: 'pg', connection: PG_URL, pool: { min: 1, max: 20 } });
  await migrate(db, { tablePrefix: prefix });
  await db.schema.createTable(`${prefix}handled`, (t) => {
    t.increments('seq');
    t.string('event_id').notNullable();
    t.string('worker').notNullable();
    t.string('phase').notNullable();
  });
  return {
    prefix,
    queuePrefix: `mpq${id}`,
    db,
    storage: new KnexStorageDriver(db, undefined, { tablePrefix: prefix, destroyOnClose: false }),
    workers: [],
  };
}

function startWorker(run: Run, name: string, extra: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', workerScript], {
    cwd: packageDir,
    env: {
      ...process.env,
      PG_URL,
      REDIS_URL,
      TABLE_PREFIX: run.prefix,
      QUEUE_PREFIX: run.queuePrefix,
      FAKE_SECRET: SECRET,
      WORKER_NAME: name,
      ...extra,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  run.workers.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker ${name} did not start: ${output}`)), 30_000);
    child.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stdout?.on('data', (c: Buffer) => {
      output += c.toString();
      if (output.includes('ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker ${name} exited ${code}: ${output}`));
    });
  });
}

/** The web role: receives and dispatches, runs no worker. */
function webPayable(run: Run) {
  const fake = new FakeProvider({ secret: SECRET });
  const queue = new BullMQQueueDriver({ connection: REDIS_URL, prefix: run.queuePrefix });
  const payable = createPayable({
    providers: { fake },
    storage: run.storage,
    queue,
    worker: false,
    webhooks: { sweepIntervalMs: 0 },
  });
  return { fake, payable };
}

async function stop(run: Run): Promise<void> {
  for (const w of run.workers) if (w.exitCode === null) w.kill('SIGKILL');
  for (const table of ['handled']) await run.db.schema.dropTableIfExists(`${run.prefix}${table}`);
  const tables = await run.db.raw('SELECT tablename FROM pg_tables WHERE tablename LIKE ?', [`${run.prefix}%`]);
  for (const row of tables.rows as { tablename: string }[]) await run.db.schema.dropTableIfExists(row.tablename);
  await run.db.destroy();
  // Leave the shared Redis as we found it.
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${run.queuePrefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
}

describe('several worker processes on one PostgreSQL and one Redis', () => {
  let run: Run;
  beforeAll(ensureDatabase);
  afterEach(async () => {
    if (run) await stop(run);
  });

  it('1,000 events, each delivered twice (some at once) – every event processed, state applied once, none left pending', async () => {
    run = await newRun();
    await Promise.all([startWorker(run, 'a'), startWorker(run, 'b')]);
    const { fake, payable } = webPayable(run);
    const deliveries = Array.from({ length: 1000 }, (_, i) =>
      fake.eventFor(
        'payment.succeeded',
        { providerId: `pay_ext_${i}`, status: 'succeeded', amount: 100 + i, currency: 'USD' },
        { id: `evt_mp_${i}` },
      ),
    );
    const receive = (d: (typeof deliveries)[number]) => payable.webhooks.receive({ provider: 'fake', ...d });
    // First delivery of all, 50 at a time; then the duplicates, every tenth one twice at the same moment.
    for (let i = 0; i < deliveries.length; i += 50) await Promise.all(deliveries.slice(i, i + 50).map(receive));
    const second = [];
    for (const [i, d] of deliveries.entries()) {
      second.push(receive(d));
      if (i % 10 === 0) second.push(receive(d));
      if (second.length >= 50) await Promise.all(second.splice(0));
    }
    await Promise.all(second);

    await waitFor(async () => (await run.storage.countWebhookEvents()).processed === 1000, 180_000, 250);
    const counts = await run.storage.countWebhookEvents();
    expect(counts).toEqual({ pending: 0, processing: 0, processed: 1000, failed: 0 });
    const payments = await run.db(`${run.prefix}payments`).count<{ n: string }[]>({ n: '*' });
    expect(Number(payments[0]?.n)).toBe(1000);
    const notSucceeded = await run
      .db(`${run.prefix}payments`)
      .whereNot('status', 'succeeded')
      .count<{ n: string }[]>({ n: '*' });
    expect(Number(notSucceeded[0]?.n)).toBe(0);
    // Applied exactly once per event: each payment got payment.created + payment.succeeded, no more.
    const outbox = await run.db(`${run.prefix}outbox`).count<{ n: string }[]>({ n: '*' });
    expect(Number(outbox[0]?.n)).toBe(2000);
    const handled = await run.db(`${run.prefix}handled`).where('phase', 'done').select('event_id');
    expect(handled).toHaveLength(1000);
    expect(new Set(handled.map((h: { event_id: string }) => h.event_id)).size).toBe(1000);
    const byWorker = await run
      .db(`${run.prefix}handled`)
      .where('phase', 'done')
      .groupBy('worker')
      .select('worker')
      .count({ n: '*' });
    expect(byWorker.length).toBe(2); // both processes did work
    await payable.close();
  }, 300_000);

  it('a worker killed with SIGKILL mid-processing – another worker processes the event after the lease; nothing lost, nothing applied twice', async () => {
    run = await newRun();
    const leaseEnv = { LEASE_MS: '2000' };
    const hanging = await startWorker(run, 'a', { ...leaseEnv, HANG_ON: 'evt_killed' });
    const { fake, payable } = webPayable(run);
    const delivery = fake.eventFor(
      'payment.succeeded',
      { providerId: 'pay_killed', status: 'succeeded', amount: 4200, currency: 'EUR' },
      { id: 'evt_killed' },
    );
    const { eventId } = await payable.webhooks.receive({ provider: 'fake', ...delivery });
    await waitFor(
      async () => (await run.db(`${run.prefix}handled`).where({ event_id: 'evt_killed', phase: 'start' })).length === 1,
      30_000,
    );
    expect((await run.storage.getWebhookEvent(eventId))?.status).toBe('processing');
    hanging.kill('SIGKILL');
    await startWorker(run, 'b', leaseEnv);
    await waitFor(async () => (await run.storage.getWebhookEvent(eventId))?.status === 'processed', 60_000, 200);
    const journal = await run
      .db(`${run.prefix}handled`)
      .where('event_id', 'evt_killed')
      .orderBy('seq')
      .select('worker', 'phase');
    expect(journal).toEqual([
      { worker: 'a', phase: 'start' },
      { worker: 'b', phase: 'start' },
      { worker: 'b', phase: 'done' },
    ]);
    const payment = await run.db(`${run.prefix}payments`).where('provider_id', 'pay_killed');
    expect(payment).toHaveLength(1);
    expect(payment[0]?.status).toBe('succeeded');
    const outbox = await run.db(`${run.prefix}outbox`).select('type');
    expect(outbox.map((o: { type: string }) => o.type).sort()).toEqual(['payment.created', 'payment.succeeded']);
    await payable.close();
  }, 120_000);
});
