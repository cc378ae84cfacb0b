import type { Clock } from '../clock/types.js';
import { ProviderUnavailableError, ValidationError } from '../errors/classes.js';
import type { PayableError } from '../errors/payable-error.js';
import { isTransientFailure } from './transient.js';

/**
 * Where a circuit breaker stands: `closed` (calls go through), `open` (calls are refused without
 * reaching the provider), `half-open` (the open period is over: one trial call may go through).
 *
 * @example
 * ```ts
 * const state: CircuitState = breaker.state; // 'closed'
 * ```
 */
export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * Options of {@link CircuitBreaker} (and of `createPayable({ resilience: { breaker } })`).
 *
 * @example
 * ```ts
 * const options: CircuitBreakerOptions = { failureThreshold: 5, openMs: 30_000 };
 * ```
 */
export interface CircuitBreakerOptions {
  /** Consecutive transient failures that open the circuit. Default 5. */
  failureThreshold?: number;
  /** How long the circuit stays open before one trial call is let through, in ms. Default 30 000. */
  openMs?: number;
}

/**
 * A state change of a breaker, as `onTransition` receives it.
 *
 * @example
 * ```ts
 * const t: CircuitTransition = { name: 'stripe', from: 'closed', to: 'open', failures: 5, at: new Date() };
 * ```
 */
export interface CircuitTransition {
  name: string;
  from: CircuitState;
  to: CircuitState;
  /** Consecutive failures counted when it changed. */
  failures: number;
  at: Date;
}

/**
 * One admitted call: settle it once with `succeed()` (the provider answered), `fail()` (a transient
 * failure) or `release()` (the provider was not reached: neither).
 *
 * @example
 * ```ts
 * const permit = breaker.acquire();
 * try { const r = await call(); permit.succeed(); return r; } catch (e) { permit.fail(); throw e; }
 * ```
 */
export interface CircuitPermit {
  succeed(): void;
  fail(): void;
  release(): void;
}

/**
 * The defaults of a breaker: open after 5 consecutive transient failures, for 30 s.
 *
 * @example
 * ```ts
 * new CircuitBreaker('stripe', clock, { ...DEFAULT_CIRCUIT_BREAKER, openMs: 10_000 });
 * ```
 */
export const DEFAULT_CIRCUIT_BREAKER: Readonly<Required<CircuitBreakerOptions>> = Object.freeze({
  failureThreshold: 5,
  openMs: 30_000,
});

/**
 * Checks breaker options (`VALIDATION_ERROR` naming the field) and fills in the defaults.
 *
 * @example
 * ```ts
 * checkCircuitBreakerOptions({ openMs: 10_000 }); // { failureThreshold: 5, openMs: 10000 }
 * ```
 */
