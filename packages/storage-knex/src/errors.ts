import {
  InternalError,
  isPayableError,
  StorageUnavailableError,
  ValidationError,
  type PayableError,
} from '@payable/core';

/** What a database error means to Payable. */
export type DbErrorKind = 'unavailable' | 'unique' | 'schema' | 'too-long' | 'other';

/** Socket-level failures: the database cannot be reached or the connection broke. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ESOCKETTIMEDOUT',
]);

/**
 * PostgreSQL SQLSTATEs after which a retry later can succeed: connection exceptions (class 08 is
 * matched by prefix), shutdowns and terminated backends, resource exhaustion, lock timeouts,
 * deadlocks and serialization failures, cancelled statements, refused logins and missing databases.
 */
const PG_UNAVAILABLE = new Set([
  '57P01', // admin_shutdown (pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '57P04', // database_dropped
  '57014', // query_canceled (statement_timeout)
  '53000', // insufficient_resources
  '53100', // disk_full
  '53200', // out_of_memory
  '53300', // too_many_connections
  '55P03', // lock_not_available
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '28000', // invalid_authorization_specification
  '28P01', // invalid_password
  '3D000', // invalid_catalog_name (the database does not exist)
]);

/** MySQL/MariaDB error codes with the same meaning. */
const MYSQL_UNAVAILABLE = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_SERVER_SHUTDOWN',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_QUERY_INTERRUPTED',
  'ER_CONNECTION_KILLED',
  'ER_NET_READ_ERROR',
  'ER_NET_READ_INTERRUPTED',
  'ER_NET_ERROR_ON_WRITE',
  'ER_NET_WRITE_INTERRUPTED',
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_BAD_DB_ERROR',
  'ER_OUT_OF_RESOURCES',
  'ER_DISK_FULL',
]);
/** The same MySQL conditions by number (client errors 2006/2013 have no symbolic code in mysql2). */
const MYSQL_UNAVAILABLE_ERRNO = new Set([
  1040, 1044, 1045, 1049, 1053, 1152, 1158, 1159, 1160, 1161, 1205, 1213, 1317, 1927, 2002, 2003, 2006, 2013,
]);

const SQLITE_UNAVAILABLE_PREFIXES = [
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_CANTOPEN',
  'SQLITE_IOERR',
  'SQLITE_FULL',
  'SQLITE_READONLY',
  'SQLITE_PROTOCOL',
];

const UNAVAILABLE_MESSAGES = [
  /^Knex: Timeout acquiring a connection/i,
  /Unable to acquire a connection/i,
  /Connection terminated/i,
  /connection error and is not queryable/i,
  /Client was closed and is not queryable/i,
  /terminating connection/i,
  /timeout expired/i,
  /Connection lost/i,
  /connection is in closed state/i,
  /The database connection is not open/i,
  /Cannot open database/i,
  /unable to open database/i,
  /server has gone away/i,
];

function field(error: object, name: string): unknown {
  return (error as Record<string, unknown>)[name];
}

/** The error, its `cause` chain and the members of an AggregateError (bounded). */
function chain(error: unknown): object[] {
  const out: object[] = [];
  const queue: unknown[] = [error];
  while (queue.length > 0 && out.length < 12) {
    const next = queue.shift();
    if (typeof next !== 'object' || next === null || out.includes(next)) continue;
    out.push(next);
    const cause = field(next, 'cause');
    if (cause !== undefined) queue.push(cause);
    const errors = field(next, 'errors');
    if (Array.isArray(errors)) queue.push(...errors);
  }
  return out;
}

