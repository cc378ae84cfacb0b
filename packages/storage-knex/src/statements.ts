import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Db, KnexDialect } from './dialect.js';
import { num, type Row } from './rows.js';

/**
 * What a statement run through {@link HotSql.run} answered: the rows it returned (a `SELECT`, or a
 * write with `RETURNING`) and how many rows it returned or changed.
 *
 * @example
 * ```ts
 * const { rows, count } = await sql.run(db, sql.update(table, ['status'], ['id']), ['processed', id]);
 * ```
 */
export interface SqlResult {
  /** The returned rows (empty for a write without `RETURNING`). */
  rows: Row[];
  /** Rows returned, or rows inserted/updated by a write without `RETURNING`. */
  count: number;
}

/** One statement text and what it was built from. */
interface Built {
  readonly kind: string;
  readonly first: readonly string[];
  readonly second: readonly string[];
  readonly option: number;
  readonly sql: string;
}

/** No columns: in a column list, every column (`*`). */
export const NONE: readonly string[] = [];

function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The knex clients whose results the driver reads (the ones Payable tests against). */
const DRIVERS: ReadonlySet<string> = new Set(['better-sqlite3', 'pg', 'mysql2']);

/**
 * The SQL text of the driver's hot statements (the webhook inbox, records and outbox), built once per
 * driver instance and then reused: tables with their prefix, identifiers quoted as knex quotes them
 * for the dialect, values as `?` placeholders. Run them with {@link HotSql.run}: on the connection of
 * the knex or transaction given (better-sqlite3 and pg straight on it, MySQL through `knex.raw`),
 * with knex's `query` events. This spares the query builder's work (identifier quoting, compiling,
 * bindings) on every call; the statements are the ones the builder produces.
 *
 * @example
 * ```ts
 * const sql = HotSql.for(knex, 'pg', 'payable_schema_version');
 * if (sql) await sql.run(knex, sql.select('payable_payments', ['id', 'tenant_key'], false), [id, '']);
 * ```
 */
export class HotSql {
  /**
   * The statement a SQLite transaction starts with to take the database's write lock, or `null`
   * on the other dialects (see `takeWriteLock` in dialect.ts: `delete from <table> where 0`).
   */
  readonly writeLock: string | null;
  readonly #dialect: KnexDialect;
  /** Statements built so far, by table (a handful each: one per statement shape the driver uses). */
  readonly #built = new Map<string, Built[]>();
  /**
   * On PostgreSQL, each statement as the `pg` client gets it, by SQL text: with `$n` placeholders,
   * and a prepared-statement name for those PostgreSQL may keep parsed and planned per connection
   * (the inserts and updates, whose result shape no additive migration changes; a prepared `select
   * *` would fail with "cached plan must not change result type" once a column is added). Named
   * only when prepared statements are on.
   */
  readonly #pg = new Map<string, PgStatement>();
  readonly #prepared: boolean;

  private constructor(dialect: KnexDialect, schemaVersionTable: string, prepared: boolean) {
    this.#dialect = dialect;
    this.#prepared = prepared && dialect === 'pg';
    this.writeLock = dialect === 'sqlite' ? `delete from ${this.#quote(schemaVersionTable)} where 0` : null;
  }

  /**
   * The statements for `knex`, or `null` when its statements must be built by the query builder: a
   * client other than better-sqlite3, pg or mysql2 (their raw results differ), or a knex
   * configured with `wrapIdentifier` or `postProcessResponse` (hooks the builder applies).
   *
   * @example
   * ```ts
   * const sql = HotSql.for(knex, dialectOf(knex), tableNames(prefix).schemaVersion);
   * ```
   */
  static for(
    knex: Knex,
    dialect: KnexDialect,
    schemaVersionTable: string,
    options: { preparedStatements?: boolean } = {},
  ): HotSql | null {
    const client = knex.client as {
      driverName?: unknown;
      config?: { wrapIdentifier?: unknown; postProcessResponse?: unknown };
    };
    if (typeof client.driverName !== 'string' || !DRIVERS.has(client.driverName)) return null;
    if (client.config?.wrapIdentifier || client.config?.postProcessResponse) return null;
    return new HotSql(dialect, schemaVersionTable, options.preparedStatements ?? true);
  }

