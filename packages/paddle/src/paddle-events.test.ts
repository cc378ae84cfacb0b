import { isPayableError, type PayableError } from '@payable/core';
import { describe, expect, it } from 'vitest';
import { PADDLE_EVENT_TYPES, parsePaddleEvent } from './paddle-events.js';

// Payloads shaped as Paddle documents its notifications (snake_case, amounts as digit strings).
const transaction = (overrides: Record<string, unknown> = {}) => ({
  id: 'txn_01hv8wptq8987qeep44cyrewp9',
  status: 'completed',
  customer_id: 'ctm_01hv8wt8nffez4p2t6typn4a5j',
  address_id: 'add_01hv8wt8p1x6ktn0wgakqsmsee',
  subscription_id: null,
  currency_code: 'EUR',
  custom_data: { order: 'A-17', nested: { ignored: true }, count: 3 },
  collection_mode: 'automatic',
  details: {
    totals: { subtotal: '8264', tax: '1736', total: '10000', grand_total: '10000', currency_code: 'EUR' },
    line_items: [{ id: 'txnitm_01hv8wt98jahpbm1t1tzr06z6n', totals: { total: '10000' } }],
  },
  checkout: { url: 'https://shop.test/pay?_ptxn=txn_01hv8wptq8987qeep44cyrewp9' },
  payments: [{ status: 'captured', error_code: null }],
  created_at: '2026-03-01T11:00:00.000Z',
  ...overrides,
});

const subscription = (overrides: Record<string, unknown> = {}) => ({
  id: 'sub_01hv8y5ehszzq0yv20ttx3166y',
  status: 'active',
  customer_id: 'ctm_01hv8wt8nffez4p2t6typn4a5j',
  custom_data: { plan: 'pro' },
  canceled_at: null,
  current_billing_period: { starts_at: '2026-03-01T11:00:00Z', ends_at: '2026-04-01T11:00:00Z' },
  scheduled_change: null,
  items: [
    {
      status: 'active',
      price: { id: 'pri_01gsz8x8sawmvhz1pv30nge1ke', custom_data: null },
      trial_dates: null,
    },
  ],
  ...overrides,
});

const adjustment = (overrides: Record<string, unknown> = {}) => ({
  id: 'adj_01hvgf2s84dr6reszzg29zbvcm',
  action: 'refund',
  type: 'partial',
  transaction_id: 'txn_01hv8wptq8987qeep44cyrewp9',
  customer_id: 'ctm_01hv8wt8nffez4p2t6typn4a5j',
  reason: 'error',
  currency_code: 'EUR',
  status: 'pending_approval',
  items: [{ item_id: 'txnitm_01hv8wt98jahpbm1t1tzr06z6n', type: 'partial', amount: '2500' }],
  totals: { subtotal: '2066', tax: '434', total: '2500', fee: '0', earnings: '0', currency_code: 'EUR' },
  ...overrides,
});

const customer = { id: 'ctm_01hv8wt8nffez4p2t6typn4a5j', email: 'sam@example.test', name: 'Sam', custom_data: null };

function body(eventType: string, data: unknown, extra: Record<string, unknown> = {}) {
  return Buffer.from(
    JSON.stringify({
      event_id: 'evt_01hv8x2k3m4n5p6q7r8s9t0v1w',
      event_type: eventType,
      occurred_at: '2026-03-01T11:00:05.123456Z',
      notification_id: 'ntf_01hv8x2k3m4n5p6q7r8s9t0v1x',
      data,
      ...extra,
    }),
  );
}

function payloadError(run: () => unknown): PayableError {
  try {
    run();
  } catch (error) {
    if (isPayableError(error)) return error;
    throw error;
  }
  throw new Error('expected INVALID_WEBHOOK_PAYLOAD');
}

