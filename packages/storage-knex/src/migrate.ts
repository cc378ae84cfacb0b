import { resolve } from 'node:path';
import { StorageUnavailableError, ValidationError } from '@payable/core';
import type { Knex } from 'knex';
import { dialectOf, hasIndex, withMigrationLock, type KnexDialect } from './dialect.js';
import { classifyDbError, toStorageError } from './errors.js';
import { DEFAULT_TABLE_PREFIX, tableNames, type TableNames } from './tables.js';

/**
 * The schema version this release of `@payable/storage-knex` creates: `migrate(knex)` brings a
 * database up to it. Versions only ever add (tables, columns, indexes), so a driver of this release
 * works on any schema at version 1 or later, except for what a later step adds: `getCursor` and
 * `setCursor` need version 3 (the `cursors` table); the outbound webhook operations (endpoints,
 * deliveries and their attempts) need version 4.
 *
 * @example
 * ```ts
 * if ((await schemaVersion(knex)) < SCHEMA_VERSION) await migrate(knex);
 * ```
 */
export const SCHEMA_VERSION = 4;

/**
 * Options of {@link migrate}.
 *
 * @example
 * ```ts
 * await migrate(knex, { tablePrefix: 'billing_', lockTimeoutMs: 120_000 });
 * ```
 */
export interface MigrateOptions {
  /** The prefix of every table name (lower-case letters, digits, `_`). Default `payable_`. */
  tablePrefix?: string;
  /**
   * Apply steps up to this version only (default {@link SCHEMA_VERSION}). A database already at or
   * past it is left as it is: migrations never go down.
   */
  to?: number;
  /** How long to wait for another process's migration to finish, in ms. Default 60 000. */
  lockTimeoutMs?: number;
  /**
   * SQLite files only: `'wal'` (default) switches the file to write-ahead logging, which SQLite
   * keeps for the file from then on: one fsync per commit instead of several, and readers never
   * wait for the writer (SQLite's own recommendation for concurrent use; not for files on network
   * filesystems). `'keep'` leaves the journal mode as it is.
   */
  sqliteJournalMode?: 'wal' | 'keep';
}

/**
 * Options of {@link schemaVersion}.
 *
 * @example
 * ```ts
 * await schemaVersion(knex, { tablePrefix: 'billing_' });
 * ```
 */
export interface SchemaVersionOptions {
  /** The prefix of every table name. Default `payable_`. */
  tablePrefix?: string;
}

/**
 * What {@link migrate} did.
 *
 * @example
 * ```ts
 * const { previousVersion, version, applied } = await migrate(knex);
 * if (applied.length > 0) logger.info({ previousVersion, version }, 'schema upgraded');
 * ```
 */
export interface MigrateResult {
  /** The version the schema was at before (0 for an empty database). */
  previousVersion: number;
  /** The version it is at now. */
  version: number;
  /** The versions this call applied, in order (empty when another process or an earlier run did). */
  applied: number[];
}

/** The helpers a migration step builds with; each operation is skipped when already done. */
interface StepContext {
  trx: Knex.Transaction;
  dialect: KnexDialect;
  tables: TableNames;
  /** Create a table (columns and primary key only) unless it exists. */
  createTable(name: string, build: (table: Knex.CreateTableBuilder, columns: ColumnHelpers) => void): Promise<void>;
  /** Create an index, or a unique index, named `${table}_${suffix}` unless it exists. */
  addIndex(table: string, suffix: string, columns: string[], options?: { unique?: boolean }): Promise<void>;
  /** Add a column unless it exists. */
  addColumn(
    table: string,
    column: string,
    build: (table: Knex.AlterTableBuilder, columns: ColumnHelpers) => void,
  ): Promise<void>;
}

/** Column builders that give every dialect the same semantics. */
interface ColumnHelpers {
  /** A short string compared byte by byte (PostgreSQL `collate "C"`; MySQL tables are `utf8mb4_bin`). */
  key(name: string, length: number): Knex.ColumnBuilder;
  /** Long text: `text` on PostgreSQL and SQLite, `mediumtext` (16 MiB) on MySQL. */
  longText(name: string): Knex.ColumnBuilder;
  /** A time as epoch milliseconds (`bigint`): exact to the millisecond on every dialect, no time zones. */
  time(name: string): Knex.ColumnBuilder;
}

/** One versioned migration step. */
interface MigrationStep {
  version: number;
  name: string;
  up(ctx: StepContext): Promise<void>;
}

