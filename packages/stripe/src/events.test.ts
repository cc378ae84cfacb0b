import { isPayableError } from '@payable/core';
import { describe, expect, it } from 'vitest';
import { normalizeStripeEvent, STRIPE_EVENT_MAP, STRIPE_WEBHOOK_EVENTS } from './events.js';

const created = 1_767_225_600;

function event(type: string, object: Record<string, unknown>) {
  return { id: 'evt_1', object: 'event', type, created, data: { object } };
}

function pi(fields: Record<string, unknown>) {
  return { id: 'pi_1', object: 'payment_intent', amount: 1500, currency: 'eur', metadata: {}, ...fields };
}

describe('normalizeStripeEvent', () => {
  it.each([
    ['requires_payment_method', null, 'pending'],
    [
      'requires_payment_method',
      { code: 'card_declined', decline_code: 'insufficient_funds', message: 'No funds' },
      'failed',
    ],
    ['requires_confirmation', null, 'pending'],
    ['requires_action', null, 'requires_action'],
    ['processing', null, 'processing'],
    ['requires_capture', null, 'pending'],
    ['succeeded', null, 'succeeded'],
    ['canceled', null, 'canceled'],
  ])('PaymentIntent status %s (error %o) reads %s', (status, error, expected) => {
    const normalized = normalizeStripeEvent(
      event('payment_intent.succeeded', pi({ status, last_payment_error: error })),
    );
    expect(normalized.object).toMatchObject({ kind: 'payment', status: expected, amount: 1500, currency: 'EUR' });
    if (error)
      expect(normalized.object).toMatchObject({ failureCode: 'insufficient_funds', failureMessage: 'No funds' });
  });

  it('requires_action carries the redirect url as nextActionUrl', () => {
    const normalized = normalizeStripeEvent(
      event(
        'payment_intent.requires_action',
        pi({
          status: 'requires_action',
          next_action: { type: 'redirect_to_url', redirect_to_url: { url: 'https://3ds.test/x' } },
        }),
      ),
    );
    expect(normalized).toMatchObject({
      type: 'payment.requires_action',
      refetch: true,
      object: { status: 'requires_action', nextActionUrl: 'https://3ds.test/x' },
    });
    expect(normalized.createdAt.toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });

  it.each([
    ['trialing', 'trialing'],
    ['active', 'active'],
    ['past_due', 'past_due'],
    ['unpaid', 'unpaid'],
    ['paused', 'paused'],
    ['canceled', 'canceled'],
    ['incomplete', 'incomplete'],
    ['incomplete_expired', 'canceled'],
  ])('subscription status %s reads %s; the period comes from the item or the subscription', (status, expected) => {
    const withItem = normalizeStripeEvent(
      event('customer.subscription.updated', {
        id: 'sub_1',
        object: 'subscription',
        status,
        customer: 'cus_1',
        items: { data: [{ price: { id: 'price_1' }, current_period_end: created + 100 }] },
      }),
    );
    expect(withItem.object).toMatchObject({ kind: 'subscription', status: expected, priceId: 'price_1' });
    expect(withItem.object && 'currentPeriodEnd' in withItem.object && withItem.object.currentPeriodEnd).toEqual(
      new Date((created + 100) * 1000),
    );
    const legacy = normalizeStripeEvent(
      event('customer.subscription.updated', {
        id: 'sub_1',
        object: 'subscription',
        status,
        customer: { id: 'cus_1' },
        current_period_end: created + 200,
        items: { data: [{ plan: { id: 'plan_1' } }] },
      }),
    );
    expect(legacy.object).toMatchObject({ customerProviderId: 'cus_1', priceId: 'plan_1' });
    expect(legacy.object && 'currentPeriodEnd' in legacy.object && legacy.object.currentPeriodEnd).toEqual(
      new Date((created + 200) * 1000),
    );
  });

  it.each([
    ['succeeded', 'refund.succeeded', 'succeeded'],
    ['pending', 'refund.updated', 'pending'],
    ['requires_action', 'refund.updated', 'pending'],
    ['failed', 'refund.failed', 'failed'],
    ['canceled', 'refund.updated', 'canceled'],
  ])('refund.updated with a %s refund is %s (status %s)', (status, type, mapped) => {
    const normalized = normalizeStripeEvent(
      event('refund.updated', {
        id: 're_1',
        object: 'refund',
        status,
        amount: 10,
        currency: 'usd',
        payment_intent: 'pi_1',
      }),
    );
    expect(normalized).toMatchObject({ type, object: { kind: 'refund', status: mapped, paymentProviderId: 'pi_1' } });
  });

  it('an invoice reads its subscription from parent.subscription_details or, on old versions, subscription', () => {
    const current = normalizeStripeEvent(
      event('invoice.paid', {
        id: 'in_1',
        object: 'invoice',
        status: 'paid',
        amount_due: 900,
        amount_paid: 900,
        currency: 'usd',
        customer: 'cus_1',
        parent: { subscription_details: { subscription: 'sub_1' } },
      }),
    );
    expect(current.object).toMatchObject({
      kind: 'invoice',
      subscriptionProviderId: 'sub_1',
      amount: 900,
      currency: 'USD',
    });
    const legacy = normalizeStripeEvent(
      event('invoice.payment_failed', { id: 'in_2', object: 'invoice', status: 'open', subscription: 'sub_2' }),
    );
    expect(legacy).toMatchObject({
      type: 'invoice.payment_failed',
      object: { subscriptionProviderId: 'sub_2', status: 'open' },
    });
  });

  it('a charge without a PaymentIntent is keyed by the charge and not re-fetched', () => {
    const normalized = normalizeStripeEvent(
      event('charge.refunded', {
        id: 'ch_1',
        object: 'charge',
        amount: 500,
        amount_captured: 500,
        amount_refunded: 200,
        currency: 'usd',
        status: 'succeeded',
      }),
    );
    expect(normalized).toMatchObject({
      type: 'refund.succeeded',
      object: { kind: 'payment', providerId: 'ch_1', status: 'partially_refunded', amountRefunded: 200 },
    });
    expect(normalized.refetch).toBeUndefined();
  });

  it('every mapped type is a webhook event to enable; unmapped types are unknown', () => {
    expect([...STRIPE_WEBHOOK_EVENTS].sort()).toEqual(Object.keys(STRIPE_EVENT_MAP).sort());
    expect(normalizeStripeEvent(event('payout.paid', { id: 'po_1', object: 'payout' }))).toEqual({
      id: 'evt_1',
      type: 'unknown',
      providerType: 'payout.paid',
      createdAt: new Date(created * 1000),
      object: null,
    });
  });

  it.each([
    ['a list', []],
    ['no id', { type: 'payment_intent.succeeded', created, data: { object: {} } }],
    ['no type', { id: 'evt_1', created, data: { object: {} } }],
    ['no created', { id: 'evt_1', type: 'payment_intent.succeeded', data: { object: {} } }],
    ['no data.object', { id: 'evt_1', type: 'payment_intent.succeeded', created, data: {} }],
  ])('a body with %s is INVALID_WEBHOOK_PAYLOAD', (_what, body) => {
    let error: unknown;
    try {
      normalizeStripeEvent(body);
    } catch (e) {
      error = e;
    }
    expect(isPayableError(error) && error.code).toBe('INVALID_WEBHOOK_PAYLOAD');
  });
});
