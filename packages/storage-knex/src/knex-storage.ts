import { createHash } from 'node:crypto';
import {
  InternalError,
  StorageUnavailableError,
  SystemClock,
  type AnyRecord,
  type ClaimedWebhookEvent,
  type ClaimOptions,
  type ClaimWithoutPayload,
  type Clock,
  type DeliveryPatch,
  type DeliveryQuery,
  type EndpointPatch,
  type EndpointQuery,
  type Lease,
  type OutboxPatch,
  type Page,
  type ProviderRef,
  type RecordByKind,
  type RecordKind,
  type RecordQuery,
  type StorageDriver,
  type StorageSession,
  type StoredDelivery,
  type StoredDeliveryAttempt,
  type StoredEndpoint,
  type StoredIdempotencyKey,
  type StoredL402RootKey,
  type StoredL402SpentToken,
  type StoredOutboxMessage,
  type StoredWebhookEvent,
  type WebhookEventPatch,
  type WebhookEventQuery,
  type WebhookEventStatus,
} from '@payable/core';
import type { Knex } from 'knex';
import {
  detectSkipLocked,
  dialectOf,
  insertUnique,
  lockRead,
  takeWriteLock,
  type Db,
  type KnexDialect,
} from './dialect.js';
import { isDeadlock, isUniqueViolation, toStorageError } from './errors.js';
import {
  attemptToRow,
  CLAIMED_EVENT_COLUMNS,
  decodeCursor,
  deliveryPatchToRow,
  deliveryToRow,
  encodeCursor,
  endpointPatchToRow,
  endpointToRow,
  eventPatchToRow,
  eventToRow,
  idempotencyPatchToRow,
  idempotencyToRow,
  l402RootKeyToRow,
  l402SpentToRow,
  LIMITS,
  num,
  outboxPatchToRow,
  outboxToRow,
  recordToRow,
  rowToAttempt,
  rowToDelivery,
  rowToEndpoint,
  rowToClaimedEvent,
  rowToEvent,
  rowToIdempotency,
  rowToL402RootKey,
  rowToOutbox,
  rowToRecord,
  tenantKey,
  toMs,
  type IdempotencyPatch,
  type Row,
} from './rows.js';
import { GroupCommit } from './group-commit.js';
import { PgTransactions } from './pg-transaction.js';
import { bindable, comparable, HotSql, NONE } from './statements.js';
import { DEFAULT_TABLE_PREFIX, tableNames, type TableNames } from './tables.js';

/**
 * Options of {@link KnexStorageDriver}.
 *
 * @example
 * ```ts
 * new KnexStorageDriver(knex, clock, { tablePrefix: 'billing_', destroyOnClose: false });
 * ```
 */
export interface KnexStorageOptions {
  /** The prefix of every table name; the same one given to `migrate`. Default `payable_`. */
  tablePrefix?: string;
  /**
   * Whether `close()` destroys the knex instance (ends its connection pool). Default `true`; pass
   * `false` when other code shares the instance and closes it itself.
   */
  destroyOnClose?: boolean;
  /**
   * PostgreSQL only: run the driver's inserts and updates as named prepared statements, parsed and
   * planned once per connection instead of on every call (reads stay unnamed, so a column added by
   * a later migration never invalidates them). Default `true`. Pass `false` behind a connection
   * pooler that hands each transaction a different server connection and cannot keep prepared
   * statements (PgBouncer in transaction mode before 1.21, or without `max_prepared_statements`).
   */
  preparedStatements?: boolean;
  /**
   * SQLite only: `transaction(fn)` calls and writes that start together, or while a group runs,
   * join one database transaction, each after the first in a savepoint of its own, and commit
   * together (group commit); a write alone runs in autocommit. Each caller is
   * still answered only after the COMMIT that carries its work, and a callback that throws undoes
   * only its own work. SQLite runs one writer at a time anyway; grouping saves a COMMIT and its WAL
   * write per transaction. Default `true`; `false` gives every transaction its own COMMIT.
   */
  groupCommit?: boolean;
}

/** State shared by a driver and the transaction sessions it hands out. */
interface Shared {
  readonly knex: Knex;
  readonly dialect: KnexDialect;
  readonly name: string;
  readonly tables: TableNames;
  readonly destroyOnClose: boolean;
  /** The hot statements' SQL, built once; `null` when this knex needs the query builder (see `HotSql.for`). */
  readonly sql: HotSql | null;
  /** SQLite's group commit of `transaction(fn)` calls and writes; `null` on other dialects or when turned off. */
  readonly group: GroupCommit | null;
  /** The driver's own transactions on PostgreSQL (see {@link PgTransactions}); `null` elsewhere, without `sql`, or on a knex transaction. */
  readonly pg: PgTransactions | null;
  closed: boolean;
  skipLocked: Promise<boolean> | null;
}

/** Marks the options of a session bound to a transaction (module-private: not part of the API). */
const BOUND = Symbol('payable.knex.bound');
type InternalOptions = KnexStorageOptions & { [BOUND]?: { shared: Shared; trx: Knex.Transaction } };

const CLAIMABLE_OUTBOX = ['pending', 'processing'] as const;
const EVENT_STATUSES: readonly WebhookEventStatus[] = ['pending', 'processing', 'processed', 'failed'];
const INSERT_CHUNK = 100;
/** The columns a record read needs: the record is its `data` JSON (see `rowToRecord`). */
const RECORD_READ: readonly string[] = ['data'];
/** How often an insert-or-read races a concurrent delete (idempotency keys, locks) before giving up. */
const RACE_RETRIES = 5;
/** How often a transaction of the driver's own that the database chose as a deadlock victim runs again. */
const DEADLOCK_RETRIES = 5;
/** The unique key of a delivery. */
const DELIVERY_REF = ['endpoint_id', 'event_id'];

