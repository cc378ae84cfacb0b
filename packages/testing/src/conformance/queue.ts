import { randomUUID } from 'node:crypto';
import type { FailedJob, JobContext, JsonValue, QueueDriver, QueueRetryOptions } from '@payable/core';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../wait-for.js';

/** What a driver made for one test gives the test: the driver and the jobs `onFailed` reported. */
export interface QueueConformanceDriver {
  driver: QueueDriver;
  /** Every `FailedJob` the driver passed to `onFailed`, in order. */
  failed: FailedJob[];
}

/** Handed to the `extra` hook, so a driver's own tests share the suite's setup and teardown. */
export interface QueueConformanceContext {
  /**
   * Makes a driver through `makeDriver`, closed (and torn down) after the current test. Retry
   * defaults: 3 attempts, fixed 10 ms backoff; `onFailed` records into `failed`.
   */
  setup(retry?: Omit<QueueRetryOptions, 'onFailed'>): Promise<QueueConformanceDriver>;
  /** A job name unique to this run (so leftovers in a shared Redis never reach another test). */
  jobName(label: string): string;
  /** How long the suite waits for background work, in ms. */
  timeoutMs: number;
}

/** Options of {@link queueConformance}. */
export interface QueueConformanceOptions {
  /** Makes a fresh driver with the given retry policy (its `onFailed` must be passed through). */
  makeDriver: (retry: QueueRetryOptions) => Promise<QueueDriver>;
  /** Runs after each test for every driver made, after the suite closed it (e.g. delete Redis keys). */
  teardown?: (driver: QueueDriver) => Promise<void>;
  /** Tests this driver cannot pass, by exact title, each with the reason. */
  disabled?: Record<string, string>;
  /** Registers the driver's own tests inside the suite's `describe`. */
  extra?: (context: QueueConformanceContext) => void;
  /** How long to wait for a handler to run or `onFailed` to be called (default 5000 ms). */
  timeoutMs?: number;
  /**
   * How long to watch for work that must not happen (a retry after success, a second run of a
   * deduplicated job) before asserting it did not (default 200 ms; much longer than the backoff).
   */
  settleMs?: number;
}

interface Gate {
  open: () => void;
  opened: Promise<void>;
}

type ConformanceTest = () => Promise<void>;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The queue driver conformance suite: registers vitest tests that every `QueueDriver` must pass
 * (payload delivery, late handlers, retries with backoff, `onFailed`, `jobId` deduplication, job
 * names, `close`, `ping`). It never assumes a handler ran by the time `dispatch` resolved, so it
 * runs against in-process and Redis-backed drivers alike.
 *
 * @example
 * ```ts
 * import { SyncQueueDriver } from '@payable/core';
 * import { queueConformance } from '@payable/testing';
 *
 * queueConformance('sync', { makeDriver: async (retry) => new SyncQueueDriver(retry) });
 * ```
 */
