import { InternalError, StorageUnavailableError } from '@payable/core';
import { makeOutboxMessage, makePayment, makeWebhookEvent, storageConformance } from '@payable/testing';
import type { Knex } from 'knex';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { GroupCommit, type GroupCommitOptions } from '../src/group-commit.js';
import { KnexStorageDriver, migrate, tableNames } from '../src/index.js';
import { quiet, removeTempDir, sqliteFileTarget, sqliteMemoryTarget } from './support/targets.js';

/**
 * SQLite group commit: `transaction(fn)` calls started together share one database transaction
 * and one COMMIT, each in a savepoint; every caller is answered after that COMMIT, and a callback
 * that throws undoes only its own work.
 */

afterAll(() => {
  removeTempDir();
});

const opened: Knex[] = [];
afterEach(async () => {
  for (const knex of opened.splice(0)) await knex.destroy();
});

async function setup(
  options: { groupCommit?: boolean; config?: Partial<Knex.Config> } = {},
): Promise<{ knex: Knex; storage: KnexStorageDriver; statements: string[] }> {
  const knex = sqliteFileTarget().connect({ ...quiet, ...options.config });
  opened.push(knex);
  await migrate(knex);
  const storage = new KnexStorageDriver(knex, undefined, {
    destroyOnClose: false,
    ...(options.groupCommit === undefined ? {} : { groupCommit: options.groupCommit }),
  });
  const statements: string[] = [];
  knex.on('query', (query: { sql: string }) =>
    statements.push(
      query.sql
        .trim()
        .split(/[\s;]+/)[0]
        ?.toUpperCase() ?? '',
    ),
  );
  return { knex, storage, statements };
}

async function eventIds(knex: Knex): Promise<string[]> {
  const rows: { id: string }[] = await knex(tableNames('payable_').webhookEvents).select('id').orderBy('id');
  return rows.map((row) => row.id);
}

