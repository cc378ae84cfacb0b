/**
 * One HTTP server of the adapter benchmark, in its own process: a framework (Express, Fastify,
 * Nest on Express), a side (Payable's adapter, the hand-written route, or a hand-written route
 * calling Payable's core) and a stack (SQLite with
 * inline processing, or PostgreSQL + BullMQ without a worker). Both sides answer
 * `POST /payable/webhooks/fake`.
 *
 * argv[2]: JSON {@link ServerOptions}. Sends `{ type: 'ready', port }`; on `{ type: 'stop' }` it
 * closes, counts what it stored, sends `{ type: 'stats', stored, processed }`, cleans up and exits.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createPayable, type Payable } from '@payable/core';
import { payableRouter } from '@payable/express';
import { payablePlugin } from '@payable/fastify';
import { PayableModule } from '@payable/nestjs';
import { BullMQQueueDriver } from '@payable/queue-bullmq';
import { KnexStorageDriver, migrate } from '@payable/storage-knex';
import { FakeProvider } from '@payable/testing';
import Database from 'better-sqlite3';
import { Queue } from 'bullmq';
import express from 'express';
import Fastify from 'fastify';
import knex, { type Knex } from 'knex';
import pg from 'pg';
import { createPgTables, JOB_NAME, pgReceiver, sqliteReceiver } from './baseline-inbox.js';
import { createPayableTables, sameReceiver, sqliteSameReceiver } from './baseline-same.js';
import { startCpuProfile } from './profiler.js';
import { mountExpressBaseline, mountFastifyBaseline, nestBaselineModule, type ReceiveFn } from './baseline-routes.js';
import {
  ATTEMPTS,
  BACKOFF_MS,
  deleteRedisPrefix,
  dropPgTables,
  fromParent,
  PG_URL,
  POOL_MAX,
  REDIS_URL,
  tellParent,
  uniqueTag,
  WEBHOOK_SECRET,
} from './shared.js';

export type Framework = 'express' | 'fastify' | 'nest';
/**
 * `payable`: Payable's adapter; `baseline`: the hand-written route and SQL; `same`: the hand-written
 * route doing the same durable work as Payable, in the tables `migrate()` creates (baseline-same.ts);
 * `core`: a hand-written route calling `payable.webhooks.receive`.
 */
export type Side = 'payable' | 'baseline' | 'same' | 'core';
export type Stack = 'sqlite' | 'pg';

export interface ServerOptions {
  framework: Framework;
  side: Side;
  stack: Stack;
}

/** The storage/queue behind one server, and how to count and clean up what it stored. */
interface Backend {
  payable?: Payable;
  receive?: ReceiveFn;
  /** Events stored, and events processed (inline processing only). */
  stats(): Promise<{ stored: number; processed: number }>;
  close(): Promise<void>;
}

async function countRows(db: Knex, table: string, where: Record<string, string> = {}): Promise<number> {
  const rows = (await db(table).where(where).count({ n: '*' })) as { n: string | number }[];
  return Number(rows[0]?.n ?? 0);
}

