import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  newId,
  type CustomerRecord,
  type PaymentRecord,
  type StoredDelivery,
  type StoredEndpoint,
  type StoredIdempotencyKey,
  type StoredOutboxMessage,
  type StoredWebhookEvent,
} from '@payable/core';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KnexStorageDriver, migrate, SCHEMA_VERSION, schemaVersion, tableNames } from '../src/index.js';
import {
  allTargets,
  ensureDatabases,
  mysqlTarget,
  pgTarget,
  removeTempDir,
  sqliteFileTarget,
  sqliteMemoryTarget,
  type Target,
  uniquePrefix,
  unreachableTargets,
  dropPrefixedTables,
} from './support/targets.js';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./fixtures/migrate-child.ts', import.meta.url));
const CHILD_TSCONFIG = fileURLToPath(new URL('./fixtures/tsconfig.json', import.meta.url));
const AT = new Date(Date.UTC(2024, 4, 6, 7, 8, 9, 123));

beforeAll(async () => {
  await ensureDatabases();
});

afterAll(() => {
  removeTempDir();
});

async function versionRows(knex: Knex, prefix: string): Promise<number[]> {
  const rows: { version: number | string }[] = await knex(tableNames(prefix).schemaVersion)
    .select('version')
    .orderBy('version');
  return rows.map((row) => Number(row.version));
}

function payment(overrides: Partial<PaymentRecord> = {}): PaymentRecord {
  return {
    id: newId('pay'),
    tenantId: null,
    provider: 'fake',
    providerId: newId('ch'),
    metadata: { order: '42' },
    createdAt: AT,
    updatedAt: AT,
    amount: 1999,
    currency: 'EUR',
    status: 'succeeded',
    amountRefunded: 0,
    customerId: null,
    description: 'Order 42',
    expiresAt: null,
    failureCode: null,
    failureMessage: null,
    nextActionUrl: null,
    lightning: null,
    ...overrides,
  };
}

function customer(overrides: Partial<CustomerRecord> = {}): CustomerRecord {
  return {
    id: newId('cus'),
    tenantId: 'tenant-a',
    provider: 'fake',
    providerId: newId('cus_fake'),
    metadata: {},
    createdAt: AT,
    updatedAt: AT,
    email: 'ada@example.com',
    name: 'Ada',
    ...overrides,
  };
}

function event(overrides: Partial<StoredWebhookEvent> = {}): StoredWebhookEvent {
  return {
    id: newId('evt'),
    tenantId: null,
    provider: 'fake',
    providerEventId: newId('fake_evt'),
    type: 'payment.succeeded',
    providerType: 'charge.succeeded',
    status: 'pending',
    attempts: 0,
    lastError: null,
    payload: '{"id":"evt_1"}',
    normalized: '{"type":"payment.succeeded"}',
    objectKey: 'fake:payment:ch_1',
    receivedAt: AT,
    updatedAt: AT,
    processedAt: null,
    lockedBy: null,
    lockedUntil: null,
    ...overrides,
  };
}

function outbox(overrides: Partial<StoredOutboxMessage> = {}): StoredOutboxMessage {
  return {
    id: newId('msg'),
    tenantId: null,
    aggregateKey: `payment:${newId('pay')}`,
    type: 'payment.succeeded',
    payload: '{"type":"payment.succeeded"}',
    status: 'pending',
    attempts: 0,
    availableAt: AT,
    lockedBy: null,
    lockedUntil: null,
    lastError: null,
    createdAt: AT,
    deliveredAt: null,
    ...overrides,
  };
}

function idempotencyKey(overrides: Partial<StoredIdempotencyKey> = {}): StoredIdempotencyKey {
  return {
    tenantId: null,
    key: newId('key'),
    fingerprint: 'f'.repeat(64),
    status: 'completed',
    lockedUntil: null,
    responseStatus: 201,
    responseBody: '{"id":"pay_1"}',
    createdAt: AT,
    expiresAt: new Date(AT.getTime() + 86_400_000),
    ...overrides,
  };
}

