import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';

/** Where the benchmarks find PostgreSQL and Redis (overridable for another machine). */
export const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/payable_test';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Connection pool size of every side (Payable's knex pool and the hand-written pg/BullMQ code alike). */
export const POOL_MAX = 10;

/** BullMQ retry policy of both sides: what Payable's BullMQQueueDriver uses by default. */
export const ATTEMPTS = 3;
export const BACKOFF_MS = 1000;

/** The fake provider's webhook secret (the same default `FakeProvider` uses). */
export const WEBHOOK_SECRET = 'whsec_fake_test_secret';

/** A short unique tag for table prefixes and Redis prefixes: lower-case letters and digits. */
export function uniqueTag(kind: string): string {
  return `${kind}${randomBytes(4).toString('hex')}`;
}

/** Launch a benchmark script (TypeScript) in a child process with the same loaders as this one. */
export function forkBench(
  script: string,
  args: readonly string[],
  extraExecArgv: readonly string[] = [],
): ChildProcess {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const hooks = fileURLToPath(new URL('./resolve-hooks.mjs', import.meta.url));
  return fork(path, [...args], {
    execArgv: ['--import', 'tsx', '--import', hooks, ...extraExecArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/** The next IPC message of `type` from a child, or rejects when the child exits first. */
export function nextMessage<T extends { type: string }>(child: ChildProcess, type: T['type']): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown): void => {
      if (typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type) {
        cleanup();
        resolve(message as T);
      }
    };
    const onExit = (code: number | null, signal: string | null): void => {
      cleanup();
      reject(new Error(`child exited (code ${code}, signal ${signal}) before sending "${type}"`));
    };
    const cleanup = (): void => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** Resolves when the child has exited; kills it after `timeoutMs`. */
export function exited(child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Send a message to the parent process (children only). */
export function tellParent(message: { type: string; [key: string]: unknown }): void {
  process.send?.(message);
}

/** Resolves with the first message of `type` the parent sends (children only). */
export function fromParent<T extends { type: string }>(type: T['type']): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown): void => {
      if (typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type) {
        process.off('message', onMessage);
        resolve(message as T);
      }
    };
    process.on('message', onMessage);
  });
}

/** The `p`-th percentile (0..100) of already sorted numbers. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Delete every Redis key under `prefix:` (a benchmark's BullMQ queues). */
export async function deleteRedisPrefix(prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** Drop every PostgreSQL table whose name starts with `prefix` (a benchmark's tables). */
export async function dropPgTables(prefix: string): Promise<number> {
  if (!/^[a-z][a-z0-9_]*$/.test(prefix)) throw new Error(`unsafe table prefix ${prefix}`);
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ tablename: string }>(
      "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE $1 || '%'",
      [prefix],
    );
    if (rows.length > 0) {
      await client.query(`DROP TABLE IF EXISTS ${rows.map((r) => `"${r.tablename}"`).join(', ')} CASCADE`);
    }
    return rows.length;
  } finally {
    await client.end();
  }
}

/** Sleep. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