/** The columns every billing-record table has (one table per kind). */
async function createRecordTable(ctx: StepContext, table: string): Promise<void> {
  await ctx.createTable(table, (t, c) => {
    c.key('id', 64).notNullable().primary();
    c.key('tenant_id', 191).nullable();
    c.key('tenant_key', 191).notNullable().defaultTo('');
    c.key('provider', 64).notNullable();
    c.key('provider_id', 255).notNullable();
    c.key('status', 32).nullable();
    c.key('customer_id', 255).nullable();
    t.bigInteger('amount').nullable();
    c.key('currency', 8).nullable();
    c.time('created_at').notNullable();
    c.time('updated_at').notNullable();
    c.longText('data').notNullable();
  });
  // Dedupe: one record per (tenant, provider, provider id).
  await ctx.addIndex(table, 'ref_uq', ['tenant_key', 'provider', 'provider_id'], { unique: true });
  // listRecords: newest first within a tenant.
  await ctx.addIndex(table, 'list_idx', ['tenant_key', 'created_at', 'id']);
}

/** Version 1: the first released schema (billing and system tables with their keys and indexes). */
const V1: MigrationStep = {
  version: 1,
  name: 'billing and system tables',
  async up(ctx) {
    const { tables } = ctx;
    for (const table of Object.values(tables.records)) await createRecordTable(ctx, table);

    await ctx.createTable(tables.webhookEvents, (t, c) => {
      c.key('id', 64).notNullable().primary();
      c.key('tenant_id', 191).nullable();
      c.key('tenant_key', 191).notNullable().defaultTo('');
      c.key('provider', 64).notNullable();
      c.key('provider_event_id', 255).notNullable();
      c.key('type', 64).notNullable();
      t.text('provider_type').notNullable();
      c.key('status', 16).notNullable();
      t.integer('attempts').notNullable().defaultTo(0);
      t.text('last_error').nullable();
      c.longText('payload').notNullable();
      c.longText('normalized').notNullable();
      t.text('object_key').nullable();
      c.time('received_at').notNullable();
      c.time('updated_at').notNullable();
      c.time('processed_at').nullable();
      c.key('locked_by', 255).nullable();
      c.time('locked_until').nullable();
    });
    await ctx.addIndex(tables.webhookEvents, 'ref_uq', ['tenant_key', 'provider', 'provider_event_id'], {
      unique: true,
    });
    await ctx.addIndex(tables.webhookEvents, 'status_updated_idx', ['status', 'updated_at']);
    await ctx.addIndex(tables.webhookEvents, 'received_idx', ['received_at', 'id']);
    await ctx.addIndex(tables.webhookEvents, 'status_received_idx', ['status', 'received_at', 'id']);

    await ctx.createTable(tables.outbox, (t, c) => {
      c.key('id', 64).notNullable().primary();
      c.key('tenant_id', 191).nullable();
      c.key('tenant_key', 191).notNullable().defaultTo('');
      c.key('aggregate_key', 255).notNullable();
      c.key('type', 128).notNullable();
      c.longText('payload').notNullable();
      c.key('status', 16).notNullable();
      t.integer('attempts').notNullable().defaultTo(0);
      c.time('available_at').notNullable();
      c.key('locked_by', 255).nullable();
      c.time('locked_until').nullable();
      t.text('last_error').nullable();
      c.time('created_at').notNullable();
      c.time('delivered_at').nullable();
    });
    await ctx.addIndex(tables.outbox, 'status_available_idx', ['status', 'available_at']);
    await ctx.addIndex(tables.outbox, 'aggregate_idx', ['aggregate_key', 'id']);

    await ctx.createTable(tables.idempotencyKeys, (t, c) => {
      c.key('tenant_id', 191).nullable();
      c.key('tenant_key', 191).notNullable().defaultTo('');
      c.key('key', 255).notNullable();
      c.key('fingerprint', 128).notNullable();
      c.key('status', 16).notNullable();
      c.time('locked_until').nullable();
      t.integer('response_status').nullable();
      c.longText('response_body').nullable();
      c.time('created_at').notNullable();
      c.time('expires_at').notNullable();
      // Dedupe: one key per tenant.
      t.primary(['tenant_key', 'key']);
    });
    await ctx.addIndex(tables.idempotencyKeys, 'expires_idx', ['expires_at']);

    await ctx.createTable(tables.locks, (_t, c) => {
      c.key('name', 191).notNullable().primary();
      c.key('tenant_id', 191).nullable();
      c.key('owner', 255).notNullable();
      c.time('locked_until').notNullable();
    });

    await ctx.createTable(tables.l402SpentTokens, (t, c) => {
      c.key('tenant_id', 191).nullable();
      c.key('tenant_key', 191).notNullable().defaultTo('');
      c.key('payment_hash', 64).notNullable();
      c.time('spent_at').notNullable();
      // Dedupe: a payment hash is spent once per tenant.
      t.primary(['tenant_key', 'payment_hash']);
    });
    await ctx.addIndex(tables.l402SpentTokens, 'spent_idx', ['spent_at']);

    await ctx.createTable(tables.l402RootKeys, (t, c) => {
      c.key('id', 64).notNullable().primary();
      c.key('tenant_id', 191).nullable();
      t.text('root_key').notNullable();
      c.time('created_at').notNullable();
      c.time('expires_at').nullable();
    });
    await ctx.addIndex(tables.l402RootKeys, 'expires_idx', ['expires_at']);
  },
};

