import { describe, expect, it } from 'vitest';
import {
  NotFoundError,
  ProviderError,
  ProviderUnavailableError,
  StorageUnavailableError,
  ValidationError,
} from '../errors/classes.js';
import { isTransientFailure, retryAfterOf } from './transient.js';

const withCode = (code: string) => Object.assign(new Error(code), { code });

describe('isTransientFailure', () => {
  it('transient – outages, timeouts, connection errors and 5xx, as Payable errors or raw SDK errors', () => {
    const transient: unknown[] = [
      new ProviderUnavailableError('down', { context: { reason: 'connection' } }),
      new ProviderUnavailableError('5xx', { context: { reason: 'provider_error', statusCode: 502 } }),
      new ProviderError('lnd 503', { context: { status: 503 } }),
      new ProviderError('wrapped', { cause: withCode('ECONNRESET') }),
      withCode('ECONNREFUSED'),
      withCode('ETIMEDOUT'),
      withCode('UND_ERR_CONNECT_TIMEOUT'),
      Object.assign(new Error('aborted'), { name: 'AbortError' }),
      Object.assign(new Error('timed out'), { name: 'TimeoutError' }),
      new TypeError('fetch failed', { cause: withCode('ENOTFOUND') }),
      { type: 'StripeConnectionError', message: 'An error occurred with our connection to Stripe.' },
      { type: 'StripeAPIError', statusCode: 500, message: 'internal' },
      { type: 'StripeAPIError', message: 'no status' },
      { type: 'api_error', code: 'internal_error', detail: 'Paddle is down' },
      Object.assign(new Error('bad gateway'), { status: 502 }),
      Object.assign(new Error('outer'), { cause: Object.assign(new Error('inner'), { statusCode: 503 }) }),
    ];
    for (const error of transient) expect(isTransientFailure(error), String((error as Error).message)).toBe(true);
  });

  it('not transient – declines, validation, not found, other 4xx, the provider rate limit, an open breaker', () => {
    const permanent: unknown[] = [
      new ProviderError('declined', { context: { declineCode: 'card_declined' } }),
      new ProviderError('bad request', { context: { statusCode: 400 } }),
      new ProviderError('unknown failure'),
      new ValidationError('bad input'),
      new NotFoundError('gone'),
      new StorageUnavailableError('db down'),
      new ProviderUnavailableError('slow down', { context: { reason: 'rate_limited', retryAfter: 30 } }),
      new ProviderUnavailableError('paddle 429', { context: { providerCode: 'too_many_requests' } }),
      new ProviderUnavailableError('open', { context: { reason: 'circuit_open', retryAfterSeconds: 3 } }),
      { type: 'StripeCardError', statusCode: 402, message: 'declined' },
      { type: 'StripeAPIError', statusCode: 400, message: 'bad' },
      { type: 'StripeRateLimitError', statusCode: 429, message: 'rate' },
      { type: 'request_error', code: 'invalid_field', detail: 'nope' },
      Object.assign(new Error('not found'), { status: 404, cause: withCode('ECONNRESET') }),
      new Error('boom'),
      'a string',
      null,
    ];
    for (const error of permanent) expect(isTransientFailure(error), JSON.stringify(error)).toBe(false);
  });
});

describe('retryAfterOf', () => {
  it('retryAfter – reads retryAfterSeconds or retryAfter from a Payable error context or a raw error', () => {
    expect(retryAfterOf(new ProviderUnavailableError('x', { context: { retryAfter: 5 } }))).toBe(5);
    expect(retryAfterOf(new ProviderUnavailableError('x', { context: { retryAfterSeconds: 3 } }))).toBe(3);
    expect(retryAfterOf(Object.assign(new Error('x'), { retryAfter: 7 }))).toBe(7);
    expect(retryAfterOf(new ProviderUnavailableError('x'))).toBeUndefined();
    expect(retryAfterOf(undefined)).toBeUndefined();
  });
});