  /**
   * Run one of this object's statements on `db`'s connection; on PostgreSQL an insert or update
   * runs as a named prepared statement unless prepared statements are off.
   *
   * @example
   * ```ts
   * const { count } = await sql.run(trx, sql.update(table, ['status'], ['id']), ['processed', id]);
   * ```
   */
  run(db: Db, text: string, bindings: readonly unknown[]): Promise<SqlResult> {
    return runSql(db, this.#dialect, text, bindings, this.#dialect === 'pg' ? this.#pgStatement(text) : null);
  }

  /** `sql` as the `pg` client gets it (built once per text). */
  #pgStatement(sql: string): PgStatement {
    let statement = this.#pg.get(sql);
    if (statement === undefined) {
      let n = 0;
      // As knex's pg client numbers placeholders: a `?` escaped with a backslash stays a `?`.
      const text = sql.replace(/(\\*)(\?)/g, (_match, escapes: string) => (escapes.length % 2 ? '?' : `$${++n}`));
      statement = { text };
      this.#pg.set(sql, statement);
    }
    return statement;
  }

  /** Give `sql` a prepared-statement name on PostgreSQL (a digest of its text: one name per text, on every connection). */
  #stable(sql: string): string {
    if (this.#prepared) {
      const statement = this.#pgStatement(sql);
      statement.name ??= `payable_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
    }
    return sql;
  }

  /** An identifier quoted as knex quotes it: `"name"` on PostgreSQL, `` `name` `` on SQLite and MySQL. */
  #quote(identifier: string): string {
    return this.#dialect === 'pg' ? `"${identifier.replace(/"/g, '""')}"` : `\`${identifier.replace(/`/g, '``')}\``;
  }

  /** `columns` quoted and joined for a select or returning list; `*` when there are none. */
  #columnList(columns: readonly string[]): string {
    return columns.length > 0 ? columns.map((column) => this.#quote(column)).join(', ') : '*';
  }

  /**
   * The statement of `kind` on `table` for these column lists and option, built by `build` the
   * first time. Looked up by comparing the lists (no key string to build on every call).
   */
  #memo(
    kind: string,
    table: string,
    first: readonly string[],
    second: readonly string[],
    option: number,
    build: () => string,
  ): string {
    let built = this.#built.get(table);
    if (built === undefined) {
      built = [];
      this.#built.set(table, built);
    }
    for (const entry of built) {
      if (
        entry.kind === kind &&
        entry.option === option &&
        sameColumns(entry.first, first) &&
        sameColumns(entry.second, second)
      ) {
        return entry.sql;
      }
    }
    const sql = build();
    built.push({ kind, first: [...first], second: [...second], option, sql });
    return sql;
  }

  #conditions(columns: readonly string[]): string {
    return columns.map((column) => `${this.#quote(column)} = ?`).join(' and ');
  }

  /**
   * `select * from <table> where <column> = ? and …` (or only `columns`, when given), with
   * `for update` when `forUpdate` on PostgreSQL and MySQL (SQLite has one writer at a time and
   * needs no row lock).
   *
   * @example
   * ```ts
   * sql.select('payable_payments', ['tenant_key', 'provider', 'provider_id'], true, ['data']);
   * ```
   */
  select(table: string, where: readonly string[], forUpdate: boolean, columns: readonly string[] = NONE): string {
    const lock = forUpdate && this.#dialect !== 'sqlite';
    return this.#memo('select', table, where, columns, lock ? 1 : 0, () => {
      const list = this.#columnList(columns);
      const sql = `select ${list} from ${this.#quote(table)} where ${this.#conditions(where)}`;
      return lock ? `${sql} for update` : sql;
    });
  }

  /**
   * `update <table> set <column> = ?, … where <column> = ? and …` (the `set` values bind first).
   *
   * @example
   * ```ts
   * sql.update('payable_webhook_events', ['status', 'updated_at'], ['id', 'locked_by']);
   * ```
   */
  update(table: string, set: readonly string[], where: readonly string[]): string {
    return this.#memo('update', table, set, where, 0, () => {
      const assignments = set.map((column) => `${this.#quote(column)} = ?`).join(', ');
      return this.#stable(`update ${this.#quote(table)} set ${assignments} where ${this.#conditions(where)}`);
    });
  }

  /**
   * `insert into <table> (<columns>) values (?, …), …` for `rows` rows (values row by row).
   *
   * @example
   * ```ts
   * sql.insert('payable_outbox', Object.keys(row), 1);
   * ```
   */
  insert(table: string, columns: readonly string[], rows: number): string {
    return this.#memo('insert', table, columns, NONE, rows, () => {
      const tuple = `(${columns.map(() => '?').join(', ')})`;
      const list = columns.map((column) => this.#quote(column)).join(', ');
      return this.#stable(
        `insert into ${this.#quote(table)} (${list}) values ${Array.from({ length: rows }, () => tuple).join(', ')}`,
      );
    });
  }

  /**
   * One row's insert that skips a row whose unique key (`conflict`) is taken: `… on conflict
   * (<conflict>) do nothing returning <first conflict column>` on PostgreSQL and SQLite (a returned
   * row means it was inserted); a plain insert on MySQL, whose duplicate-key error the caller catches.
   *
   * @example
   * ```ts
   * sql.insertUnique('payable_webhook_events', Object.keys(row), ['tenant_key', 'provider', 'provider_event_id']);
   * ```
   */
  insertUnique(table: string, columns: readonly string[], conflict: readonly string[]): string {
    return this.#memo('unique', table, columns, conflict, 0, () => {
      const insert = this.insert(table, columns, 1);
      if (this.#dialect === 'mysql') return insert;
      const keys = conflict.map((column) => this.#quote(column)).join(', ');
      const returning = conflict[0] ? this.#quote(conflict[0]) : '*';
      const sql = `${insert} on conflict (${keys}) do nothing returning ${returning}`;
      return conflict[0] ? this.#stable(sql) : sql;
    });
  }

  /**
   * The webhook claim: `update <table> set status = ?, locked_by = ?, locked_until = ?, updated_at
   * = ?, attempts = attempts + 1 where id = ? and (status = ? or (status = ? and (locked_until is
   * null or locked_until <= ?)))`, `returning *` on PostgreSQL and SQLite (`returning` only
   * `columns` when some are given). With `processed`, the claim that marks the event processed at
   * once: `processed_at = ?, last_error = ?` follow `updated_at = ?`.
   *
   * @example
   * ```ts
   * await sql.run(db, sql.claimEvent(table), ['processing', owner, until, now, id, 'pending', 'processing', now]);
   * ```
   */
  claimEvent(table: string, processed = false, columns: readonly string[] = NONE): string {
    return this.#memo(processed ? 'claim-processed' : 'claim', table, columns, NONE, 0, () => {
      const q = (column: string): string => this.#quote(column);
      // Marked processed in the claim: also `processed_at` and `last_error`, bound after `updated_at`.
      const done = processed ? `${q('processed_at')} = ?, ${q('last_error')} = ?, ` : '';
      const sql =
        `update ${q(table)} set ${q('status')} = ?, ${q('locked_by')} = ?, ${q('locked_until')} = ?, ` +
        `${q('updated_at')} = ?, ${done}${q('attempts')} = ${q('attempts')} + 1 where ${q('id')} = ? and ` +
        `(${q('status')} = ? or (${q('status')} = ? and (${q('locked_until')} is null or ${q('locked_until')} <= ?)))`;
      if (this.#dialect === 'mysql') return sql;
      const list = this.#columnList(columns);
      return `${sql} returning ${list}`;
    });
  }
}