describe('KnexStorageDriver on SQLite: group commit', () => {
  it('transactions started together commit once, and every caller gets its own result', async () => {
    const { knex, storage, statements } = await setup();
    const events = Array.from({ length: 12 }, () => makeWebhookEvent());
    const results = await Promise.all(
      events.map((event) =>
        storage.transaction(async (tx) => {
          const { inserted } = await tx.insertWebhookEvent(event);
          await tx.appendOutbox([makeOutboxMessage()]);
          return { id: event.id, inserted };
        }),
      ),
    );
    expect(results).toEqual(events.map((event) => ({ id: event.id, inserted: true })));
    expect(statements.filter((s) => s === 'COMMIT')).toHaveLength(1);
    expect(await eventIds(knex)).toEqual(events.map((event) => event.id).sort());
  });

  it('a caller is answered only after the COMMIT that carries its work', async () => {
    const { storage, statements } = await setup();
    const seenAtAnswer: number[] = [];
    await Promise.all(
      [0, 1, 2].map(() =>
        storage
          .transaction(async (tx) => {
            await tx.insertWebhookEvent(makeWebhookEvent());
          })
          .then(() => seenAtAnswer.push(statements.filter((s) => s === 'COMMIT').length)),
      ),
    );
    expect(seenAtAnswer).toEqual([1, 1, 1]);
  });

  it.each([
    ['first', 0],
    ['a later', 3],
  ])('%s callback that throws undoes only its own work and gets its own error', async (_label, failing) => {
    const { knex, storage } = await setup();
    const events = Array.from({ length: 6 }, () => makeWebhookEvent());
    const boom = new Error('handler failed');
    const outcomes = await Promise.allSettled(
      events.map((event, i) =>
        storage.transaction(async (tx) => {
          await tx.insertWebhookEvent(event);
          await tx.insertRecord('payment', makePayment());
          if (i === failing) throw boom;
          return i;
        }),
      ),
    );
    expect(outcomes.map((o) => o.status)).toEqual(events.map((_e, i) => (i === failing ? 'rejected' : 'fulfilled')));
    expect((outcomes[failing] as PromiseRejectedResult).reason).toBe(boom);
    const kept = events.filter((_e, i) => i !== failing).map((event) => event.id);
    expect(await eventIds(knex)).toEqual(kept.sort());
    const payments = await knex(tableNames('payable_').records.payment).count({ n: '*' });
    expect(Number(payments[0]?.n)).toBe(events.length - 1);
  });

  it('a nested transaction inside a member still rolls back alone', async () => {
    const { knex, storage } = await setup();
    const outer = makeWebhookEvent();
    const inner = makeWebhookEvent();
    const other = makeWebhookEvent();
    await Promise.all([
      storage.transaction(async (tx) => {
        await tx.insertWebhookEvent(other);
      }),
      storage.transaction(async (tx) => {
        await tx.insertWebhookEvent(outer);
        await expect(
          (tx as KnexStorageDriver).transaction(async (nested) => {
            await nested.insertWebhookEvent(inner);
            throw new Error('nested failure');
          }),
        ).rejects.toThrow('nested failure');
      }),
    ]);
    expect(await eventIds(knex)).toEqual([outer.id, other.id].sort());
  });

  it('a transaction started on the driver from inside another fails after the acquire timeout instead of hanging', async () => {
    const { storage } = await setup({ config: { acquireConnectionTimeout: 300 } });
    const started = Date.now();
    const outcome = storage.transaction(async () => {
      // Wrong (the docs say to use `tx`): this waits for the transaction it runs in.
      await storage.transaction(async (tx) => tx.insertWebhookEvent(makeWebhookEvent()));
    });
    await expect(outcome).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', httpStatus: 503 });
    await expect(outcome).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(Date.now() - started).toBeLessThan(5_000);
    // The driver is usable afterwards.
    await expect(storage.transaction(async (tx) => tx.insertWebhookEvent(makeWebhookEvent()))).resolves.toMatchObject({
      inserted: true,
    });
  });

  it('a session used after its callback settled is refused', async () => {
    const { storage } = await setup();
    let kept: { insertWebhookEvent: KnexStorageDriver['insertWebhookEvent'] } | null = null;
    await Promise.all([
      storage.transaction(async (tx) => {
        kept = tx;
      }),
      storage.transaction(async (tx) => tx.insertWebhookEvent(makeWebhookEvent())),
    ]);
    await expect((kept as unknown as KnexStorageDriver).insertWebhookEvent(makeWebhookEvent())).rejects.toBeInstanceOf(
      InternalError,
    );
  });

  it('writes outside transactions made together share one COMMIT; each caller gets its own answer', async () => {
    const { knex, storage, statements } = await setup();
    const events = Array.from({ length: 10 }, () => makeWebhookEvent());
    const payment = makePayment();
    const [inserted, , ...results] = await Promise.all([
      storage.insertRecord('payment', payment),
      storage.appendOutbox([makeOutboxMessage()]),
      ...events.map((event) => storage.insertWebhookEvent(event)),
      // A duplicate of the first event, in the same group: the unique key still decides.
      storage.insertWebhookEvent({ ...(events[0] as (typeof events)[number]), id: makeWebhookEvent().id }),
    ]);
    expect(inserted).toMatchObject({ inserted: true });
    expect(results.map((r) => (r as { inserted: boolean }).inserted)).toEqual([...events.map(() => true), false]);
    expect(statements.filter((s) => s === 'COMMIT')).toHaveLength(1);
    expect(await eventIds(knex)).toEqual(events.map((event) => event.id).sort());
  });

  it('a write alone runs in autocommit, with no transaction around it', async () => {
    const { storage, statements } = await setup();
    await storage.insertWebhookEvent(makeWebhookEvent());
    expect(statements).toEqual(['INSERT']);
  });

  it('reads do not join the groups: concurrent reads open no transaction', async () => {
    const { storage, statements } = await setup();
    const event = makeWebhookEvent();
    await storage.insertWebhookEvent(event);
    statements.length = 0;
    const [a, b, c] = await Promise.all([
      storage.getWebhookEvent(event.id),
      storage.getWebhookEvent(event.id),
      storage.getRecord('payment', makePayment().id, null),
    ]);
    expect([a?.id, b?.id, c]).toEqual([event.id, event.id, null]);
    expect(statements).toEqual(['SELECT', 'SELECT', 'SELECT']);
  });

  it('a write that fails in a group fails alone, with its mapped error; the others commit', async () => {
    const { knex, storage } = await setup();
    const payment = makePayment();
    await storage.insertRecord('payment', payment);
    const events = [makeWebhookEvent(), makeWebhookEvent()];
    const outcomes = await Promise.allSettled([
      storage.insertWebhookEvent(events[0] as (typeof events)[number]),
      // Another payment under an id that exists: the driver refuses it.
      storage.insertRecord('payment', makePayment({ id: payment.id })),
      storage.transaction(async (tx) => tx.insertWebhookEvent(events[1] as (typeof events)[number])),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'INTERNAL_ERROR' });
    expect(await eventIds(knex)).toEqual(events.map((event) => event.id).sort());
  });

  it('groupCommit: false gives every transaction its own COMMIT', async () => {
    const { knex, storage, statements } = await setup({ groupCommit: false });
    const events = Array.from({ length: 5 }, () => makeWebhookEvent());
    await Promise.all(events.map((event) => storage.transaction(async (tx) => tx.insertWebhookEvent(event))));
    expect(statements.filter((s) => s === 'COMMIT')).toHaveLength(5);
    expect(statements).not.toContain('SAVEPOINT');
    expect(await eventIds(knex)).toEqual(events.map((event) => event.id).sort());
  });
});

