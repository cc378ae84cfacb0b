import { InternalError, ValidationError } from '../errors/index.js';
import { isPayableError } from '../errors/payable-error.js';
import { noopLogger } from '../logger/noop-logger.js';
import type { Logger } from '../logger/types.js';
import type { JsonValue } from '../provider/types.js';
import { newId } from '../util/ids.js';
import type { DispatchOptions, FailedJob, JobContext, JobHandler, QueueDriver, QueueRetryOptions } from './types.js';

/** Options of {@link SyncQueueDriver}: the shared retry policy plus an optional logger. */
export type SyncQueueDriverOptions = QueueRetryOptions & {
  /** Receives retry and failure lines (job name, id, attempt, error message; never the payload). */
  logger?: Logger;
};

interface Job {
  /** Dedupe key: job name + job id. */
  key: string;
  id: string;
  name: string;
  /** The payload as JSON text: every attempt gets its own copy, as with a real queue. */
  data: string;
  /** The attempt number of the next (or current) run, 1-based. */
  attempt: number;
}

const DEFAULT_ATTEMPTS = 3;
const DEFAULT_BACKOFF = { type: 'exponential', delayMs: 1000 } as const;

/**
 * The in-process queue: `dispatch` runs the job's handler inline and resolves once the first
 * attempt has finished (a failing handler never rejects `dispatch`; the retry policy handles it).
 * Failed attempts are retried on timers with fixed or exponential backoff, and `onFailed` is called
 * once after the last attempt failed. Good for development, tests and a single small process;
 * use `BullMQQueueDriver` when jobs must survive a restart.
 *
 * - A job dispatched before its handler is registered waits and runs when `process` is called.
 * - `jobId` deduplicates per job name: a dispatch whose job is still waiting, delayed, running or
 *   waiting for a retry is dropped; once that job has finished (or failed for good) the same
 *   `jobId` runs again.
 * - `delayMs` delays the first run. Timers are `unref`'d, so they never keep a process alive.
 * - `close()` cancels delayed jobs and pending retries, drops jobs still waiting for a handler,
 *   and waits for running handlers; `dispatch` and `process` reject afterwards.
 *
 * @example
 * ```ts
 * const queue = new SyncQueueDriver({ attempts: 5, backoff: { type: 'fixed', delayMs: 500 } });
 * await queue.process('webhook.process', async (payload, job) => { ... });
 * await queue.dispatch('webhook.process', { eventId }, { jobId: eventId });
 * await queue.drain(); // in tests: wait for retries too
 * ```
 */
export class SyncQueueDriver implements QueueDriver {
  readonly name = 'sync';
  readonly inline = true;

  readonly #maxAttempts: number;
  readonly #backoff: { type: 'fixed' | 'exponential'; delayMs: number };
  readonly #onFailed: QueueRetryOptions['onFailed'];
  readonly #logger: Logger;

  readonly #handlers = new Map<string, JobHandler>();
  /** Jobs dispatched before their handler was registered, by job name. */
  readonly #waiting = new Map<string, Job[]>();
  /** Keys of every job not finished yet (waiting, delayed, running, waiting for a retry). */
  readonly #live = new Set<string>();
  readonly #timers = new Map<NodeJS.Timeout, Job>();
  readonly #running = new Set<Promise<void>>();
  #idleWaiters: Array<() => void> = [];
  #closed = false;

  constructor(options: SyncQueueDriverOptions = {}) {
    const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
    if (!Number.isInteger(attempts) || attempts < 1) {
      throw new ValidationError('Queue attempts must be an integer of at least 1', {
        context: { field: 'attempts', reason: 'must be an integer >= 1' },
      });
    }
    const backoff = options.backoff ?? DEFAULT_BACKOFF;
    if (backoff.type !== 'fixed' && backoff.type !== 'exponential') {
      throw new ValidationError("Queue backoff type must be 'fixed' or 'exponential'", {
        context: { field: 'backoff.type', reason: "must be 'fixed' or 'exponential'" },
      });
    }
    if (!Number.isFinite(backoff.delayMs) || backoff.delayMs < 0) {
      throw new ValidationError('Queue backoff delay must be a finite number of milliseconds >= 0', {
        context: { field: 'backoff.delayMs', reason: 'must be a finite number >= 0' },
      });
    }
    this.#maxAttempts = attempts;
    this.#backoff = { type: backoff.type, delayMs: backoff.delayMs };
    this.#onFailed = options.onFailed;
    this.#logger = options.logger ?? noopLogger;
  }

