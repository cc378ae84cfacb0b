import { createHash } from 'node:crypto';
import { StorageUnavailableError, ValidationError } from '@payable/core';
import type { Knex } from 'knex';
import { isUniqueViolation } from './errors.js';
import { bindable, type HotSql } from './statements.js';

/**
 * The SQL dialects the Knex storage supports; the driver's name is `knex:<dialect>`.
 *
 * @example
 * ```ts
 * const dialect: KnexDialect = storage.name.slice('knex:'.length) as KnexDialect;
 * ```
 */
export type KnexDialect = 'sqlite' | 'pg' | 'mysql';

/** A knex instance or a transaction of one: anything that runs queries. */
export type Db = Knex | Knex.Transaction;

/**
 * The dialect of a knex instance: `sqlite` (better-sqlite3 or sqlite3), `pg` (PostgreSQL) or
 * `mysql` (mysql2 or mysql, MySQL or MariaDB). Any other client is a `ValidationError`.
 *
 * @example
 * ```ts
 * dialectOf(knex({ client: 'better-sqlite3', connection: { filename: 'payable.db' } })); // 'sqlite'
 * ```
 */
export function dialectOf(knex: Knex): KnexDialect {
  const client = knex.client as { dialect?: unknown; config?: { client?: unknown } };
  const dialect = client.dialect;
  if (dialect === 'sqlite3' || dialect === 'better-sqlite3') return 'sqlite';
  if (dialect === 'postgresql' || dialect === 'postgres' || dialect === 'pg') return 'pg';
  if (dialect === 'mysql' || dialect === 'mysql2') return 'mysql';
  throw new ValidationError(
    'KnexStorageDriver supports SQLite (better-sqlite3), PostgreSQL (pg) and MySQL/MariaDB (mysql2) knex clients.',
    {
      context: { field: 'knex', reason: 'unsupported_dialect', dialect: typeof dialect === 'string' ? dialect : null },
    },
  );
}

/**
 * Insert `row` unless a row with the same unique key (`conflictColumns`) exists; resolves to
 * whether it was inserted. The database decides (never read-then-write): PostgreSQL and SQLite use
 * `INSERT … ON CONFLICT (…) DO NOTHING RETURNING`, MySQL/MariaDB a plain `INSERT` whose duplicate-key
 * error is caught (MySQL keeps the transaction going after a failed statement; `INSERT IGNORE` is
 * avoided because it would also turn other errors into warnings). A conflict on another unique key
 * (the primary key) is not swallowed on PostgreSQL and SQLite; on MySQL the caller finds no row by
 * the conflict key and reports it. With `sql` (the driver's precompiled statements) the statement
 * text is built once per table and column list instead of by the query builder on every call.
 */
