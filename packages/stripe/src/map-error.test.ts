import { isPayableError } from '@payable/core';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { mapStripeError, standardDeclineCode } from './map-error.js';

const { errors } = Stripe;

describe('mapStripeError', () => {
  it('a card error is PROVIDER_ERROR with the standard decline code, Stripe codes and the request id', () => {
    const raw = new errors.StripeCardError({
      message: 'Your card was declined.',
      code: 'card_declined',
      decline_code: 'stolen_card',
      requestId: 'req_1',
      statusCode: 402,
      payment_intent: { id: 'pi_9' } as never,
    });
    const error = mapStripeError(raw, { op: 'charge' });
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(error.context).toEqual({
      provider: 'stripe',
      op: 'charge',
      providerCode: 'card_declined',
      requestId: 'req_1',
      statusCode: 402,
      declineCode: 'card_declined',
      stripeDeclineCode: 'stolen_card',
      paymentIntentId: 'pi_9',
    });
    expect(error.cause).toBe(raw);
  });

  it.each([
    [{ code: 'card_declined', decline_code: 'insufficient_funds' }, 'insufficient_funds'],
    [{ code: 'card_declined', decline_code: 'generic_decline' }, 'card_declined'],
    [{ code: 'expired_card' }, 'expired_card'],
    [{ code: 'incorrect_cvc', decline_code: 'incorrect_cvc' }, 'incorrect_cvc'],
    [{ code: 'processing_error' }, 'processing_error'],
    [{ code: 'incorrect_number' }, 'card_declined'],
    [{}, 'card_declined'],
  ])('standardDeclineCode(%o) is %s', (fields, expected) => {
    expect(standardDeclineCode(fields)).toBe(expected);
  });

  it('resource_missing on a 404 is NOT_FOUND; on a 400 (a referenced object) PROVIDER_ERROR with the param', () => {
    const notFound = mapStripeError(
      new errors.StripeInvalidRequestError({
        code: 'resource_missing',
        statusCode: 404,
        param: 'intent',
        message: 'No such payment_intent',
      }),
      { op: 'getPayment' },
    );
    expect(notFound.code).toBe('NOT_FOUND');
    const referenced = mapStripeError(
      new errors.StripeInvalidRequestError({
        code: 'resource_missing',
        statusCode: 400,
        param: 'customer',
        message: 'No such customer',
      }),
      { op: 'charge' },
    );
    expect(referenced.code).toBe('PROVIDER_ERROR');
    expect(referenced.context).toMatchObject({ providerCode: 'resource_missing', param: 'customer' });
  });

  it.each([
    [
      'a rate limit',
      new errors.StripeRateLimitError({ statusCode: 429, headers: { 'retry-after': '2' } }),
      'rate_limited',
    ],
    ['a connection error', new errors.StripeConnectionError({ message: 'ECONNRESET' }), 'connection'],
    ['a 500', new errors.StripeAPIError({ statusCode: 500 }), 'stripe_error'],
    ['a 503', new errors.StripeAPIError({ statusCode: 503 }), 'stripe_error'],
  ])('%s is PROVIDER_UNAVAILABLE', (_what, raw, reason) => {
    const error = mapStripeError(raw, { op: 'refund' });
    expect(error.code).toBe('PROVIDER_UNAVAILABLE');
    expect(error.context.reason).toBe(reason);
  });

  it('a rate limit carries Retry-After when Stripe sends it', () => {
    const error = mapStripeError(
      new errors.StripeRateLimitError({ statusCode: 429, headers: { 'retry-after': '2' } }),
      {
        op: 'charge',
      },
    );
    expect(error.context.retryAfter).toBe(2);
  });

  it('an idempotency error is IDEMPOTENCY_CONFLICT naming the key', () => {
    const error = mapStripeError(
      new errors.StripeIdempotencyError({ statusCode: 400, message: 'Keys for idempotent requests…' }),
      {
        op: 'charge',
        idempotencyKey: 'order-1',
      },
    );
    expect(error.code).toBe('IDEMPOTENCY_CONFLICT');
    expect(error.httpStatus).toBe(409);
    expect(error.context.key).toBe('order-1');
  });

  it('authentication and permission errors are PROVIDER_ERROR with a clear message', () => {
    const auth = mapStripeError(
      new errors.StripeAuthenticationError({ statusCode: 401, message: 'Invalid API Key provided: sk_test_***abc' }),
      {
        op: 'charge',
      },
    );
    expect(auth).toMatchObject({ code: 'PROVIDER_ERROR', context: { reason: 'authentication' } });
    expect(auth.message).toContain('secretKey');
    expect(auth.message).not.toContain('***abc');
    const permission = mapStripeError(new errors.StripePermissionError({ statusCode: 403 }), { op: 'refund' });
    expect(permission).toMatchObject({ code: 'PROVIDER_ERROR', context: { reason: 'permission' } });
  });

  it('anything else, Stripe or not, is PROVIDER_ERROR; a PayableError passes through', () => {
    expect(mapStripeError(new TypeError('boom'), { op: 'charge' }).code).toBe('PROVIDER_ERROR');
    expect(mapStripeError('a string', { op: 'charge' }).code).toBe('PROVIDER_ERROR');
    expect(mapStripeError(new errors.StripeAPIError({ statusCode: 402 }), { op: 'charge' }).code).toBe(
      'PROVIDER_ERROR',
    );
    const own = mapStripeError(new errors.StripeCardError({ code: 'card_declined' }), { op: 'charge' });
    expect(mapStripeError(own, { op: 'charge' })).toBe(own);
    expect(isPayableError(own)).toBe(true);
  });
});
