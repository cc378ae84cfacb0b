import {
  createHttpHandler,
  createPayable,
  NodeEncryptionDriver,
  SyncQueueDriver,
  type EncryptionDriver,
} from '@payable/core';
import { FakeProvider, TestClock } from '@payable/testing';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KnexStorageDriver, migrate, tableNames } from '../src/index.js';
import {
  ensureDatabases,
  mysqlTarget,
  pgTarget,
  sqliteMemoryTarget,
  type Target,
  uniquePrefix,
  unreachableTargets,
} from './support/targets.js';

const EMAIL = 'grace.hopper@example.test';
const NAME = 'Grace Brewster Hopper';

beforeAll(async () => {
  await ensureDatabases();
});

/** SQLite in-memory with the default `payable_` prefix; the shared servers with a prefix of this file's own. */
const cases: { target: Target; prefix: string }[] = [
  { target: sqliteMemoryTarget(), prefix: 'payable_' },
  { target: pgTarget(), prefix: uniquePrefix('enc') },
  { target: mysqlTarget(), prefix: uniquePrefix('enc') },
];

describe.each(cases)('createPayable over KnexStorageDriver on $target.name', ({ target, prefix }) => {
  let knex: Knex;
  const tables = tableNames(prefix);

  beforeAll(async () => {
    knex = target.connect();
    await migrate(knex, { tablePrefix: prefix });
  });

  afterAll(async () => {
    if (target.name !== 'sqlite-memory') {
      for (const table of [
        ...Object.values(tables.records),
        tables.webhookEvents,
        tables.outbox,
        tables.idempotencyKeys,
        tables.locks,
        tables.l402SpentTokens,
        tables.l402RootKeys,
        tables.schemaVersion,
      ]) {
        await knex.schema.dropTableIfExists(table);
      }
    }
    await knex.destroy();
  });

  function setup(encryption: EncryptionDriver | undefined) {
    const clock = new TestClock();
    const fake = new FakeProvider({ clock });
    const storage = new KnexStorageDriver(knex, clock, { tablePrefix: prefix, destroyOnClose: false });
    const payable = createPayable({
      providers: { fake },
      storage,
      clock,
      queue: new SyncQueueDriver(),
      ...(encryption ? { encryption } : {}),
    });
    return { fake, payable };
  }

  /** Every column of the row, as text, read with plain knex (not through the driver). */
  async function rawRow(table: string, id: string): Promise<string> {
    const rows: Record<string, unknown>[] = await knex(table).select('*').where('id', id);
    expect(rows).toHaveLength(1);
    return JSON.stringify(rows[0]);
  }

  it('createCustomer – with encryption, the raw customer row holds no plaintext email or name', async () => {
    const { payable } = setup(new NodeEncryptionDriver({ key: 'storage-knex-test-key-with-plenty-of-entropy' }));
    const customer = await payable.createCustomer({ email: EMAIL, name: NAME });
    expect(await payable.getCustomer(customer.id)).toMatchObject({ email: EMAIL, name: NAME });
    const raw = await rawRow(tables.records.customer, customer.id);
    expect(raw).not.toContain(EMAIL);
    expect(raw).not.toContain('Hopper');
    await payable.close();
  });

  it('createCustomer – without encryption the same raw read does see the email (the reader reads the right row)', async () => {
    const { payable } = setup(undefined);
    const customer = await payable.createCustomer({ email: EMAIL, name: NAME });
    expect(await rawRow(tables.records.customer, customer.id)).toContain(EMAIL);
    await payable.close();
  });

  it('webhooks.receive – with encryption, the raw webhook payload and the customer it creates hold no plaintext email', async () => {
    const { fake, payable } = setup(new NodeEncryptionDriver({ key: 'storage-knex-test-key-with-plenty-of-entropy' }));
    const providerId = `fake_cus_${Date.now()}`;
    const delivery = fake.eventFor('customer.created', { providerId, email: EMAIL, name: NAME });
    const result = await payable.webhooks.receive({ provider: 'fake', ...delivery });
    expect(result.duplicate).toBe(false);
    expect((await payable.webhooks.get(result.eventId)).status).toBe('processed');
    const [rawEvent] = (await knex(tables.webhookEvents).select('*').where('id', result.eventId)) as {
      payload: string;
    }[];
    expect(rawEvent?.payload).toMatch(/^v1\./);
    // The whole row: the raw payload and the normalized event are both ciphertext.
    expect(JSON.stringify(rawEvent)).not.toContain(EMAIL);
    expect(JSON.stringify(rawEvent)).not.toContain('Hopper');
    const customers: Record<string, unknown>[] = await knex(tables.records.customer)
      .select('*')
      .where('provider_id', providerId);
    expect(customers).toHaveLength(1);
    expect(JSON.stringify(customers)).not.toContain(EMAIL);
    // A second delivery of the same event is a duplicate, stored once.
    const again = await payable.webhooks.receive({ provider: 'fake', ...delivery });
    expect(again).toMatchObject({ eventId: result.eventId, duplicate: true });
    await payable.close();
  });
});

describe('createHttpHandler over KnexStorageDriver when the database is down', () => {
  it.each([...unreachableTargets()])(
    'POST /webhooks/fake – %s unreachable answers 503 STORAGE_UNAVAILABLE, never 200',
    async (_name, connect) => {
      const clock = new TestClock();
      const fake = new FakeProvider({ clock });
      const storage = new KnexStorageDriver(connect(), clock);
      const payable = createPayable({ providers: { fake }, storage, clock, queue: new SyncQueueDriver() });
      const handle = createHttpHandler(payable);
      const delivery = fake.eventFor('customer.created', { providerId: 'fake_cus_down', email: EMAIL, name: NAME });
      try {
        const res = await handle({
          method: 'POST',
          path: '/webhooks/fake',
          headers: delivery.headers,
          rawBody: delivery.rawBody,
          query: {},
        });
        expect(res.status).toBe(503);
        expect(JSON.parse(res.body)).toMatchObject({ error: 'STORAGE_UNAVAILABLE' });
      } finally {
        await payable.close();
        await storage.close();
      }
    },
  );
});