/** A group commit over `open` on `knex`, with savepoints through `trx.raw`. */
function groupOn(knex: Knex, open: GroupCommitOptions['open'], maxMembers = 32): GroupCommit {
  return new GroupCommit({
    open,
    autocommit: (write) => write(knex),
    statement: async (trx, sql) => {
      await trx.raw(sql);
    },
    maxMembers,
    waitTimeoutMs: 60_000,
    timeout: () => new Error('timeout'),
    storeError: (error) => new StorageUnavailableError('store failed', { cause: error }),
  });
}

describe('GroupCommit: a group whose COMMIT fails', () => {
  it('fails every caller of the group with the store error, and stores none of their work', async () => {
    const knex = sqliteMemoryTarget().connect(quiet);
    opened.push(knex);
    await knex.schema.createTable('t', (table) => table.string('v'));
    const commitFailure = new Error('disk I/O error');
    let failNext = true;
    // A real transaction that rolls back at its end, as a failed COMMIT leaves it.
    const group = groupOn(knex, (body) =>
      knex.transaction(async (trx) => {
        await body(trx);
        if (failNext) {
          failNext = false;
          throw commitFailure;
        }
      }),
    );
    const outcomes = await Promise.allSettled(
      ['a', 'b', 'c'].map((v) =>
        group.run(async (trx) => {
          await trx('t').insert({ v });
          return v;
        }),
      ),
    );
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(StorageUnavailableError);
      expect((outcome as PromiseRejectedResult).reason.cause).toBe(commitFailure);
    }
    expect(await knex('t').select('v')).toEqual([]);
    // The next group commits.
    await expect(group.run(async (trx) => trx('t').insert({ v: 'd' }))).resolves.toBeDefined();
    expect(await knex('t').select('v')).toEqual([{ v: 'd' }]);
  });

  it('holds at most maxMembers per COMMIT and runs the rest in the next group', async () => {
    const knex = sqliteMemoryTarget().connect(quiet);
    opened.push(knex);
    await knex.schema.createTable('t', (table) => table.integer('v'));
    let commits = 0;
    const group = groupOn(
      knex,
      async (body) => {
        await knex.transaction(async (trx) => body(trx));
        commits += 1;
      },
      4,
    );
    await Promise.all(Array.from({ length: 10 }, (_v, i) => group.run(async (trx) => trx('t').insert({ v: i }))));
    expect(commits).toBe(3);
    expect(await knex('t').count({ n: '*' })).toEqual([{ n: 10 }]);
  });
});

describe('KnexStorageDriver on SQLite without group commit', () => {
  storageConformance('sqlite-file (groupCommit: false)', {
    // A fresh file per test; close() destroys its knex.
    makeDriver: async () => {
      const knex = sqliteFileTarget().connect(quiet);
      await migrate(knex);
      return new KnexStorageDriver(knex, undefined, { groupCommit: false });
    },
  });
});