/** Version 2 (additive): indexes for record lists filtered by customer or by status. */
const V2: MigrationStep = {
  version: 2,
  name: 'record list indexes by customer and status',
  async up(ctx) {
    for (const table of Object.values(ctx.tables.records)) {
      await ctx.addIndex(table, 'customer_idx', ['tenant_key', 'customer_id', 'created_at', 'id']);
      await ctx.addIndex(table, 'status_idx', ['tenant_key', 'status', 'created_at', 'id']);
    }
  },
};

/** Version 3 (additive): durable stream positions (the Lightning settlement listener's settle index). */
const V3: MigrationStep = {
  version: 3,
  name: 'cursors',
  async up(ctx) {
    await ctx.createTable(ctx.tables.cursors, (t, c) => {
      c.key('name', 191).notNullable().primary();
      // Tenants are part of the name (as with locks); the column keeps every table tenant-aware.
      c.key('tenant_id', 191).nullable();
      t.text('value').notNullable();
      c.time('updated_at').notNullable();
    });
  },
};

/**
 * Version 4 (additive): outbound webhooks. Endpoints the app registered, one delivery per (endpoint,
 * domain event) with the unique key that makes fan-out idempotent, and the log of every attempt.
 */
const V4: MigrationStep = {
  version: 4,
  name: 'outbound webhook endpoints, deliveries and attempts',
  async up(ctx) {
    const { tables } = ctx;
    await ctx.createTable(tables.endpoints, (t, c) => {
      c.key('id', 64).notNullable().primary();
      c.key('tenant_id', 191).nullable();
      c.key('tenant_key', 191).notNullable().defaultTo('');
      t.text('url').notNullable();
      // The event type patterns, as a JSON array.
      t.text('events').notNullable();
      c.key('scheme', 32).notNullable();
      t.text('description').nullable();
      // Ciphertext when encryption is configured.
      t.text('secret').notNullable();
      t.text('previous_secret').nullable();
      c.time('previous_secret_expires_at').nullable();
      c.key('status', 16).notNullable();
      t.text('disabled_reason').nullable();
      c.time('created_at').notNullable();
      c.time('updated_at').notNullable();
    });
    // listEndpoints within a tenant, oldest first (every tenant's: by the primary key).
    await ctx.addIndex(tables.endpoints, 'tenant_idx', ['tenant_key', 'id']);

    await ctx.createTable(tables.deliveries, (t, c) => {
      c.key('id', 64).notNullable().primary();
      c.key('tenant_id', 191).nullable();
      c.key('tenant_key', 191).notNullable().defaultTo('');
      c.key('endpoint_id', 64).notNullable();
      c.key('event_id', 255).notNullable();
      c.key('event_type', 128).notNullable();
      c.longText('payload').notNullable();
      c.key('status', 16).notNullable();
      t.integer('attempts').notNullable().defaultTo(0);
      c.time('next_attempt_at').notNullable();
      c.key('locked_by', 255).nullable();
      c.time('locked_until').nullable();
      t.integer('last_status').nullable();
      c.longText('last_error').nullable();
      c.time('created_at').notNullable();
      c.time('updated_at').notNullable();
      c.time('delivered_at').nullable();
    });
    // Dedupe: one delivery per (endpoint, domain event), also when two relays fan out the same event.
    await ctx.addIndex(tables.deliveries, 'ref_uq', ['endpoint_id', 'event_id'], { unique: true });
    // claimDeliveries: due by status and next attempt.
    await ctx.addIndex(tables.deliveries, 'claim_idx', ['status', 'next_attempt_at']);
    // listDeliveries: one endpoint's, newest first.
    await ctx.addIndex(tables.deliveries, 'endpoint_idx', ['endpoint_id', 'id']);

    await ctx.createTable(tables.deliveryAttempts, (t, c) => {
      c.key('id', 64).notNullable().primary();
      c.key('delivery_id', 64).notNullable();
      c.key('endpoint_id', 64).notNullable();
      t.integer('attempt').notNullable();
      c.time('started_at').notNullable();
      t.bigInteger('duration_ms').notNullable();
      t.integer('response_status').nullable();
      c.longText('response_body').nullable();
      c.longText('error').nullable();
      c.time('next_attempt_at').nullable();
    });
    // listDeliveryAttempts: one delivery's, oldest first.
    await ctx.addIndex(tables.deliveryAttempts, 'delivery_idx', ['delivery_id', 'id']);
  },
};

