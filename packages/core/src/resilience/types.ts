import type { PayableOptions } from '../facade/types.js';

/**
 * `createPayable({ resilience })`: retries and the circuit breaker of provider calls.
 *
 * - `retries` (default 2), `retryBaseMs` (default 200), `retryMaxMs` (default 2000): transient
 *   failures of reads and of calls carrying an idempotency key the provider honours are retried
 *   with exponential backoff and jitter.
 * - `breaker` (default `{ failureThreshold: 5, openMs: 30_000 }`, `false` turns it off): per
 *   provider, opened by consecutive transient failures, answering `PROVIDER_UNAVAILABLE` (503)
 *   with `Retry-After` while open.
 *
 * @example
 * ```ts
 * const resilience: ResilienceOptions = { retries: 3, retryMaxMs: 5000, breaker: { failureThreshold: 10, openMs: 60_000 } };
 * createPayable({ providers, storage, resilience });
 * ```
 */
export type ResilienceOptions = NonNullable<PayableOptions['resilience']>;