describe.each(allTargets())('migrate on $name', (target) => {
  let knex: Knex;

  beforeAll(() => {
    knex = target.connect();
  });

  afterAll(async () => {
    await knex.destroy();
  });

  it('migrate – creates every table, records each applied version and reports it', async () => {
    const prefix = uniquePrefix('mc');
    expect(await schemaVersion(knex, { tablePrefix: prefix })).toBe(0);
    const result = await migrate(knex, { tablePrefix: prefix });
    // Version 4 added the outbound webhook tables; a new step must bump this on purpose.
    expect(SCHEMA_VERSION).toBe(4);
    expect(result).toEqual({ previousVersion: 0, version: SCHEMA_VERSION, applied: [1, 2, 3, 4] });
    const tables = tableNames(prefix);
    for (const table of [
      ...Object.values(tables.records),
      tables.webhookEvents,
      tables.outbox,
      tables.idempotencyKeys,
      tables.locks,
      tables.cursors,
      tables.l402SpentTokens,
      tables.l402RootKeys,
      tables.endpoints,
      tables.deliveries,
    ]) {
      expect(await knex.schema.hasTable(table), table).toBe(true);
      expect(await knex.schema.hasColumn(table, 'tenant_id'), `${table}.tenant_id`).toBe(true);
    }
    // The attempt log belongs to its delivery (and through it to a tenant).
    expect(await knex.schema.hasTable(tables.deliveryAttempts)).toBe(true);
    expect(await knex.schema.hasColumn(tables.deliveryAttempts, 'delivery_id')).toBe(true);
    expect(await versionRows(knex, prefix)).toEqual([1, 2, 3, 4]);
    expect(await schemaVersion(knex, { tablePrefix: prefix })).toBe(SCHEMA_VERSION);
    await dropPrefixedTables(knex, prefix);
  });

  it('migrate – re-running is a no-op that keeps every row', async () => {
    const prefix = uniquePrefix('mr');
    await migrate(knex, { tablePrefix: prefix });
    const storage = new KnexStorageDriver(knex, undefined, { tablePrefix: prefix, destroyOnClose: false });
    const stored = payment();
    await storage.insertRecord('payment', stored);
    expect(await migrate(knex, { tablePrefix: prefix })).toEqual({
      previousVersion: SCHEMA_VERSION,
      version: SCHEMA_VERSION,
      applied: [],
    });
    expect(await migrate(knex, { tablePrefix: prefix })).toEqual({
      previousVersion: SCHEMA_VERSION,
      version: SCHEMA_VERSION,
      applied: [],
    });
    expect(await versionRows(knex, prefix)).toEqual([1, 2, 3, 4]);
    expect(await storage.getRecord('payment', stored.id, null)).toEqual(stored);
    await dropPrefixedTables(knex, prefix);
  });

  it('migrate – unique keys hold for rows without a tenant (NULL tenant_id) at the database level', async () => {
    const prefix = uniquePrefix('mu');
    await migrate(knex, { tablePrefix: prefix });
    const tables = tableNames(prefix);
    const row = (id: string) => ({
      id,
      tenant_id: null,
      tenant_key: '',
      provider: 'fake',
      provider_id: 'ch_same',
      created_at: AT.getTime(),
      updated_at: AT.getTime(),
      data: '{}',
    });
    await knex(tables.records.payment).insert(row('pay_a'));
    await expect(knex(tables.records.payment).insert(row('pay_b'))).rejects.toThrow();
    const eventRow = (id: string) => ({
      id,
      tenant_id: null,
      tenant_key: '',
      provider: 'fake',
      provider_event_id: 'evt_same',
      type: 'payment.succeeded',
      provider_type: 'x',
      status: 'pending',
      attempts: 0,
      payload: '{}',
      normalized: '{}',
      received_at: AT.getTime(),
      updated_at: AT.getTime(),
    });
    await knex(tables.webhookEvents).insert(eventRow('evt_a'));
    await expect(knex(tables.webhookEvents).insert(eventRow('evt_b'))).rejects.toThrow();
    const keyRow = {
      tenant_id: null,
      tenant_key: '',
      key: 'k1',
      fingerprint: 'f',
      status: 'in_progress',
      created_at: 1,
      expires_at: 2,
    };
    await knex(tables.idempotencyKeys).insert(keyRow);
    await expect(knex(tables.idempotencyKeys).insert({ ...keyRow, fingerprint: 'g' })).rejects.toThrow();
    const tokenRow = { tenant_id: null, tenant_key: '', payment_hash: 'a'.repeat(64), spent_at: 1 };
    await knex(tables.l402SpentTokens).insert(tokenRow);
    await expect(knex(tables.l402SpentTokens).insert({ ...tokenRow, spent_at: 2 })).rejects.toThrow();
    // Another tenant is another key.
    await knex(tables.l402SpentTokens).insert({ ...tokenRow, tenant_id: 't1', tenant_key: 't1' });
    expect(Number((await knex(tables.l402SpentTokens).count({ n: '*' }).first())?.n)).toBe(2);
    await dropPrefixedTables(knex, prefix);
  });

  it('migrate – upgrading from the first released schema (v1) with data in it loses nothing', async () => {
    const prefix = uniquePrefix('mv');
    expect(await migrate(knex, { tablePrefix: prefix, to: 1 })).toEqual({
      previousVersion: 0,
      version: 1,
      applied: [1],
    });
    expect(await schemaVersion(knex, { tablePrefix: prefix })).toBe(1);

    // Data written by the driver on the v1 schema.
    const v1 = new KnexStorageDriver(knex, undefined, { tablePrefix: prefix, destroyOnClose: false });
    const buyer = customer();
    const payments = [
      payment({ customerId: buyer.id, tenantId: 'tenant-a' }),
      payment({ status: 'pending' }),
      payment({ createdAt: new Date(AT.getTime() + 1) }),
    ];
    await v1.insertRecord('customer', buyer);
    for (const p of payments) await v1.insertRecord('payment', p);
    const events = [event(), event({ tenantId: 'tenant-a', status: 'processed', processedAt: AT, attempts: 2 })];
    for (const e of events) await v1.insertWebhookEvent(e);
    const messages = [outbox(), outbox({ status: 'delivered', deliveredAt: AT })];
    await v1.appendOutbox(messages);
    const keys = [
      idempotencyKey(),
      idempotencyKey({
        tenantId: 'tenant-a',
        status: 'in_progress',
        lockedUntil: AT,
        responseStatus: null,
        responseBody: null,
      }),
    ];
    for (const k of keys) await v1.insertIdempotencyKey(k);
    expect(
      await v1.acquireLock('object:fake:payment:ch_1', {
        owner: 'worker-1',
        now: AT,
        until: new Date(AT.getTime() + 60_000),
      }),
    ).toBe(true);
    // The outbound webhook tables come with version 4: before it, their operations name migrate.
    await expect(v1.listEndpoints({ limit: 10 })).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      context: { hint: 'migrate' },
    });

    expect(await migrate(knex, { tablePrefix: prefix })).toEqual({
      previousVersion: 1,
      version: SCHEMA_VERSION,
      applied: [2, 3, 4],
    });
    expect(await versionRows(knex, prefix)).toEqual([1, 2, 3, 4]);

    const latest = new KnexStorageDriver(knex, undefined, { tablePrefix: prefix, destroyOnClose: false });
    expect(await latest.getRecord('customer', buyer.id, 'tenant-a')).toEqual(buyer);
    for (const p of payments) expect(await latest.getRecord('payment', p.id, p.tenantId)).toEqual(p);
    expect((await latest.listRecords('payment', { tenantId: null, limit: 10 })).data).toEqual([
      payments[2],
      payments[1],
    ]);
    expect(
      (await latest.listRecords('payment', { tenantId: 'tenant-a', customerId: buyer.id, limit: 10 })).data,
    ).toEqual([payments[0]]);
    for (const e of events) expect(await latest.getWebhookEvent(e.id)).toEqual(e);
    expect(await latest.countWebhookEvents()).toEqual({ pending: 1, processing: 0, processed: 1, failed: 0 });
    for (const m of messages) expect(await latest.getOutboxMessage(m.id)).toEqual(m);
    for (const k of keys)
      expect(await latest.insertIdempotencyKey({ ...k, fingerprint: 'probe' })).toEqual({ inserted: false, row: k });
    expect(await latest.acquireLock('object:fake:payment:ch_1', { owner: 'worker-2', now: AT, until: AT })).toBe(false);
    // Dedupe still holds after the upgrade.
    expect(
      (await latest.insertRecord('payment', payment({ providerId: (payments[1] as PaymentRecord).providerId })))
        .inserted,
    ).toBe(false);
    // Version 4: endpoints, deliveries deduplicated by (endpoint, event), claims and the attempt log.
    const endpoint: StoredEndpoint = {
      id: newId('ep'),
      tenantId: 'tenant-a',
      url: 'https://hooks.example.com/payable',
      events: ['payment.*'],
      scheme: 'standard-webhooks',
      description: null,
      secret: 'whsec_secret',
      previousSecret: null,
      previousSecretExpiresAt: null,
      status: 'enabled',
      disabledReason: null,
      createdAt: AT,
      updatedAt: AT,
    };
    await latest.insertEndpoint(endpoint);
    expect(await latest.getEndpoint(endpoint.id)).toEqual(endpoint);
    const delivery = (eventId: string): StoredDelivery => ({
      id: newId('dlv'),
      tenantId: 'tenant-a',
      endpointId: endpoint.id,
      eventId,
      eventType: 'payment.succeeded',
      payload: `{"id":"${eventId}"}`,
      status: 'pending',
      attempts: 0,
      nextAttemptAt: AT,
      lockedBy: null,
      lockedUntil: null,
      lastStatus: null,
      lastError: null,
      createdAt: AT,
      updatedAt: AT,
      deliveredAt: null,
    });
    const first = delivery('evt_1');
    expect(await latest.insertDeliveries([first, delivery('evt_1'), delivery('evt_2')])).toBe(2);
    expect(await latest.insertDeliveries([delivery('evt_2')])).toBe(0);
    const claimed = await latest.claimDeliveries(
      { owner: 'relay-1', now: AT, until: new Date(AT.getTime() + 30_000) },
      10,
    );
    expect(claimed).toHaveLength(2);
    await latest.appendDeliveryAttempt({
      id: newId('att'),
      deliveryId: first.id,
      endpointId: endpoint.id,
      attempt: 1,
      startedAt: AT,
      durationMs: 42,
      responseStatus: 200,
      responseBody: 'ok',
      error: null,
      nextAttemptAt: null,
    });
    expect((await latest.listDeliveryAttempts(first.id)).map((attempt) => attempt.durationMs)).toEqual([42]);
    await dropPrefixedTables(knex, prefix);
  });

  it('migrate – refuses a version outside 1..SCHEMA_VERSION and an unsafe table prefix', async () => {
    await expect(migrate(knex, { to: 0 })).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    await expect(migrate(knex, { to: SCHEMA_VERSION + 1 })).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    await expect(migrate(knex, { tablePrefix: 'x; drop table y' })).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
  });
});

