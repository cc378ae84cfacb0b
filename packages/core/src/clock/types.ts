/**
 * The clock port. Everything time-based in Payable (tolerances, leases, expiries, retries) asks
 * the clock, so tests can move time with `TestClock` from `@payable/testing`.
 *
 * @example
 * ```ts
 * const clock: Clock = { now: () => new Date() };
 * ```
 */
export interface Clock {
  /** The current time. */
  now(): Date;
}