  /**
   * Runs the job inline (or keeps it until its handler is registered, or until `delayMs` passed)
   * and resolves after its first attempt finished. Rejects with `VALIDATION_ERROR` for a bad job
   * name, job id, delay or a payload that is not JSON, and with `INTERNAL_ERROR` after `close()`.
   */
  async dispatch(name: string, payload: JsonValue, options: DispatchOptions = {}): Promise<void> {
    if (this.#closed) {
      throw new InternalError('The queue is closed; the job was not dispatched', {
        context: { queue: this.name, job: name },
      });
    }
    assertJobName(name);
    if (options.jobId !== undefined && (typeof options.jobId !== 'string' || options.jobId.length === 0)) {
      throw new ValidationError('A jobId must be a non-empty string', {
        context: { field: 'jobId', reason: 'must be a non-empty string' },
      });
    }
    const delayMs = options.delayMs ?? 0;
    if (!Number.isFinite(delayMs) || delayMs < 0) {
      throw new ValidationError('delayMs must be a finite number of milliseconds >= 0', {
        context: { field: 'delayMs', reason: 'must be a finite number >= 0' },
      });
    }
    const data = serialize(payload, name);
    const id = options.jobId ?? newId('job');
    const key = `${name}\u0000${id}`;
    if (this.#live.has(key)) {
      this.#logger.debug(
        { queue: this.name, job: name, jobId: id },
        'duplicate jobId dropped: the job is not finished',
      );
      return;
    }
    this.#live.add(key);
    const job: Job = { key, id, name, data, attempt: 1 };
    if (delayMs > 0) {
      this.#schedule(job, delayMs);
      return;
    }
    await this.#start(job);
  }

  /**
   * Registers the handler for a job name (replacing an earlier one) and runs the jobs that were
   * dispatched before it; resolves after their first attempts finished.
   */
  async process(name: string, handler: JobHandler): Promise<void> {
    if (this.#closed) {
      throw new InternalError('The queue is closed; no handler can be registered', {
        context: { queue: this.name, job: name },
      });
    }
    assertJobName(name);
    if (this.#handlers.has(name)) {
      this.#logger.warn({ queue: this.name, job: name }, 'job handler replaced');
    }
    this.#handlers.set(name, handler);
    const waiting = this.#waiting.get(name) ?? [];
    this.#waiting.delete(name);
    await Promise.all(waiting.map((job) => this.#start(job)));
  }

  /** Always reachable: the queue lives in this process. */
  async ping(): Promise<void> {}

  /**
   * Stops taking jobs: cancels delayed jobs and pending retries, drops jobs still waiting for a
   * handler, and resolves when the running handlers have finished. Safe to call twice.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      let dropped = 0;
      for (const [timer, job] of this.#timers) {
        clearTimeout(timer);
        this.#live.delete(job.key);
        dropped++;
      }
      this.#timers.clear();
      for (const jobs of this.#waiting.values()) {
        for (const job of jobs) this.#live.delete(job.key);
        dropped += jobs.length;
      }
      this.#waiting.clear();
      if (dropped > 0) {
        this.#logger.warn({ queue: this.name, dropped }, 'queue closed with delayed, retrying or unhandled jobs');
      }
    }
    while (this.#running.size > 0) await Promise.all([...this.#running]);
    this.#checkIdle();
  }

  /**
   * Resolves when no job is running and none is scheduled (delayed or waiting for a retry).
   * Jobs waiting for a handler that was never registered do not count. Useful in tests.
   *
   * @example
   * ```ts
   * await queue.dispatch('outbox.dispatch', {});
   * await queue.drain();
   * ```
   */
  drain(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Runs the job's current attempt, or parks it until a handler is registered. */
  #start(job: Job): Promise<void> {
    const handler = this.#handlers.get(job.name);
    if (handler === undefined) {
      const waiting = this.#waiting.get(job.name);
      if (waiting === undefined) this.#waiting.set(job.name, [job]);
      else waiting.push(job);
      return Promise.resolve();
    }
    const run = this.#attempt(job, handler).finally(() => {
      this.#running.delete(run);
      this.#checkIdle();
    });
    this.#running.add(run);
    return run;
  }

  /** One attempt; never rejects. Schedules the retry or reports the final failure. */
  async #attempt(job: Job, handler: JobHandler): Promise<void> {
    const context: JobContext = { id: job.id, name: job.name, attempt: job.attempt, maxAttempts: this.#maxAttempts };
    let error: Error;
    try {
      await handler(JSON.parse(job.data) as JsonValue, context);
      this.#live.delete(job.key);
      return;
    } catch (thrown) {
      error = toError(thrown, job.name);
    }
    const fields = {
      queue: this.name,
      job: job.name,
      jobId: job.id,
      attempt: job.attempt,
      maxAttempts: this.#maxAttempts,
      ...errorFields(error),
    };
    if (job.attempt < this.#maxAttempts) {
      if (this.#closed) {
        this.#live.delete(job.key);
        this.#logger.warn(fields, 'job attempt failed; no retry because the queue is closed');
        return;
      }
      const delay = this.#delayAfter(job.attempt);
      this.#logger.warn({ ...fields, retryInMs: delay }, 'job attempt failed; retrying');
      job.attempt += 1;
      this.#schedule(job, delay);
      return;
    }
    this.#live.delete(job.key);
    this.#logger.error(fields, 'job failed its final attempt');
    if (this.#onFailed === undefined) return;
    const failed: FailedJob = {
      id: job.id,
      name: job.name,
      payload: JSON.parse(job.data) as JsonValue,
      attempts: job.attempt,
      error,
    };
    try {
      await this.#onFailed(failed);
    } catch (thrown) {
      this.#logger.error(
        { queue: this.name, job: job.name, jobId: job.id, ...errorFields(toError(thrown, job.name)) },
        'onFailed threw',
      );
    }
  }

  /** Backoff before the attempt after `failedAttempt`: fixed, or delayMs * 2^(failedAttempt - 1). */
  #delayAfter(failedAttempt: number): number {
    return this.#backoff.type === 'fixed' ? this.#backoff.delayMs : this.#backoff.delayMs * 2 ** (failedAttempt - 1);
  }

  #schedule(job: Job, delayMs: number): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      void this.#start(job);
      this.#checkIdle();
    }, delayMs);
    timer.unref();
    this.#timers.set(timer, job);
  }

  #isIdle(): boolean {
    return this.#running.size === 0 && this.#timers.size === 0;
  }

  #checkIdle(): void {
    if (!this.#isIdle() || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

function assertJobName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new ValidationError('A job name must be a non-empty string', {
      context: { field: 'name', reason: 'must be a non-empty string' },
    });
  }
}

function serialize(payload: JsonValue, job: string): string {
  let data: string | undefined;
  try {
    data = JSON.stringify(payload);
  } catch (cause) {
    throw new ValidationError('A job payload must be JSON-serialisable', {
      context: { field: 'payload', reason: 'not JSON-serialisable', job },
      cause,
    });
  }
  if (data === undefined) {
    throw new ValidationError('A job payload must be JSON-serialisable', {
      context: { field: 'payload', reason: 'not JSON-serialisable', job },
    });
  }
  return data;
}

function toError(thrown: unknown, job: string): Error {
  if (thrown instanceof Error) return thrown;
  return new InternalError('A job handler threw a value that is not an Error', { context: { job }, cause: thrown });
}

/** Log fields for an error: its name, code and message (never its cause or context values). */
function errorFields(error: Error): Record<string, unknown> {
  return isPayableError(error)
    ? { errorName: error.name, errorCode: error.code, errorMessage: error.message }
    : { errorName: error.name, errorMessage: error.message };
}