export async function insertUnique(
  db: Db,
  dialect: KnexDialect,
  table: string,
  row: Record<string, unknown>,
  conflictColumns: string[],
  sql: HotSql | null = null,
): Promise<boolean> {
  const values = sql ? Object.values(row) : null;
  if (sql && values && bindable(values)) {
    const text = sql.insertUnique(table, Object.keys(row), conflictColumns);
    if (dialect !== 'mysql') return (await sql.run(db, text, values)).count > 0;
    try {
      await sql.run(db, text, values);
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }
  if (dialect === 'mysql') {
    try {
      await db(table).insert(row);
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }
  const returned: unknown[] = await db(table)
    .insert(row)
    .onConflict(conflictColumns)
    .ignore()
    .returning(conflictColumns[0] ?? '*');
  return returned.length > 0;
}

/**
 * Apply the row lock a read asks for: `FOR UPDATE` (or, with `share`, a shared lock) on PostgreSQL
 * and MySQL inside a transaction. SQLite has one writer at a time and a transaction of this driver
 * takes the write lock when it begins, so it needs none.
 */
export function lockRead<Q extends Knex.QueryBuilder>(
  query: Q,
  dialect: KnexDialect,
  mode: 'update' | 'share' | null,
): Q {
  if (mode === null || dialect === 'sqlite') return query;
  return (mode === 'update' ? query.forUpdate() : query.forShare()) as Q;
}

/**
 * Whether the server has `SKIP LOCKED`: PostgreSQL ≥ 9.5 (always, for the versions Payable
 * supports), MySQL ≥ 8.0.1, MariaDB ≥ 10.6. SQLite has no row locks (one writer at a time).
 */
export async function detectSkipLocked(db: Db, dialect: KnexDialect): Promise<boolean> {
  if (dialect === 'pg') return true;
  if (dialect === 'sqlite') return false;
  const rows = (await db.raw('select version() as v')) as unknown;
  const first = Array.isArray(rows) && Array.isArray(rows[0]) ? (rows[0][0] as { v?: unknown } | undefined) : undefined;
  const version = typeof first?.v === 'string' ? first.v : '';
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!match) return false;
  const [major, minor, patch] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (/mariadb/i.test(version)) return major > 10 || (major === 10 && minor >= 6);
  return major > 8 || (major === 8 && (minor > 0 || patch >= 1));
}

/**
 * Whether the index (or unique constraint) `name` exists on `table`, so migration steps can be
 * re-run after a partial failure (MySQL commits each DDL statement on its own).
 */
export async function hasIndex(db: Db, dialect: KnexDialect, table: string, name: string): Promise<boolean> {
  let rows: unknown;
  if (dialect === 'pg') {
    const result = (await db.raw(
      'select 1 as found from pg_indexes where schemaname = current_schema() and tablename = ? and indexname = ?',
      [table, name],
    )) as { rows: unknown[] };
    rows = result.rows;
  } else if (dialect === 'mysql') {
    const result = (await db.raw(
      'select 1 as found from information_schema.statistics where table_schema = database() and table_name = ? and index_name = ? limit 1',
      [table, name],
    )) as unknown[];
    rows = result[0];
  } else {
    rows = await db.raw("select 1 as found from sqlite_master where type = 'index' and tbl_name = ? and name = ?", [
      table,
      name,
    ]);
  }
  return Array.isArray(rows) && rows.length > 0;
}

/**
 * On SQLite, make an open transaction take the database's write lock now (waiting through the busy
 * timeout) with a write that changes nothing: `delete from <table> where 0` takes SQLite's RESERVED
 * lock (any write statement does, when it starts) without touching a page. Every transaction then
 * runs as a writer from its first statement, so two processes never deadlock upgrading read locks
 * (SQLite's `BEGIN IMMEDIATE`, which knex cannot issue). No-op on the other dialects. `sql` is the
 * driver's precompiled statements (`HotSql#writeLock`, run on the transaction's connection), when it has them.
 */
export async function takeWriteLock(
  trx: Knex.Transaction,
  dialect: KnexDialect,
  table: string,
  sql: HotSql | null = null,
): Promise<void> {
  if (dialect !== 'sqlite') return;
  if (sql?.writeLock) await sql.run(trx, sql.writeLock, []);
  else await trx.raw('delete from ?? where 0', [table]);
}

function lockName(prefix: string): string {
  return `payable:migrate:${createHash('sha256').update(prefix).digest('hex').slice(0, 32)}`;
}

/**
 * Run `fn` inside a transaction while holding the database-wide migration lock for `prefix`, so
 * several processes migrating at once run one after the other: `pg_advisory_xact_lock` on
 * PostgreSQL (released at commit; DDL is transactional there), `GET_LOCK` on MySQL/MariaDB
 * (session-level, released in `finally` or when the connection ends; DDL commits on its own there)
 * and the SQLite write lock. `setup` runs first under the lock (on SQLite: just before taking it,
 * since the lock statement writes to the table `setup` creates).
 *
 * On SQLite the lock is tried without a busy timeout and a busy database is reported at once
 * (`SQLITE_BUSY`) for the caller to retry after an asynchronous wait: better-sqlite3 waits out
 * a busy timeout synchronously, which would block the event loop of a process holding the lock
 * on another connection.
 */
export async function withMigrationLock<T>(
  knex: Knex,
  dialect: KnexDialect,
  prefix: string,
  lockTable: string,
  timeoutMs: number,
  setup: (trx: Knex.Transaction) => Promise<void>,
  fn: (trx: Knex.Transaction) => Promise<T>,
): Promise<T> {
  const name = lockName(prefix);
  if (dialect === 'pg') {
    return knex.transaction(async (trx) => {
      const key = BigInt.asIntN(64, BigInt(`0x${createHash('sha256').update(name).digest('hex').slice(0, 16)}`));
      await trx.raw(`set local lock_timeout = ${Math.max(1, Math.ceil(timeoutMs))}`);
      await trx.raw('select pg_advisory_xact_lock(?::bigint)', [key.toString()]);
      await setup(trx);
      return fn(trx);
    });
  }
  if (dialect === 'mysql') {
    return knex.transaction(async (trx) => {
      const result = (await trx.raw('select get_lock(?, ?) as got', [
        name,
        Math.max(1, Math.ceil(timeoutMs / 1000)),
      ])) as unknown[];
      const row = Array.isArray(result[0]) ? (result[0][0] as { got?: unknown } | undefined) : undefined;
      if (Number(row?.got) !== 1) {
        throw new StorageUnavailableError('Timed out waiting for another process to finish migrating.', {
          context: { lock: name, timeoutMs },
        });
      }
      try {
        await setup(trx);
        return await fn(trx);
      } finally {
        await trx.raw('select release_lock(?)', [name]).catch(() => undefined);
      }
    });
  }
  return knex.transaction(async (trx) => {
    const rows = (await trx.raw('pragma busy_timeout')) as { timeout?: unknown }[];
    const previous = Number(rows[0]?.timeout ?? 5000);
    await trx.raw('pragma busy_timeout = 0');
    try {
      await setup(trx);
      await takeWriteLock(trx, dialect, lockTable);
    } finally {
      await trx.raw(`pragma busy_timeout = ${Number.isFinite(previous) ? Math.max(0, Math.floor(previous)) : 5000}`);
    }
    return fn(trx);
  });
}
