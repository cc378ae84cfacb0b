import type { Knex } from 'knex';
import type { HotSql } from './statements.js';

const SAVEPOINT = 'payable_nested';

/** The part of knex's client a transaction of the driver's own uses. */
interface PoolClient {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): unknown;
}

/**
 * A knex transaction stand-in bound to one pooled connection: `db(table)` builds a query that
 * runs on that connection (the builder's `.connection()`), the driver's own statements get it from
 * `db.client` (a client that inherits everything from knex's, its event listeners included, and
 * hands out only this connection), and `db.raw` builds raw expressions. Only what the driver uses
 * of a transaction is there: it never calls `transaction` on it (nested calls take a savepoint,
 * see {@link PgTransactions.savepoint}) nor runs a standalone `raw` on PostgreSQL.
 */
function boundTo(knex: Knex, connection: unknown): Knex.Transaction {
  const client = Object.create(knex.client) as PoolClient;
  client.acquireConnection = () => Promise.resolve(connection);
  client.releaseConnection = () => Promise.resolve();
  const db = (table: string) => knex(table).connection(connection);
  return Object.assign(db, { client, raw: knex.raw.bind(knex), isTransaction: true }) as unknown as Knex.Transaction;
}

/**
 * The driver's transactions on PostgreSQL: BEGIN, COMMIT and ROLLBACK sent straight on a
 * connection of knex's pool (with knex's `query` events, like the driver's other statements), the
 * work in between on a {@link boundTo} stand-in. A knex transaction builds a knex instance and a
 * client for every transaction and sends BEGIN and COMMIT through its query pipeline, which costs
 * more CPU than the statements themselves (docs/benchmarks.md, "Where the time goes").
 * Used when the driver runs its own statements (`HotSql`): a knex with identifier or response
 * hooks keeps knex's transactions.
 */
export class PgTransactions {
  readonly #knex: Knex;
  readonly #sql: HotSql;

  constructor(knex: Knex, sql: HotSql) {
    this.#knex = knex;
    this.#sql = sql;
  }

  /**
   * Runs `body` in a new transaction: commits when it resolves, rolls back and rethrows its error
   * when it throws. A failed BEGIN or COMMIT rejects with the database's error.
   */
  async run<T>(body: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    const client = this.#knex.client as PoolClient;
    const connection = await client.acquireConnection();
    try {
      const trx = boundTo(this.#knex, connection);
      await this.#sql.run(trx, 'BEGIN;', []);
      let result: T;
      try {
        result = await body(trx);
      } catch (error) {
        // A connection that broke is discarded by the pool; its transaction ended with it.
        await this.#sql.run(trx, 'ROLLBACK', []).catch(() => undefined);
        throw error;
      }
      await this.#sql.run(trx, 'COMMIT;', []);
      return result;
    } finally {
      await client.releaseConnection(connection);
    }
  }

  /**
   * Runs `body` inside `trx` (one of {@link run}'s) in a savepoint: released when it resolves,
   * rolled back to (undoing only `body`'s work) when it throws, whose error is rethrown. Nested
   * savepoints share one name: PostgreSQL releases and rolls back to the newest of that name.
   */
  async savepoint<T>(trx: Knex.Transaction, body: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    const name = SAVEPOINT;
    await this.#sql.run(trx, `savepoint ${name}`, []);
    let result: T;
    try {
      result = await body(trx);
    } catch (error) {
      // Undo `body`'s work, then drop the savepoint too, so repeated failures do not pile savepoints up.
      await this.#sql
        .run(trx, `rollback to savepoint ${name}`, [])
        .then(() => this.#sql.run(trx, `release savepoint ${name}`, []))
        .catch(() => undefined);
      throw error;
    }
    await this.#sql.run(trx, `release savepoint ${name}`, []);
    return result;
  }
}
