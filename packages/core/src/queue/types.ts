import type { JsonValue } from '../provider/types.js';

/** Stable job names Payable dispatches. */
export const JOB_NAMES = { webhookProcess: 'webhook.process', outboxDispatch: 'outbox.dispatch' } as const;

/** What a job handler learns about the job it runs. */
export interface JobContext {
  id: string;
  name: string;
  /** 1 on the first run. */
  attempt: number;
  maxAttempts: number;
}

/** A job handler. Throwing fails the attempt; the driver retries until `maxAttempts`. */
export type JobHandler = (payload: JsonValue, job: JobContext) => Promise<void>;

/** Options for one dispatch. */
export interface DispatchOptions {
  /** Deduplicates: a second dispatch with an id still queued is one job. */
  jobId?: string;
  delayMs?: number;
}

/** A job that failed its final attempt. */
export interface FailedJob {
  id: string;
  name: string;
  payload: JsonValue;
  attempts: number;
  error: Error;
}

/** Retry policy shared by the queue drivers. */
export interface QueueRetryOptions {
  /** Total attempts including the first (default 3). */
  attempts?: number;
  /** Backoff between attempts (default exponential from 1000 ms). */
  backoff?: { type: 'fixed' | 'exponential'; delayMs: number };
  /** Called once per job after its final attempt failed. */
  onFailed?: (job: FailedJob) => void | Promise<void>;
}

/**
 * The queue port. `dispatch` enqueues; `process` registers the handler for a job name and starts
 * the worker lazily; failures are retried with backoff and `onFailed` is called after the last.
 *
 * @example
 * ```ts
 * queue.process('webhook.process', async (payload) => { ... });
 * await queue.dispatch('webhook.process', { eventId }, { jobId: eventId });
 * ```
 */
export interface QueueDriver {
  readonly name: string;
  /** `true` when `dispatch` runs the job before it resolves (the inline driver). */
  readonly inline?: boolean;
  dispatch(name: string, payload: JsonValue, options?: DispatchOptions): Promise<void>;
  process(name: string, handler: JobHandler): Promise<void>;
  /** Resolves when the queue backend is reachable. */
  ping(): Promise<void>;
  /** Stops taking jobs and waits for running ones. */
  close(): Promise<void>;
}