function kindOf(error: object): DbErrorKind {
  const code = field(error, 'code');
  const errno = field(error, 'errno');
  const message = field(error, 'message');
  const text = typeof message === 'string' ? message : '';
  const name = field(error, 'name');
  if (name === 'KnexTimeoutError') return 'unavailable';
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || MYSQL_UNAVAILABLE.has(code)) return 'unavailable';
    if (/^[0-9A-Z]{5}$/.test(code)) {
      if (code.startsWith('08') || PG_UNAVAILABLE.has(code)) return 'unavailable';
      if (code === '23505') return 'unique';
      if (code === '42P01' || code === '42703') return 'schema';
      if (code === '22001') return 'too-long';
    }
    if (code === 'ER_DUP_ENTRY' || code === 'ER_DUP_ENTRY_WITH_KEY_NAME') return 'unique';
    if (code === 'ER_NO_SUCH_TABLE' || code === 'ER_BAD_FIELD_ERROR') return 'schema';
    if (code === 'ER_DATA_TOO_LONG') return 'too-long';
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return 'unique';
    if (SQLITE_UNAVAILABLE_PREFIXES.some((prefix) => code.startsWith(prefix))) return 'unavailable';
    if (code === 'SQLITE_ERROR' && /no such (table|column)|has no column named/i.test(text)) return 'schema';
  }
  if (typeof errno === 'number' && typeof field(error, 'sqlState') === 'string') {
    if (MYSQL_UNAVAILABLE_ERRNO.has(errno)) return 'unavailable';
    if (errno === 1062 || errno === 1586) return 'unique';
    if (errno === 1146 || errno === 1054) return 'schema';
    if (errno === 1406) return 'too-long';
  }
  if (field(error, 'fatal') === true) return 'unavailable'; // mysql2: the connection is unusable
  if (UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(text))) return 'unavailable';
  return 'other';
}

/**
 * What `error` (from knex or a database driver) means: the store is unreachable or the connection
 * broke (`unavailable`), a unique key refused a row (`unique`), the tables or columns are missing
 * (`schema`: `migrate` was not run), a value is longer than its column (`too-long`), or anything
 * else. The cause chain is searched, so wrapped errors are recognised too.
 *
 * @example
 * ```ts
 * if (classifyDbError(error) === 'unique') return false; // someone else inserted the row first
 * ```
 */
export function classifyDbError(error: unknown): DbErrorKind {
  let found: DbErrorKind = 'other';
  for (const item of chain(error)) {
    const kind = kindOf(item);
    if (kind === 'unavailable') return kind;
    if (found === 'other') found = kind;
  }
  return found;
}

/** Whether `error` is a unique-key violation (duplicate primary key or unique index entry). */
export function isUniqueViolation(error: unknown): boolean {
  return classifyDbError(error) === 'unique';
}

/**
 * Whether `error` is a deadlock the database resolved by rolling this transaction back (MySQL/MariaDB
 * 1213, PostgreSQL `40P01`): the whole transaction may be run again.
 *
 * @example
 * ```ts
 * if (isDeadlock(error) && attempt < 5) continue; // run the claim again
 * ```
 */
export function isDeadlock(error: unknown): boolean {
  return chain(error).some((item) => {
    const code = field(item, 'code');
    return code === 'ER_LOCK_DEADLOCK' || code === '40P01' || field(item, 'errno') === 1213;
  });
}

/**
 * Turns any error from a storage operation into a Payable error: Payable errors pass through; a
 * database that cannot be reached, a dropped connection, a pool timeout or a lock timeout becomes
 * `StorageUnavailableError` (503, so a webhook sender retries); missing tables become
 * `StorageUnavailableError` naming `migrate`; a value too long for its column a `ValidationError`;
 * anything else an `InternalError`. The original error is kept as `cause`; no bound values are put
 * into the message or context.
 *
 * @example
 * ```ts
 * try { await knex('payable_outbox').insert(rows); } catch (error) { throw toStorageError(error, 'knex:pg'); }
 * ```
 */
export function toStorageError(error: unknown, driver: string): PayableError {
  if (isPayableError(error)) return error;
  switch (classifyDbError(error)) {
    case 'unavailable':
      return new StorageUnavailableError('The database is unavailable; nothing was stored. Retry later.', {
        cause: error,
        context: { driver },
      });
    case 'schema':
      return new StorageUnavailableError(
        'The Payable tables are missing or out of date: run migrate(knex) against the same connection as the storage driver.',
        { cause: error, context: { driver, hint: 'migrate' } },
      );
    case 'too-long':
      return new ValidationError('A value is longer than its database column allows.', {
        cause: error,
        context: { driver, reason: 'too_long' },
      });
    case 'unique':
      return new InternalError('A row with the same unique key already exists.', { cause: error, context: { driver } });
    default:
      return new InternalError('A storage query failed.', { cause: error, context: { driver } });
  }
}