async function payableBackend(stack: Stack): Promise<Backend> {
  const fake = new FakeProvider({ secret: WEBHOOK_SECRET });
  if (stack === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'payable-bench-'));
    const db = knex({
      client: 'better-sqlite3',
      connection: { filename: join(dir, 'payable.db') },
      useNullAsDefault: true,
    });
    await migrate(db);
    // The default queue is the inline SyncQueueDriver: the event is processed in the request.
    const payable = createPayable({
      providers: { fake },
      storage: new KnexStorageDriver(db, undefined, { destroyOnClose: false }),
    });
    return {
      payable,
      stats: async () => ({
        stored: await countRows(db, 'payable_webhook_events'),
        processed: await countRows(db, 'payable_webhook_events', { status: 'processed' }),
      }),
      close: async () => {
        await payable.close();
        await db.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const tablePrefix = `${uniqueTag('ba')}_`;
  const redisPrefix = `bench-${tablePrefix.slice(0, -1)}`;
  const db = knex({ client: 'pg', connection: PG_URL, pool: { min: 0, max: POOL_MAX } });
  await migrate(db, { tablePrefix });
  const payable = createPayable({
    providers: { fake },
    storage: new KnexStorageDriver(db, undefined, { tablePrefix, destroyOnClose: false }),
    queue: new BullMQQueueDriver({
      connection: REDIS_URL,
      prefix: redisPrefix,
      attempts: ATTEMPTS,
      backoff: { type: 'exponential', delayMs: BACKOFF_MS },
    }),
    worker: false,
  });
  return {
    payable,
    stats: async () => ({ stored: await countRows(db, `${tablePrefix}webhook_events`), processed: 0 }),
    close: async () => {
      await payable.close();
      await db.destroy();
      await dropPgTables(tablePrefix);
      await deleteRedisPrefix(redisPrefix);
    },
  };
}

async function baselineBackend(stack: Stack, same: boolean): Promise<Backend> {
  if (stack === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'payable-bench-'));
    const file = join(dir, 'baseline.db');
    if (same) {
      // Payable's own tables (migrate() also sets the WAL journal), written by hand.
      await createPayableTables({ client: 'better-sqlite3', connection: { filename: file }, useNullAsDefault: true });
    }
    const db = new Database(file);
    // The journal mode Payable's migrate() sets on SQLite files: the comparison measures the code,
    // not the journal (with the default rollback journal the hand-written route is ~2.5× slower).
    db.pragma('journal_mode = WAL');
    const receive = same ? sqliteSameReceiver(db, WEBHOOK_SECRET) : sqliteReceiver(db, WEBHOOK_SECRET);
    const count = (sql: string) => Number((db.prepare(sql).get() as { n: number }).n);
    const events = same ? 'payable_webhook_events' : 'events';
    return {
      receive,
      stats: async () => ({
        stored: count(`SELECT count(*) AS n FROM ${events}`),
        processed: count(`SELECT count(*) AS n FROM ${events} WHERE status = 'processed'`),
      }),
      close: async () => {
        db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const tablePrefix = `${uniqueTag('bb')}_`;
  const redisPrefix = `bench-${tablePrefix.slice(0, -1)}`;
  const pool = new pg.Pool({ connectionString: PG_URL, max: POOL_MAX });
  if (same) {
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
  return {
    receive: (same ? sameReceiver : pgReceiver)(pool, queue, tablePrefix, WEBHOOK_SECRET),
    stats: async () => {
      const table = same ? `${tablePrefix}webhook_events` : `${tablePrefix}events`;
      const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
      return { stored: Number(rows[0]?.n ?? 0), processed: 0 };
    },
    close: async () => {
      await queue.close();
      await pool.end();
      await dropPgTables(tablePrefix);
      await deleteRedisPrefix(redisPrefix);
    },
  };
}

/** Start the server; resolves with its port and a function that stops it. */
async function serve(framework: Framework, backend: Backend): Promise<{ port: number; stop(): Promise<void> }> {
  const { payable, receive } = backend;
  if (framework === 'express') {
    const app = express();
    if (payable) app.use('/payable', payableRouter(payable));
    else mountExpressBaseline(app, receive as ReceiveFn);
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    return {
      port: (server.address() as AddressInfo).port,
      stop: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    };
  }
  if (framework === 'fastify') {
    const app = Fastify({ logger: false });
    if (payable) await app.register(payablePlugin, { payable, prefix: '/payable' });
    else await mountFastifyBaseline(app, receive as ReceiveFn);
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { port: (app.server.address() as AddressInfo).port, stop: () => app.close() };
  }
  let appModule: new () => object;
  if (payable) {
    class AppModule {}
    Module({ imports: [PayableModule.forRoot({ payable, prefix: '/payable' })] })(AppModule);
    appModule = AppModule;
  } else {
    appModule = nestBaselineModule(receive as ReceiveFn);
  }
  const app = await NestFactory.create(appModule, { rawBody: true, logger: false, forceCloseConnections: true });
  await app.listen(0, '127.0.0.1');
  return { port: (app.getHttpServer().address() as AddressInfo).port, stop: () => app.close() };
}

const options = JSON.parse(process.argv[2] ?? '{}') as ServerOptions;
let backend =
  options.side === 'baseline' || options.side === 'same'
    ? await baselineBackend(options.stack, options.side === 'same')
    : await payableBackend(options.stack);
if (options.side === 'core' && backend.payable) {
  const { payable } = backend;
  const receive: ReceiveFn = async (rawBody, headers) => {
    const { duplicate } = await payable.webhooks.receive({ provider: 'fake', rawBody, headers });
    return { duplicate };
  };
  backend = { receive, stats: backend.stats, close: backend.close };
}
const server = await serve(options.framework, backend);
// BENCH_PROFILE_DIR: profile this server from ready to stop (bench/profile-summary.ts reads the file).
const profileDir = process.env.BENCH_PROFILE_DIR;
const stopProfile = profileDir ? await startCpuProfile() : null;
tellParent({ type: 'ready', port: server.port });
await fromParent('stop');
await stopProfile?.(join(profileDir as string, `${options.framework}-${options.stack}-${options.side}.cpuprofile`));
await server.stop();
// Requests the load generator abandoned at the end may still be finishing.
await new Promise((resolve) => setTimeout(resolve, 300));
const stats = await backend.stats();
tellParent({ type: 'stats', ...stats });
await backend.close();
process.exit(0);
