import { newId, type StorageDriver } from '@payable/core';
import {
  fixtureTime,
  makeDelivery,
  makeEndpoint,
  makeOutboxMessage,
  makePayment,
  makeWebhookEvent,
  storageConformance,
} from '@payable/testing';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KnexStorageDriver, migrate, tableNames } from '../src/index.js';
import {
  allTargets,
  ensureDatabases,
  mysqlTarget,
  pgTarget,
  quiet,
  removeTempDir,
  sqliteFile,
  sqliteFileTarget,
  type Target,
  uniquePrefix,
  unreachableTargets,
  allTableNames,
  dropPrefixedTables,
} from './support/targets.js';

const UNAVAILABLE = { code: 'STORAGE_UNAVAILABLE', httpStatus: 503 };

/** Empties every Payable table (not the schema version): one statement on PostgreSQL, deletes elsewhere. */
async function clearTables(knex: Knex, target: Target, prefix: string): Promise<void> {
  const tables = allTableNames(prefix);
  if (target.dialect === 'pg') {
    await knex.raw(`truncate ${tables.map(() => '??').join(', ')}`, tables);
    return;
  }
  for (const table of tables) await knex(table).del();
}

beforeAll(async () => {
  await ensureDatabases();
});

afterAll(() => {
  removeTempDir();
});