/**
 * Whether every value can be bound as it is: none `undefined` (the query builder leaves an
 * `undefined` column out of an insert or update, so such calls go through the builder).
 *
 * @example
 * ```ts
 * if (sql && bindable(values)) await sql.run(db, text, values);
 * ```
 */
export function bindable(values: readonly unknown[]): boolean {
  for (const value of values) if (value === undefined) return false;
  return true;
}

/**
 * Whether every value of a `where` can be compared with `= ?`: none `null` (the builder writes
 * `is null` for those) or `undefined`.
 *
 * @example
 * ```ts
 * if (comparable([id, owner])) sql.update(table, columns, ['id', 'locked_by']);
 * ```
 */
export function comparable(values: readonly unknown[]): boolean {
  for (const value of values) if (value === undefined || value === null) return false;
  return true;
}

/** What the driver uses of a knex client to run a statement on one of its connections. */
interface DirectClient {
  readonly driverName?: unknown;
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<unknown> | unknown;
  emit(event: string, ...payload: unknown[]): boolean;
}

/** The part of a better-sqlite3 prepared statement the driver uses. */
interface SqliteStatement {
  readonly reader: boolean;
  all(values: readonly unknown[]): unknown[];
  run(values: readonly unknown[]): { changes: number | bigint };
}

/** The part of a better-sqlite3 connection the driver uses. */
interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
}

/** A statement as the `pg` client gets it: `$n` placeholders, and its prepared-statement name if it has one. */
interface PgStatement {
  readonly text: string;
  name?: string;
}

/** What pg answers to a statement. */
interface PgAnswer {
  rows?: Row[];
  rowCount?: number | null;
}

/** pg's `Query` (`pg.Query`, also `Client.Query`): one statement, answered through its callback. */
interface PgQuery {
  name?: string;
}
type PgQueryClass = new (
  text: string,
  values: readonly unknown[],
  callback: (error: Error | null, result: PgAnswer) => void,
) => PgQuery;

/** The part of a `pg` client the driver uses. */
interface PgConnection {
  query(config: { text: string; values: readonly unknown[]; name?: string }): Promise<PgAnswer>;
  query(query: PgQuery): unknown;
}