/** Every step, in version order. */
const STEPS: readonly MigrationStep[] = [V1, V2, V3, V4];

function columnHelpers(table: Knex.CreateTableBuilder | Knex.AlterTableBuilder, dialect: KnexDialect): ColumnHelpers {
  return {
    key: (name, length) =>
      dialect === 'pg' ? table.specificType(name, `varchar(${length}) collate "C"`) : table.string(name, length),
    longText: (name) => table.text(name, 'mediumtext'),
    time: (name) => table.bigInteger(name),
  };
}

function stepContext(trx: Knex.Transaction, dialect: KnexDialect, tables: TableNames): StepContext {
  return {
    trx,
    dialect,
    tables,
    async createTable(name, build) {
      if (await trx.schema.hasTable(name)) return;
      await trx.schema.createTable(name, (table) => {
        build(table, columnHelpers(table, dialect));
        if (dialect === 'mysql') {
          table.engine('InnoDB');
          table.charset('utf8mb4');
          table.collate('utf8mb4_bin');
        }
      });
    },
    async addIndex(table, suffix, columns, options = {}) {
      const name = `${table}_${suffix}`;
      if (await hasIndex(trx, dialect, table, name)) return;
      await trx.schema.alterTable(table, (t) => {
        if (options.unique) t.unique(columns, { indexName: name });
        else t.index(columns, name);
      });
    },
    async addColumn(table, column, build) {
      if (await trx.schema.hasColumn(table, column)) return;
      await trx.schema.alterTable(table, (t) => build(t, columnHelpers(t, dialect)));
    },
  };
}

async function ensureVersionTable(db: Knex | Knex.Transaction, dialect: KnexDialect, table: string): Promise<void> {
  if (dialect === 'sqlite') {
    // Runs just before the write lock is taken (the lock statement writes to this table).
    await db.raw(
      'create table if not exists ?? (version integer not null primary key, name varchar(191) not null, applied_at bigint not null)',
      [table],
    );
    return;
  }
  // PostgreSQL and MySQL run this under the migration lock.
  if (await db.schema.hasTable(table)) return;
  await db.schema.createTable(table, (t) => {
    t.integer('version').notNullable().primary();
    t.string('name', 191).notNullable();
    t.bigInteger('applied_at').notNullable();
    if (dialect === 'mysql') {
      t.engine('InnoDB');
      t.charset('utf8mb4');
      t.collate('utf8mb4_bin');
    }
  });
}

async function readVersion(db: Knex | Knex.Transaction, table: string): Promise<number> {
  const row = (await db(table).max({ version: 'version' }).first()) as { version?: unknown } | undefined;
  const value = row?.version;
  return value === null || value === undefined ? 0 : Number(value);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Create or upgrade Payable's tables: the billing tables (customers, payments, refunds,
 * subscriptions, invoices, checkouts) and the system tables (webhook events, outbox, idempotency
 * keys, locks, cursors, L402 spent tokens and root keys, outbound webhook endpoints, deliveries and
 * their attempts), with the unique keys that carry deduplication and an index for every query
 * `KnexStorageDriver` makes.
 *
 * Steps are versioned and recorded in `<prefix>schema_version`; each run applies the steps not yet
 * applied, so it is safe to re-run (a no-op when up to date) and to run from several processes at
 * once (they serialize on a database lock: `pg_advisory_xact_lock`, `GET_LOCK`, or SQLite's write
 * lock). Run it against the same connection settings as the storage driver.
 *
 * @example
 * ```ts
 * import knex from 'knex';
 * import { KnexStorageDriver, migrate } from '@payable/storage-knex';
 *
 * const db = knex({ client: 'better-sqlite3', connection: { filename: './payable.db' }, useNullAsDefault: true });
 * await migrate(db); // { previousVersion: 0, version: 4, applied: [1, 2, 3, 4] }
 * const storage = new KnexStorageDriver(db);
 * ```
 */
