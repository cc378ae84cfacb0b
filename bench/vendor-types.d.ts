// Minimal declarations for the untyped libraries the benchmarks use directly (no @types package is
// installed for them in this repository; the benchmarks must not add dependencies).

declare module 'pg' {
  interface QueryResult<R> {
    rows: R[];
    rowCount: number | null;
  }
  interface Queryable {
    query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
  }
  interface PoolClient extends Queryable {
    release(error?: Error): void;
  }
  class Pool implements Queryable {
    constructor(config?: { connectionString?: string; max?: number });
    query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
    connect(): Promise<PoolClient>;
    end(): Promise<void>;
  }
  class Client implements Queryable {
    constructor(config?: { connectionString?: string });
    connect(): Promise<void>;
    query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
    end(): Promise<void>;
  }
  const pg: { Pool: typeof Pool; Client: typeof Client };
  export type { QueryResult, PoolClient };
  export { Pool, Client };
  export default pg;
}

declare module 'better-sqlite3' {
  namespace Database {
    interface Statement {
      /** Whether the statement returns rows (a SELECT, or a write with RETURNING). */
      readonly reader: boolean;
      run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
      get(...params: unknown[]): unknown;
      all(...params: unknown[]): unknown[];
    }
    interface Database {
      prepare(sql: string): Statement;
      exec(sql: string): this;
      pragma(source: string): unknown;
      transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
      close(): void;
    }
  }
  const Database: new (filename: string) => Database.Database;
  export default Database;
}

declare module 'autocannon' {
  interface Instance {
    on(event: 'response', listener: (client: unknown, status: number, bytes: number, ms: number) => void): Instance;
  }
  function autocannon(
    options: Record<string, unknown>,
    callback: (error: Error | null, result: never) => void,
  ): Instance;
  export default autocannon;
}