describe.each(allTargets())('KnexStorageDriver on $name', (target) => {
  const prefix = uniquePrefix('cf');
  /** The shared connection of targets that keep one database for the whole file (all but SQLite in-memory). */
  let shared: Promise<Knex> | null = null;
  /** The knex instance of the current test's driver: the raw reader of the extra tests. */
  let raw: Knex | null = null;
  const rawKnex = (): Knex => {
    if (!raw) throw new Error('no driver yet');
    return raw;
  };

  async function makeDriver(): Promise<StorageDriver> {
    if (target.name === 'sqlite-memory') {
      // A new in-memory database per test: migrate it, and let close() destroy it.
      const knex = target.connect();
      await migrate(knex, { tablePrefix: prefix });
      raw = knex;
      return new KnexStorageDriver(knex, undefined, { tablePrefix: prefix });
    }
    shared ??= (async () => {
      const knex = target.connect();
      await migrate(knex, { tablePrefix: prefix });
      return knex;
    })();
    const knex = await shared;
    await clearTables(knex, target, prefix);
    raw = knex;
    return new KnexStorageDriver(knex, undefined, { tablePrefix: prefix, destroyOnClose: false });
  }

  afterAll(async () => {
    if (!shared) return;
    const knex = await shared;
    await dropPrefixedTables(knex, prefix);
    await knex.destroy();
  });

  storageConformance(target.name, {
    makeDriver,
    extra: (getDriver) => {
      it(`name – is knex:${target.dialect}`, () => {
        expect(getDriver().name).toBe(`knex:${target.dialect}`);
      });

      it('insertRecord – the row keeps the tenant in tenant_key and times as epoch milliseconds', async () => {
        const storage = getDriver();
        const payment = makePayment({
          tenantId: 'tenant-a',
          createdAt: fixtureTime(0.001),
          updatedAt: fixtureTime(2.999),
        });
        const single = makePayment();
        await storage.insertRecord('payment', payment);
        await storage.insertRecord('payment', single);
        const table = tableNames(prefix).records.payment;
        const rows: Record<string, unknown>[] = await rawKnex()(table).select('*').orderBy('tenant_key', 'desc');
        expect(rows.map((row) => [row.id, row.tenant_id, row.tenant_key])).toEqual([
          [payment.id, 'tenant-a', 'tenant-a'],
          [single.id, null, ''],
        ]);
        expect(Number(rows[0]?.created_at)).toBe(fixtureTime(0.001).getTime());
        expect(Number(rows[0]?.updated_at)).toBe(fixtureTime(2.999).getTime());
        expect(Number(rows[0]?.amount)).toBe(payment.amount);
        expect(rows[0]?.status).toBe('pending');
        expect(JSON.parse(String(rows[0]?.data))).toMatchObject({ id: payment.id, providerId: payment.providerId });
      });

      it('insertRecord – metadata values that look like dates stay strings', async () => {
        const storage = getDriver();
        const payment = makePayment({ metadata: { createdAt: '2024-01-02T03:04:05.678Z', expiresAt: 'tomorrow' } });
        await storage.insertRecord('payment', payment);
        const stored = await storage.getRecord('payment', payment.id, null);
        expect(stored?.metadata).toEqual({ createdAt: '2024-01-02T03:04:05.678Z', expiresAt: 'tomorrow' });
      });

      it('insertRecord – an empty tenant id and an over-long provider id are VALIDATION_ERROR, not a database error', async () => {
        const storage = getDriver();
        await expect(storage.insertRecord('payment', makePayment({ tenantId: '' }))).rejects.toMatchObject({
          code: 'VALIDATION_ERROR',
        });
        await expect(
          storage.insertRecord('payment', makePayment({ providerId: 'x'.repeat(256) })),
        ).rejects.toMatchObject({
          code: 'VALIDATION_ERROR',
          context: { field: 'providerId' },
        });
      });

      it('L402 – root keys and spent hashes land in their tables with tenant_key and epoch milliseconds', async () => {
        const storage = getDriver();
        const id = 'ab'.repeat(32);
        const paymentHash = 'cd'.repeat(32);
        await storage.putL402RootKey({
          id,
          tenantId: 'tenant-a',
          rootKey: 'v1.key.ciphertext',
          createdAt: fixtureTime(0.001),
          expiresAt: fixtureTime(3600),
        });
        await storage.insertL402SpentToken({ tenantId: null, paymentHash, spentAt: fixtureTime(1.5) });
        const tables = tableNames(prefix);
        const keys: Record<string, unknown>[] = await rawKnex()(tables.l402RootKeys).select('*');
        expect(
          keys.map((row) => [row.id, row.tenant_id, row.root_key, Number(row.created_at), Number(row.expires_at)]),
        ).toEqual([[id, 'tenant-a', 'v1.key.ciphertext', fixtureTime(0.001).getTime(), fixtureTime(3600).getTime()]]);
        const spent: Record<string, unknown>[] = await rawKnex()(tables.l402SpentTokens).select('*');
        expect(spent.map((row) => [row.tenant_id, row.tenant_key, row.payment_hash, Number(row.spent_at)])).toEqual([
          [null, '', paymentHash, fixtureTime(1.5).getTime()],
        ]);
      });

      it('L402 – a payment hash or root key id that is not 64 lowercase hex is VALIDATION_ERROR', async () => {
        const storage = getDriver();
        await expect(
          storage.insertL402SpentToken({ tenantId: null, paymentHash: 'AB'.repeat(32), spentAt: fixtureTime(0) }),
        ).rejects.toMatchObject({ code: 'VALIDATION_ERROR', context: { field: 'paymentHash' } });
        await expect(
          storage.putL402RootKey({ id: 'x', tenantId: null, rootKey: 'k', createdAt: fixtureTime(0), expiresAt: null }),
        ).rejects.toMatchObject({ code: 'VALIDATION_ERROR', context: { field: 'id' } });
      });

      it('acquireLock – a lock name longer than its column works (stored by digest)', async () => {
        const storage = getDriver();
        const name = `object:tenant-a:fake:payment:${'p'.repeat(300)}`;
        const lease = (owner: string) => ({ owner, now: fixtureTime(0), until: fixtureTime(30) });
        expect(await storage.acquireLock(name, lease('worker-1'))).toBe(true);
        expect(await storage.acquireLock(name, lease('worker-2'))).toBe(false);
        expect(await storage.acquireLock(`${name}-other`, lease('worker-2'))).toBe(true);
        await storage.releaseLock(name, 'worker-1');
        expect(await storage.acquireLock(name, lease('worker-2'))).toBe(true);
      });

      if (target.dialect !== 'sqlite') {
        it('claimOutbox – skips a row another transaction holds locked instead of waiting for it (SKIP LOCKED)', async () => {
          const storage = getDriver();
          const held = makeOutboxMessage();
          const free = makeOutboxMessage();
          await storage.appendOutbox([held, free]);
          const table = tableNames(prefix).outbox;
          const trx = await rawKnex().transaction();
          try {
            await trx(table).select('id').where('id', held.id).forUpdate();
            const started = Date.now();
            const claimed = await storage.claimOutbox(
              { owner: 'relay-1', now: fixtureTime(0), until: fixtureTime(30) },
              10,
            );
            expect(claimed.map((message) => message.id)).toEqual([free.id]);
            expect(Date.now() - started).toBeLessThan(5000);
          } finally {
            await trx.rollback();
          }
          const later = await storage.claimOutbox(
            { owner: 'relay-2', now: fixtureTime(1), until: fixtureTime(31) },
            10,
          );
          expect(later.map((message) => message.id)).toEqual([held.id]);
        });
      }

      it('outbound webhooks – endpoints keep events as JSON text, deliveries tenant_key and epoch milliseconds', async () => {
        const storage = getDriver();
        const endpoint = makeEndpoint({ tenantId: 'tenant-a', events: ['payment.*', 'refund.succeeded'] });
        await storage.insertEndpoint(endpoint);
        const delivery = makeDelivery({ endpointId: endpoint.id, nextAttemptAt: fixtureTime(1.5) });
        await storage.insertDeliveries([delivery]);
        const tables = tableNames(prefix);
        const endpoints: Record<string, unknown>[] = await rawKnex()(tables.endpoints).select('*');
        expect(endpoints.map((row) => [row.id, row.tenant_key, JSON.parse(String(row.events))])).toEqual([
          [endpoint.id, 'tenant-a', ['payment.*', 'refund.succeeded']],
        ]);
        const deliveries: Record<string, unknown>[] = await rawKnex()(tables.deliveries).select('*');
        expect(
          deliveries.map((row) => [row.endpoint_id, row.event_id, row.tenant_key, Number(row.next_attempt_at)]),
        ).toEqual([[endpoint.id, delivery.eventId, '', fixtureTime(1.5).getTime()]]);
      });

      it('insertDeliveries – a value longer than its column is VALIDATION_ERROR and nothing of the batch is stored', async () => {
        const storage = getDriver();
        const fine = makeDelivery();
        const long = makeDelivery({ eventId: `evt_${'x'.repeat(300)}` });
        await expect(storage.insertDeliveries([fine, long])).rejects.toMatchObject({
          code: 'VALIDATION_ERROR',
          context: { field: 'eventId' },
        });
        await expect(storage.insertDeliveries([makeDelivery({ eventType: 't'.repeat(129) })])).rejects.toMatchObject({
          code: 'VALIDATION_ERROR',
          context: { field: 'eventType' },
        });
        expect(await storage.getDelivery(fine.id)).toBeNull();
        expect(Number((await rawKnex()(tableNames(prefix).deliveries).count({ n: '*' }).first())?.n)).toBe(0);
      });

      it('claimOutbox and claimDeliveries – rounds of concurrent claimers over deleted rows neither deadlock nor share a row', async () => {
        // MySQL/MariaDB under REPEATABLE READ locked every scanned row (deleted ones too) and the gaps
        // between them, so concurrent claimers deadlocked once earlier rounds left deleted rows behind.
        const storage = getDriver();
        const tables = tableNames(prefix);
        for (let round = 0; round < 6; round++) {
          await storage.appendOutbox(Array.from({ length: 30 }, () => makeOutboxMessage()));
          await storage.insertDeliveries(Array.from({ length: 30 }, () => makeDelivery()));
          const at = (i: number) => ({ owner: `relay-${i}`, now: fixtureTime(round), until: fixtureTime(round + 30) });
          const [messages, deliveries] = await Promise.all([
            Promise.all([0, 1, 2, 3].map((i) => storage.claimOutbox(at(i), 10))),
            Promise.all([0, 1, 2, 3].map((i) => storage.claimDeliveries(at(i), 10))),
          ]);
          for (const claimed of [messages.flat(), deliveries.flat()]) {
            expect(claimed.length).toBeGreaterThan(0);
            expect(new Set(claimed.map((row) => row.id)).size).toBe(claimed.length);
          }
          await rawKnex()(tables.outbox).del();
          await rawKnex()(tables.deliveries).del();
        }
      });

      if (target.dialect !== 'sqlite') {
        it('claimDeliveries – skips a row another transaction holds locked instead of waiting for it (SKIP LOCKED)', async () => {
          const storage = getDriver();
          const held = makeDelivery({ nextAttemptAt: fixtureTime(-1) });
          const free = makeDelivery();
          await storage.insertDeliveries([held, free]);
          const trx = await rawKnex().transaction();
          try {
            await trx(tableNames(prefix).deliveries).select('id').where('id', held.id).forUpdate();
            const claimed = await storage.claimDeliveries(
              { owner: 'relay-1', now: fixtureTime(0), until: fixtureTime(30) },
              10,
            );
            expect(claimed.map((delivery) => delivery.id)).toEqual([free.id]);
          } finally {
            await trx.rollback();
          }
          const later = await storage.claimDeliveries(
            { owner: 'relay-2', now: fixtureTime(1), until: fixtureTime(31) },
            10,
          );
          expect(later.map((delivery) => delivery.id)).toEqual([held.id]);
        });
      }

      it('transaction – a database error inside fn reaches the caller as a Payable error and rolls back', async () => {
        const storage = getDriver();
        const payment = makePayment();
        await storage.insertRecord('payment', payment);
        const message = makeOutboxMessage();
        const outcome = storage.transaction(async (tx) => {
          await tx.appendOutbox([message]);
          await tx.appendOutbox([message]); // the same id again
        });
        await expect(outcome).rejects.toMatchObject({ code: 'INTERNAL_ERROR' });
        expect(await storage.getOutboxMessage(message.id)).toBeNull();
      });

      it('getWebhookEvent – missing tables are STORAGE_UNAVAILABLE naming migrate', async () => {
        const storage = new KnexStorageDriver(rawKnex(), undefined, {
          tablePrefix: 'never_migrated_',
          destroyOnClose: false,
        });
        await expect(storage.getWebhookEvent(newId('evt'))).rejects.toMatchObject({
          ...UNAVAILABLE,
          context: { hint: 'migrate' },
        });
        await expect(storage.insertWebhookEvent(makeWebhookEvent())).rejects.toMatchObject(UNAVAILABLE);
        await expect(
          storage.claimOutbox({ owner: 'relay', now: fixtureTime(0), until: fixtureTime(30) }, 10),
        ).rejects.toMatchObject(UNAVAILABLE);
      });
    },
  });
});