export function queueConformance(name: string, options: QueueConformanceOptions): void {
  const timeoutMs = options.timeoutMs ?? 5000;
  const settleMs = options.settleMs ?? 200;
  const disabled = options.disabled ?? {};
  const run = randomUUID().slice(0, 8);
  let counter = 0;

  describe(`queue conformance – ${name}`, () => {
    let made: QueueDriver[] = [];
    let gates: Gate[] = [];

    afterEach(async () => {
      for (const g of gates) g.open();
      gates = [];
      const drivers = made;
      made = [];
      for (const driver of drivers) {
        await driver.close();
        if (options.teardown) await options.teardown(driver);
      }
    });

    const jobName = (label: string): string => `conformance.${run}.${++counter}.${label}`;

    const setup = async (retry: Omit<QueueRetryOptions, 'onFailed'> = {}): Promise<QueueConformanceDriver> => {
      const failed: FailedJob[] = [];
      const driver = await options.makeDriver({
        attempts: 3,
        backoff: { type: 'fixed', delayMs: 10 },
        ...retry,
        onFailed: (job) => {
          failed.push(job);
        },
      });
      made.push(driver);
      return { driver, failed };
    };

    const gate = (): Gate => {
      let open = (): void => {};
      const opened = new Promise<void>((resolve) => {
        open = resolve;
      });
      const g = { open, opened };
      gates.push(g);
      return g;
    };

    const tests: Record<string, ConformanceTest> = {
      'dispatch – the handler receives the payload through a JSON round trip, and a job context': async () => {
        const { driver } = await setup();
        const job = jobName('payload');
        const seen: Array<{ payload: JsonValue; context: JobContext }> = [];
        await driver.process(job, async (payload, context) => {
          seen.push({ payload, context });
        });
        const payload = {
          eventId: 'evt_123',
          amount: 1999,
          currency: 'EUR',
          captured: true,
          refunded: false,
          note: null,
          lines: [{ sku: 'sku_1', quantity: 2 }, []],
          text: 'Grüße ⚡ "quoted" \\ back\nline',
        };
        await driver.dispatch(job, payload);
        await waitFor(() => seen.length === 1, timeoutMs);
        const first = seen[0];
        expect(first?.payload).toEqual(payload);
        expect(first?.payload).not.toBe(payload);
        expect(first?.context).toMatchObject({ name: job, attempt: 1, maxAttempts: 3 });
        expect(typeof first?.context.id).toBe('string');
        expect(first?.context.id.length).toBeGreaterThan(0);
      },

      'dispatch – the job context id is the given jobId': async () => {
        const { driver } = await setup();
        const job = jobName('job-id');
        const ids: string[] = [];
        await driver.process(job, async (_payload, context) => {
          ids.push(context.id);
        });
        await driver.dispatch(job, { n: 1 }, { jobId: 'evt_abc' });
        await waitFor(() => ids.length === 1, timeoutMs);
        expect(ids).toEqual(['evt_abc']);
      },

      'dispatch – a handler that throws does not make dispatch reject': async () => {
        const { driver, failed } = await setup({ attempts: 1 });
        const job = jobName('throws');
        await driver.process(job, async () => {
          throw new Error('handler failure');
        });
        await expect(driver.dispatch(job, { n: 1 })).resolves.toBeUndefined();
        await waitFor(() => failed.length === 1, timeoutMs);
      },

      'dispatch – delayMs defers the first run': async () => {
        const { driver } = await setup();
        const job = jobName('delayed');
        const ranAt: number[] = [];
        await driver.process(job, async () => {
          ranAt.push(Date.now());
        });
        const dispatchedAt = Date.now();
        await driver.dispatch(job, { n: 1 }, { delayMs: 150 });
        expect(ranAt).toHaveLength(0);
        await waitFor(() => ranAt.length === 1, timeoutMs);
        expect((ranAt[0] ?? 0) - dispatchedAt).toBeGreaterThanOrEqual(140);
      },

      'process – a handler registered after dispatch still gets the job': async () => {
        const { driver } = await setup();
        const job = jobName('late-handler');
        await driver.dispatch(job, { order: 'ord_1' });
        const seen: JsonValue[] = [];
        await driver.process(job, async (payload) => {
          seen.push(payload);
        });
        await waitFor(() => seen.length === 1, timeoutMs);
        expect(seen).toEqual([{ order: 'ord_1' }]);
      },

      'process – each job name goes to its own handler': async () => {
        const { driver } = await setup();
        const webhooks = jobName('webhook');
        const outbox = jobName('outbox');
        const seenWebhooks: JsonValue[] = [];
        const seenOutbox: JsonValue[] = [];
        await driver.process(webhooks, async (payload) => {
          seenWebhooks.push(payload);
        });
        await driver.process(outbox, async (payload) => {
          seenOutbox.push(payload);
        });
        await driver.dispatch(webhooks, { kind: 'webhook' });
        await driver.dispatch(outbox, { kind: 'outbox', n: 1 });
        await driver.dispatch(outbox, { kind: 'outbox', n: 2 });
        await waitFor(() => seenWebhooks.length === 1 && seenOutbox.length === 2, timeoutMs);
        await sleep(settleMs);
        expect(seenWebhooks).toEqual([{ kind: 'webhook' }]);
        expect(seenOutbox).toHaveLength(2);
        expect(seenOutbox).toEqual(
          expect.arrayContaining([
            { kind: 'outbox', n: 1 },
            { kind: 'outbox', n: 2 },
          ]),
        );
      },

      'retry – a failing job is retried until it succeeds, attempts numbered from 1': async () => {
        const { driver, failed } = await setup({ attempts: 4 });
        const job = jobName('retry-success');
        const attempts: JobContext[] = [];
        const payloads: JsonValue[] = [];
        await driver.process(job, async (payload, context) => {
          attempts.push(context);
          payloads.push(payload);
          if (context.attempt < 3) throw new Error(`attempt ${context.attempt} failed`);
        });
        await driver.dispatch(job, { charge: 'ch_1' });
        await waitFor(() => attempts.length === 3, timeoutMs);
        await sleep(settleMs);
        expect(attempts.map((context) => context.attempt)).toEqual([1, 2, 3]);
        expect(attempts.every((context) => context.maxAttempts === 4)).toBe(true);
        expect(new Set(attempts.map((context) => context.id)).size).toBe(1);
        expect(payloads).toEqual([{ charge: 'ch_1' }, { charge: 'ch_1' }, { charge: 'ch_1' }]);
        expect(failed).toEqual([]);
      },

      'retry – after the last failed attempt onFailed is called once with the error and the attempt count':
        async () => {
          const { driver, failed } = await setup({ attempts: 2 });
          const job = jobName('retry-exhausted');
          const attempts: number[] = [];
          await driver.process(job, async (_payload, context) => {
            attempts.push(context.attempt);
            throw new Error(`gateway down (attempt ${context.attempt})`);
          });
          await driver.dispatch(job, { eventId: 'evt_failed' }, { jobId: 'evt_failed' });
          await waitFor(() => failed.length === 1, timeoutMs);
          await sleep(settleMs);
          expect(attempts).toEqual([1, 2]);
          expect(failed).toHaveLength(1);
          const report = failed[0];
          expect(report).toMatchObject({
            id: 'evt_failed',
            name: job,
            attempts: 2,
            payload: { eventId: 'evt_failed' },
          });
          expect(report?.error).toBeInstanceOf(Error);
          expect(report?.error.message).toContain('gateway down');
        },

      'retry – attempts are separated by the backoff delay': async () => {
        const { driver } = await setup({ attempts: 2, backoff: { type: 'fixed', delayMs: 100 } });
        const job = jobName('backoff');
        const ranAt: number[] = [];
        await driver.process(job, async () => {
          ranAt.push(Date.now());
          if (ranAt.length === 1) throw new Error('first attempt fails');
        });
        await driver.dispatch(job, { n: 1 });
        await waitFor(() => ranAt.length === 2, timeoutMs);
        expect((ranAt[1] ?? 0) - (ranAt[0] ?? 0)).toBeGreaterThanOrEqual(90);
      },

      'dispatch – a second dispatch with the same jobId while the first waits for a handler is dropped': async () => {
        const { driver } = await setup();
        const job = jobName('dedupe-waiting');
        await driver.dispatch(job, { copy: 1 }, { jobId: 'evt_dup' });
        await driver.dispatch(job, { copy: 2 }, { jobId: 'evt_dup' });
        const seen: JsonValue[] = [];
        await driver.process(job, async (payload) => {
          seen.push(payload);
        });
        await waitFor(() => seen.length >= 1, timeoutMs);
        await sleep(settleMs);
        expect(seen).toEqual([{ copy: 1 }]);
      },

      'dispatch – a second dispatch with the same jobId while the first is running is dropped': async () => {
        const { driver } = await setup();
        const job = jobName('dedupe-running');
        const release = gate();
        const seen: JsonValue[] = [];
        await driver.process(job, async (payload) => {
          seen.push(payload);
          await release.opened;
        });
        const first = driver.dispatch(job, { copy: 1 }, { jobId: 'evt_dup' });
        await waitFor(() => seen.length === 1, timeoutMs);
        // An inline driver that fails to dedupe would block in the second dispatch: do not wait forever.
        const second = driver.dispatch(job, { copy: 2 }, { jobId: 'evt_dup' });
        await Promise.race([second, sleep(settleMs)]);
        release.open();
        await Promise.all([first, second]);
        await sleep(settleMs);
        expect(seen).toEqual([{ copy: 1 }]);
      },

      'dispatch – a second dispatch with the same jobId while the first waits for a retry is dropped': async () => {
        const { driver, failed } = await setup({ attempts: 3, backoff: { type: 'fixed', delayMs: 150 } });
        const job = jobName('dedupe-retrying');
        const seen: Array<{ payload: JsonValue; attempt: number }> = [];
        await driver.process(job, async (payload, context) => {
          seen.push({ payload, attempt: context.attempt });
          if (context.attempt === 1) throw new Error('first attempt fails');
        });
        await driver.dispatch(job, { copy: 1 }, { jobId: 'evt_dup' });
        await waitFor(() => seen.length === 1, timeoutMs);
        await driver.dispatch(job, { copy: 2 }, { jobId: 'evt_dup' });
        await waitFor(() => seen.length === 2, timeoutMs);
        await sleep(settleMs);
        expect(seen).toEqual([
          { payload: { copy: 1 }, attempt: 1 },
          { payload: { copy: 1 }, attempt: 2 },
        ]);
        expect(failed).toEqual([]);
      },

      'dispatch – a jobId runs again once its earlier job has finished': async () => {
        const { driver } = await setup();
        const job = jobName('rerun-finished');
        const seen: JsonValue[] = [];
        await driver.process(job, async (payload) => {
          seen.push(payload);
        });
        await driver.dispatch(job, { round: 1 }, { jobId: 'evt_again' });
        await waitFor(() => seen.length === 1, timeoutMs);
        await sleep(settleMs);
        await driver.dispatch(job, { round: 2 }, { jobId: 'evt_again' });
        await waitFor(() => seen.length === 2, timeoutMs);
        expect(seen).toEqual([{ round: 1 }, { round: 2 }]);
      },

      'dispatch – a jobId runs again once its earlier job has failed for good': async () => {
        const { driver, failed } = await setup({ attempts: 1 });
        const job = jobName('rerun-failed');
        const seen: JsonValue[] = [];
        await driver.process(job, async (payload) => {
          seen.push(payload);
          if (seen.length === 1) throw new Error('first run fails');
        });
        await driver.dispatch(job, { round: 1 }, { jobId: 'evt_replay' });
        await waitFor(() => failed.length === 1, timeoutMs);
        await sleep(settleMs);
        await driver.dispatch(job, { round: 2 }, { jobId: 'evt_replay' });
        await waitFor(() => seen.length === 2, timeoutMs);
        expect(seen).toEqual([{ round: 1 }, { round: 2 }]);
        expect(failed).toHaveLength(1);
      },

      'close – waits for a running handler to finish': async () => {
        const { driver } = await setup();
        const job = jobName('close-waits');
        const release = gate();
        let started = false;
        let finished = false;
        await driver.process(job, async () => {
          started = true;
          await release.opened;
          await sleep(20);
          finished = true;
        });
        const dispatched = driver.dispatch(job, { n: 1 });
        await waitFor(() => started, timeoutMs);
        let closed = false;
        const closing = driver.close().then(() => {
          closed = true;
        });
        await sleep(50);
        expect(closed).toBe(false);
        release.open();
        await closing;
        expect(finished).toBe(true);
        await dispatched;
      },

      'close – a second call resolves': async () => {
        const { driver } = await setup();
        await driver.close();
        await expect(driver.close()).resolves.toBeUndefined();
      },

      'dispatch – rejects after close': async () => {
        const { driver } = await setup();
        const job = jobName('after-close');
        await driver.process(job, async () => {});
        await driver.close();
        await expect(driver.dispatch(job, { n: 1 })).rejects.toBeInstanceOf(Error);
      },

      'ping – resolves while the driver is open': async () => {
        const { driver } = await setup();
        await expect(driver.ping()).resolves.toBeUndefined();
      },
    };

    for (const [title, test] of Object.entries(tests)) {
      if (title in disabled) continue;
      it(title, test);
    }

    if (Object.keys(disabled).length > 0) {
      it('conformance – every disabled test names a test of this suite and gives a reason', () => {
        for (const [title, reason] of Object.entries(disabled)) {
          expect(Object.keys(tests), `disabled title "${title}"`).toContain(title);
          expect(reason.trim(), `reason for "${title}"`).not.toBe('');
        }
      });
    }

    options.extra?.({ setup, jobName, timeoutMs });
  });
}