describe('Paddle event mapping', () => {
  it.each([
    ['transaction.completed', transaction(), 'payment.succeeded', 'succeeded'],
    ['transaction.paid', transaction({ status: 'paid' }), 'payment.succeeded', 'succeeded'],
    [
      'transaction.payment_failed',
      transaction({ status: 'ready', payments: [{ status: 'error', error_code: 'declined' }] }),
      'payment.failed',
      'failed',
    ],
    ['transaction.canceled', transaction({ status: 'canceled' }), 'payment.canceled', 'canceled'],
  ])('%s → %s (a payment from the transaction)', (providerType, data, type, status) => {
    const event = parsePaddleEvent(body(providerType, data));
    expect(event).toMatchObject({ id: 'evt_01hv8x2k3m4n5p6q7r8s9t0v1w', type, providerType });
    expect(event.createdAt.toISOString()).toBe('2026-03-01T11:00:05.123Z');
    expect(event.object).toMatchObject({
      kind: 'payment',
      providerId: 'txn_01hv8wptq8987qeep44cyrewp9',
      status,
      amount: 10000,
      currency: 'EUR',
      customerProviderId: 'ctm_01hv8wt8nffez4p2t6typn4a5j',
      metadata: { order: 'A-17' },
    });
  });

  it('transaction.payment_failed carries the decline code of the failed attempt', () => {
    const event = parsePaddleEvent(
      body(
        'transaction.payment_failed',
        transaction({
          status: 'ready',
          payments: [
            { status: 'captured', error_code: null },
            { status: 'error', error_code: 'insufficient_funds' },
          ],
        }),
      ),
    );
    expect(event.object).toMatchObject({ status: 'failed', failureCode: 'insufficient_funds' });
  });

  it.each([
    ['subscription.created', subscription(), 'subscription.created', 'active'],
    ['subscription.updated', subscription({ status: 'past_due' }), 'subscription.updated', 'past_due'],
    ['subscription.activated', subscription(), 'subscription.updated', 'active'],
    ['subscription.trialing', subscription({ status: 'trialing' }), 'subscription.updated', 'trialing'],
    ['subscription.past_due', subscription({ status: 'past_due' }), 'subscription.updated', 'past_due'],
    [
      'subscription.canceled',
      subscription({ status: 'canceled', canceled_at: '2026-03-02T00:00:00Z' }),
      'subscription.canceled',
      'canceled',
    ],
    [
      'subscription.paused',
      subscription({ status: 'paused', current_billing_period: null }),
      'subscription.paused',
      'paused',
    ],
    ['subscription.resumed', subscription(), 'subscription.resumed', 'active'],
  ])('%s → %s', (providerType, data, type, status) => {
    const event = parsePaddleEvent(body(providerType, data));
    expect(event.type).toBe(type);
    expect(event.object).toMatchObject({
      kind: 'subscription',
      providerId: 'sub_01hv8y5ehszzq0yv20ttx3166y',
      customerProviderId: 'ctm_01hv8wt8nffez4p2t6typn4a5j',
      priceId: 'pri_01gsz8x8sawmvhz1pv30nge1ke',
      status,
      metadata: { plan: 'pro' },
    });
  });

  it('subscription – a scheduled cancel is cancelAtPeriodEnd; dates and the trial end are read; a catalog price id wins', () => {
    const event = parsePaddleEvent(
      body(
        'subscription.updated',
        subscription({
          status: 'trialing',
          scheduled_change: { action: 'cancel', effective_at: '2026-04-01T11:00:00Z', resume_at: null },
          items: [
            {
              price: {
                id: 'pri_01noncatalog000000000000000',
                custom_data: { payable_catalog_price_id: 'pri_catalog' },
              },
              trial_dates: { starts_at: '2026-03-01T11:00:00Z', ends_at: '2026-03-15T11:00:00Z' },
            },
          ],
        }),
      ),
    );
    expect(event.object).toMatchObject({
      status: 'trialing',
      priceId: 'pri_catalog',
      cancelAtPeriodEnd: true,
      currentPeriodEnd: new Date('2026-04-01T11:00:00Z'),
      trialEnd: new Date('2026-03-15T11:00:00Z'),
    });
    const paused = parsePaddleEvent(
      body(
        'subscription.updated',
        subscription({ scheduled_change: { action: 'pause', effective_at: '2026-04-01T11:00:00Z' } }),
      ),
    );
    expect(paused.object).toMatchObject({ cancelAtPeriodEnd: false });
  });

  it.each([
    ['adjustment.created', 'pending_approval', 'refund.updated', 'pending'],
    ['adjustment.updated', 'approved', 'refund.succeeded', 'succeeded'],
    ['adjustment.updated', 'rejected', 'refund.failed', 'failed'],
    ['adjustment.updated', 'reversed', 'refund.updated', 'canceled'],
  ])('%s (refund, %s) → %s', (providerType, status, type, refundStatus) => {
    const event = parsePaddleEvent(body(providerType, adjustment({ status })));
    expect(event.type).toBe(type);
    expect(event.object).toEqual({
      kind: 'refund',
      providerId: 'adj_01hvgf2s84dr6reszzg29zbvcm',
      paymentProviderId: 'txn_01hv8wptq8987qeep44cyrewp9',
      amount: 2500,
      currency: 'EUR',
      status: refundStatus,
      reason: 'error',
    });
  });

  it('adjustments that are not refunds (credits, chargebacks) are unknown', () => {
    for (const action of ['credit', 'chargeback', 'chargeback_warning']) {
      const event = parsePaddleEvent(body('adjustment.created', adjustment({ action })));
      expect(event).toMatchObject({ type: 'unknown', providerType: 'adjustment.created', object: null });
    }
  });

  it.each([
    ['customer.created', 'customer.created'],
    ['customer.updated', 'customer.updated'],
  ])('%s → %s', (providerType, type) => {
    const event = parsePaddleEvent(body(providerType, customer));
    expect(event).toMatchObject({
      type,
      object: { kind: 'customer', providerId: customer.id, email: 'sam@example.test', name: 'Sam', metadata: {} },
    });
  });

  it('anything else is unknown, keeping the Paddle type and event id', () => {
    for (const providerType of [
      'transaction.created',
      'transaction.updated',
      'transaction.billed',
      'address.created',
      'payout.paid',
      'report.updated',
      'brand.new',
    ]) {
      const event = parsePaddleEvent(body(providerType, { id: 'x_1' }));
      expect(event).toMatchObject({
        id: 'evt_01hv8x2k3m4n5p6q7r8s9t0v1w',
        type: 'unknown',
        providerType,
        object: null,
      });
    }
  });

  it('PADDLE_EVENT_TYPES lists the mapped Paddle types, each to a Payable type', () => {
    expect(Object.keys(PADDLE_EVENT_TYPES)).toEqual(
      expect.arrayContaining([
        'transaction.completed',
        'transaction.paid',
        'transaction.payment_failed',
        'subscription.created',
        'subscription.updated',
        'subscription.canceled',
        'subscription.paused',
        'subscription.resumed',
        'adjustment.created',
        'adjustment.updated',
        'customer.created',
        'customer.updated',
      ]),
    );
  });

  it('malformed notifications are INVALID_WEBHOOK_PAYLOAD naming the field', () => {
    const cases: [Buffer, string | undefined][] = [
      [Buffer.from('not json'), undefined],
      [Buffer.from('[1]'), 'body'],
      [
        Buffer.from(
          JSON.stringify({ event_type: 'customer.created', occurred_at: '2026-03-01T00:00:00Z', data: customer }),
        ),
        'event_id',
      ],
      [body('', customer), 'event_type'],
      [body('customer.created', customer, { occurred_at: 'yesterday' }), 'occurred_at'],
      [body('customer.created', null), 'data'],
      [body('customer.created', { ...customer, id: 42 }), 'data.id'],
      [
        body('transaction.completed', transaction({ details: { totals: { grand_total: '100.50' }, line_items: [] } })),
        'data.details.totals.grand_total',
      ],
      [
        body('transaction.completed', transaction({ details: { totals: { grand_total: 10050 }, line_items: [] } })),
        'data.details.totals.grand_total',
      ],
      [body('transaction.completed', transaction({ details: null })), 'data.details.totals.grand_total'],
      [body('transaction.completed', transaction({ payments: 'none' })), 'data.payments'],
      [body('subscription.created', subscription({ items: [] })), 'data.items[0].price.id'],
      [body('subscription.created', subscription({ canceled_at: 'soon' })), 'data.canceled_at'],
      [body('adjustment.updated', adjustment({ totals: { total: '-5' } })), 'data.totals.total'],
    ];
    for (const [payload, field] of cases) {
      const error = payloadError(() => parsePaddleEvent(payload));
      expect(error.code, payload.toString()).toBe('INVALID_WEBHOOK_PAYLOAD');
      if (field !== undefined) expect(error.context.field, payload.toString()).toBe(field);
    }
  });
});
