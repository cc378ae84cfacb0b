import type { StorageDriver } from '@payable/core';
import { fixtureTime, makeOutboxMessage, makePayment, makeWebhookEvent, storageConformance } from '@payable/testing';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KnexStorageDriver, migrate, tableNames } from '../src/index.js';
import {
  allTableNames,
  allTargets,
  dropPrefixedTables,
  ensureDatabases,
  mysqlTarget,
  pgTarget,
  quiet,
  removeTempDir,
  sqliteFile,
  sqliteFileTarget,
  sqliteMemoryTarget,
  type Target,
  uniquePrefix,
} from './support/targets.js';

/**
 * The driver builds its hot statements (inbox, records, outbox) once and runs them with
 * `knex.raw`; a knex with a `wrapIdentifier` hook keeps the query builder, which applies the hook.
 * These tests cover what a user sees of both: the same guarantees (the conformance suite, whose
 * `forUpdate` tests also check the row locks), knex's `query` event and the SQLite write lock.
 */

/** Knex options with an identifier hook (identity), which sends the driver through the query builder. */
function withHook(onIdentifier: (value: string) => void = () => undefined): Partial<Knex.Config> {
  return {
    wrapIdentifier: (value: string, origImpl: (value: string) => string) => {
      onIdentifier(value);
      return origImpl(value);
    },
  };
}

beforeAll(async () => {
  await ensureDatabases();
});

afterAll(() => {
  removeTempDir();
});

describe.each([sqliteMemoryTarget(), pgTarget(), mysqlTarget()])(
  'KnexStorageDriver on $name with a knex wrapIdentifier hook (query builder)',
  (target) => {
    const prefix = uniquePrefix('qb');
    let shared: Promise<Knex> | null = null;

    async function makeDriver(): Promise<StorageDriver> {
      if (target.name === 'sqlite-memory') {
        const knex = target.connect(withHook());
        await migrate(knex, { tablePrefix: prefix });
        return new KnexStorageDriver(knex, undefined, { tablePrefix: prefix });
      }
      shared ??= (async () => {
        const knex = target.connect(withHook());
        await migrate(knex, { tablePrefix: prefix });
        return knex;
      })();
      const knex = await shared;
      for (const table of allTableNames(prefix)) await knex(table).del();
      return new KnexStorageDriver(knex, undefined, { tablePrefix: prefix, destroyOnClose: false });
    }

    afterAll(async () => {
      if (!shared) return;
      const knex = await shared;
      await dropPrefixedTables(knex, prefix);
      await knex.destroy();
    });

    storageConformance(`${target.name} (query builder)`, {
      makeDriver,
      extra: () => {
        it('wrapIdentifier – the hook sees the identifiers of the inbox, record and outbox statements', async () => {
          const seen = new Set<string>();
          const knex = target.connect(withHook((value) => seen.add(value)));
          const storage = new KnexStorageDriver(knex, undefined, { tablePrefix: prefix, destroyOnClose: false });
          const tables = tableNames(prefix);
          try {
            await migrate(knex, { tablePrefix: prefix }); // a new database on SQLite in memory; nothing to do elsewhere
            seen.clear();
            const event = makeWebhookEvent();
            await storage.transaction(async (tx) => {
              await tx.insertWebhookEvent(event);
              await tx.claimWebhookEvent(event.id, { owner: 'w', now: fixtureTime(0), until: fixtureTime(30) });
              await tx.insertRecord('payment', makePayment());
              await tx.appendOutbox([makeOutboxMessage()]);
              await tx.updateWebhookEvent(event.id, { status: 'processed' }, { owner: 'w' });
            });
            for (const name of [tables.webhookEvents, tables.records.payment, tables.outbox, 'locked_by']) {
              expect(seen).toContain(name);
            }
          } finally {
            await knex.destroy();
          }
        });
      },
    });
  },
);