export async function migrate(knex: Knex, options: MigrateOptions = {}): Promise<MigrateResult> {
  const file = dialectOf(knex) === 'sqlite' ? sqliteFile(knex) : null;
  if (file === null) return migrateLocked(knex, options);
  // better-sqlite3 waits for SQLite locks synchronously, blocking this process's event loop: migrations of
  // one file from this process queue here, other processes are kept out by SQLite's write lock.
  const previous = sqliteQueue.get(file) ?? Promise.resolve();
  const current = previous
    .catch(() => undefined)
    .then(async () => {
      const result = await migrateLocked(knex, options);
      if (options.sqliteJournalMode !== 'keep') await useWal(knex);
      return result;
    });
  const settled = current.catch(() => undefined);
  sqliteQueue.set(file, settled);
  void settled.then(() => {
    if (sqliteQueue.get(file) === settled) sqliteQueue.delete(file);
  });
  return current;
}

/** Switch a SQLite file to WAL. Another process switching it at the same moment is fine (it persists). */
async function useWal(knex: Knex): Promise<void> {
  try {
    await knex.raw('pragma journal_mode = wal');
  } catch {
    // SQLITE_BUSY: another connection holds the file right now; the next migrate switches it.
  }
}

async function migrateLocked(knex: Knex, options: MigrateOptions): Promise<MigrateResult> {
  const prefix = options.tablePrefix ?? DEFAULT_TABLE_PREFIX;
  const tables = tableNames(prefix);
  const target = options.to ?? SCHEMA_VERSION;
  if (!Number.isInteger(target) || target < 1 || target > SCHEMA_VERSION) {
    throw new ValidationError(`migrate: "to" must be an integer from 1 to ${SCHEMA_VERSION}.`, {
      context: { field: 'to', reason: 'out_of_range' },
    });
  }
  const timeoutMs = options.lockTimeoutMs ?? 60_000;
  const dialect = dialectOf(knex);
  const driver = `knex:${dialect}`;
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      const setup = (trx: Knex.Transaction) => ensureVersionTable(trx, dialect, tables.schemaVersion);
      return await withMigrationLock(knex, dialect, prefix, tables.schemaVersion, timeoutMs, setup, async (trx) => {
        const previousVersion = await readVersion(trx, tables.schemaVersion);
        const applied: number[] = [];
        const ctx = stepContext(trx, dialect, tables);
        for (const step of STEPS) {
          if (step.version <= previousVersion || step.version > target) continue;
          await step.up(ctx);
          await trx(tables.schemaVersion).insert({ version: step.version, name: step.name, applied_at: Date.now() });
          applied.push(step.version);
        }
        return { previousVersion, version: Math.max(previousVersion, ...applied), applied };
      });
    } catch (error) {
      // SQLite answers SQLITE_BUSY once its busy timeout passes while another process migrates: wait and retry.
      const busy =
        dialect === 'sqlite' &&
        classifyDbError(error) === 'unavailable' &&
        /SQLITE_BUSY|SQLITE_LOCKED/.test(codeOf(error));
      if (busy && Date.now() < deadline) {
        await sleep(Math.min(1000, 25 * 2 ** Math.min(attempt, 5)));
        continue;
      }
      if (busy) {
        throw new StorageUnavailableError('Timed out waiting for another process to finish migrating.', {
          cause: error,
          context: { driver, timeoutMs },
        });
      }
      throw toStorageError(error, driver);
    }
  }
}

/** Migrations of SQLite files running in this process, by absolute file name. */
const sqliteQueue = new Map<string, Promise<unknown>>();

/** The absolute file of a SQLite knex instance, or null for an in-memory database (one per connection). */
function sqliteFile(knex: Knex): string | null {
  const settings = (knex.client as { connectionSettings?: { filename?: unknown } }).connectionSettings;
  const filename = settings?.filename;
  if (typeof filename !== 'string' || filename === ':memory:' || filename === '' || filename.startsWith('file:'))
    return null;
  return resolve(filename);
}

function codeOf(error: unknown): string {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : '';
}

/**
 * The schema version applied to the database (the highest step `migrate` recorded), or 0 when
 * Payable's tables were never created there.
 *
 * @example
 * ```ts
 * const version = await schemaVersion(knex, { tablePrefix: 'payable_' });
 * if (version < SCHEMA_VERSION) console.warn(`run migrate: schema ${version} < ${SCHEMA_VERSION}`);
 * ```
 */
export async function schemaVersion(knex: Knex, options: SchemaVersionOptions = {}): Promise<number> {
  const tables = tableNames(options.tablePrefix ?? DEFAULT_TABLE_PREFIX);
  const dialect = dialectOf(knex);
  try {
    if (!(await knex.schema.hasTable(tables.schemaVersion))) return 0;
    return await readVersion(knex, tables.schemaVersion);
  } catch (error) {
    throw toStorageError(error, `knex:${dialect}`);
  }
}
