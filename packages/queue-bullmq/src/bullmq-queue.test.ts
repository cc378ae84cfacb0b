import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type FailedJob, isPayableError, type JsonValue, type QueueDriver } from '@payable/core';
import { freePort, killOwnRedisServers, startRedis } from '../test/support/own-redis.js';
import { BullMQQueueDriver, type BullMQQueueDriverOptions, checkRedisEviction } from '@payable/queue-bullmq';
import { queueConformance, waitFor } from '@payable/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

const REDIS = { host: '127.0.0.1', port: 6379 };

/** A direct client on the shared Redis: reads what the driver wrote, and deletes it afterwards. */
const raw = new Redis({ ...REDIS, lazyConnect: true });
const prefixes = new Set<string>();

const uniquePrefix = (): string => {
  const prefix = `payable-test-${randomUUID().slice(0, 12)}`;
  prefixes.add(prefix);
  return prefix;
};

async function deleteKeys(prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await raw.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    if (keys.length > 0) await raw.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

afterAll(async () => {
  for (const prefix of prefixes) await deleteKeys(prefix);
  raw.disconnect();
});

/** The prefix each conformance driver was made with (the suite hands teardown the driver only). */
const prefixOf = new WeakMap<QueueDriver, string>();

queueConformance('bullmq', {
  makeDriver: async (retry) => {
    const prefix = uniquePrefix();
    const driver = new BullMQQueueDriver({ connection: REDIS, prefix, ...retry });
    prefixOf.set(driver, prefix);
    return driver;
  },
  teardown: async (driver) => {
    const prefix = prefixOf.get(driver);
    if (prefix !== undefined) await deleteKeys(prefix);
  },
  // Waits happen through Redis and BullMQ's blocking fetch: allow for a loaded CI machine.
  timeoutMs: 10_000,
  settleMs: 300,
});

// ---------------------------------------------------------------------------------------------
// Driver-specific behaviour on the shared Redis.

describe('BullMQQueueDriver – on a shared Redis', () => {
  const open: BullMQQueueDriver[] = [];
  const make = (options: Partial<BullMQQueueDriverOptions> = {}): BullMQQueueDriver => {
    const driver = new BullMQQueueDriver({
      connection: REDIS,
      prefix: uniquePrefix(),
      backoff: { type: 'fixed', delayMs: 10 },
      ...options,
    });
    open.push(driver);
    return driver;
  };

  afterEach(async () => {
    await Promise.all(open.splice(0).map((driver) => driver.close()));
  });

  it('jobId dedupe – two driver instances dispatching the same jobId make one job', async () => {
    const prefix = uniquePrefix();
    const a = make({ prefix });
    const b = make({ prefix });
    const seen: Array<{ payload: JsonValue; id: string }> = [];
    // 20 concurrent dispatches of one event from two "processes", before any worker runs.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? a : b).dispatch('webhook.process', { copy: i }, { jobId: 'wh_1' }),
      ),
    );
    await b.process('webhook.process', async (payload, job) => {
      seen.push({ payload, id: job.id });
    });
    await a.process('webhook.process', async (payload, job) => {
      seen.push({ payload, id: job.id });
    });
    await waitFor(() => seen.length >= 1, 10_000);
    await sleep(500);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.id).toBe('wh_1');
    // One job in Redis, whichever process added it.
    const completed = await raw.zcard(`${prefix}:webhook.process:completed`);
    expect(completed).toBe(1);
  });

  it('jobId dedupe – a jobId dispatched again from the other instance after completion runs again', async () => {
    const prefix = uniquePrefix();
    const a = make({ prefix });
    const b = make({ prefix });
    const rounds: JsonValue[] = [];
    await a.process('outbox.dispatch', async (payload) => {
      rounds.push(payload);
    });
    await a.dispatch('outbox.dispatch', { round: 1 }, { jobId: 'ob-1' });
    await waitFor(() => rounds.length === 1, 10_000);
    await sleep(100);
    await b.dispatch('outbox.dispatch', { round: 2 }, { jobId: 'ob-1' });
    await waitFor(() => rounds.length === 2, 10_000);
    expect(rounds).toEqual([{ round: 1 }, { round: 2 }]);
  });

  it("jobId and job name – ':' in either is accepted and given back unchanged", async () => {
    const driver = make();
    const seen: Array<{ name: string; id: string }> = [];
    await driver.dispatch('billing:webhook', {}, { jobId: 'stripe:evt_1' });
    await driver.dispatch('billing:webhook', {}, { jobId: 'stripe:evt_1' });
    await driver.process('billing:webhook', async (_payload, job) => {
      seen.push({ name: job.name, id: job.id });
    });
    await waitFor(() => seen.length >= 1, 10_000);
    await sleep(300);
    expect(seen).toEqual([{ name: 'billing:webhook', id: 'stripe:evt_1' }]);
  });

  it('onFailed – called once, after the final attempt, when two workers share the queue', async () => {
    const prefix = uniquePrefix();
    const failed: FailedJob[] = [];
    const attempts: number[] = [];
    const onFailed = (job: FailedJob): void => {
      failed.push(job);
    };
    const a = make({ prefix, attempts: 3, onFailed });
    const b = make({ prefix, attempts: 3, onFailed });
    const handler = async (_payload: JsonValue, job: { attempt: number; maxAttempts: number }): Promise<void> => {
      attempts.push(job.attempt);
      expect(job.maxAttempts).toBe(3);
      throw new Error(`provider down (attempt ${job.attempt})`);
    };
    await a.process('webhook.process', handler);
    await b.process('webhook.process', handler);
    await a.dispatch('webhook.process', { eventId: 'wh_9' }, { jobId: 'wh_9' });
    await waitFor(() => failed.length === 1, 10_000);
    await sleep(500);
    expect(attempts.sort()).toEqual([1, 2, 3]);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ id: 'wh_9', name: 'webhook.process', attempts: 3, payload: { eventId: 'wh_9' } });
    expect(failed[0]?.error.message).toBe('provider down (attempt 3)');
    // The job is kept in BullMQ's failed set for inspection.
    expect(await raw.zcard(`${prefix}:webhook.process:failed`)).toBe(1);
  });

  it('onFailed – not called when a retry succeeds; a job context counts attempts from 1', async () => {
    const failed: FailedJob[] = [];
    const driver = make({ attempts: 2, onFailed: (job) => void failed.push(job) });
    const seen: number[] = [];
    await driver.process('flaky', async (_payload, job) => {
      seen.push(job.attempt);
      if (job.attempt === 1) throw new Error('first attempt fails');
    });
    await driver.dispatch('flaky', {});
    await waitFor(() => seen.length === 2, 10_000);
    await sleep(300);
    expect(seen).toEqual([1, 2]);
    expect(failed).toEqual([]);
  });

  it('close – waits for a running job, which is then recorded as completed in Redis (not left active)', async () => {
    const prefix = uniquePrefix();
    const driver = make({ prefix });
    let started = false;
    let finished = false;
    await driver.process('slow', async () => {
      started = true;
      await sleep(400);
      finished = true;
    });
    await driver.dispatch('slow', {}, { jobId: 'slow-1' });
    await waitFor(() => started, 10_000);
    const closedAt = Date.now();
    await driver.close();
    expect(finished).toBe(true);
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(300);
    expect(await raw.llen(`${prefix}:slow:active`)).toBe(0);
    expect(await raw.zcard(`${prefix}:slow:completed`)).toBe(1);
    await expect(driver.process('slow', async () => {})).rejects.toSatisfy(isPayableError);
    await expect(driver.ping()).rejects.toSatisfy(isPayableError);
  });

  it('close – a job left waiting is taken by another process after this one closed', async () => {
    const prefix = uniquePrefix();
    const web = make({ prefix });
    const worker = make({ prefix });
    const seen: JsonValue[] = [];
    await web.dispatch('webhook.process', { eventId: 'wh_2' }, { jobId: 'wh_2' });
    await web.close();
    await worker.process('webhook.process', async (payload) => {
      seen.push(payload);
    });
    await waitFor(() => seen.length === 1, 10_000);
    expect(seen).toEqual([{ eventId: 'wh_2' }]);
  });

  it('retention – completed jobs are trimmed to removeOnComplete.count', async () => {
    const prefix = uniquePrefix();
    const driver = make({ prefix, removeOnComplete: { count: 2 } });
    let done = 0;
    await driver.process('trimmed', async () => {
      done++;
    });
    for (let i = 0; i < 5; i++) await driver.dispatch('trimmed', { i }, { jobId: `t-${i}` });
    await waitFor(() => done === 5, 10_000);
    await sleep(200);
    expect(await raw.zcard(`${prefix}:trimmed:completed`)).toBe(2);
  });

  it('handler – a thrown non-Error value still fails the attempt and reaches onFailed as an Error', async () => {
    const failed: FailedJob[] = [];
    const driver = make({ attempts: 1, onFailed: (job) => void failed.push(job) });
    await driver.process('throws-string', async () => {
      throw 'plain string';
    });
    await driver.dispatch('throws-string', { n: 1 });
    await waitFor(() => failed.length === 1, 10_000);
    expect(failed[0]?.error).toBeInstanceOf(Error);
    expect(isPayableError(failed[0]?.error)).toBe(true);
  });

  it('dispatch – refuses a payload that is not JSON, and bad job names, ids and delays', async () => {
    const driver = make();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const codeOf = (promise: Promise<unknown>) =>
      promise.then(
        () => 'resolved',
        (error: unknown) => (isPayableError(error) ? error.code : 'other'),
      );
    expect(await codeOf(driver.dispatch('x', cyclic as unknown as JsonValue))).toBe('VALIDATION_ERROR');
    expect(await codeOf(driver.dispatch('x', { n: 1n } as unknown as JsonValue))).toBe('VALIDATION_ERROR');
    expect(await codeOf(driver.dispatch('', {}))).toBe('VALIDATION_ERROR');
    expect(await codeOf(driver.dispatch('x', {}, { jobId: '' }))).toBe('VALIDATION_ERROR');
    expect(await codeOf(driver.dispatch('x', {}, { delayMs: -1 }))).toBe('VALIDATION_ERROR');
  });

  it('constructor – refuses bad options with VALIDATION_ERROR naming the field', () => {
    const fieldOf = (options: Partial<BullMQQueueDriverOptions>): unknown => {
      try {
        new BullMQQueueDriver({ connection: REDIS, ...options });
        return 'accepted';
      } catch (error) {
        return isPayableError(error) && error.code === 'VALIDATION_ERROR' ? error.context.field : 'other';
      }
    };
    expect(fieldOf({ attempts: 0 })).toBe('attempts');
    expect(fieldOf({ attempts: 1.5 })).toBe('attempts');
    expect(fieldOf({ concurrency: 0 })).toBe('concurrency');
    expect(fieldOf({ backoff: { type: 'linear' as 'fixed', delayMs: 10 } })).toBe('backoff.type');
    expect(fieldOf({ backoff: { type: 'fixed', delayMs: -1 } })).toBe('backoff.delayMs');
    expect(fieldOf({ dispatchTimeoutMs: 0 })).toBe('dispatchTimeoutMs');
    expect(fieldOf({ prefix: '' })).toBe('prefix');
    expect(fieldOf({ connection: { ...REDIS, keyPrefix: 'app:' } })).toBe('connection.keyPrefix');
    expect(fieldOf({ connection: '' })).toBe('connection');
  });

  it('connection – a redis:// URL works; maxRetriesPerRequest and lazyConnect in the options do not get in the way', async () => {
    const url = make({ connection: `redis://${REDIS.host}:${REDIS.port}/0` });
    const opts = make({ connection: { ...REDIS, maxRetriesPerRequest: 3 } });
    const lazy = make({ connection: { ...REDIS, lazyConnect: true } });
    await expect(url.ping()).resolves.toBeUndefined();
    await expect(lazy.ping()).resolves.toBeUndefined();
    const seen: string[] = [];
    for (const [label, driver] of [
      ['url', url],
      ['options', opts],
      ['lazy', lazy],
    ] as const) {
      await driver.process('conn', async () => {
        seen.push(label);
      });
      await driver.dispatch('conn', {});
    }
    await waitFor(() => seen.length === 3, 10_000);
    expect(seen.sort()).toEqual(['lazy', 'options', 'url']);
  });
});

