import { createPayable, type Payable, type QueueDriver, type StorageDriver, SystemClock } from '@payable/core';
import { KnexStorageDriver, migrate } from '@payable/storage-knex';
import { FakeProvider } from '@payable/testing';
import knex, { type Knex } from 'knex';

/** What the quickstart app is made of. */
export interface QuickstartApp {
  payable: Payable<{ fake: FakeProvider }>;
  fake: FakeProvider;
  db: Knex;
  close(): Promise<void>;
}

/** A Knex connection from DATABASE_URL (postgres://, mysql://) or a SQLite file (the default). */
export function connect(databaseUrl: string | undefined, sqliteFile: string): Knex {
  if (databaseUrl?.startsWith('postgres')) return knex({ client: 'pg', connection: databaseUrl });
  if (databaseUrl?.startsWith('mysql')) return knex({ client: 'mysql2', connection: databaseUrl });
  return knex({ client: 'better-sqlite3', connection: { filename: sqliteFile }, useNullAsDefault: true });
}

/**
 * Build the quickstart: the fake provider, storage in SQLite (or DATABASE_URL), the inline queue
 * (or BullMQ when REDIS_URL is set).
 */
export async function createApp(env: NodeJS.ProcessEnv = process.env): Promise<QuickstartApp> {
  const db = connect(env.DATABASE_URL, env.PAYABLE_SQLITE_FILE ?? '.data/payable.sqlite');
  await migrate(db);
  const clock = new SystemClock();
  const storage: StorageDriver = new KnexStorageDriver(db, clock);
  let queue: QueueDriver | undefined;
  if (env.REDIS_URL) {
    const { BullMQQueueDriver } = await import('@payable/queue-bullmq');
    queue = new BullMQQueueDriver({ connection: env.REDIS_URL });
  }
  const fake = new FakeProvider({ secret: env.FAKE_WEBHOOK_SECRET ?? 'whsec_quickstart_secret' });
  const payable = createPayable({ providers: { fake }, storage, clock, ...(queue ? { queue } : {}) });
  return {
    payable,
    fake,
    db,
    async close() {
      await payable.close();
      await storage.close();
    },
  };
}
