import type { Clock } from '../clock/types.js';
import { ProviderUnavailableError } from '../errors/classes.js';
import { isPayableError, type PayableError } from '../errors/payable-error.js';
import { describeError } from '../facade/context.js';
import type { PayableHooks } from '../facade/types.js';
import type { Logger } from '../logger/types.js';
import {
  CircuitBreaker,
  type CircuitPermit,
  type CircuitTransition,
  checkCircuitBreakerOptions,
} from './circuit-breaker.js';
import { checkRetryPolicy, type RetryPolicy, withRetries } from './retry.js';
import { isTransientFailure } from './transient.js';
import type { ResilienceOptions } from './types.js';

/** Provider operations that only read: safe to retry. */
const READ_OPERATION = /^(get|list)[A-Z]/;

/**
 * The facade's guard around provider calls (internal): a circuit breaker per provider and retries
 * where they are safe. `call()` runs every provider call through {@link ProviderResilience.run}.
 *
 * @example
 * ```ts
 * const guard = new ProviderResilience(options.resilience, { clock, logger, hooks });
 * const invoices = await guard.run('stripe', 'listInvoices', () => provider.listInvoices(query, ctx));
 * ```
 */
export class ProviderResilience {
  readonly retry: RetryPolicy;
  readonly #breaker: { failureThreshold: number; openMs: number } | null;
  readonly #breakers = new Map<string, CircuitBreaker>();
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #hooks: PayableHooks;
  readonly #sleep: ((ms: number) => Promise<void>) | undefined;

  constructor(
    options: ResilienceOptions = {},
    deps: { clock: Clock; logger: Logger; hooks: PayableHooks; sleep?: (ms: number) => Promise<void> },
  ) {
    this.retry = checkRetryPolicy(
      { retries: options.retries, baseMs: options.retryBaseMs, maxMs: options.retryMaxMs },
      { retries: 'resilience.retries', baseMs: 'resilience.retryBaseMs', maxMs: 'resilience.retryMaxMs' },
    );
    this.#breaker =
      options.breaker === false ? null : checkCircuitBreakerOptions(options.breaker ?? {}, 'resilience.breaker');
    this.#clock = deps.clock;
    this.#logger = deps.logger;
    this.#hooks = deps.hooks;
    this.#sleep = deps.sleep;
  }

  /** The breaker of a provider (made on first use), or `null` when breakers are off. */
  breaker(provider: string): CircuitBreaker | null {
    if (this.#breaker === null) return null;
    let breaker = this.#breakers.get(provider);
    if (breaker === undefined) {
      breaker = new CircuitBreaker(provider, this.#clock, {
        ...this.#breaker,
        onTransition: (t) => this.#transition(t),
      });
      this.#breakers.set(provider, breaker);
    }
    return breaker;
  }

  /**
   * Runs one provider operation: refused at once while the provider's circuit is open; retried with
   * backoff on transient failures when it is a read (`get…`/`list…`) or carries an idempotency key
   * the provider honours (`options.keyed`).
   */
  async run<T>(provider: string, op: string, attempt: () => Promise<T>, options: { keyed?: boolean } = {}): Promise<T> {
    const safe = READ_OPERATION.test(op) || options.keyed === true;
    return withRetries(
      async () => {
        const permit = this.breaker(provider)?.acquire();
        let pending: Promise<T>;
        try {
          pending = attempt();
        } catch (error) {
          settle(permit, error);
          throw error;
        }
        try {
          const result = await pending;
          permit?.succeed();
          return result;
        } catch (error) {
          settle(permit, error);
          throw error;
        }
      },
      {
        ...this.retry,
        shouldRetry: (error) => safe && isTransientFailure(error),
        ...(this.#sleep === undefined ? {} : { sleep: this.#sleep }),
        onRetry: ({ retry, delayMs, error }) => {
          this.#logger.warn(
            { provider, op, retry, delayMs, error: describeError(error) },
            'provider call failed; retrying',
          );
          this.#emit('provider.retry', { provider, op, retry, delayMs });
        },
      },
    );
  }

  /**
   * A transient failure a provider let through raw (a socket error, a timeout, an SDK's 5xx) as
   * `PROVIDER_UNAVAILABLE` (`context.reason: 'transient'`, the error as `cause`), or `null` for
   * anything else.
   */
  unavailable(error: unknown, provider: string, op: string): PayableError | null {
    if (isPayableError(error) || !isTransientFailure(error)) return null;
    return new ProviderUnavailableError(`Provider "${provider}" could not be reached during ${op}; retry later.`, {
      context: { provider, op, reason: 'transient' },
      cause: error,
    });
  }

  #transition(t: CircuitTransition): void {
    const fields = { provider: t.name, from: t.from, to: t.to, failures: t.failures };
    if (t.to === 'open') this.#logger.warn(fields, 'provider circuit breaker opened');
    else this.#logger.info(fields, `provider circuit breaker ${t.to}`);
    this.#emit('provider.circuit', fields);
  }

  #emit(name: string, fields: Record<string, unknown>): void {
    try {
      this.#hooks.onEvent?.({ name, fields });
    } catch {
      // Observability hooks never change the outcome.
    }
  }
}

function settle(permit: CircuitPermit | undefined, error: unknown): void {
  if (permit === undefined) return;
  if (isPayableError(error) && error.code === 'PROVIDER_CAPABILITY_NOT_SUPPORTED') permit.release();
  else if (isTransientFailure(error)) permit.fail();
  else permit.succeed();
}
