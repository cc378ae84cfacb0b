import { randomUUID } from 'node:crypto';
import {
  type DispatchOptions,
  type FailedJob,
  InternalError,
  isPayableError,
  type JobContext,
  type JobHandler,
  type JsonValue,
  type Logger,
  noopLogger,
  type PayableError,
  type QueueDriver,
  type QueueRetryOptions,
  ValidationError,
} from '@payable/core';
import { type Job, type JobsOptions, type KeepJobs, Queue, Worker, type WorkerOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';

/**
 * Where Redis is: ioredis options (`{ host, port, password, db, tls, ... }`) or a Redis URL
 * (`redis://user:pass@host:6379/0`, `rediss://...` for TLS).
 *
 * @example
 * ```ts
 * const connection: BullMQConnection = process.env.REDIS_URL ?? { host: '127.0.0.1', port: 6379 };
 * ```
 */
export type BullMQConnection = RedisOptions | string;

/**
 * BullMQ worker settings the driver passes through unchanged (lock and stall detection, rate
 * limiting). Everything else about the worker (connection, prefix, concurrency) is set by the
 * driver.
 *
 * @example
 * ```ts
 * // A killed worker's job is taken over after ~10 s instead of ~30-60 s.
 * const workerOptions: BullMQWorkerTuning = { lockDuration: 10_000, stalledInterval: 5_000 };
 * ```
 */
export type BullMQWorkerTuning = Pick<
  WorkerOptions,
  'lockDuration' | 'lockRenewTime' | 'stalledInterval' | 'maxStalledCount' | 'limiter' | 'drainDelay'
>;

/**
 * Options of {@link BullMQQueueDriver}: the shared retry policy (`attempts`, default 3;
 * `backoff`, default exponential from 1000 ms; `onFailed`) plus the Redis connection and BullMQ
 * settings.
 *
 * @example
 * ```ts
 * const options: BullMQQueueDriverOptions = {
 *   connection: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
 *   concurrency: 5,
 *   attempts: 5,
 *   backoff: { type: 'exponential', delayMs: 2000 },
 *   onFailed: (job) => alerting.notify(`${job.name} ${job.id} failed: ${job.error.message}`),
 * };
 * ```
 */
export interface BullMQQueueDriverOptions extends QueueRetryOptions {
  /**
   * The Redis server. `keyPrefix` is not allowed (BullMQ refuses it): use `prefix`. Producer and
   * worker connections are made from it with the settings BullMQ needs (see the class docs).
   */
  connection: BullMQConnection;
  /** Prefix of every Redis key the driver writes (default `'payable'`): `<prefix>:<job name>:...`. */
  prefix?: string;
  /** Jobs one process runs at the same time, per job name (default 1). */
  concurrency?: number;
  /** Receives connection, retry and failure lines (job name, id, attempt, error message; never payloads or credentials). */
  logger?: Logger;
  /**
   * How long `dispatch` (and `ping`) may wait for Redis before rejecting (default 500 ms), so a
   * Redis outage fails a dispatch fast instead of holding up the webhook answer.
   */
  dispatchTimeoutMs?: number;
  /**
   * Which completed jobs BullMQ keeps for inspection (default: at most 1,000, none older than 24 h).
   * Keeping a job does not block a new dispatch with the same `jobId`.
   */
  removeOnComplete?: KeepJobs;
  /** Which failed jobs BullMQ keeps for inspection (default: at most 5,000, none older than 7 days). */
  removeOnFail?: KeepJobs;
  /**
   * Longest wait between two reconnection attempts after Redis went away (default 1000 ms). Used
   * unless `connection` brings its own `retryStrategy`.
   */
  reconnectMaxDelayMs?: number;
  /** BullMQ worker tuning: lock duration, stall detection, rate limiter. */
  workerOptions?: BullMQWorkerTuning;
}

/**
 * What {@link checkRedisEviction} found.
 *
 * @example
 * ```ts
 * const { policy, noeviction } = await checkRedisEviction(process.env.REDIS_URL!);
 * ```
 */
export interface RedisEvictionReport {
  /** The server's `maxmemory-policy` (e.g. `'noeviction'`, `'allkeys-lru'`), or null if the server does not say. */
  policy: string | null;
  /** True only when the policy is `noeviction`: Redis never deletes BullMQ's keys to free memory. */
  noeviction: boolean;
  /** The server's `maxmemory` in bytes (0 = no limit), or null if the server does not say. */
  maxmemory: number | null;
}

/** What the driver stores in a BullMQ job's data. */
interface StoredJob {
  payload: JsonValue;
  /** The caller's jobId, or null when the dispatch gave none. */
  jobId: string | null;
}

const DEFAULT_PREFIX = 'payable';
const DEFAULT_ATTEMPTS = 3;
const DEFAULT_BACKOFF = { type: 'exponential', delayMs: 1000 } as const;
const DEFAULT_DISPATCH_TIMEOUT_MS = 500;
const DEFAULT_RECONNECT_MAX_DELAY_MS = 1000;
const DEFAULT_REMOVE_ON_COMPLETE: KeepJobs = { age: 24 * 60 * 60, count: 1000 };
const DEFAULT_REMOVE_ON_FAIL: KeepJobs = { age: 7 * 24 * 60 * 60, count: 5000 };
/** Repeated connection errors from one source are logged at `warn` at most this often. */
const ERROR_LOG_INTERVAL_MS = 30_000;
const QUEUE = 'bullmq';
/** How long `close()` waits for BullMQ (and Redis) once this process's handlers have finished. */
const CLOSE_GRACE_MS = 2000;

/**
 * The Redis-backed queue: jobs survive restarts and are shared by every process that points at
 * the same Redis and prefix, with BullMQ's retries, backoff and stalled-job recovery.
 *
 * - **One BullMQ queue per job name**, created on the first `dispatch`; **one worker per job
 *   name**, started when `process(name, handler)` is called in this process (web processes that
 *   only dispatch never start one; see `createPayable({ worker: false })`).
 * - **`jobId` deduplicates while the job is unfinished** (waiting, delayed, running, or waiting
 *   for a retry), across every process on this Redis and prefix, through BullMQ's deduplication
 *   key; once the job has completed or failed for good the same `jobId` runs again (that is what
 *   a replay needs). BullMQ's dedupe ends when a job finishes or is removed, so it is never the
 *   source of truth: the database's unique keys and claims are. The BullMQ job id is the
 *   caller's `jobId` (with `%` and `:` escaped) plus a random suffix, so jobs are easy to find
 *   in Redis.
 * - **Fails fast**: the producer connection has `enableOfflineQueue: false` and
 *   `maxRetriesPerRequest: 1`, and `dispatch` rejects after `dispatchTimeoutMs` (500 ms) when
 *   Redis does not answer. Payable's webhook inbox then leaves the event `pending` (already
 *   stored, answered 200) and its sweeper dispatches it again later. A dispatch that timed out
 *   while Redis was slow (not down) may still land; the database's claim makes the second run a
 *   no-op.
 * - **Recovers by itself**: worker connections use `maxRetriesPerRequest: null` (BullMQ requires
 *   it) and reconnect every `reconnectMaxDelayMs` (1 s) at most, so workers resume after an
 *   outage without a restart.
 * - **Retries**: `attempts` (3) and `backoff` (exponential from 1000 ms) are stored on each job;
 *   `onFailed` is called once, by the process that ran the final attempt.
 * - **`close()`** stops taking jobs, waits for running handlers (and for `onFailed` callbacks),
 *   then closes the queues and every connection.
 *
 * Redis must run with `maxmemory-policy noeviction` (see {@link checkRedisEviction}).
 *
 * @example
 * ```ts
 * import { createPayable } from '@payable/core';
 * import { BullMQQueueDriver } from '@payable/queue-bullmq';
 *
 * const queue = new BullMQQueueDriver({ connection: process.env.REDIS_URL!, concurrency: 5 });
 * const payable = createPayable({ providers, storage, queue });
 * // ... on shutdown:
 * await payable.close();
 * ```
 */
export class BullMQQueueDriver implements QueueDriver {
  readonly name = 'bullmq';

  readonly #connection: BullMQConnection;
  readonly #prefix: string;
  readonly #concurrency: number;
  readonly #attempts: number;
  readonly #backoff: { type: 'fixed' | 'exponential'; delay: number };
  readonly #onFailed: QueueRetryOptions['onFailed'];
  readonly #logger: Logger;
  readonly #dispatchTimeoutMs: number;
  readonly #removeOnComplete: KeepJobs;
  readonly #removeOnFail: KeepJobs;
  readonly #retryStrategy: NonNullable<RedisOptions['retryStrategy']>;
  readonly #workerOptions: BullMQWorkerTuning;

  #producer: Redis | null = null;
  #producerError: Error | null = null;
  /** Resolves at the producer's next 'ready' event. */
  #producerReady: Promise<void> | null = null;
  readonly #queues = new Map<string, Queue<StoredJob, void, string>>();
  readonly #workers = new Map<string, Worker<StoredJob, void, string>>();
  readonly #handlers = new Map<string, JobHandler>();
  readonly #callbacks = new Set<Promise<void>>();
  /** Handler calls in progress in this process. */
  readonly #running = new Set<Promise<void>>();
  /** Jobs whose handler finished and whose result BullMQ is writing to Redis. */
  readonly #recording = new Map<string, Deferred>();
  /** Every Redis connection of a job name's worker: the driver's own and BullMQ's duplicates. */
  readonly #workerClients = new Map<string, Redis[]>();
  /** When a source's last connection error was logged at `warn`. */
  readonly #errorLoggedAt = new Map<string, number>();
  #closing: Promise<void> | null = null;
  /** Set by close() once the workers are closed: no connection reconnects any more. */
  #dropConnections = false;

  constructor(options: BullMQQueueDriverOptions) {
    const connection = options?.connection;
    if (typeof connection === 'string') {
      if (connection.trim() === '') invalid('connection', 'must be a Redis URL or ioredis options');
    } else if (typeof connection !== 'object' || connection === null) {
      invalid('connection', 'must be a Redis URL or ioredis options');
    } else if (connection.keyPrefix) {
      invalid('connection.keyPrefix', 'BullMQ does not support ioredis key prefixes; use the prefix option');
    }
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    if (typeof prefix !== 'string' || prefix.length === 0) invalid('prefix', 'must be a non-empty string');
    const concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) invalid('concurrency', 'must be an integer >= 1');
    const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
    if (!Number.isInteger(attempts) || attempts < 1) invalid('attempts', 'must be an integer >= 1');
    const backoff = options.backoff ?? DEFAULT_BACKOFF;
    if (backoff.type !== 'fixed' && backoff.type !== 'exponential') {
      invalid('backoff.type', "must be 'fixed' or 'exponential'");
    }
    if (!Number.isFinite(backoff.delayMs) || backoff.delayMs < 0)
      invalid('backoff.delayMs', 'must be a finite number >= 0');
    const dispatchTimeoutMs = options.dispatchTimeoutMs ?? DEFAULT_DISPATCH_TIMEOUT_MS;
    if (!Number.isFinite(dispatchTimeoutMs) || dispatchTimeoutMs <= 0) {
      invalid('dispatchTimeoutMs', 'must be a finite number > 0');
    }
    const reconnectMaxDelayMs = options.reconnectMaxDelayMs ?? DEFAULT_RECONNECT_MAX_DELAY_MS;
    if (!Number.isFinite(reconnectMaxDelayMs) || reconnectMaxDelayMs < 10) {
      invalid('reconnectMaxDelayMs', 'must be a finite number >= 10');
    }

    this.#connection = connection;
    this.#prefix = prefix;
    this.#concurrency = concurrency;
    this.#attempts = attempts;
    this.#backoff = { type: backoff.type, delay: backoff.delayMs };
    this.#onFailed = options.onFailed;
    this.#logger = options.logger ?? noopLogger;
    this.#dispatchTimeoutMs = dispatchTimeoutMs;
    this.#removeOnComplete = options.removeOnComplete ?? DEFAULT_REMOVE_ON_COMPLETE;
    this.#removeOnFail = options.removeOnFail ?? DEFAULT_REMOVE_ON_FAIL;
    const own = typeof connection === 'string' ? undefined : connection.retryStrategy;
    const retry = own ?? ((times: number) => Math.min(100 * times, reconnectMaxDelayMs));
    this.#retryStrategy = (times) => (this.#dropConnections ? null : retry(times));
    this.#workerOptions = { ...options.workerOptions };
  }

  /**
   * Adds the job to Redis; resolves once Redis stored it (not when it ran). A second dispatch
   * with a `jobId` whose job is still unfinished is dropped. Rejects with `VALIDATION_ERROR` for
   * a bad job name, job id, delay or a payload that is not JSON, and with `INTERNAL_ERROR` after
   * `close()` or when Redis did not take the job within `dispatchTimeoutMs` (`context.reason`:
   * `'redis-unreachable'`, `'timeout'`, or `'redis-error'` when Redis answered with an error,
   * e.g. OOM because it is full).
   *
   * @example
   * ```ts
   * await queue.dispatch('webhook.process', { eventId: 'wh_123' }, { jobId: 'wh_123' });
   * ```
   */
  async dispatch(name: string, payload: JsonValue, options: DispatchOptions = {}): Promise<void> {
    if (this.#closing !== null) {
      throw new InternalError('The queue is closed; the job was not dispatched', {
        context: { queue: QUEUE, job: name },
      });
    }
    assertJobName(name);
    const jobId = options.jobId;
    if (jobId !== undefined && (typeof jobId !== 'string' || jobId.length === 0)) {
      invalid('jobId', 'must be a non-empty string');
    }
    const delayMs = options.delayMs ?? 0;
    if (!Number.isFinite(delayMs) || delayMs < 0) invalid('delayMs', 'must be a finite number >= 0');
    assertJson(payload, name);

    const deadline = Date.now() + this.#dispatchTimeoutMs;
    await this.#whenProducerReady(deadline, name);
    const bullId = jobId === undefined ? undefined : `${escapeKeyPart(jobId)}.${randomUUID()}`;
    const data: StoredJob = { payload, jobId: jobId ?? null };
    // Built property by property: a spread followed by more properties is slow on Node.js 20.
    const jobOptions: JobsOptions = {
      attempts: this.#attempts,
      backoff: this.#backoff,
      removeOnComplete: this.#removeOnComplete,
      removeOnFail: this.#removeOnFail,
    };
    if (bullId !== undefined) {
      jobOptions.jobId = bullId;
      jobOptions.deduplication = { id: jobId as string };
    }
    if (delayMs > 0) jobOptions.delay = Math.ceil(delayMs);
    const adding = this.#queue(name).add(name, data, jobOptions);
    const job = await beforeDeadline(adding, deadline, () =>
      unavailable(`Redis did not accept the job within ${this.#dispatchTimeoutMs} ms`, name, 'timeout'),
    ).catch((error: unknown) => {
      throw isPayableError(error) ? error : unavailable('Redis refused the job', name, 'redis-error', error);
    });
    if (bullId !== undefined && job.id !== bullId) {
      this.#logger.debug({ queue: QUEUE, job: name, jobId }, 'duplicate jobId dropped: the job is not finished');
    }
  }

  /**
   * Registers the handler for a job name (replacing an earlier one) and starts this process's
   * worker for it if there is none yet. Resolves at once: the worker connects in the background
   * (and keeps trying while Redis is down), then takes waiting jobs, including those dispatched
   * before. Rejects with `INTERNAL_ERROR` after `close()`.
   *
   * @example
   * ```ts
   * await queue.process('webhook.process', async (payload, job) => {
   *   logger.info({ id: job.id, attempt: job.attempt, of: job.maxAttempts });
   * });
   * ```
   */
  async process(name: string, handler: JobHandler): Promise<void> {
    if (this.#closing !== null) {
      throw new InternalError('The queue is closed; no handler can be registered', {
        context: { queue: QUEUE, job: name },
      });
    }
    assertJobName(name);
    if (typeof handler !== 'function') invalid('handler', 'must be a function');
    if (this.#handlers.has(name)) this.#logger.warn({ queue: QUEUE, job: name }, 'job handler replaced');
    this.#handlers.set(name, handler);
    if (!this.#workers.has(name)) this.#workers.set(name, this.#startWorker(name));
  }

  /**
   * Resolves when Redis answers a PING within `dispatchTimeoutMs`; rejects with `INTERNAL_ERROR`
   * (`context.reason`: `'redis-unreachable'` or `'timeout'`) otherwise, and after `close()`.
   *
   * @example
   * ```ts
   * const redisUp = await queue.ping().then(() => true, () => false);
   * ```
   */
  async ping(): Promise<void> {
    if (this.#closing !== null) {
      throw new InternalError('The queue is closed', { context: { queue: QUEUE, job: 'ping' } });
    }
    const deadline = Date.now() + this.#dispatchTimeoutMs;
    await this.#whenProducerReady(deadline, 'ping');
    const producer = this.#producerClient();
    await beforeDeadline(producer.ping(), deadline, () =>
      unavailable(`Redis did not answer PING within ${this.#dispatchTimeoutMs} ms`, 'ping', 'timeout'),
    ).catch((error: unknown) => {
      throw isPayableError(error)
        ? error
        : unavailable('Redis did not answer PING', 'ping', 'redis-unreachable', error);
    });
  }

  /**
   * Stops taking jobs, waits for the running handlers to finish and for BullMQ to record their
   * results, then for pending `onFailed` callbacks, then closes the queues and every Redis
   * connection. With Redis down it does not wait for Redis: once the handlers have finished it
   * gives up on recording after ~2 s (those jobs run again elsewhere after BullMQ's stall
   * timeout). `dispatch`, `process` and `ping` reject afterwards. Safe to call twice.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => void queue.close().then(() => process.exit(0)));
   * ```
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    await Promise.all([...this.#workers].map(([name, worker]) => this.#closeWorker(name, worker)));
    while (this.#callbacks.size > 0) await Promise.all([...this.#callbacks]);
    await Promise.all(
      [...this.#queues].map(([name, queue]) =>
        beforeDeadline(
          queue.close(),
          Date.now() + CLOSE_GRACE_MS,
          () => new Error('closing the queue timed out'),
        ).catch((error: unknown) => this.#logFailure(`queue:${name}`, error, 'closing the queue failed')),
      ),
    );
    this.#dropConnections = true;
    const clients = [...this.#workerClients.values()].flat();
    if (this.#producer !== null) clients.push(this.#producer);
    await Promise.all(clients.map((client) => endClient(client)));
  }

  /**
   * Closes one worker: stops it taking jobs, waits for the running handlers to finish, gives
   * BullMQ {@link CLOSE_GRACE_MS} to record their results in Redis, then closes the worker
   * without waiting for Redis. A result that could not be recorded (Redis down) leaves the job
   * active in Redis; BullMQ's stall check hands it to another worker later (at least once,
   * never lost). BullMQ's own graceful close would instead wait for Redis to come back.
   */
  async #closeWorker(name: string, worker: Worker<StoredJob, void, string>): Promise<void> {
    const source = `worker:${name}`;
    try {
      await worker.pause(true);
      await this.#handlersDone();
      const recorded = Promise.all([...this.#recording.values()].map((pending) => pending.promise));
      await Promise.race([recorded, delay(CLOSE_GRACE_MS)]);
      if (this.#recording.size > 0) {
        this.#logger.warn(
          { queue: QUEUE, source, jobs: this.#recording.size },
          'closing before Redis recorded some job results; those jobs run again after the stall timeout',
        );
      }
      await beforeDeadline(
        worker.close(true),
        Date.now() + CLOSE_GRACE_MS,
        () => new Error('closing the worker timed out'),
      );
      // A job BullMQ fetched just as the worker paused may still be running.
      await this.#handlersDone();
    } catch (error) {
      this.#logFailure(source, error, 'closing the worker failed');
    }
  }

  async #handlersDone(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  /** The shared producer connection, made on first use: fails commands at once while disconnected. */
  #producerClient(): Redis {
    if (this.#producer !== null) return this.#producer;
    const settings: RedisOptions = {
      lazyConnect: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: this.#retryStrategy,
    };
    const producer =
      typeof this.#connection === 'string'
        ? new Redis(this.#connection, settings)
        : new Redis({ ...this.#connection, ...settings });
    producer.on('error', (error: Error) => {
      this.#producerError = error;
      this.#connectionError('producer', error);
    });
    producer.on('ready', () => {
      this.#producerError = null;
      this.#connectionReady('producer');
    });
    this.#producer = producer;
    return producer;
  }

  /** Waits (until the deadline at most) for the producer connection to be ready. */
  async #whenProducerReady(deadline: number, job: string): Promise<void> {
    const producer = this.#producerClient();
    if (producer.status === 'ready') return;
    if (producer.status === 'end') {
      throw unavailable('The Redis connection has ended', job, 'redis-unreachable', this.#producerError);
    }
    // One 'ready' listener shared by every waiting dispatch.
    this.#producerReady ??= new Promise<void>((resolve) => {
      producer.once('ready', () => {
        this.#producerReady = null;
        resolve();
      });
    });
    await beforeDeadline(this.#producerReady, deadline, () =>
      unavailable('Redis is unreachable', job, 'redis-unreachable', this.#producerError),
    );
  }

  /** The BullMQ queue of a job name, made on first use over the shared producer connection. */
  #queue(name: string): Queue<StoredJob, void, string> {
    const existing = this.#queues.get(name);
    if (existing !== undefined) return existing;
    const queue = new Queue<StoredJob, void, string>(escapeKeyPart(name), {
      connection: this.#producerClient(),
      prefix: this.#prefix,
    });
    queue.on('error', (error: Error) => this.#connectionError(`queue:${name}`, error));
    this.#queues.set(name, queue);
    return queue;
  }

  #startWorker(name: string): Worker<StoredJob, void, string> {
    const settings = {
      maxRetriesPerRequest: null,
      enableOfflineQueue: true,
      retryStrategy: this.#retryStrategy,
    } satisfies RedisOptions;
    // The driver owns the worker's connections (BullMQ's blocking one is a duplicate of this
    // one), so that close() can end them when Redis is down instead of waiting for it.
    const clients: Redis[] = [];
    const onDuplicate = (client: Redis): void => {
      client.on('error', () => {}); // BullMQ reports these through the worker's 'error' event.
      clients.push(client);
    };
    const main =
      typeof this.#connection === 'string'
        ? new WorkerRedis(onDuplicate, this.#connection, settings)
        : new WorkerRedis(onDuplicate, { ...this.#connection, ...settings });
    main.on('error', () => {}); // Reported through the worker's 'error' event while it runs.
    clients.push(main);
    this.#workerClients.set(name, clients);
    const worker = new Worker<StoredJob, void, string>(escapeKeyPart(name), (job) => this.#run(name, job), {
      runRetryDelay: 1000,
      ...this.#workerOptions,
      connection: main,
      prefix: this.#prefix,
      concurrency: this.#concurrency,
      autorun: true,
    });
    const source = `worker:${name}`;
    worker.on('error', (error: Error) => this.#connectionError(source, error));
    worker.on('ready', () => this.#connectionReady(source));
    worker.on('completed', (job: Job<StoredJob, void, string>) => this.#recorded(name, job));
    worker.on('failed', (job: Job<StoredJob, void, string> | undefined, error: Error) => {
      if (job === undefined) return;
      this.#recorded(name, job);
      this.#failed(name, job, error);
    });
    return worker;
  }

  /** One attempt: calls the registered handler with the payload and the job context. */
  async #run(name: string, job: Job<StoredJob, void, string>): Promise<void> {
    const handler = this.#handlers.get(name);
    if (handler === undefined) {
      throw new InternalError('No handler is registered for this job name', { context: { queue: QUEUE, job: name } });
    }
    const { payload } = readJob(job);
    const running = (async () => handler(payload, contextOf(name, job)))();
    this.#running.add(running);
    try {
      await running;
    } catch (thrown) {
      throw toError(thrown, name);
    } finally {
      // BullMQ now records the result; its 'completed' or 'failed' event settles this.
      this.#recording.set(recordKey(name, job), deferred());
      this.#running.delete(running);
    }
  }

  #recorded(name: string, job: Job<StoredJob, void, string>): void {
    const key = recordKey(name, job);
    this.#recording.get(key)?.resolve();
    this.#recording.delete(key);
  }

  /** A failed attempt: logs it, and after the final one calls `onFailed` (once, in this process). */
  #failed(name: string, job: Job<StoredJob, void, string>, error: Error): void {
    const maxAttempts = job.opts.attempts ?? 1;
    const { id, payload } = readJob(job);
    const fields = {
      queue: QUEUE,
      job: name,
      jobId: id,
      attempt: job.attemptsMade,
      maxAttempts,
      ...errorFields(error),
    };
    const final = job.finishedOn !== undefined || job.attemptsMade >= maxAttempts;
    if (!final) {
      this.#logger.warn(fields, 'job attempt failed; retrying');
      return;
    }
    this.#logger.error(fields, 'job failed its final attempt');
    const onFailed = this.#onFailed;
    if (onFailed === undefined) return;
    const report: FailedJob = { id, name, payload, attempts: job.attemptsMade, error };
    const call = (async () => {
      try {
        await onFailed(report);
      } catch (thrown) {
        this.#logger.error(
          { queue: QUEUE, job: name, jobId: id, ...errorFields(toError(thrown, name)) },
          'onFailed threw',
        );
      }
    })();
    this.#callbacks.add(call);
    void call.finally(() => this.#callbacks.delete(call));
  }

  /** Logs a Redis error at `warn` once per source and interval, and at `debug` in between. */
  #connectionError(source: string, error: Error): void {
    const now = Date.now();
    const last = this.#errorLoggedAt.get(source);
    const fields = { queue: QUEUE, source, ...errorFields(error) };
    if (last === undefined || now - last >= ERROR_LOG_INTERVAL_MS) {
      this.#errorLoggedAt.set(source, now);
      this.#logger.warn(fields, 'redis error; retrying in the background');
    } else {
      this.#logger.debug(fields, 'redis error; retrying in the background');
    }
  }

  #connectionReady(source: string): void {
    if (this.#errorLoggedAt.delete(source)) this.#logger.info({ queue: QUEUE, source }, 'redis connection ready again');
  }

  #logFailure(source: string, error: unknown, message: string): void {
    this.#logger.warn({ queue: QUEUE, source, ...errorFields(toError(error, source)) }, message);
  }
}

/**
 * Reads Redis' `maxmemory-policy` (from `INFO memory`, falling back to `CONFIG GET`). BullMQ
 * needs `noeviction`: under any other policy a full Redis deletes job keys to make room, and jobs
 * silently disappear. `payable doctor` warns when `noeviction` is false. Opens one short-lived
 * connection; rejects with `INTERNAL_ERROR` (`context.reason: 'redis-unreachable'`) when Redis
 * does not answer within `timeoutMs` (default 2000).
 *
 * @example
 * ```ts
 * const report = await checkRedisEviction(process.env.REDIS_URL!);
 * if (!report.noeviction) console.warn(`Redis maxmemory-policy is ${report.policy}; set it to noeviction`);
 * ```
 */
export async function checkRedisEviction(
  connection: BullMQConnection,
  options: { timeoutMs?: number } = {},
): Promise<RedisEvictionReport> {
  const timeoutMs = options.timeoutMs ?? 2000;
  const settings: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
  };
  const client =
    typeof connection === 'string' ? new Redis(connection, settings) : new Redis({ ...connection, ...settings });
  let lastError: Error | null = null;
  client.on('error', (error: Error) => {
    lastError = error;
  });
  const deadline = Date.now() + timeoutMs;
  const fail = (error: unknown): never => {
    throw unavailable('Redis is unreachable', 'checkRedisEviction', 'redis-unreachable', error ?? lastError);
  };
  try {
    await beforeDeadline(client.connect(), deadline, () => new Error('connect timed out')).catch(fail);
    const info = await beforeDeadline(client.info('memory'), deadline, () => new Error('INFO timed out')).catch(fail);
    let policy = infoField(info, 'maxmemory_policy');
    const maxmemoryText = infoField(info, 'maxmemory');
    if (policy === null) {
      const reply = await beforeDeadline(
        client.config('GET', 'maxmemory-policy'),
        deadline,
        () => new Error('CONFIG timed out'),
      ).catch(() => null);
      if (Array.isArray(reply) && typeof reply[1] === 'string') policy = reply[1];
    }
    const maxmemory = maxmemoryText === null ? null : Number(maxmemoryText);
    return {
      policy,
      noeviction: policy === 'noeviction',
      maxmemory: maxmemory === null || Number.isNaN(maxmemory) ? null : maxmemory,
    };
  } finally {
    client.disconnect();
  }
}

/** An ioredis client that reports the copies BullMQ makes of it with `duplicate()`. */
class WorkerRedis extends Redis {
  readonly #onDuplicate: (client: Redis) => void;

  constructor(onDuplicate: (client: Redis) => void, ...args: [string, RedisOptions] | [RedisOptions]) {
    if (args.length === 2) super(args[0], args[1]);
    else super(args[0]);
    this.#onDuplicate = onDuplicate;
  }

  override duplicate(override?: Partial<RedisOptions>): Redis {
    const copy = super.duplicate(override);
    this.#onDuplicate(copy);
    return copy;
  }
}

/**
 * Ends a connection: QUIT when connected (bounded), then drops the socket. Commands still queued
 * on it (Redis down) are rejected, so nothing waits on them forever.
 */
async function endClient(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'ready') {
    await beforeDeadline(client.quit(), Date.now() + CLOSE_GRACE_MS, () => new Error('QUIT timed out')).catch(() => {});
  }
  const reconnecting = client.status === 'reconnecting';
  client.disconnect();
  if (reconnecting) {
    // Between two reconnection attempts ioredis' disconnect() only cancels the next attempt: the
    // client never reaches 'end' and its queued commands never settle. One more attempt, which
    // ends the client (or is closed as soon as it is ready), settles them.
    client.once('ready', () => client.disconnect());
    client.connect().catch(() => {});
  }
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve = (): void => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

function recordKey(name: string, job: Job<StoredJob, void, string>): string {
  return `${name}\u0000${String(job.id)}`;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** A `field:value` line of an INFO reply. */
function infoField(info: string, field: string): string | null {
  for (const line of info.split(/\r?\n/)) {
    if (line.startsWith(`${field}:`)) return line.slice(field.length + 1).trim();
  }
  return null;
}

/** BullMQ queue names and custom job ids must not contain ':'; escape it (and '%') reversibly. */
function escapeKeyPart(value: string): string {
  return value.replace(/%/g, '%25').replace(/:/g, '%3A');
}

function readJob(job: Job<StoredJob, void, string>): { id: string; payload: JsonValue } {
  const data: unknown = job.data;
  if (typeof data === 'object' && data !== null && 'payload' in data) {
    const stored = data as StoredJob;
    return { id: typeof stored.jobId === 'string' ? stored.jobId : String(job.id), payload: stored.payload };
  }
  // A job another producer added to this queue: its whole data is the payload.
  return { id: String(job.id), payload: (data ?? null) as JsonValue };
}

function contextOf(name: string, job: Job<StoredJob, void, string>): JobContext {
  return { id: readJob(job).id, name, attempt: job.attemptsMade + 1, maxAttempts: job.opts.attempts ?? 1 };
}

function invalid(field: string, reason: string): never {
  throw new ValidationError(`Invalid queue option or argument "${field}": ${reason}`, { context: { field, reason } });
}

function assertJobName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) invalid('name', 'must be a non-empty string');
}

function assertJson(payload: JsonValue, job: string): void {
  let text: string | undefined;
  try {
    text = JSON.stringify(payload);
  } catch (cause) {
    throw new ValidationError('A job payload must be JSON-serialisable', {
      context: { field: 'payload', reason: 'not JSON-serialisable', job },
      cause,
    });
  }
  if (text === undefined) {
    throw new ValidationError('A job payload must be JSON-serialisable', {
      context: { field: 'payload', reason: 'not JSON-serialisable', job },
    });
  }
}

function unavailable(
  message: string,
  job: string,
  reason: 'redis-unreachable' | 'timeout' | 'redis-error',
  cause?: unknown,
): PayableError {
  return new InternalError(message, {
    context: { queue: QUEUE, job, reason },
    ...(cause === undefined || cause === null ? {} : { cause }),
  });
}

/** Settles like `promise`, or rejects with `timeoutError()` at the deadline (the promise keeps running). */
function beforeDeadline<T>(promise: Promise<T>, deadline: number, timeoutError: () => Error): Promise<T> {
  promise.catch(() => {});
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(timeoutError()), Math.max(0, deadline - Date.now()));
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

function toError(thrown: unknown, job: string): Error {
  if (thrown instanceof Error) return thrown;
  return new InternalError('A job handler threw a value that is not an Error', { context: { job }, cause: thrown });
}

/** Log fields for an error: its name, code and message (never its cause, context or stack). */
function errorFields(error: Error): Record<string, unknown> {
  return isPayableError(error)
    ? { errorName: error.name, errorCode: error.code, errorMessage: error.message }
    : { errorName: error.name, errorMessage: error.message };
}