/**
 * Run `statement` on a `pg` connection. When the client class exposes pg's `Query` (pg 8 does, as
 * `Client.Query`), the query is made from the text and values with its name set after, and handed
 * to the client as it is: pg then skips copying a config object (every property descriptor) and
 * wrapping the answer in two promises, which the driver's hot statements would pay on every call.
 */
function pgQuery(connection: PgConnection, statement: PgStatement, values: readonly unknown[]): Promise<PgAnswer> {
  const Query = (connection.constructor as { Query?: unknown }).Query;
  if (typeof Query !== 'function') {
    const { text, name } = statement;
    return connection.query(name === undefined ? { text, values } : { text, values, name });
  }
  return new Promise<PgAnswer>((resolve, reject) => {
    const query = new (Query as PgQueryClass)(statement.text, values, (error, result) =>
      error ? reject(error) : resolve(result),
    );
    if (statement.name !== undefined) query.name = statement.name;
    connection.query(query);
  });
}

/** Prepared statements of each better-sqlite3 connection, by SQL text (a handful per table). */
const prepared = new WeakMap<object, Map<string, SqliteStatement>>();

/** What pg answers, read as a {@link SqlResult}. */
function pgResult(result: PgAnswer): SqlResult {
  const rows = result.rows ?? [];
  return { rows, count: result.rowCount ?? rows.length };
}

/** A binding as knex's better-sqlite3 client passes it: Dates as epoch milliseconds, booleans as 0/1. */
function sqliteBinding(value: unknown): unknown {
  if (value instanceof Date) return value.valueOf();
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

function sqliteStatement(connection: SqliteConnection, sql: string): SqliteStatement {
  let statements = prepared.get(connection);
  if (statements === undefined) {
    statements = new Map();
    prepared.set(connection, statements);
  }
  let statement = statements.get(sql);
  if (statement === undefined) {
    statement = connection.prepare(sql);
    statements.set(sql, statement);
  }
  return statement;
}

/**
 * Run one of the driver's own statements straight on a connection of `db`'s pool (or on its
 * transaction's connection), as knex's client would run it, without knex's per-query machinery:
 * better-sqlite3 statements are prepared once per connection and reused; pg gets `pg` (the statement
 * with `$n` placeholders, as a prepared statement when it is named: parsed and planned once per
 * connection). knex's `query` and `query-error` events still fire. `null` for other clients.
 */
async function runDirect(
  db: Db,
  sql: string,
  bindings: readonly unknown[],
  pg: PgStatement | null,
): Promise<SqlResult | null> {
  const client = (db as unknown as { client: DirectClient }).client;
  const driver = client.driverName;
  if (driver !== 'better-sqlite3' && (driver !== 'pg' || pg === null)) return null;
  const connection = await client.acquireConnection();
  const query = { method: 'raw', sql, bindings, options: {} };
  try {
    client.emit('query', query);
    if (pg !== null) return pgResult(await pgQuery(connection as PgConnection, pg, bindings));
    const statement = sqliteStatement(connection as SqliteConnection, sql);
    const values = bindings.map(sqliteBinding);
    if (statement.reader) {
      const rows = statement.all(values) as Row[];
      return { rows, count: rows.length };
    }
    return { rows: [], count: num(statement.run(values).changes) };
  } catch (error) {
    client.emit('query-error', error, query);
    throw error;
  } finally {
    await client.releaseConnection(connection);
  }
}

/**
 * Run `sql` with `bindings` on `db` (a knex instance or transaction): straight on its connection
 * for better-sqlite3 and pg (`runDirect`), through `db.raw` otherwise, and read the answer the same
 * way on every client: pg answers `{ rows, rowCount }`, better-sqlite3 an array of rows (a `SELECT`
 * or a write with `RETURNING`) or `{ changes }`, mysql2 `[rows or { affectedRows }, fields]`.
 */
async function runSql(
  db: Db,
  dialect: KnexDialect,
  sql: string,
  bindings: readonly unknown[],
  pg: PgStatement | null,
): Promise<SqlResult> {
  const direct = await runDirect(db, sql, bindings, pg);
  if (direct) return direct;
  const result: unknown = await db.raw(sql, bindings as readonly Knex.RawBinding[]);
  if (dialect === 'pg') return pgResult(result as { rows?: Row[]; rowCount?: number | null });
  const answer = dialect === 'mysql' ? (result as unknown[])[0] : result;
  if (Array.isArray(answer)) return { rows: answer as Row[], count: answer.length };
  const counts = answer as { changes?: unknown; affectedRows?: unknown } | undefined;
  return { rows: [], count: num((dialect === 'mysql' ? counts?.affectedRows : counts?.changes) ?? 0) };
}