/** A column list for the query builder: `columns`, or `*` when there are none. */
function builderColumns(columns: readonly string[]): string[] | '*' {
  return columns.length > 0 ? [...columns] : '*';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Claim order of deliveries: the earliest `nextAttemptAt` first, then id. */
function byDue(a: StoredDelivery, b: StoredDelivery): number {
  return a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime() || compareIds(a.id, b.id);
}

function pageSize(limit: number): number {
  return Math.max(0, Math.floor(Number.isFinite(limit) ? limit : 0));
}

function toPage<T>(rows: T[], size: number, cursorOf: (row: T) => string): Page<T> {
  const data = rows.slice(0, size);
  const hasMore = rows.length > data.length;
  const last = data[data.length - 1];
  return { data, hasMore, nextCursor: hasMore && last !== undefined ? cursorOf(last) : null };
}

/** Lock names longer than their column are stored by digest (only equality matters for a lock). */
function lockKey(name: string): string {
  return name.length <= LIMITS.lockName ? name : `sha256:${createHash('sha256').update(name).digest('hex')}`;
}

/** How many transactions one SQLite commit carries at most (see {@link GroupCommit}). */
const GROUP_MAX = 32;

/** SQLite's group commit for `knex`: each group is a knex transaction that takes the write lock first. */
function groupCommitFor(knex: Knex, lockTable: string, sql: HotSql | null, name: string): GroupCommit {
  const config = (knex.client as { config?: { acquireConnectionTimeout?: unknown } }).config;
  const wait = Number(config?.acquireConnectionTimeout ?? 60_000);
  return new GroupCommit({
    open: (body) =>
      knex.transaction(async (trx) => {
        await takeWriteLock(trx, 'sqlite', lockTable, sql);
        await body(trx);
      }),
    autocommit: (write) => write(knex),
    statement: async (trx, text) => {
      if (sql) await sql.run(trx, text, []);
      else await trx.raw(text);
    },
    maxMembers: GROUP_MAX,
    waitTimeoutMs: Number.isFinite(wait) && wait > 0 ? wait : 60_000,
    timeout: () =>
      new StorageUnavailableError('Timed out waiting for the SQLite database: a transaction held it too long.', {
        context: { driver: name },
      }),
    storeError: (error) => toStorageError(error, name),
  });
}

/**
 * The storage port on Knex, for SQLite (better-sqlite3; a file or `:memory:`), PostgreSQL (`pg`)
 * and MySQL/MariaDB (`mysql2`). Run `migrate(knex)` first, with the same `tablePrefix`.
 *
 * Concurrency is the database's: inserts that deduplicate rely on unique keys (`ON CONFLICT DO
 * NOTHING` on PostgreSQL and SQLite, a caught duplicate-key error on MySQL), claims and
 * compare-and-set updates are conditional `UPDATE`s that check the affected rows, the outbox and
 * outbound webhook deliveries are claimed with `FOR UPDATE SKIP LOCKED` where the server has it
 * (PostgreSQL, MySQL 8, MariaDB 10.6+; on MySQL in a `READ COMMITTED` transaction, so the locking
 * read holds only the rows it claims) and by SQLite's single writer otherwise. A transaction the
 * driver opens itself is run again when the database picks it as a deadlock victim. MySQL servers
 * that log statements (`binlog_format = STATEMENT`) refuse `READ COMMITTED` writes: use `ROW` or
 * `MIXED` (the defaults of MySQL 8 and MariaDB). Times are stored as epoch milliseconds, so Dates come
 * back exact to the millisecond. A database that cannot be reached, a dropped connection or a pool
 * timeout throws `StorageUnavailableError` (HTTP 503, with the driver error as `cause`).
 *
 * `transaction(fn)` runs `fn` in one database transaction (on PostgreSQL the driver's own, BEGIN
 * and COMMIT on a pooled connection; a knex transaction elsewhere) and hands it a driver bound to
 * it; calls made on the outer driver inside `fn` run outside the transaction (on SQLite, whose pool
 * has one connection, they wait for it to end): use `tx`.
 *
 * @example
 * ```ts
 * import knex from 'knex';
 * import { createPayable } from '@payable/core';
 * import { KnexStorageDriver, migrate } from '@payable/storage-knex';
 *
 * const db = knex({ client: 'pg', connection: process.env.DATABASE_URL });
 * await migrate(db);
 * const storage = new KnexStorageDriver(db, clock);
 * const payable = createPayable({ providers: { stripe }, storage });
 * ```
 */
export class KnexStorageDriver implements StorageDriver {
  /** `knex:sqlite`, `knex:pg` or `knex:mysql`. */
  readonly name: string;
  /**
   * The clock given to the constructor. Every time the driver stores comes from its arguments
   * (leases, records, rows), so the clock is only kept for callers that ask the storage for it.
   */
  readonly clock: Clock;
  readonly #shared: Shared;
  readonly #db: Db;
  readonly #trx: Knex.Transaction | null;
  #ended = false;

  /**
   * @param knex a knex instance for a supported client (`better-sqlite3`, `pg`, `mysql2`)
   * @param clock the clock of the app (default: the system clock)
   * @param options table prefix and whether `close()` destroys `knex`
   */
  constructor(knex: Knex, clock?: Clock, options: KnexStorageOptions = {}) {
    const bound = (options as InternalOptions)[BOUND];
    this.clock = clock ?? new SystemClock();
    if (bound) {
      this.#shared = bound.shared;
      this.#trx = bound.trx;
      this.#db = bound.trx;
    } else {
      const dialect = dialectOf(knex);
      const tables = tableNames(options.tablePrefix ?? DEFAULT_TABLE_PREFIX);
      const sql = HotSql.for(knex, dialect, tables.schemaVersion, { preparedStatements: options.preparedStatements });
      this.#shared = {
        knex,
        dialect,
        name: `knex:${dialect}`,
        tables,
        destroyOnClose: options.destroyOnClose ?? true,
        sql,
        group:
          dialect === 'sqlite' && (options.groupCommit ?? true)
            ? groupCommitFor(knex, tables.schemaVersion, sql, `knex:${dialect}`)
            : null,
        // A knex transaction given as the knex keeps knex's (nested) transactions inside it.
        pg:
          dialect === 'pg' && sql && !(knex as { isTransaction?: unknown }).isTransaction
            ? new PgTransactions(knex, sql)
            : null,
        closed: false,
        skipLocked: null,
      };
      this.#trx = null;
      this.#db = knex;
    }
    this.name = this.#shared.name;
  }

  // Plumbing ----------------------------------------------------------------------------------

  get #dialect(): KnexDialect {
    return this.#shared.dialect;
  }

  get #tables(): TableNames {
    return this.#shared.tables;
  }

  /** Runs one storage operation: checks the driver is usable and maps every failure to a Payable error. */
  async #run<T>(op: (db: Db) => Promise<T>): Promise<T> {
    this.#assertUsable();
    try {
      return await op(this.#db);
    } catch (error) {
      throw toStorageError(error, this.name);
    }
  }

  /**
   * Runs one write outside a transaction like `#run`. On SQLite with group commit it joins the next
   * group (see `GroupCommit.write`), so concurrent writes share one COMMIT and its fsync; alone, it
   * runs in autocommit as before. Inside a transaction it is `#run`.
   */
  #write<T>(op: (db: Db) => Promise<T>): Promise<T> {
    const group = this.#trx ? null : this.#shared.group;
    return group === null ? this.#run(op) : this.#run(() => group.write(op));
  }

  #assertUsable(): void {
    if (this.#shared.closed)
      throw new StorageUnavailableError('The storage driver is closed.', { context: { driver: this.name } });
    if (this.#ended) {
      throw new InternalError('This transaction has already ended; use the storage driver, not a finished tx.', {
        context: { driver: this.name },
      });
    }
  }

  /**
   * Runs `fn` in this session's transaction, or in a new one when there is none. A new transaction
   * the database rolls back to break a deadlock is run again (nothing of it remains). With
   * `readCommitted`, a new MySQL transaction runs at `READ COMMITTED`: its locking reads then lock
   * only the rows they return, not every row and gap they scan (which made concurrent claimers
   * deadlock under `REPEATABLE READ`).
   */
  async #atomically<T>(
    db: Db,
    fn: (trx: Knex.Transaction) => Promise<T>,
    options: { readCommitted?: boolean } = {},
  ): Promise<T> {
    if (this.#trx) return fn(this.#trx);
    const config: Knex.TransactionConfig | undefined =
      options.readCommitted && this.#dialect === 'mysql' ? { isolationLevel: 'read committed' } : undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#open(
          db,
          async (trx) => {
            await this.#takeWriteLock(trx);
            return fn(trx);
          },
          config,
        );
      } catch (error) {
        if (attempt >= DEADLOCK_RETRIES || !isDeadlock(error)) throw error;
        await sleep(Math.floor(Math.random() * 10 * attempt));
      }
    }
  }

  /**
   * A new transaction on `db`, or a savepoint when this session is a transaction's: the driver's
   * own on PostgreSQL ({@link PgTransactions}), knex's otherwise.
   */
  #open<T>(db: Db, body: (trx: Knex.Transaction) => Promise<T>, config?: Knex.TransactionConfig): Promise<T> {
    const pg = this.#shared.pg;
    if (pg === null) return db.transaction(body, config);
    return this.#trx ? pg.savepoint(this.#trx, body) : pg.run(body);
  }

  /** The lock mode of a read: a requested `FOR UPDATE` only means something inside a transaction. */
  #lockMode(forUpdate: boolean | undefined): 'update' | null {
    return forUpdate && this.#trx ? 'update' : null;
  }

  /**
   * The lock mode of the read that follows a lost insert race. On MySQL inside a transaction a plain
   * read could see the transaction's older snapshot and miss the row that won; a locking read sees
   * the latest committed row.
   */
  #raceReadMode(): 'share' | null {
    return this.#dialect === 'mysql' && this.#trx ? 'share' : null;
  }

  async #skipLocked(db: Db): Promise<boolean> {
    if (!this.#shared.skipLocked) {
      const detecting = detectSkipLocked(db, this.#dialect);
      this.#shared.skipLocked = detecting;
      detecting.catch(() => {
        if (this.#shared.skipLocked === detecting) this.#shared.skipLocked = null;
      });
    }
    return this.#shared.skipLocked;
  }

  /** On SQLite, take the write lock at the start of a new transaction (see `takeWriteLock`). */
  #takeWriteLock(trx: Knex.Transaction): Promise<void> {
    return takeWriteLock(trx, this.#dialect, this.#tables.schemaVersion, this.#shared.sql);
  }

  /**
   * `select *` of the rows whose columns equal `where`'s values, locked as `mode` asks: one of the
   * driver's precompiled statements, or the query builder's when there is none for it.
   */
  /** The rows whose columns equal `where`'s values: every column, or only `columns` when given. */
  async #selectWhere(
    db: Db,
    table: string,
    where: Row,
    mode: 'update' | 'share' | null,
    columns: readonly string[] = [],
  ): Promise<Row[]> {
    const sql = this.#shared.sql;
    const values = Object.values(where);
    if (sql && mode !== 'share' && comparable(values)) {
      return (await sql.run(db, sql.select(table, Object.keys(where), mode === 'update', columns), values)).rows;
    }
    return lockRead(db(table).select(builderColumns(columns)).where(where), this.#dialect, mode);
  }

  /** Set `set`'s columns of the rows whose columns equal `where`'s values; how many rows matched. */
  async #updateWhere(db: Db, table: string, set: Row, where: Row): Promise<number> {
    const sql = this.#shared.sql;
    const values = Object.values(set);
    const keys = Object.values(where);
    if (sql && bindable(values) && comparable(keys)) {
      const text = sql.update(table, Object.keys(set), Object.keys(where));
      return (await sql.run(db, text, [...values, ...keys])).count;
    }
    return num(await db(table).where(where).update(set));
  }

  /** Insert `rows` (all with the same columns) in one statement. */
  async #insertRows(db: Db, table: string, rows: Row[]): Promise<void> {
    const sql = this.#shared.sql;
    const first = rows[0];
    if (sql && first) {
      const columns = Object.keys(first);
      const values: unknown[] = [];
      let same = true;
      for (const row of rows) {
        if (Object.keys(row).length !== columns.length) same = false;
        for (const column of columns) values.push(row[column]);
      }
      if (same && bindable(values)) {
        await sql.run(db, sql.insert(table, columns, rows.length), values);
        return;
      }
    }
    await db(table).insert(rows);
  }

  /** Whether a row matching `where` exists (the answer of an update with nothing to set). */
  async #exists(db: Db, table: string, where: (query: Knex.QueryBuilder) => Knex.QueryBuilder): Promise<boolean> {
    const rows: unknown[] = await where(db(table).select(db.raw('1 as found'))).limit(1);
    return rows.length > 0;
  }

  // Transactions and lifecycle ----------------------------------------------------------------

  /**
   * Runs `fn` in one database transaction: every write made through `tx` commits when `fn`
   * resolves and rolls back when it throws (the error is rethrown as it is). On SQLite the
   * transaction takes the write lock first, so concurrent writers queue instead of deadlocking.
   * Nested calls on `tx` use savepoints.
   *
   * @example
   * ```ts
   * await storage.transaction(async (tx) => {
   *   await tx.updateRecord('payment', { ...payment, status: 'succeeded' });
   *   await tx.appendOutbox([message]);
   * });
   * ```
   */
  async transaction<T>(fn: (tx: StorageSession) => Promise<T>): Promise<T> {
    this.#assertUsable();
    const group = this.#trx ? null : this.#shared.group;
    if (group) return group.run((trx) => this.#inSession(trx, fn));
    let failed: { error: unknown } | null = null;
    try {
      return await this.#open(this.#db, async (trx) => {
        if (!this.#trx) await this.#takeWriteLock(trx);
        try {
          return await this.#inSession(trx, fn);
        } catch (error) {
          failed = { error };
          throw error;
        }
      });
    } catch (error) {
      // The callback's own error is rethrown as it is; a failure of BEGIN/COMMIT is the store's.
      if (failed) throw (failed as { error: unknown }).error;
      throw toStorageError(error, this.name);
    }
  }

  /** Runs `fn` with a session bound to `trx`, which refuses every call once `fn` has settled. */
  async #inSession<T>(trx: Knex.Transaction, fn: (tx: StorageSession) => Promise<T>): Promise<T> {
    const bound: InternalOptions = { [BOUND]: { shared: this.#shared, trx } };
    const tx = new KnexStorageDriver(this.#shared.knex, this.clock, bound);
    try {
      return await fn(tx);
    } finally {
      tx.#ended = true;
    }
  }

  /**
   * Resolves when the database answers `select 1`; throws `StorageUnavailableError` when it
   * cannot be reached (or after `close()`).
   *
   * @example
   * ```ts
   * await storage.ping(); // in a readiness probe
   * ```
   */
  async ping(): Promise<void> {
    await this.#run(async (db) => {
      await db.raw('select 1');
    });
  }

  /**
   * Refuses every later call (`StorageUnavailableError`) and, unless `destroyOnClose: false`,
   * destroys the knex instance. Safe to call twice. On a transaction's `tx` it does nothing.
   *
   * @example
   * ```ts
   * await payable.close();
   * await storage.close();
   * ```
   */
  async close(): Promise<void> {
    if (this.#trx || this.#shared.closed) return;
    this.#shared.closed = true;
    if (this.#shared.destroyOnClose) await this.#shared.knex.destroy();
  }

  // Billing records ---------------------------------------------------------------------------

  /**
   * Insert `record`, or return the existing one with the same (tenantId, provider, providerId);
   * the unique key decides, also between processes. A different record with the same `id` is an
   * `InternalError`.
   */
  async insertRecord<K extends RecordKind>(
    kind: K,
    record: RecordByKind[K],
  ): Promise<{ inserted: boolean; record: RecordByKind[K] }> {
    const row = recordToRow(record);
    const table = this.#tables.records[kind];
    return this.#write(async (db) => {
      if (
        await insertUnique(db, this.#dialect, table, row, ['tenant_key', 'provider', 'provider_id'], this.#shared.sql)
      ) {
        return { inserted: true, record: rowToRecord<RecordByKind[K]>(row) };
      }
      const existing = await this.#recordByRef(db, table, row, this.#raceReadMode());
      if (!existing) {
        throw new InternalError(`A ${kind} record with this id already exists.`, { context: { kind, id: record.id } });
      }
      return { inserted: false, record: rowToRecord<RecordByKind[K]>(existing) };
    });
  }

  async #recordByRef(db: Db, table: string, ref: Row, mode: 'update' | 'share' | null): Promise<Row | undefined> {
    const where = { tenant_key: ref.tenant_key, provider: ref.provider, provider_id: ref.provider_id };
    const rows = await this.#selectWhere(db, table, where, mode, RECORD_READ);
    return rows[0];
  }

  /** A record by Payable id within a tenant; `forUpdate` locks its row until the transaction ends. */
  async getRecord<K extends RecordKind>(
    kind: K,
    id: string,
    tenantId: string | null,
    options?: { forUpdate?: boolean },
  ): Promise<RecordByKind[K] | null> {
    const key = tenantKey(tenantId);
    return this.#run(async (db) => {
      const where = { id, tenant_key: key };
      const rows = await this.#selectWhere(
        db,
        this.#tables.records[kind],
        where,
        this.#lockMode(options?.forUpdate),
        RECORD_READ,
      );
      return rows[0] ? rowToRecord<RecordByKind[K]>(rows[0]) : null;
    });
  }

  /** A record by its provider's id; `forUpdate` locks its row until the transaction ends. */
  async findRecord<K extends RecordKind>(
    kind: K,
    ref: ProviderRef,
    options?: { forUpdate?: boolean },
  ): Promise<RecordByKind[K] | null> {
    const key = { tenant_key: tenantKey(ref.tenantId), provider: ref.provider, provider_id: ref.providerId };
    return this.#run(async (db) => {
      const row = await this.#recordByRef(db, this.#tables.records[kind], key, this.#lockMode(options?.forUpdate));
      return row ? rowToRecord<RecordByKind[K]>(row) : null;
    });
  }

  /**
   * Replace a record, matched by id and tenant; `false` when there is none. Moving it to a provider
   * id another record has is an `InternalError`.
   */
  async updateRecord<K extends RecordKind>(kind: K, record: RecordByKind[K]): Promise<boolean> {
    const { id, tenant_key: key, ...columns } = recordToRow(record);
    return this.#write(async (db) => {
      try {
        return (await this.#updateWhere(db, this.#tables.records[kind], columns, { id, tenant_key: key })) > 0;
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new InternalError(`Another ${kind} record already has this provider id.`, {
            cause: error,
            context: { kind, id: record.id, provider: record.provider, providerId: record.providerId },
          });
        }
        throw error;
      }
    });
  }

  /** Records of a tenant, newest first (createdAt, then id, descending), with a cursor to continue. */
  async listRecords<K extends RecordKind>(kind: K, query: RecordQuery): Promise<Page<RecordByKind[K]>> {
    const key = tenantKey(query.tenantId);
    const position = query.cursor ? decodeCursor(query.cursor) : null;
    const size = pageSize(query.limit);
    return this.#run(async (db) => {
      const q = db(this.#tables.records[kind]).select('*').where('tenant_key', key);
      if (query.provider !== undefined && query.provider !== null) q.where('provider', query.provider);
      if (query.customerId !== undefined && query.customerId !== null) q.where('customer_id', query.customerId);
      if (query.status !== undefined && query.status !== null) q.where('status', query.status);
      if (position) {
        q.where((w) =>
          w
            .where('created_at', '<', position.time)
            .orWhere((x) => x.where('created_at', position.time).andWhere('id', '<', position.id)),
        );
      }
      const rows: Row[] = await q
        .orderBy([
          { column: 'created_at', order: 'desc' },
          { column: 'id', order: 'desc' },
        ])
        .limit(size + 1);
      const records = rows.map((row) => rowToRecord<RecordByKind[K]>(row));
      return toPage(records, size, (record: AnyRecord) => encodeCursor(record.createdAt.getTime(), record.id));
    });
  }

  // Webhook inbox -----------------------------------------------------------------------------

  /**
   * Insert `event`, or return the stored one with the same (tenantId, provider, providerEventId):
   * of any number of concurrent deliveries, exactly one gets `inserted: true`.
   */
  async insertWebhookEvent(event: StoredWebhookEvent): Promise<{ inserted: boolean; event: StoredWebhookEvent }> {
    const row = eventToRow(event);
    const table = this.#tables.webhookEvents;
    return this.#write(async (db) => {
      const conflict = ['tenant_key', 'provider', 'provider_event_id'];
      if (await insertUnique(db, this.#dialect, table, row, conflict, this.#shared.sql)) {
        return { inserted: true, event: rowToEvent(row) };
      }
      const query = db(table)
        .select('*')
        .where({ tenant_key: row.tenant_key, provider: row.provider, provider_event_id: row.provider_event_id });
      const rows: Row[] = await lockRead(query, this.#dialect, this.#raceReadMode());
      if (!rows[0])
        throw new InternalError('A webhook event with this id already exists.', { context: { id: event.id } });
      return { inserted: false, event: rowToEvent(rows[0]) };
    });
  }

  /** The row with this primary key `id`, converted, or `null`. */
  #byId<T>(table: string, id: string, convert: (row: Row) => T): Promise<T | null> {
    return this.#run(async (db) => {
      const rows: Row[] = await db(table).select('*').where('id', id);
      return rows[0] ? convert(rows[0]) : null;
    });
  }

  /** A stored event by Payable id, or `null`. */
  async getWebhookEvent(id: string): Promise<StoredWebhookEvent | null> {
    return this.#byId(this.#tables.webhookEvents, id, rowToEvent);
  }

  /**
   * Move an event to `processing` for `lease.owner` (attempts + 1) when it is `pending`, or
   * `processing` with an expired lease: one conditional `UPDATE`, so of concurrent claimers exactly
   * one wins. With `{ processed: true }` the same `UPDATE` marks it processed instead (for a
   * transaction doing the event's work). Returns the claimed event, or `null`.
   */
  claimWebhookEvent(id: string, lease: Lease, options: ClaimWithoutPayload): Promise<ClaimedWebhookEvent | null>;
  claimWebhookEvent(id: string, lease: Lease, options?: ClaimOptions): Promise<StoredWebhookEvent | null>;
  async claimWebhookEvent(
    id: string,
    lease: Lease,
    options?: ClaimOptions,
  ): Promise<StoredWebhookEvent | ClaimedWebhookEvent | null> {
    const now = toMs(lease.now);
    const processed = options?.processed === true;
    // Without the payload: only the other columns are read back, and the event is made without it.
    const columns = options?.payload === false ? CLAIMED_EVENT_COLUMNS : NONE;
    const toEvent = options?.payload === false ? rowToClaimedEvent : rowToEvent;
    const patch: Row = processed
      ? {
          status: 'processed',
          locked_by: null,
          locked_until: null,
          updated_at: now,
          processed_at: now,
          last_error: null,
        }
      : { status: 'processing', locked_by: lease.owner, locked_until: toMs(lease.until), updated_at: now };
    const table = this.#tables.webhookEvents;
    const sql = this.#shared.sql;
    // The patch's values in the claim statement's order (see `HotSql.claimEvent`), then the condition's.
    const bindings = [...Object.values(patch), id, 'pending', 'processing', now];
    if (sql && bindable(bindings)) {
      const claim = sql.claimEvent(table, processed, columns);
      return this.#write(async (db) => {
        if (this.#dialect !== 'mysql') {
          const { rows } = await sql.run(db, claim, bindings);
          return rows[0] ? toEvent(rows[0]) : null;
        }
        // MySQL has no UPDATE … RETURNING: update and read back under the row lock.
        return this.#atomically(db, async (trx) => {
          if ((await sql.run(trx, claim, bindings)).count === 0) return null;
          const rows = await this.#selectWhere(trx, table, { id }, null, columns);
          return rows[0] ? toEvent(rows[0]) : null;
        });
      });
    }
    // The same statements through the query builder (a knex the precompiled SQL is not for).
    const claimable = (q: Knex.QueryBuilder): Knex.QueryBuilder =>
      q
        .where('id', id)
        .andWhere((w) =>
          w
            .where('status', 'pending')
            .orWhere((x) =>
              x
                .where('status', 'processing')
                .andWhere((y) => y.whereNull('locked_until').orWhere('locked_until', '<=', now)),
            ),
        );
    return this.#write(async (db) => {
      const set = { ...patch, attempts: db.raw('?? + 1', ['attempts']) };
      if (this.#dialect !== 'mysql') {
        const rows: Row[] = await claimable(db(table)).update(set).returning(builderColumns(columns));
        return rows[0] ? toEvent(rows[0]) : null;
      }
      return this.#atomically(db, async (trx) => {
        const changed = await claimable(trx(table)).update(set);
        if (num(changed) === 0) return null;
        const rows: Row[] = await trx(table).select(builderColumns(columns)).where('id', id);
        return rows[0] ? toEvent(rows[0]) : null;
      });
    });
  }

  /** Update an event; with `owner`, only while that owner holds it. Whether a row matched. */
  async updateWebhookEvent(id: string, patch: WebhookEventPatch, options?: { owner?: string }): Promise<boolean> {
    const set = eventPatchToRow(patch);
    return this.#write(async (db) => {
      if (Object.keys(set).length > 0) {
        const match: Row = options?.owner === undefined ? { id } : { id, locked_by: options.owner };
        return (await this.#updateWhere(db, this.#tables.webhookEvents, set, match)) > 0;
      }
      const where = (q: Knex.QueryBuilder): Knex.QueryBuilder => {
        q.where('id', id);
        if (options?.owner !== undefined) q.where('locked_by', options.owner);
        return q;
      };
      return this.#exists(db, this.#tables.webhookEvents, where);
    });
  }

  /** Events oldest first (receivedAt, then id), filtered by status, provider and `updatedBefore`. */
  async listWebhookEvents(query: WebhookEventQuery): Promise<Page<StoredWebhookEvent>> {
    const position = query.cursor ? decodeCursor(query.cursor) : null;
    const size = pageSize(query.limit);
    const before = query.updatedBefore ? toMs(query.updatedBefore) : null;
    return this.#run(async (db) => {
      const q = db(this.#tables.webhookEvents).select('*');
      if (query.status !== undefined) q.where('status', query.status);
      if (query.provider !== undefined) q.where('provider', query.provider);
      if (before !== null) q.where('updated_at', '<', before);
      if (position) {
        q.where((w) =>
          w
            .where('received_at', '>', position.time)
            .orWhere((x) => x.where('received_at', position.time).andWhere('id', '>', position.id)),
        );
      }
      const rows: Row[] = await q
        .orderBy([
          { column: 'received_at', order: 'asc' },
          { column: 'id', order: 'asc' },
        ])
        .limit(size + 1);
      return toPage(rows.map(rowToEvent), size, (event) => encodeCursor(event.receivedAt.getTime(), event.id));
    });
  }

  /** How many events are in each status (every status present, 0 when none). */
  async countWebhookEvents(): Promise<Record<WebhookEventStatus, number>> {
    return this.#run(async (db) => {
      const rows: Row[] = await db(this.#tables.webhookEvents).select('status').count({ n: '*' }).groupBy('status');
      const counts: Record<WebhookEventStatus, number> = { pending: 0, processing: 0, processed: 0, failed: 0 };
      for (const row of rows) {
        const status = row.status as WebhookEventStatus;
        if (EVENT_STATUSES.includes(status)) counts[status] = num(row.n);
      }
      return counts;
    });
  }

  // Locks -------------------------------------------------------------------------------------

  /**
   * Take the named lock for `lease.owner` until `lease.until` when it is free, expired at
   * `lease.now`, or already the owner's (a renewal). Whether the owner holds it now.
   */
  async acquireLock(name: string, lease: Lease): Promise<boolean> {
    const key = lockKey(name);
    const now = toMs(lease.now);
    const until = toMs(lease.until);
    const table = this.#tables.locks;
    return this.#write(async (db) => {
      for (let attempt = 0; attempt < RACE_RETRIES; attempt++) {
        if (
          await insertUnique(
            db,
            this.#dialect,
            table,
            { name: key, tenant_id: null, owner: lease.owner, locked_until: until },
            ['name'],
          )
        ) {
          return true;
        }
        const changed = await db(table)
          .where('name', key)
          .andWhere((w) => w.where('owner', lease.owner).orWhere('locked_until', '<=', now))
          .update({ owner: lease.owner, locked_until: until });
        if (num(changed) > 0) return true;
        // Held by someone else, unless it was released between the insert and the update: try again.
        if (await this.#exists(db, table, (q) => q.where('name', key))) return false;
      }
      return false;
    });
  }

  /** Release the named lock if `owner` holds it. */
  async releaseLock(name: string, owner: string): Promise<void> {
    await this.#write(async (db) => {
      await db(this.#tables.locks)
        .where({ name: lockKey(name), owner })
        .del();
    });
  }

  // Cursors -----------------------------------------------------------------------------------

  /** The value stored under `name`, or `null` (needs schema version 3). */
  async getCursor(name: string): Promise<string | null> {
    return this.#run(async (db) => {
      const row = (await db(this.#tables.cursors).select('value').where('name', lockKey(name)).first()) as
        | Row
        | undefined;
      return row === undefined ? null : String(row.value);
    });
  }

  /** Store `value` under `name`: update the row, or insert it (a concurrent insert turns into an update). */
  async setCursor(name: string, value: string): Promise<void> {
    const key = lockKey(name);
    const table = this.#tables.cursors;
    const updatedAt = toMs(this.clock.now());
    await this.#write(async (db) => {
      for (let attempt = 0; attempt < RACE_RETRIES; attempt++) {
        const changed = await db(table).where('name', key).update({ value, updated_at: updatedAt });
        if (num(changed) > 0) return;
        if (await insertUnique(db, this.#dialect, table, { name: key, value, updated_at: updatedAt }, ['name'])) return;
      }
      throw new StorageUnavailableError('The cursor kept changing under concurrent writers; retry.', {
        context: { driver: this.name },
      });
    });
  }

  // L402 --------------------------------------------------------------------------------------

  /** Store a root key unless its `id` exists (the primary key decides); whether this call stored it. */
  async putL402RootKey(row: StoredL402RootKey): Promise<{ inserted: boolean }> {
    const values = l402RootKeyToRow(row);
    return this.#write(async (db) => ({
      inserted: await insertUnique(db, this.#dialect, this.#tables.l402RootKeys, values, ['id']),
    }));
  }

  /** The root key stored under `id`, or `null`. */
  async getL402RootKey(id: string): Promise<StoredL402RootKey | null> {
    return this.#byId(this.#tables.l402RootKeys, id, rowToL402RootKey);
  }

  /** Delete a root key (revocation); whether one was deleted. */
  async deleteL402RootKey(id: string): Promise<boolean> {
    return this.#write(async (db) => num(await db(this.#tables.l402RootKeys).where('id', id).del()) > 0);
  }

  /** Delete root keys whose `expiresAt` is at or before `before`; how many were deleted. */
  async purgeL402RootKeys(before: Date): Promise<number> {
    const at = toMs(before);
    return this.#write(async (db) => num(await db(this.#tables.l402RootKeys).where('expires_at', '<=', at).del()));
  }

  /** Record a spent payment hash: the unique (tenant, payment hash) lets exactly one insert win. */
  async insertL402SpentToken(row: StoredL402SpentToken): Promise<{ inserted: boolean }> {
    const values = l402SpentToRow(row);
    return this.#write(async (db) => ({
      inserted: await insertUnique(db, this.#dialect, this.#tables.l402SpentTokens, values, [
        'tenant_key',
        'payment_hash',
      ]),
    }));
  }

  /** Delete spent hashes recorded at or before `before`; how many were deleted. */
  async purgeL402SpentTokens(before: Date): Promise<number> {
    const at = toMs(before);
    return this.#write(async (db) => num(await db(this.#tables.l402SpentTokens).where('spent_at', '<=', at).del()));
  }

  // Idempotency -------------------------------------------------------------------------------

  /** Insert a key, or return the stored one with the same (tenantId, key): the unique key decides. */
  async insertIdempotencyKey(row: StoredIdempotencyKey): Promise<{ inserted: boolean; row: StoredIdempotencyKey }> {
    const values = idempotencyToRow(row);
    const table = this.#tables.idempotencyKeys;
    return this.#write(async (db) => {
      for (let attempt = 0; attempt < RACE_RETRIES; attempt++) {
        if (await insertUnique(db, this.#dialect, table, values, ['tenant_key', 'key'])) {
          return { inserted: true, row: rowToIdempotency(values) };
        }
        const query = db(table).select('*').where({ tenant_key: values.tenant_key, key: values.key });
        const rows: Row[] = await lockRead(query, this.#dialect, this.#raceReadMode());
        if (rows[0]) return { inserted: false, row: rowToIdempotency(rows[0]) };
        // The key was deleted between the insert and the read: insert again.
      }
      throw new StorageUnavailableError('The idempotency key kept changing under concurrent requests; retry.', {
        context: { driver: this.name },
      });
    });
  }

  /**
   * Update a key; with `expectLockedUntil`, only while the stored `lockedUntil` still equals it (a
   * compare-and-set in the `UPDATE`'s `WHERE`). Whether a row matched.
   */
  async updateIdempotencyKey(
    tenantId: string | null,
    key: string,
    patch: IdempotencyPatch,
    options?: { expectLockedUntil?: Date | null },
  ): Promise<boolean> {
    const keyColumns = { tenant_key: tenantKey(tenantId), key };
    const set = idempotencyPatchToRow(patch);
    const expected = options?.expectLockedUntil;
    const expectedMs = expected === undefined || expected === null ? null : toMs(expected);
    return this.#write(async (db) => {
      const where = (q: Knex.QueryBuilder): Knex.QueryBuilder => {
        q.where(keyColumns);
        if (expected === null) q.whereNull('locked_until');
        else if (expectedMs !== null) q.where('locked_until', expectedMs);
        return q;
      };
      if (Object.keys(set).length === 0) return this.#exists(db, this.#tables.idempotencyKeys, where);
      return num(await where(db(this.#tables.idempotencyKeys)).update(set)) > 0;
    });
  }

  /** Delete a key (no error when there is none). */
  async deleteIdempotencyKey(tenantId: string | null, key: string): Promise<void> {
    const keyColumns = { tenant_key: tenantKey(tenantId), key };
    await this.#write(async (db) => {
      await db(this.#tables.idempotencyKeys).where(keyColumns).del();
    });
  }

  /** Delete keys whose `expiresAt` is at or before `before`; how many were deleted. */
  async purgeIdempotencyKeys(before: Date): Promise<number> {
    const at = toMs(before);
    return this.#write(async (db) => num(await db(this.#tables.idempotencyKeys).where('expires_at', '<=', at).del()));
  }

  // Outbox ------------------------------------------------------------------------------------

  /** Append messages (all or none); an id that already exists is an `InternalError`. */
  async appendOutbox(messages: StoredOutboxMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const rows = messages.map(outboxToRow);
    const ids = new Set<string>();
    for (const message of messages) {
      if (ids.has(message.id))
        throw new InternalError('An outbox message with this id already exists.', { context: { id: message.id } });
      ids.add(message.id);
    }
    await this.#write(async (db) => {
      const insert = async (target: Db): Promise<void> => {
        for (let i = 0; i < rows.length; i += INSERT_CHUNK)
          await this.#insertRows(target, this.#tables.outbox, rows.slice(i, i + INSERT_CHUNK));
      };
      try {
        if (rows.length <= INSERT_CHUNK) await insert(db);
        else await this.#atomically(db, insert);
      } catch (error) {
        if (isUniqueViolation(error))
          throw new InternalError('An outbox message with this id already exists.', { cause: error });
        throw error;
      }
    });
  }

  /**
   * Claim up to `limit` deliverable messages (pending and available at `lease.now`, or processing
   * with an expired lease), at most the earliest undelivered one per aggregate, in id order.
   * PostgreSQL claims in one `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING *`;
   * MySQL/MariaDB select `FOR UPDATE SKIP LOCKED` (plain `FOR UPDATE` on servers without it) and
   * update in a `READ COMMITTED` transaction (run again if chosen as a deadlock victim); SQLite runs
   * the same single `UPDATE … RETURNING` under its one writer.
   */
  async claimOutbox(lease: Lease, limit: number): Promise<StoredOutboxMessage[]> {
    const size = pageSize(limit);
    if (size === 0) return this.#run(async () => []);
    const now = toMs(lease.now);
    const set = { status: 'processing', locked_by: lease.owner, locked_until: toMs(lease.until) };
    const table = this.#tables.outbox;
    const candidates = (db: Db, columns: string): Knex.QueryBuilder =>
      db(`${table} as o`)
        .select(columns)
        .where((w) =>
          w
            .where((x) => x.where('o.status', 'pending').andWhere('o.available_at', '<=', now))
            .orWhere((x) =>
              x
                .where('o.status', 'processing')
                .andWhere((y) => y.whereNull('o.locked_until').orWhere('o.locked_until', '<=', now)),
            ),
        )
        .whereNotExists((sub) =>
          sub
            .select(db.raw('1'))
            .from(`${table} as p`)
            .whereRaw('?? = ??', ['p.aggregate_key', 'o.aggregate_key'])
            .whereIn('p.status', CLAIMABLE_OUTBOX)
            .whereRaw('?? < ??', ['p.id', 'o.id']),
        )
        .orderBy('o.id', 'asc')
        .limit(size);
    return this.#write(async (db) => {
      if (this.#dialect !== 'mysql') {
        const pick = candidates(db, 'o.id');
        if (this.#dialect === 'pg') pick.forUpdate().skipLocked();
        const rows: Row[] = await db(table).whereIn('id', pick).update(set).returning('*');
        return rows.map(rowToOutbox).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      }
      const skipLocked = await this.#skipLocked(db);
      return this.#atomically(
        db,
        async (trx) => {
          const pick = candidates(trx, 'o.*').forUpdate();
          const rows: Row[] = await (skipLocked ? pick.skipLocked() : pick);
          if (rows.length === 0) return [];
          await trx(table)
            .whereIn(
              'id',
              rows.map((row) => row.id as string),
            )
            .update(set);
          return rows.map((row) => rowToOutbox({ ...row, ...set }));
        },
        { readCommitted: true },
      );
    });
  }

  /** Update a message; with `owner`, only while that owner holds it. Whether a row matched. */
  async updateOutbox(id: string, patch: OutboxPatch, options?: { owner?: string }): Promise<boolean> {
    const set = outboxPatchToRow(patch);
    return this.#write(async (db) => {
      const where = (q: Knex.QueryBuilder): Knex.QueryBuilder => {
        q.where('id', id);
        if (options?.owner !== undefined) q.where('locked_by', options.owner);
        return q;
      };
      if (Object.keys(set).length === 0) return this.#exists(db, this.#tables.outbox, where);
      return num(await where(db(this.#tables.outbox)).update(set)) > 0;
    });
  }

  /** A message by id, or `null`. */
  async getOutboxMessage(id: string): Promise<StoredOutboxMessage | null> {
    return this.#byId(this.#tables.outbox, id, rowToOutbox);
  }

  // Outbound webhook endpoints, deliveries and their log -------------------------------------

  /** Store a new endpoint (needs schema version 4); an id that already exists is an `InternalError`. */
  async insertEndpoint(row: StoredEndpoint): Promise<void> {
    const values = endpointToRow(row);
    await this.#write(async (db) => {
      try {
        await db(this.#tables.endpoints).insert(values);
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new InternalError('An endpoint with this id already exists.', {
            cause: error,
            context: { id: row.id },
          });
        }
        throw error;
      }
    });
  }

  /** An endpoint by id, or `null`. */
  async getEndpoint(id: string): Promise<StoredEndpoint | null> {
    return this.#byId(this.#tables.endpoints, id, rowToEndpoint);
  }

  /**
   * Endpoints oldest first (by id), with a cursor to continue: every tenant's when `tenantId` is
   * absent, only those without a tenant for `null`, one tenant's for a string; optionally by status.
   */
  async listEndpoints(query: EndpointQuery): Promise<Page<StoredEndpoint>> {
    const position = query.cursor ? decodeCursor(query.cursor) : null;
    const size = pageSize(query.limit);
    const key = query.tenantId === undefined ? undefined : tenantKey(query.tenantId);
    return this.#run(async (db) => {
      const q = db(this.#tables.endpoints).select('*');
      if (key !== undefined) q.where('tenant_key', key);
      if (query.status !== undefined) q.where('status', query.status);
      if (position) q.where('id', '>', position.id);
      const rows: Row[] = await q.orderBy('id', 'asc').limit(size + 1);
      return toPage(rows.map(rowToEndpoint), size, (endpoint) =>
        encodeCursor(endpoint.createdAt.getTime(), endpoint.id),
      );
    });
  }

  /** Update an endpoint; whether it exists. */
  async updateEndpoint(id: string, patch: EndpointPatch): Promise<boolean> {
    const set = endpointPatchToRow(patch);
    const table = this.#tables.endpoints;
    return this.#write(async (db) => {
      if (Object.keys(set).length === 0) return this.#exists(db, table, (q) => q.where('id', id));
      return num(await db(table).where('id', id).update(set)) > 0;
    });
  }

  /**
   * Insert deliveries, skipping those whose (endpointId, eventId) is stored already or earlier in the
   * batch; returns how many were inserted. The unique key decides, also between processes: `INSERT …
   * ON CONFLICT (endpoint_id, event_id) DO NOTHING RETURNING id` on PostgreSQL and SQLite, `INSERT
   * IGNORE` on MySQL/MariaDB (its affected-row count; every value is checked against its column
   * first, and a warning other than a skipped duplicate rolls the batch back). Rows are inserted in
   * unique-key order, so concurrent overlapping batches wait for each other instead of deadlocking.
   * A new (endpointId, eventId) under an id that exists is an `InternalError`, and nothing is stored.
   */
  async insertDeliveries(rows: StoredDelivery[]): Promise<number> {
    const refs = new Set<string>();
    const ids = new Set<string>();
    const values: Row[] = [];
    for (const delivery of rows) {
      const row = deliveryToRow(delivery);
      const ref = JSON.stringify([row.endpoint_id, row.event_id]);
      if (refs.has(ref)) continue;
      if (ids.has(delivery.id)) {
        throw new InternalError('A delivery with this id already exists.', { context: { id: delivery.id } });
      }
      refs.add(ref);
      ids.add(delivery.id);
      values.push(row);
    }
    values.sort(
      (a, b) =>
        compareIds(String(a.endpoint_id), String(b.endpoint_id)) || compareIds(String(a.event_id), String(b.event_id)),
    );
    return this.#write(async (db) => {
      if (values.length === 0) return 0;
      const insert = async (target: Db): Promise<number> => {
        let inserted = 0;
        for (let i = 0; i < values.length; i += INSERT_CHUNK)
          inserted += await this.#insertDeliveryChunk(target, values.slice(i, i + INSERT_CHUNK));
        return inserted;
      };
      try {
        if (this.#dialect !== 'mysql' && values.length <= INSERT_CHUNK) return await insert(db);
        return await this.#atomically(db, insert);
      } catch (error) {
        if (isUniqueViolation(error))
          throw new InternalError('A delivery with this id already exists.', { cause: error });
        throw error;
      }
    });
  }

  /** One insert statement of deliveries that skips duplicates; how many rows it inserted. */
  async #insertDeliveryChunk(db: Db, rows: Row[]): Promise<number> {
    const table = this.#tables.deliveries;
    const insert = db(table).insert(rows).onConflict(DELIVERY_REF).ignore();
    if (this.#dialect !== 'mysql') {
      const returned: unknown[] = await insert.returning('id');
      return returned.length;
    }
    // knex answers an insert on MySQL with the first insert id: run it raw to read the row counts.
    const { sql, bindings } = insert.toSQL();
    const result = (await db.raw(sql, bindings)) as unknown as [{ affectedRows?: unknown; warningStatus?: unknown }];
    const inserted = num(result[0]?.affectedRows ?? 0);
    const skipped = rows.length - inserted;
    if (num(result[0]?.warningStatus ?? 0) > skipped) {
      throw new InternalError('MySQL changed a delivery value while inserting it (INSERT IGNORE warning).', {
        context: { table },
      });
    }
    if (skipped > 0) {
      // INSERT IGNORE also skips a row whose id is taken by another delivery: find and refuse those.
      const stored: Row[] = await db(table)
        .select('id', 'endpoint_id', 'event_id')
        .whereIn(
          'id',
          rows.map((row) => row.id as string),
        );
      const wanted = new Map(rows.map((row) => [row.id, row]));
      for (const row of stored) {
        const mine = wanted.get(row.id);
        if (mine && (mine.endpoint_id !== row.endpoint_id || mine.event_id !== row.event_id)) {
          throw new InternalError('A delivery with this id already exists.', { context: { id: String(row.id) } });
        }
      }
    }
    return inserted;
  }

  /**
   * Claim up to `limit` due deliveries for `lease.owner` (`pending` with `nextAttemptAt` at or before
   * `lease.now`, or `processing` with an expired lease), earliest `nextAttemptAt` first, then id:
   * `processing`, `lockedBy`, `lockedUntil` and `updatedAt` are set, `attempts` is left alone. Rows
   * other claimers hold are skipped, as in {@link KnexStorageDriver.claimOutbox}: one `UPDATE … WHERE
   * id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING *` on PostgreSQL, a `READ COMMITTED`
   * transaction with `FOR UPDATE SKIP LOCKED` on MySQL/MariaDB, one `UPDATE … RETURNING` on SQLite.
   */
  async claimDeliveries(lease: Lease, limit: number): Promise<StoredDelivery[]> {
    const size = pageSize(limit);
    if (size === 0) return this.#run(async () => []);
    const now = toMs(lease.now);
    const set = { status: 'processing', locked_by: lease.owner, locked_until: toMs(lease.until), updated_at: now };
    const table = this.#tables.deliveries;
    const due = (db: Db, columns: string): Knex.QueryBuilder =>
      db(table)
        .select(columns)
        .where((w) =>
          w
            .where((x) => x.where('status', 'pending').andWhere('next_attempt_at', '<=', now))
            .orWhere((x) =>
              x
                .where('status', 'processing')
                .andWhere((y) => y.whereNull('locked_until').orWhere('locked_until', '<=', now)),
            ),
        )
        .orderBy([
          { column: 'next_attempt_at', order: 'asc' },
          { column: 'id', order: 'asc' },
        ])
        .limit(size);
    return this.#write(async (db) => {
      if (this.#dialect !== 'mysql') {
        const pick = due(db, 'id');
        if (this.#dialect === 'pg') pick.forUpdate().skipLocked();
        const rows: Row[] = await db(table).whereIn('id', pick).update(set).returning('*');
        return rows.map(rowToDelivery).sort(byDue);
      }
      const skipLocked = await this.#skipLocked(db);
      return this.#atomically(
        db,
        async (trx) => {
          const pick = due(trx, '*').forUpdate();
          const rows: Row[] = await (skipLocked ? pick.skipLocked() : pick);
          if (rows.length === 0) return [];
          await trx(table)
            .whereIn(
              'id',
              rows.map((row) => row.id as string),
            )
            .update(set);
          return rows.map((row) => rowToDelivery({ ...row, ...set })).sort(byDue);
        },
        { readCommitted: true },
      );
    });
  }

  /** Update a delivery; with `owner`, only while that owner holds it. Whether a row matched. */
  async updateDelivery(id: string, patch: DeliveryPatch, options?: { owner?: string }): Promise<boolean> {
    const set = deliveryPatchToRow(patch);
    const table = this.#tables.deliveries;
    return this.#write(async (db) => {
      const where = (q: Knex.QueryBuilder): Knex.QueryBuilder => {
        q.where('id', id);
        if (options?.owner !== undefined) q.where('locked_by', options.owner);
        return q;
      };
      if (Object.keys(set).length === 0) return this.#exists(db, table, where);
      return num(await where(db(table)).update(set)) > 0;
    });
  }

  /** A delivery by id, or `null`. */
  async getDelivery(id: string): Promise<StoredDelivery | null> {
    return this.#byId(this.#tables.deliveries, id, rowToDelivery);
  }

  /** One endpoint's deliveries, newest first (by id), optionally by status, with a cursor to continue. */
  async listDeliveries(query: DeliveryQuery): Promise<Page<StoredDelivery>> {
    const position = query.cursor ? decodeCursor(query.cursor) : null;
    const size = pageSize(query.limit);
    return this.#run(async (db) => {
      const q = db(this.#tables.deliveries).select('*').where('endpoint_id', query.endpointId);
      if (query.status !== undefined) q.where('status', query.status);
      if (position) q.where('id', '<', position.id);
      const rows: Row[] = await q.orderBy('id', 'desc').limit(size + 1);
      return toPage(rows.map(rowToDelivery), size, (delivery) =>
        encodeCursor(delivery.createdAt.getTime(), delivery.id),
      );
    });
  }

  /** Append one attempt to the delivery log; an id that already exists is an `InternalError`. */
  async appendDeliveryAttempt(row: StoredDeliveryAttempt): Promise<void> {
    const values = attemptToRow(row);
    await this.#write(async (db) => {
      try {
        await db(this.#tables.deliveryAttempts).insert(values);
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new InternalError('A delivery attempt with this id already exists.', {
            cause: error,
            context: { id: row.id },
          });
        }
        throw error;
      }
    });
  }

  /** A delivery's attempts, oldest first (by id). */
  async listDeliveryAttempts(deliveryId: string): Promise<StoredDeliveryAttempt[]> {
    return this.#run(async (db) => {
      const rows: Row[] = await db(this.#tables.deliveryAttempts)
        .select('*')
        .where('delivery_id', deliveryId)
        .orderBy('id', 'asc');
      return rows.map(rowToAttempt);
    });
  }
}