describe('KnexStorageDriver when the database is down', () => {
  const down: [string, () => Knex][] = [
    ...unreachableTargets(),
    [
      'sqlite',
      () =>
        sqliteFileTarget('/nonexistent-dir/payable/db.sqlite').connect({ acquireConnectionTimeout: 1000, ...quiet }),
    ],
  ];

  it.each(down)(
    'every operation – %s that cannot be reached rejects with STORAGE_UNAVAILABLE, keeping the cause',
    async (_name, connect) => {
      const storage = new KnexStorageDriver(connect());
      try {
        await expect(storage.ping()).rejects.toMatchObject(UNAVAILABLE);
        const error = await storage.insertWebhookEvent(makeWebhookEvent()).catch((e: unknown) => e);
        expect(error).toMatchObject(UNAVAILABLE);
        expect((error as Error).cause).toBeDefined();
        await expect(storage.getRecord('payment', newId('pay'), null)).rejects.toMatchObject(UNAVAILABLE);
        await expect(
          storage.claimOutbox({ owner: 'relay', now: fixtureTime(0), until: fixtureTime(30) }, 10),
        ).rejects.toMatchObject(UNAVAILABLE);
        await expect(storage.transaction(async () => 1)).rejects.toMatchObject(UNAVAILABLE);
      } finally {
        await storage.close();
      }
    },
  );

  it('every operation – a pool that times out acquiring a connection rejects with STORAGE_UNAVAILABLE', async () => {
    // One connection, held by an open transaction: the next call cannot get one within 300 ms.
    const knex = sqliteFileTarget(sqliteFile()).connect({ acquireConnectionTimeout: 300, ...quiet });
    await migrate(knex);
    const storage = new KnexStorageDriver(knex);
    const trx = await knex.transaction();
    try {
      await expect(storage.getWebhookEvent(newId('evt'))).rejects.toMatchObject(UNAVAILABLE);
    } finally {
      await trx.rollback();
      await storage.close();
    }
  });
});

