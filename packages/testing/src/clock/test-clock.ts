import { type Clock, ValidationError } from '@payable/core';

/** A duration for {@link TestClock.advance}: the parts are added together. */
export interface TestClockDuration {
  seconds?: number;
  minutes?: number;
  hours?: number;
  days?: number;
}

const DEFAULT_START = '2026-01-01T00:00:00Z';

function toTime(value: Date | string | number, field: string): number {
  const time = value instanceof Date ? value.getTime() : new Date(value).getTime();
  if (!Number.isFinite(time)) {
    throw new ValidationError(`${field} is not a valid date`, { context: { field, reason: 'invalid date' } });
  }
  return time;
}

/**
 * A clock that only moves when told to: pass it wherever Payable takes a `clock` to test expiries,
 * tolerances, leases and retention without waiting. Starts at 2026-01-01T00:00:00Z unless given a
 * start; `now()` returns a fresh `Date` each call, so callers cannot move it by mutating one.
 *
 * @example
 * ```ts
 * const clock = new TestClock('2026-03-01T12:00:00Z');
 * const payable = createPayable({ providers, storage, clock });
 * clock.advance({ minutes: 5 });
 * clock.now().toISOString(); // '2026-03-01T12:05:00.000Z'
 * ```
 */
export class TestClock implements Clock {
  #time: number;

  constructor(start: Date | string | number = DEFAULT_START) {
    this.#time = toTime(start, 'start');
  }

  /** The current test time, as a new `Date`. */
  now(): Date {
    return new Date(this.#time);
  }

  /**
   * Moves the clock forward by milliseconds or by a duration, and returns the new time.
   * Rejects negative or non-finite amounts with `VALIDATION_ERROR` (use `set` to go back).
   *
   * @example
   * ```ts
   * clock.advance(1500);
   * clock.advance({ hours: 1, minutes: 30 });
   * ```
   */
  advance(by: number | TestClockDuration): Date {
    const ms =
      typeof by === 'number'
        ? by
        : (by.seconds ?? 0) * 1000 +
          (by.minutes ?? 0) * 60_000 +
          (by.hours ?? 0) * 3_600_000 +
          (by.days ?? 0) * 86_400_000;
    if (!Number.isFinite(ms) || ms < 0) {
      throw new ValidationError('TestClock.advance takes a finite, non-negative duration', {
        context: { field: 'by', reason: 'must be finite and >= 0' },
      });
    }
    this.#time += ms;
    return this.now();
  }

  /**
   * Jumps to a point in time (forwards or backwards) and returns it.
   *
   * @example
   * ```ts
   * clock.set('2026-12-31T23:59:59Z');
   * ```
   */
  set(date: Date | string | number): Date {
    this.#time = toTime(date, 'date');
    return this.now();
  }
}