describe('migrate with the default prefix', () => {
  it('migrate – creates payable_ tables when no prefix is given', async () => {
    const knex = sqliteMemoryTarget().connect();
    try {
      await migrate(knex);
      expect(await knex.schema.hasTable('payable_customers')).toBe(true);
      expect(await knex.schema.hasTable('payable_webhook_events')).toBe(true);
      expect(await knex.schema.hasTable('payable_schema_version')).toBe(true);
      expect(await schemaVersion(knex)).toBe(SCHEMA_VERSION);
    } finally {
      await knex.destroy();
    }
  });
});

/** Targets where several connections share one database. */
const shared: Target[] = [sqliteFileTarget(), pgTarget(), mysqlTarget()];

describe.each(shared)('concurrent migrate on $name', (target) => {
  it('migrate – 5 knex instances migrating at once apply every step exactly once', async () => {
    const prefix = uniquePrefix('mx');
    const instances = Array.from({ length: 5 }, () => target.connect());
    try {
      const results = await Promise.all(instances.map((knex) => migrate(knex, { tablePrefix: prefix })));
      const applied = results.flatMap((result) => result.applied).sort();
      expect(applied).toEqual([1, 2, 3, 4]);
      for (const result of results) expect(result.version).toBe(SCHEMA_VERSION);
      const [first] = instances as [Knex];
      expect(await versionRows(first, prefix)).toEqual([1, 2, 3, 4]);
      const storage = new KnexStorageDriver(first, undefined, { tablePrefix: prefix, destroyOnClose: false });
      const stored = payment();
      expect((await storage.insertRecord('payment', stored)).inserted).toBe(true);
      await dropPrefixedTables(first, prefix);
    } finally {
      await Promise.all(instances.map((knex) => knex.destroy()));
    }
  });

  it('migrate – 2 child processes migrating at once apply every step exactly once', async () => {
    const prefix = uniquePrefix('mp');
    const args = JSON.stringify({ ...target.settings(), tablePrefix: prefix, startAt: Date.now() + 1500 });
    const env = { ...process.env, TSX_TSCONFIG_PATH: CHILD_TSCONFIG };
    const outputs = await Promise.all(
      [0, 1].map(() =>
        run(process.execPath, ['--import', 'tsx', CHILD, args], {
          env,
          cwd: fileURLToPath(new URL('.', import.meta.url)),
          timeout: 60_000,
        }),
      ),
    );
    const results = outputs.map(({ stdout }) => JSON.parse(stdout.trim()) as { version: number; applied: number[] });
    expect(results.flatMap((result) => result.applied).sort()).toEqual([1, 2, 3, 4]);
    for (const result of results) expect(result.version).toBe(SCHEMA_VERSION);
    const knex = target.connect();
    try {
      expect(await versionRows(knex, prefix)).toEqual([1, 2, 3, 4]);
      expect(await schemaVersion(knex, { tablePrefix: prefix })).toBe(SCHEMA_VERSION);
      await dropPrefixedTables(knex, prefix);
    } finally {
      await knex.destroy();
    }
  }, 90_000);
});

describe('migrate on a SQLite file: the journal mode', () => {
  it('switches the file to WAL by default (it stays so for every later connection); keep leaves it', async () => {
    for (const [mode, expected] of [
      [undefined, 'wal'],
      ['keep', 'delete'],
    ] as const) {
      const target = sqliteFileTarget();
      const knex = target.connect();
      try {
        await migrate(knex, mode === undefined ? {} : { sqliteJournalMode: mode });
        const later = target.connect();
        const rows = (await later.raw('pragma journal_mode')) as { journal_mode: string }[];
        expect(rows[0]?.journal_mode).toBe(expected);
        await later.destroy();
      } finally {
        await knex.destroy();
      }
    }
  });
});

describe('migrate when the database is down', () => {
  it.each([...unreachableTargets()])(
    'migrate – %s at a closed port rejects with STORAGE_UNAVAILABLE',
    async (_name, connect) => {
      const knex = connect();
      try {
        await expect(migrate(knex)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', httpStatus: 503 });
        await expect(schemaVersion(knex)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
      } finally {
        await knex.destroy();
      }
    },
  );
});