export function checkCircuitBreakerOptions(
  options: CircuitBreakerOptions = {},
  at = '',
): Required<CircuitBreakerOptions> {
  const resolved = { ...DEFAULT_CIRCUIT_BREAKER, ...stripUndefined(options) };
  for (const name of ['failureThreshold', 'openMs'] as const) {
    const value = resolved[name];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new ValidationError(`${name} must be a positive integer.`, {
        context: { field: at === '' ? name : `${at}.${name}`, reason: 'must be a positive integer' },
      });
    }
  }
  return resolved;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * A circuit breaker for one provider. After `failureThreshold` consecutive transient failures
 * (see `isTransientFailure`: 5xx, timeouts, connection errors; never declines or other 4xx) it
 * opens: for `openMs` every call is refused at once with `PROVIDER_UNAVAILABLE` (503) and
 * `context: { provider, retryAfterSeconds, reason: 'circuit_open' }`, without reaching the
 * provider. Then it half-opens: one trial call goes through (others are still refused while it
 * runs); its success closes the circuit, its failure opens it again for `openMs`. Any answer of the
 * provider (a success, a decline) resets the count. Time comes from the clock, so a `TestClock`
 * drives it in tests.
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker('stripe', clock, { failureThreshold: 5, openMs: 30_000 });
 * const intent = await breaker.run(() => stripe.paymentIntents.retrieve(id));
 * breaker.state; // 'closed'
 * ```
 */
export class CircuitBreaker {
  readonly name: string;
  readonly failureThreshold: number;
  readonly openMs: number;
  readonly #clock: Clock;
  readonly #onTransition: ((transition: CircuitTransition) => void) | undefined;
  #state: CircuitState = 'closed';
  #failures = 0;
  #openedAt = 0;
  /** The trial call in flight while half-open (its permit), and when it started. */
  #trial: { permit: object; startedAt: number } | null = null;

  constructor(
    name: string,
    clock: Clock,
    options: CircuitBreakerOptions & { onTransition?: (transition: CircuitTransition) => void } = {},
  ) {
    const { failureThreshold, openMs } = checkCircuitBreakerOptions(options);
    this.name = name;
    this.failureThreshold = failureThreshold;
    this.openMs = openMs;
    this.#clock = clock;
    this.#onTransition = options.onTransition;
  }

  /** The state now: an open circuit whose `openMs` has passed reads `half-open`. */
  get state(): CircuitState {
    if (this.#state === 'open' && this.#now() >= this.#openedAt + this.openMs) return 'half-open';
    return this.#state;
  }

  /** Consecutive transient failures counted since the last answer of the provider. */
  get failures(): number {
    return this.#failures;
  }

  /**
   * Admits one call or refuses it with `PROVIDER_UNAVAILABLE` (`reason: 'circuit_open'`). Settle
   * the permit once the call ends.
   */
  acquire(): CircuitPermit {
    const now = this.#now();
    if (this.#state === 'closed') return this.#permit(null);
    if (this.#state === 'open') {
      const reopensAt = this.#openedAt + this.openMs;
      if (now < reopensAt) throw this.#refusal(reopensAt - now);
      this.#move('half-open', now);
    }
    // Half-open: one trial at a time. A trial that never settled (a call that hung past openMs)
    // does not hold the circuit forever.
    if (this.#trial !== null && now - this.#trial.startedAt < this.openMs) throw this.#refusal(1000);
    const token = {};
    this.#trial = { permit: token, startedAt: now };
    return this.#permit(token);
  }

  /**
   * Runs `fn` through the breaker: refused while open, counted when it fails with an error
   * `isFailure` accepts (default `isTransientFailure`); any other outcome counts as an answer.
   */
  async run<T>(fn: () => Promise<T>, isFailure: (error: unknown) => boolean = isTransientFailure): Promise<T> {
    const permit = this.acquire();
    try {
      const result = await fn();
      permit.succeed();
      return result;
    } catch (error) {
      if (isFailure(error)) permit.fail();
      else permit.succeed();
      throw error;
    }
  }

  #now(): number {
    return this.#clock.now().getTime();
  }

  #permit(trial: object | null): CircuitPermit {
    let settled = false;
    const once = (fn: () => void) => () => {
      if (settled) return;
      settled = true;
      fn();
    };
    const isCurrentTrial = () => trial !== null && this.#trial?.permit === trial;
    return {
      succeed: once(() => {
        if (isCurrentTrial()) {
          this.#trial = null;
          this.#failures = 0;
          this.#move('closed', this.#now());
        } else if (this.#state === 'closed') {
          this.#failures = 0;
        }
      }),
      fail: once(() => {
        const now = this.#now();
        if (isCurrentTrial()) {
          this.#trial = null;
          this.#failures += 1;
          this.#openedAt = now;
          this.#move('open', now);
        } else if (this.#state === 'closed') {
          this.#failures += 1;
          if (this.#failures >= this.failureThreshold) {
            this.#openedAt = now;
            this.#move('open', now);
          }
        }
      }),
      release: once(() => {
        if (isCurrentTrial()) this.#trial = null;
      }),
    };
  }

  #move(to: CircuitState, now: number): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    try {
      this.#onTransition?.({ name: this.name, from, to, failures: this.#failures, at: new Date(now) });
    } catch {
      // An observer never changes the breaker.
    }
  }

  #refusal(waitMs: number): PayableError {
    const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
    return new ProviderUnavailableError(
      `Provider "${this.name}" is unavailable: its circuit breaker is open after ${this.#failures} consecutive failures. Retry in ${retryAfterSeconds} s.`,
      { context: { provider: this.name, retryAfterSeconds, reason: 'circuit_open' } },
    );
  }
}