// ---------------------------------------------------------------------------------------------
// Faults: a Redis of our own that the tests kill and restart (the shared one is never touched).

afterAll(killOwnRedisServers);

describe('BullMQQueueDriver – Redis faults', () => {
  const open: BullMQQueueDriver[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((driver) => driver.close()));
  });

  it('dispatch – fails fast (< 1 s) when Redis was killed, and ping rejects', async () => {
    const port = await freePort();
    const redis = await startRedis(port);
    const driver = new BullMQQueueDriver({ connection: { host: '127.0.0.1', port }, prefix: 'fault' });
    open.push(driver);
    await driver.dispatch('webhook.process', { eventId: 'wh_before' }, { jobId: 'wh_before' });
    await redis.stop();

    for (const jobId of ['wh_down_1', 'wh_down_2']) {
      const startedAt = Date.now();
      const error = await driver.dispatch('webhook.process', { eventId: jobId }, { jobId }).then(
        () => null,
        (e: unknown) => e,
      );
      const tookMs = Date.now() - startedAt;
      expect(isPayableError(error)).toBe(true);
      expect(tookMs).toBeLessThan(1000);
    }
    const pingStartedAt = Date.now();
    await expect(driver.ping()).rejects.toSatisfy(isPayableError);
    expect(Date.now() - pingStartedAt).toBeLessThan(1000);
  });

  it('dispatch – fails fast (< 1 s) when Redis was never reachable', async () => {
    const port = await freePort();
    const driver = new BullMQQueueDriver({ connection: `redis://127.0.0.1:${port}`, prefix: 'fault' });
    open.push(driver);
    const startedAt = Date.now();
    const error = await driver.dispatch('webhook.process', { eventId: 'wh_x' }, { jobId: 'wh_x' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(Date.now() - startedAt).toBeLessThan(1000);
    expect(isPayableError(error) && error.code).toBe('INTERNAL_ERROR');
    expect(isPayableError(error) && error.context.reason).toBe('redis-unreachable');
  });

  it('close – with Redis down, still waits for the running handler, then resolves without Redis', async () => {
    const port = await freePort();
    const redis = await startRedis(port);
    const driver = new BullMQQueueDriver({ connection: { host: '127.0.0.1', port }, prefix: 'fault' });
    let release = (): void => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = false;
    let finished = false;
    await driver.process('job', async () => {
      started = true;
      await released;
      finished = true;
    });
    await driver.dispatch('job', { n: 1 });
    await waitFor(() => started, 10_000);
    await redis.stop();

    let closed = false;
    const closing = driver.close().then(() => {
      closed = true;
    });
    await sleep(500);
    expect(closed).toBe(false);
    release();
    const releasedAt = Date.now();
    await closing;
    expect(finished).toBe(true);
    // The result cannot be recorded without Redis: close() gives up on it after a short grace.
    expect(Date.now() - releasedAt).toBeLessThan(5000);
  }, 30_000);

  it('worker – resumes by itself after a 10 s outage and processes a job dispatched after the restart', async () => {
    const port = await freePort();
    let redis = await startRedis(port);
    const driver = new BullMQQueueDriver({
      connection: { host: '127.0.0.1', port },
      prefix: 'fault',
      backoff: { type: 'fixed', delayMs: 100 },
    });
    open.push(driver);
    const seen: JsonValue[] = [];
    await driver.process('webhook.process', async (payload) => {
      seen.push(payload);
    });
    await driver.dispatch('webhook.process', { eventId: 'wh_before' }, { jobId: 'wh_before' });
    await waitFor(() => seen.length === 1, 10_000);

    await redis.stop();
    await sleep(10_000);
    redis = await startRedis(port);
    const restartedAt = Date.now();

    // The restarted Redis is empty (no persistence): what was in it is gone, as after a crash.
    // The producer may still be between two reconnection attempts: retry the dispatch the way
    // Payable's sweeper would.
    await waitFor(
      () =>
        driver.dispatch('webhook.process', { eventId: 'wh_after' }, { jobId: 'wh_after' }).then(
          () => true,
          () => false,
        ),
      10_000,
      200,
    );
    await waitFor(() => seen.length === 2, Math.max(1, 25_000 - (Date.now() - restartedAt)), 50);
    expect(seen).toEqual([{ eventId: 'wh_before' }, { eventId: 'wh_after' }]);
    expect(Date.now() - restartedAt).toBeLessThan(25_000);
    await redis.stop();
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------

describe('checkRedisEviction', () => {
  it('reports the shared Redis policy as the server states it', async () => {
    const [, expected] = (await raw.config('GET', 'maxmemory-policy')) as [string, string];
    const report = await checkRedisEviction(REDIS);
    expect(report.policy).toBe(expected);
    expect(report.noeviction).toBe(expected === 'noeviction');
    expect(typeof report.maxmemory).toBe('number');
  });

  it('flags a Redis that evicts keys, and passes one with noeviction (URL or options)', async () => {
    const lruPort = await freePort();
    const lru = await startRedis(lruPort, ['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru']);
    const safePort = await freePort();
    const safe = await startRedis(safePort, ['--maxmemory-policy', 'noeviction']);
    try {
      expect(await checkRedisEviction(`redis://127.0.0.1:${lruPort}`)).toEqual({
        policy: 'allkeys-lru',
        noeviction: false,
        maxmemory: 64 * 1024 * 1024,
      });
      expect(await checkRedisEviction({ host: '127.0.0.1', port: safePort })).toEqual({
        policy: 'noeviction',
        noeviction: true,
        maxmemory: 0,
      });
    } finally {
      await lru.stop();
      await safe.stop();
    }
  });

  it('rejects fast with INTERNAL_ERROR when Redis is unreachable', async () => {
    const port = await freePort();
    const startedAt = Date.now();
    const error = await checkRedisEviction({ host: '127.0.0.1', port }, { timeoutMs: 1000 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(Date.now() - startedAt).toBeLessThan(1500);
    expect(isPayableError(error) && error.context.reason).toBe('redis-unreachable');
  });
});
