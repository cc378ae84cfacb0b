import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableNames } from '@payable/storage-knex';
import knexFactory, { type Knex } from 'knex';

/** The PostgreSQL database the tests use (created when missing). */
export const PG_URL = process.env.PAYABLE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/payable_test';
/** The MySQL/MariaDB database the tests use (created when missing). */
export const MYSQL_URL = process.env.PAYABLE_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/payable_test';

/** Knex options that keep knex's own connection-error logging out of the test output. */
export const quiet = {
  log: { warn: () => undefined, error: () => undefined, debug: () => undefined, deprecate: () => undefined },
};

/** A database the suite runs against. */
export interface Target {
  name: 'sqlite-memory' | 'sqlite-file' | 'pg' | 'mysql';
  dialect: 'sqlite' | 'pg' | 'mysql';
  /** A new knex instance on this target (SQLite in-memory: a new, empty database each time). */
  connect(config?: Partial<Knex.Config>): Knex;
  /** Connection settings, for child processes: `{ client, connection }` as JSON. */
  settings(): { client: string; connection: string | { filename: string } };
}

let tmp: string | null = null;
/** This test file's temporary directory (removed by {@link removeTempDir}). */
export function tempDir(): string {
  tmp ??= mkdtempSync(join(tmpdir(), 'payable-knex-'));
  return tmp;
}

/** Removes the temporary directory, if one was made: call it in a top-level `afterAll`. */
export function removeTempDir(): void {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = null;
}

let files = 0;
/** A fresh SQLite file path in the temp directory. */
export function sqliteFile(): string {
  files += 1;
  return join(tempDir(), `db-${process.pid}-${files}.sqlite`);
}

export function sqliteMemoryTarget(): Target {
  return {
    name: 'sqlite-memory',
    dialect: 'sqlite',
    connect: (config = {}) =>
      knexFactory({
        client: 'better-sqlite3',
        connection: { filename: ':memory:' },
        useNullAsDefault: true,
        ...config,
      }),
    settings: () => ({ client: 'better-sqlite3', connection: { filename: ':memory:' } }),
  };
}

/** A SQLite file target: every `connect` opens the same file. */
export function sqliteFileTarget(filename: string = sqliteFile()): Target {
  return {
    name: 'sqlite-file',
    dialect: 'sqlite',
    connect: (config = {}) =>
      knexFactory({ client: 'better-sqlite3', connection: { filename }, useNullAsDefault: true, ...config }),
    settings: () => ({ client: 'better-sqlite3', connection: { filename } }),
  };
}

export function pgTarget(): Target {
  return {
    name: 'pg',
    dialect: 'pg',
    connect: (config = {}) => knexFactory({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 10 }, ...config }),
    settings: () => ({ client: 'pg', connection: PG_URL }),
  };
}

export function mysqlTarget(): Target {
  return {
    name: 'mysql',
    dialect: 'mysql',
    connect: (config = {}) =>
      knexFactory({ client: 'mysql2', connection: MYSQL_URL, pool: { min: 0, max: 10 }, ...config }),
    settings: () => ({ client: 'mysql2', connection: MYSQL_URL }),
  };
}

/** Every target, in the order the suites run them. */
export function allTargets(): Target[] {
  return [sqliteMemoryTarget(), sqliteFileTarget(), pgTarget(), mysqlTarget()];
}

function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`unexpected test database name "${name}"`);
  return name;
}

/** Creates the test databases on PostgreSQL and MariaDB when they are missing (safe to race). */
export async function ensureDatabases(): Promise<void> {
  const pgName = databaseName(PG_URL);
  const pgAdminUrl = new URL(PG_URL);
  pgAdminUrl.pathname = '/postgres';
  const pg = knexFactory({ client: 'pg', connection: pgAdminUrl.toString(), pool: { min: 0, max: 1 } });
  try {
    const found = await pg.raw('select 1 from pg_database where datname = ?', [pgName]);
    if (found.rows.length === 0) {
      await pg.raw(`create database ??`, [pgName]).catch((error: { code?: string }) => {
        // Another test file created it at the same moment.
        if (error.code !== '42P04' && error.code !== '23505') throw error;
      });
    }
  } finally {
    await pg.destroy();
  }
  const mysqlName = databaseName(MYSQL_URL);
  const mysqlAdminUrl = new URL(MYSQL_URL);
  mysqlAdminUrl.pathname = '/';
  const mysql = knexFactory({ client: 'mysql2', connection: mysqlAdminUrl.toString(), pool: { min: 0, max: 1 } });
  try {
    await mysql.raw('create database if not exists ?? character set utf8mb4', [mysqlName]);
  } finally {
    await mysql.destroy();
  }
}

let prefixes = 0;
/** A table prefix unique to this test process, so test files never share tables. */
export function uniquePrefix(label: string): string {
  prefixes += 1;
  return `t${process.pid.toString(36)}_${label}${prefixes}_`.toLowerCase().slice(0, 24);
}

/** Knex instances pointed at closed ports (PostgreSQL and MySQL), failing fast: the database is down. */
export function unreachableTargets(): [string, () => Knex][] {
  return [
    [
      'pg',
      () =>
        pgTarget().connect({
          connection: 'postgres://postgres@127.0.0.1:1/payable_test',
          acquireConnectionTimeout: 1000,
          ...quiet,
        }),
    ],
    [
      'mysql',
      () =>
        mysqlTarget().connect({
          connection: 'mysql://root@127.0.0.1:1/payable_test',
          acquireConnectionTimeout: 1000,
          ...quiet,
        }),
    ],
  ];
}

/** Every Payable table with `prefix` (not the schema-version table). */
export function allTableNames(prefix: string): string[] {
  const tables = tableNames(prefix);
  return [
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
    tables.deliveryAttempts,
  ];
}

/** Drops every Payable table with `prefix`, schema version included (the tests share one database per dialect). */
export async function dropPrefixedTables(knex: Knex, prefix: string): Promise<void> {
  for (const table of [...allTableNames(prefix), tableNames(prefix).schemaVersion]) {
    await knex.schema.dropTableIfExists(table);
  }
}
