import type { Clock } from './types.js';

/**
 * The wall clock: `now()` is `new Date()`. The default when `createPayable` gets no clock.
 *
 * @example
 * ```ts
 * createPayable({ providers, clock: new SystemClock() });
 * ```
 */
export class SystemClock implements Clock {
  now(): Date {
    return new Date();
  }
}