describe.each(allTargets())('KnexStorageDriver on $name: statements', (target: Target) => {
  const prefix = uniquePrefix('hs');
  let knex: Knex;

  beforeAll(async () => {
    knex = target.connect();
    await migrate(knex, { tablePrefix: prefix });
  });

  afterAll(async () => {
    await dropPrefixedTables(knex, prefix);
    await knex.destroy();
  });

  it("query event – knex reports every statement of a webhook's processing, one event each", async () => {
    const storage = new KnexStorageDriver(knex, undefined, { tablePrefix: prefix, destroyOnClose: false });
    const event = makeWebhookEvent();
    await storage.insertWebhookEvent(event);
    const payment = makePayment();
    const statements: string[] = [];
    const onQuery = (query: { sql: string }): void => {
      statements.push(query.sql);
    };
    knex.on('query', onQuery);
    try {
      await storage.transaction(async (tx) => {
        const claimed = await tx.claimWebhookEvent(event.id, {
          owner: 'w',
          now: fixtureTime(0),
          until: fixtureTime(30),
        });
        expect(claimed).toMatchObject({ id: event.id, status: 'processing', lockedBy: 'w', attempts: 1 });
        expect(await tx.findRecord('payment', payment, { forUpdate: true })).toBeNull();
        expect(await tx.insertRecord('payment', payment)).toMatchObject({ inserted: true });
        expect(await tx.updateRecord('payment', { ...payment, status: 'succeeded' })).toBe(true);
        await tx.appendOutbox([makeOutboxMessage()]);
        expect(await tx.updateWebhookEvent(event.id, { status: 'processed' }, { owner: 'w' })).toBe(true);
      });
    } finally {
      knex.off('query', onQuery);
    }
    const tables = tableNames(prefix);
    const short = (sql: string): string => {
      const verb = sql.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
      const table = /(?:into|from|update)\s+[`"]?([a-z0-9_]+)/i.exec(sql)?.[1] ?? '';
      return `${verb} ${table.slice(prefix.length)}${/ for update$/i.test(sql) ? ' for update' : ''}`.trim();
    };
    const work = statements.map(short).filter((s) => !/^(begin|commit|start|set)\b/i.test(s));
    const claim =
      target.dialect === 'mysql' ? ['update webhook_events', 'select webhook_events'] : ['update webhook_events'];
    expect(work).toEqual([
      ...(target.dialect === 'sqlite' ? ['delete schema_version'] : []),
      ...claim,
      target.dialect === 'sqlite' ? 'select payments' : 'select payments for update',
      'insert payments',
      'update payments',
      'insert outbox',
      'update webhook_events',
    ]);
    expect(await storage.getRecord('payment', payment.id, null)).toMatchObject({ status: 'succeeded' });
    expect(await knex(tables.webhookEvents).where('id', event.id).first()).toMatchObject({ status: 'processed' });
  });
});

describe.each(allTargets())('KnexStorageDriver on $name: failed statements', (target: Target) => {
  it('query-error event – knex reports a failed statement of the driver, inside a transaction too', async () => {
    const prefix = uniquePrefix('qe');
    const knex = target.connect();
    await migrate(knex, { tablePrefix: prefix });
    const storage = new KnexStorageDriver(knex, undefined, { tablePrefix: prefix, destroyOnClose: false });
    const failed: string[] = [];
    const onError = (_error: unknown, query: { sql: string }): void => {
      failed.push(query.sql);
    };
    knex.on('query-error', onError);
    try {
      const message = makeOutboxMessage();
      await storage.appendOutbox([message]);
      await expect(storage.appendOutbox([message])).rejects.toMatchObject({ code: 'INTERNAL_ERROR' });
      await expect(storage.transaction((tx) => tx.appendOutbox([message]))).rejects.toMatchObject({
        code: 'INTERNAL_ERROR',
      });
      expect(failed).toHaveLength(2);
      for (const sql of failed) expect(sql).toMatch(new RegExp(`insert into .${tableNames(prefix).outbox}.`, 'i'));
    } finally {
      knex.off('query-error', onError);
      await dropPrefixedTables(knex, prefix);
      await knex.destroy();
    }
  });
});

describe.each([
  ['precompiled statements', {}],
  ['query builder', withHook()],
] as const)('KnexStorageDriver on a SQLite file (%s): the write lock', (_label, config) => {
  it('transaction – holds the write lock from its start: another connection cannot write (SQLITE_BUSY) until it ends, but can read', async () => {
    const file = sqliteFile();
    const first = sqliteFileTarget(file).connect({ ...config });
    await migrate(first);
    // A second connection that reports a locked database at once instead of waiting for it.
    const second = sqliteFileTarget(file).connect({
      ...quiet,
      pool: {
        min: 1,
        max: 1,
        afterCreate: (
          connection: { pragma: (sql: string) => unknown },
          done: (error: Error | null, connection: unknown) => void,
        ) => {
          connection.pragma('busy_timeout = 0');
          done(null, connection);
        },
      },
    });
    const storage = new KnexStorageDriver(first);
    const other = new KnexStorageDriver(second);
    const stored = makeWebhookEvent();
    await storage.insertWebhookEvent(stored);
    try {
      const blocked = makeWebhookEvent();
      await storage.transaction(async () => {
        // Nothing written in this transaction yet: the lock is taken when it begins.
        const error = await other.insertWebhookEvent(blocked).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
        expect((error as { cause?: { code?: unknown } }).cause?.code).toBe('SQLITE_BUSY');
        expect(await other.getWebhookEvent(stored.id)).toEqual(stored);
      });
      expect(await other.insertWebhookEvent(blocked)).toMatchObject({ inserted: true });
    } finally {
      await other.close();
      await storage.close();
    }
  });
});

describe('KnexStorageDriver on PostgreSQL: prepared statements', () => {
  const target = pgTarget();

  /** A knex with one connection, so `pg_prepared_statements` (per session) shows the driver's. */
  async function oneConnection(prefix: string): Promise<Knex> {
    const knex = target.connect({ pool: { min: 1, max: 1 } });
    await migrate(knex, { tablePrefix: prefix });
    return knex;
  }

  async function preparedNames(knex: Knex): Promise<string[]> {
    const { rows } = (await knex.raw('select name from pg_prepared_statements order by name')) as {
      rows: { name: string }[];
    };
    return rows.map((row) => row.name);
  }

  /** The webhook work of one event: insert, claim, apply a payment, append the outbox, mark processed. */
  async function processOne(storage: KnexStorageDriver): Promise<void> {
    const event = makeWebhookEvent();
    expect(await storage.insertWebhookEvent(event)).toMatchObject({ inserted: true });
    await storage.transaction(async (tx) => {
      expect(
        await tx.claimWebhookEvent(event.id, { owner: 'w', now: fixtureTime(0), until: fixtureTime(30) }),
      ).not.toBeNull();
      const payment = makePayment();
      expect(await tx.findRecord('payment', payment, { forUpdate: true })).toBeNull();
      expect(await tx.insertRecord('payment', payment)).toMatchObject({ inserted: true });
      await tx.appendOutbox([makeOutboxMessage()]);
      expect(await tx.updateWebhookEvent(event.id, { status: 'processed' }, { owner: 'w' })).toBe(true);
    });
    expect(await storage.getWebhookEvent(event.id)).toMatchObject({ status: 'processed' });
  }

  it('default – inserts and updates are prepared once per connection; reads keep working after a migration adds a column', async () => {
    const prefix = uniquePrefix('ps');
    const knex = await oneConnection(prefix);
    const storage = new KnexStorageDriver(knex, undefined, { tablePrefix: prefix, destroyOnClose: false });
    try {
      await processOne(storage);
      const names = await preparedNames(knex);
      // insert event, insert payment, insert outbox, update event: the reads (record selects, claim returning *) stay unnamed.
      expect(names.filter((name) => name.startsWith('payable_'))).toHaveLength(4);
      await processOne(storage);
      expect(await preparedNames(knex)).toEqual(names);
      // A later, additive migration: every statement of the driver still runs on the same connection.
      const tables = tableNames(prefix);
      for (const table of [tables.webhookEvents, tables.records.payment, tables.outbox]) {
        await knex.schema.alterTable(table, (t) => t.text('added_later').nullable());
      }
      await processOne(storage);
    } finally {
      await dropPrefixedTables(knex, prefix);
      await knex.destroy();
    }
  });

  it('preparedStatements: false – nothing is prepared on the server (for poolers that cannot keep prepared statements)', async () => {
    const prefix = uniquePrefix('pn');
    const knex = await oneConnection(prefix);
    const storage = new KnexStorageDriver(knex, undefined, {
      tablePrefix: prefix,
      destroyOnClose: false,
      preparedStatements: false,
    });
    try {
      await processOne(storage);
      expect(await preparedNames(knex)).toEqual([]);
    } finally {
      await dropPrefixedTables(knex, prefix);
      await knex.destroy();
    }
  });
});
