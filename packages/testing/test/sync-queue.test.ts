import {
  type FailedJob,
  isPayableError,
  type JsonValue,
  type LogFields,
  type Logger,
  SyncQueueDriver,
} from '@payable/core';
import { queueConformance, waitFor } from '@payable/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';

queueConformance('sync', { makeDriver: async (retry) => new SyncQueueDriver(retry) });

function recordingLogger(): Logger & { lines: Array<{ level: string; fields: LogFields; message?: string }> } {
  const lines: Array<{ level: string; fields: LogFields; message?: string }> = [];
  const at =
    (level: string) =>
    (fields: LogFields, message?: string): void => {
      lines.push({ level, fields, message });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

async function codeOf(promise: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    return isPayableError(error) ? error.code : `not a PayableError: ${String(error)}`;
  }
  return undefined;
}

describe('SyncQueueDriver', () => {
  const queues: SyncQueueDriver[] = [];
  const make = (options?: ConstructorParameters<typeof SyncQueueDriver>[0]): SyncQueueDriver => {
    const queue = new SyncQueueDriver(options);
    queues.push(queue);
    return queue;
  };

  afterEach(async () => {
    for (const queue of queues.splice(0)) await queue.close();
    vi.useRealTimers();
  });

  it("name – is 'sync'", () => {
    expect(make().name).toBe('sync');
  });

  it("dispatch – a succeeding handler's side effect is visible when dispatch resolves", async () => {
    const queue = make();
    const applied: JsonValue[] = [];
    await queue.process('webhook.process', async (payload) => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      applied.push(payload);
    });
    await queue.dispatch('webhook.process', { eventId: 'evt_1' });
    expect(applied).toEqual([{ eventId: 'evt_1' }]);
  });

  it('dispatch – resolves after the first failed attempt, with the retry still scheduled', async () => {
    const failed: FailedJob[] = [];
    const queue = make({
      attempts: 3,
      backoff: { type: 'fixed', delayMs: 20 },
      onFailed: (job) => void failed.push(job),
    });
    let calls = 0;
    await queue.process('job', async () => {
      calls++;
      throw new Error('always fails');
    });
    await queue.dispatch('job', {});
    expect(calls).toBe(1);
    await queue.drain();
    expect(calls).toBe(3);
    expect(failed).toHaveLength(1);
  });

  it('dispatch – with attempts 1, onFailed has run when dispatch resolves', async () => {
    const failed: FailedJob[] = [];
    const queue = make({ attempts: 1, onFailed: async (job) => void failed.push(job) });
    await queue.process('job', async () => {
      throw new Error('nope');
    });
    await queue.dispatch('job', { n: 1 });
    expect(failed.map((job) => [job.attempts, job.error.message])).toEqual([[1, 'nope']]);
  });

  it('dispatch – later mutations of the dispatched object do not reach the handler or a retry', async () => {
    const queue = make({ attempts: 2, backoff: { type: 'fixed', delayMs: 5 } });
    const seen: JsonValue[] = [];
    await queue.process('job', async (payload, job) => {
      seen.push(structuredClone(payload));
      if (typeof payload === 'object' && payload !== null && !Array.isArray(payload)) payload.mutated = true;
      if (job.attempt === 1) throw new Error('retry me');
    });
    const payload: { [key: string]: JsonValue } = { amount: 100 };
    await queue.dispatch('job', payload);
    payload.amount = 999;
    await queue.drain();
    expect(seen).toEqual([{ amount: 100 }, { amount: 100 }]);
  });

  it('dispatch – jobId deduplicates per job name, not across names', async () => {
    const queue = make();
    const seen: string[] = [];
    let release = (): void => {};
    const blocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    await queue.process('a', async () => {
      seen.push('a');
      await blocked;
    });
    await queue.process('b', async () => {
      seen.push('b');
    });
    const first = queue.dispatch('a', {}, { jobId: 'same' });
    await queue.dispatch('b', {}, { jobId: 'same' });
    release();
    await first;
    expect(seen).toEqual(['a', 'b']);
  });

  it('dispatch – rejects bad input with VALIDATION_ERROR', async () => {
    const queue = make();
    expect(await codeOf(queue.dispatch('', {}))).toBe('VALIDATION_ERROR');
    expect(await codeOf(queue.dispatch('job', {}, { jobId: '' }))).toBe('VALIDATION_ERROR');
    expect(await codeOf(queue.dispatch('job', {}, { delayMs: -1 }))).toBe('VALIDATION_ERROR');
    const circular: { [key: string]: JsonValue } = {};
    circular.self = circular;
    expect(await codeOf(queue.dispatch('job', circular))).toBe('VALIDATION_ERROR');
  });

  it('dispatch and process – reject with INTERNAL_ERROR after close', async () => {
    const queue = make();
    await queue.close();
    expect(await codeOf(queue.dispatch('job', {}))).toBe('INTERNAL_ERROR');
    expect(await codeOf(queue.process('job', async () => {}))).toBe('INTERNAL_ERROR');
  });

  it('constructor – rejects an invalid retry policy with VALIDATION_ERROR', async () => {
    expect(await codeOf(() => new SyncQueueDriver({ attempts: 0 }))).toBe('VALIDATION_ERROR');
    expect(await codeOf(() => new SyncQueueDriver({ attempts: 1.5 }))).toBe('VALIDATION_ERROR');
    expect(await codeOf(() => new SyncQueueDriver({ backoff: { type: 'fixed', delayMs: -5 } }))).toBe(
      'VALIDATION_ERROR',
    );
    expect(await codeOf(() => new SyncQueueDriver({ backoff: { type: 'linear' as 'fixed', delayMs: 5 } }))).toBe(
      'VALIDATION_ERROR',
    );
  });

  it('process – resolves after the first attempts of the jobs that waited for it', async () => {
    const queue = make();
    const seen: JsonValue[] = [];
    await queue.dispatch('job', { n: 1 });
    await queue.dispatch('job', { n: 2 });
    expect(seen).toEqual([]);
    await queue.process('job', async (payload) => {
      seen.push(payload);
    });
    expect(seen).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('retry – defaults to 3 attempts with exponential backoff from 1000 ms', async () => {
    vi.useFakeTimers();
    const failed: FailedJob[] = [];
    const queue = make({ onFailed: (job) => void failed.push(job) });
    const attempts: number[] = [];
    const maxAttempts = new Set<number>();
    await queue.process('job', async (_payload, job) => {
      attempts.push(job.attempt);
      maxAttempts.add(job.maxAttempts);
      throw new Error('down');
    });
    await queue.dispatch('job', {});
    expect(attempts).toEqual([1]);
    await vi.advanceTimersByTimeAsync(999);
    expect(attempts).toEqual([1]);
    await vi.advanceTimersByTimeAsync(1);
    expect(attempts).toEqual([1, 2]);
    await vi.advanceTimersByTimeAsync(1999);
    expect(attempts).toEqual([1, 2]);
    await vi.advanceTimersByTimeAsync(1);
    expect(attempts).toEqual([1, 2, 3]);
    expect(failed).toHaveLength(1);
    expect([...maxAttempts]).toEqual([3]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('retry – exponential backoff doubles the delay after each failed attempt', async () => {
    vi.useFakeTimers();
    const queue = make({ attempts: 4, backoff: { type: 'exponential', delayMs: 100 } });
    const ranAt: number[] = [];
    await queue.process('job', async () => {
      ranAt.push(Date.now());
      throw new Error('down');
    });
    await queue.dispatch('job', {});
    await vi.advanceTimersByTimeAsync(1000);
    const gaps = ranAt.slice(1).map((time, i) => time - (ranAt[i] ?? 0));
    expect(gaps).toEqual([100, 200, 400]);
  });

  it('retry – a handler that throws a non-Error reaches onFailed as an INTERNAL_ERROR', async () => {
    const failed: FailedJob[] = [];
    const queue = make({ attempts: 1, onFailed: (job) => void failed.push(job) });
    await queue.process('job', async () => {
      throw 'a string';
    });
    await queue.dispatch('job', {});
    expect(failed).toHaveLength(1);
    expect(isPayableError(failed[0]?.error) && failed[0]?.error.code).toBe('INTERNAL_ERROR');
  });

  it('logger – failures are logged without the payload, and a throwing onFailed is logged, not thrown', async () => {
    const logger = recordingLogger();
    const queue = make({
      attempts: 2,
      backoff: { type: 'fixed', delayMs: 5 },
      logger,
      onFailed: () => {
        throw new Error('dead-letter store down');
      },
    });
    await queue.process('webhook.process', async () => {
      throw new Error('handler down');
    });
    await queue.dispatch('webhook.process', { email: 'jane@example.com' }, { jobId: 'evt_9' });
    await queue.drain();
    expect(logger.lines.map((line) => [line.level, line.message])).toEqual([
      ['warn', 'job attempt failed; retrying'],
      ['error', 'job failed its final attempt'],
      ['error', 'onFailed threw'],
    ]);
    expect(logger.lines[1]?.fields).toMatchObject({
      job: 'webhook.process',
      jobId: 'evt_9',
      attempt: 2,
      errorMessage: 'handler down',
    });
    expect(JSON.stringify(logger.lines)).not.toContain('jane@example.com');
  });

  it('drain – resolves at once when nothing is running or scheduled', async () => {
    const queue = make();
    await queue.dispatch('no-handler-yet', {});
    let drained = false;
    await queue.drain().then(() => {
      drained = true;
    });
    expect(drained).toBe(true);
  });

  it('drain – waits for delayed jobs and for retries', async () => {
    const queue = make({ attempts: 2, backoff: { type: 'fixed', delayMs: 30 } });
    const seen: Array<[JsonValue, number]> = [];
    await queue.process('job', async (payload, job) => {
      seen.push([payload, job.attempt]);
      if (job.attempt === 1 && payload === 'retried') throw new Error('once');
    });
    await queue.dispatch('job', 'delayed', { delayMs: 40 });
    await queue.dispatch('job', 'retried');
    expect(seen).toEqual([['retried', 1]]);
    await queue.drain();
    expect(seen).toEqual(
      expect.arrayContaining([
        ['retried', 1],
        ['retried', 2],
        ['delayed', 1],
      ]),
    );
    expect(seen).toHaveLength(3);
  });

  it('close – cancels pending retries and delayed jobs; onFailed is not called for them', async () => {
    const failed: FailedJob[] = [];
    const queue = make({
      attempts: 3,
      backoff: { type: 'fixed', delayMs: 30 },
      onFailed: (job) => void failed.push(job),
    });
    let calls = 0;
    await queue.process('job', async () => {
      calls++;
      throw new Error('down');
    });
    await queue.dispatch('job', {});
    await queue.dispatch('job', {}, { delayMs: 30 });
    await queue.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(calls).toBe(1);
    expect(failed).toEqual([]);
    await expect(queue.drain()).resolves.toBeUndefined();
  });

  it('close – a job failing while the queue closes is not retried', async () => {
    const failed: FailedJob[] = [];
    const queue = make({
      attempts: 3,
      backoff: { type: 'fixed', delayMs: 5 },
      onFailed: (job) => void failed.push(job),
    });
    let calls = 0;
    let release = (): void => {};
    const blocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    await queue.process('job', async () => {
      calls++;
      await blocked;
      throw new Error('down');
    });
    const dispatched = queue.dispatch('job', {});
    await waitFor(() => calls === 1, 1000);
    const closing = queue.close();
    release();
    await closing;
    await dispatched;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls).toBe(1);
    expect(failed).toEqual([]);
  });
});