describe.each([
  { target: pgTarget(), kill: 'select pg_terminate_backend(?)', self: 'select pg_backend_pid() as id' },
  { target: mysqlTarget(), kill: 'kill ?', self: 'select connection_id() as id' },
])('KnexStorageDriver on $target.name when its connection is dropped', ({ target, kill, self }) => {
  const prefix = uniquePrefix('dr');
  let admin: Knex;

  beforeAll(async () => {
    admin = target.connect({ pool: { min: 0, max: 1 } });
    await migrate(admin, { tablePrefix: prefix });
  });

  afterAll(async () => {
    await dropPrefixedTables(admin, prefix);
    await admin.destroy();
  });

  async function connectionId(knex: Knex): Promise<number> {
    const result = (await knex.raw(self)) as { rows?: { id: unknown }[] } | [{ id: unknown }[]];
    const rows = Array.isArray(result) ? result[0] : result.rows;
    return Number(rows?.[0]?.id);
  }

  it('the next call after the server ends an idle connection succeeds on a new one or is STORAGE_UNAVAILABLE', async () => {
    const knex = target.connect({ pool: { min: 1, max: 1 }, ...quiet });
    const storage = new KnexStorageDriver(knex, undefined, { tablePrefix: prefix });
    try {
      const event = makeWebhookEvent();
      await storage.insertWebhookEvent(event);
      await admin.raw(kill, [await connectionId(knex)]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const outcome = await storage.getWebhookEvent(event.id).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      if ('error' in outcome) expect(outcome.error).toMatchObject(UNAVAILABLE);
      else expect(outcome.value).toEqual(event);
      // Either way the driver recovers on a fresh connection.
      expect(await storage.getWebhookEvent(event.id)).toEqual(event);
    } finally {
      await storage.close();
    }
  });

  it('a transaction whose connection is killed mid-way rejects with STORAGE_UNAVAILABLE and stores nothing', async () => {
    const knex = target.connect({ pool: { min: 1, max: 1 }, ...quiet });
    const storage = new KnexStorageDriver(knex, undefined, { tablePrefix: prefix });
    try {
      const id = await connectionId(knex);
      const payment = makePayment();
      const outcome = storage.transaction(async (tx) => {
        await tx.insertRecord('payment', payment);
        await admin.raw(kill, [id]);
        await new Promise((resolve) => setTimeout(resolve, 100));
        await tx.appendOutbox([makeOutboxMessage()]);
      });
      await expect(outcome).rejects.toMatchObject(UNAVAILABLE);
      expect(await storage.getRecord('payment', payment.id, null)).toBeNull();
    } finally {
      await storage.close();
    }
  });
});

describe.each(allTargets())('KnexStorageDriver on $name: transactions in transactions', (target: Target) => {
  const prefix = uniquePrefix('nt');
  let knex: Knex;
  let storage: KnexStorageDriver;

  beforeAll(async () => {
    await ensureDatabases();
    knex = target.connect();
    await migrate(knex, { tablePrefix: prefix });
    storage = new KnexStorageDriver(knex, undefined, { tablePrefix: prefix, destroyOnClose: false });
  });

  afterAll(async () => {
    await dropPrefixedTables(knex, prefix);
    await knex.destroy();
  });

  it("a transaction on tx runs in a savepoint: its throw undoes only its own writes, the outer one's commit", async () => {
    const outer = makeWebhookEvent();
    const kept = makeWebhookEvent();
    const undone = makeWebhookEvent();
    await storage.transaction(async (tx) => {
      await tx.insertWebhookEvent(outer);
      const session = tx as KnexStorageDriver;
      expect(
        await session.transaction(async (nested) => {
          await nested.insertWebhookEvent(kept);
          return 'inner value';
        }),
      ).toBe('inner value');
      await expect(
        session.transaction(async (nested) => {
          await nested.insertWebhookEvent(undone);
          throw new Error('inner failure');
        }),
      ).rejects.toThrow('inner failure');
      // The outer transaction goes on after the inner one rolled back.
      expect(await tx.getWebhookEvent(kept.id)).toMatchObject({ id: kept.id });
    });
    expect(await storage.getWebhookEvent(outer.id)).toMatchObject({ id: outer.id });
    expect(await storage.getWebhookEvent(kept.id)).toMatchObject({ id: kept.id });
    expect(await storage.getWebhookEvent(undone.id)).toBeNull();
  });

  it("a driver made on a knex transaction runs its transactions inside it: that transaction's rollback undoes them", async () => {
    const trx = await knex.transaction();
    const event = makeWebhookEvent();
    try {
      const inside = new KnexStorageDriver(trx, undefined, { tablePrefix: prefix, destroyOnClose: false });
      await inside.transaction((tx) => tx.insertWebhookEvent(event));
      expect(await inside.getWebhookEvent(event.id)).toMatchObject({ id: event.id });
    } finally {
      await trx.rollback();
    }
    expect(await storage.getWebhookEvent(event.id)).toBeNull();
  });

  it("knex's query event shows each transaction's BEGIN and its COMMIT, or its ROLLBACK when the callback throws", async () => {
    const statements: string[] = [];
    const onQuery = (query: { sql: string }): void => {
      statements.push(query.sql.trim().toLowerCase());
    };
    knex.on('query', onQuery);
    try {
      await storage.transaction((tx) => tx.insertWebhookEvent(makeWebhookEvent()));
      expect(statements[0]).toMatch(/^begin/);
      expect(statements.at(-1)).toMatch(/^commit/);
      statements.length = 0;
      const boom = new Error('callback failure');
      await expect(
        storage.transaction(async (tx) => {
          await tx.insertWebhookEvent(makeWebhookEvent());
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect(statements[0]).toMatch(/^begin/);
      expect(statements.at(-1)).toMatch(/^rollback/);
    } finally {
      knex.off('query', onQuery);
    }
  });
});
