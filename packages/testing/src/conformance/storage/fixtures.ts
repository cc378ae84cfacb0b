import { createHash } from 'node:crypto';
import {
  newId,
  type CheckoutRecord,
  type CustomerRecord,
  type InvoiceRecord,
  type PaymentRecord,
  type RecordByKind,
  type RecordKind,
  type RefundRecord,
  type StoredDelivery,
  type StoredDeliveryAttempt,
  type StoredEndpoint,
  type StoredIdempotencyKey,
  type StoredOutboxMessage,
  type StoredWebhookEvent,
  type SubscriptionRecord,
} from '@payable/core';

const EPOCH = Date.UTC(2024, 2, 4, 5, 6, 7, 89);

/**
 * A fixed instant plus `offsetSeconds` (fractions allowed), with millisecond precision: the time
 * base of the storage fixtures, so tests never depend on the wall clock.
 *
 * @example
 * ```ts
 * const now = fixtureTime(0);
 * await storage.claimWebhookEvent(id, { owner: 'w1', now, until: fixtureTime(30) });
 * ```
 */
export function fixtureTime(offsetSeconds = 0): Date {
  return new Date(EPOCH + Math.round(offsetSeconds * 1000));
}

/**
 * A valid customer record with every field set; `overrides` replace fields.
 *
 * @example
 * ```ts
 * const customer = makeCustomer({ tenantId: 'acme', email: 'a@example.com' });
 * ```
 */
export function makeCustomer(overrides: Partial<CustomerRecord> = {}): CustomerRecord {
  return {
    id: newId('cus'),
    tenantId: null,
    provider: 'fake',
    providerId: newId('fake_cus'),
    metadata: {},
    createdAt: fixtureTime(),
    updatedAt: fixtureTime(),
    email: 'ada@example.com',
    name: 'Ada Lovelace',
    ...overrides,
  };
}

/**
 * A valid pending payment (1234 USD cents, no customer, no Lightning details); `overrides` replace
 * fields.
 *
 * @example
 * ```ts
 * const payment = makePayment({ status: 'succeeded', amount: 500 });
 * ```
 */
export function makePayment(overrides: Partial<PaymentRecord> = {}): PaymentRecord {
  return {
    id: newId('pay'),
    tenantId: null,
    provider: 'fake',
    providerId: newId('fake_pay'),
    metadata: {},
    createdAt: fixtureTime(),
    updatedAt: fixtureTime(),
    amount: 1234,
    currency: 'USD',
    status: 'pending',
    amountRefunded: 0,
    customerId: null,
    description: null,
    expiresAt: null,
    failureCode: null,
    failureMessage: null,
    nextActionUrl: null,
    lightning: null,
    ...overrides,
  };
}

/**
 * A valid pending refund of 500 USD cents; `overrides` replace fields.
 *
 * @example
 * ```ts
 * const refund = makeRefund({ paymentId: payment.id });
 * ```
 */
export function makeRefund(overrides: Partial<RefundRecord> = {}): RefundRecord {
  return {
    id: newId('re'),
    tenantId: null,
    provider: 'fake',
    providerId: newId('fake_re'),
    metadata: {},
    createdAt: fixtureTime(),
    updatedAt: fixtureTime(),
    paymentId: null,
    amount: 500,
    currency: 'USD',
    status: 'pending',
    reason: null,
    ...overrides,
  };
}

/**
 * A valid active subscription to `price_basic`; `overrides` replace fields.
 *
 * @example
 * ```ts
 * const subscription = makeSubscription({ customerId: customer.id, status: 'trialing' });
 * ```
 */
export function makeSubscription(overrides: Partial<SubscriptionRecord> = {}): SubscriptionRecord {
  return {
    id: newId('sub'),
    tenantId: null,
    provider: 'fake',
    providerId: newId('fake_sub'),
    metadata: {},
    createdAt: fixtureTime(),
    updatedAt: fixtureTime(),
    customerId: null,
    priceId: 'price_basic',
    status: 'active',
    currentPeriodEnd: null,
    cancelAtPeriodEnd: false,
    canceledAt: null,
    trialEnd: null,
    ...overrides,
  };
}

/**
 * A valid open invoice of 2000 USD cents; `overrides` replace fields.
 *
 * @example
 * ```ts
 * const invoice = makeInvoice({ status: 'paid', amountPaid: 2000 });
 * ```
 */
export function makeInvoice(overrides: Partial<InvoiceRecord> = {}): InvoiceRecord {
  return {
    id: newId('in'),
    tenantId: null,
    provider: 'fake',
    providerId: newId('fake_in'),
    metadata: {},
    createdAt: fixtureTime(),
    updatedAt: fixtureTime(),
    customerId: null,
    subscriptionId: null,
    amount: 2000,
    amountPaid: 0,
    currency: 'USD',
    status: 'open',
    hostedUrl: null,
    ...overrides,
  };
}

/**
 * A valid open payment-mode checkout; `overrides` replace fields.
 *
 * @example
 * ```ts
 * const checkout = makeCheckout({ status: 'complete', paymentId: payment.id });
 * ```
 */
export function makeCheckout(overrides: Partial<CheckoutRecord> = {}): CheckoutRecord {
  return {
    id: newId('cs'),
    tenantId: null,
    provider: 'fake',
    providerId: newId('fake_cs'),
    metadata: {},
    createdAt: fixtureTime(),
    updatedAt: fixtureTime(),
    mode: 'payment',
    url: 'https://checkout.example.com/session/1',
    status: 'open',
    amount: 1500,
    currency: 'EUR',
    customerId: null,
    paymentId: null,
    subscriptionId: null,
    expiresAt: null,
    ...overrides,
  };
}

const BUILDERS: { [K in RecordKind]: (overrides?: Partial<RecordByKind[K]>) => RecordByKind[K] } = {
  customer: makeCustomer,
  payment: makePayment,
  refund: makeRefund,
  subscription: makeSubscription,
  invoice: makeInvoice,
  checkout: makeCheckout,
};

/** Every record kind, in a fixed order (for tests that run over all kinds). */
export const RECORD_KINDS: readonly RecordKind[] = [
  'customer',
  'payment',
  'refund',
  'subscription',
  'invoice',
  'checkout',
];

/**
 * A valid record of `kind` (one of the `make…` builders); `overrides` replace fields.
 *
 * @example
 * ```ts
 * for (const kind of RECORD_KINDS) await storage.insertRecord(kind, makeRecord(kind, { tenantId: 't1' }));
 * ```
 */
export function makeRecord<K extends RecordKind>(kind: K, overrides: Partial<RecordByKind[K]> = {}): RecordByKind[K] {
  const build = BUILDERS[kind] as (overrides?: Partial<RecordByKind[K]>) => RecordByKind[K];
  return build(overrides);
}

/**
 * A valid pending inbox event (`payment.succeeded` from provider `fake`, not yet claimed);
 * `overrides` replace fields.
 *
 * @example
 * ```ts
 * const { inserted } = await storage.insertWebhookEvent(makeWebhookEvent({ providerEventId: 'evt_1' }));
 * ```
 */
export function makeWebhookEvent(overrides: Partial<StoredWebhookEvent> = {}): StoredWebhookEvent {
  const providerEventId = overrides.providerEventId ?? newId('fake_evt');
  const providerId = newId('fake_pay');
  return {
    id: newId('evt'),
    tenantId: null,
    provider: 'fake',
    providerEventId,
    type: 'payment.succeeded',
    providerType: 'charge.succeeded',
    status: 'pending',
    attempts: 0,
    lastError: null,
    payload: JSON.stringify({ id: providerEventId, type: 'charge.succeeded', data: { id: providerId, amount: 1234 } }),
    normalized: JSON.stringify({
      id: providerEventId,
      type: 'payment.succeeded',
      object: { providerId, amount: 1234 },
    }),
    objectKey: `fake:payment:${providerId}`,
    receivedAt: fixtureTime(),
    updatedAt: fixtureTime(),
    processedAt: null,
    lockedBy: null,
    lockedUntil: null,
    ...overrides,
  };
}

/**
 * A valid in-progress idempotency key locked for 60 s and expiring after a day; `overrides`
 * replace fields.
 *
 * @example
 * ```ts
 * await storage.insertIdempotencyKey(makeIdempotencyKey({ key: 'order-42' }));
 * ```
 */
export function makeIdempotencyKey(overrides: Partial<StoredIdempotencyKey> = {}): StoredIdempotencyKey {
  const key = overrides.key ?? newId('key');
  return {
    tenantId: null,
    key,
    fingerprint: createHash('sha256').update(`charge:${key}`).digest('hex'),
    status: 'in_progress',
    lockedUntil: fixtureTime(60),
    responseStatus: null,
    responseBody: null,
    createdAt: fixtureTime(),
    expiresAt: fixtureTime(24 * 3600),
    ...overrides,
  };
}

/**
 * A valid pending outbox message, available now, for a fresh aggregate; `overrides` replace fields.
 * Ids are time-ordered: messages built later sort after earlier ones.
 *
 * @example
 * ```ts
 * const first = makeOutboxMessage({ aggregateKey: 'payment:pay_1' });
 * const second = makeOutboxMessage({ aggregateKey: 'payment:pay_1' }); // delivered after `first`
 * ```
 */
export function makeOutboxMessage(overrides: Partial<StoredOutboxMessage> = {}): StoredOutboxMessage {
  const id = overrides.id ?? newId('msg');
  const aggregateKey = overrides.aggregateKey ?? `payment:${newId('pay')}`;
  return {
    id,
    tenantId: null,
    aggregateKey,
    type: 'payment.succeeded',
    payload: JSON.stringify({
      id,
      type: 'payment.succeeded',
      createdAt: fixtureTime().toISOString(),
      data: { aggregateKey },
    }),
    status: 'pending',
    attempts: 0,
    availableAt: fixtureTime(),
    lockedBy: null,
    lockedUntil: null,
    lastError: null,
    createdAt: fixtureTime(),
    deliveredAt: null,
    ...overrides,
  };
}

/**
 * A valid enabled outbound webhook endpoint (Standard Webhooks scheme, every `payment.*` event, no
 * tenant, no previous secret); `overrides` replace fields. Ids are time-ordered.
 *
 * @example
 * ```ts
 * await storage.insertEndpoint(makeEndpoint({ tenantId: 'acme', events: ['refund.succeeded'] }));
 * ```
 */
export function makeEndpoint(overrides: Partial<StoredEndpoint> = {}): StoredEndpoint {
  return {
    id: newId('ep'),
    tenantId: null,
    url: 'https://hooks.example.com/payable?source=conformance',
    events: ['payment.*'],
    scheme: 'standard-webhooks',
    description: null,
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    previousSecret: null,
    previousSecretExpiresAt: null,
    status: 'enabled',
    disabledReason: null,
    createdAt: fixtureTime(),
    updatedAt: fixtureTime(),
    ...overrides,
  };
}

/**
 * A valid pending delivery of a fresh `payment.succeeded` domain event to `endpointId` (a fresh one
 * unless overridden), due now; `overrides` replace fields. Ids are time-ordered.
 *
 * @example
 * ```ts
 * const inserted = await storage.insertDeliveries([makeDelivery({ endpointId: endpoint.id })]);
 * ```
 */
export function makeDelivery(overrides: Partial<StoredDelivery> = {}): StoredDelivery {
  const eventId = overrides.eventId ?? newId('evt');
  const eventType = overrides.eventType ?? 'payment.succeeded';
  return {
    id: newId('dlv'),
    tenantId: null,
    endpointId: overrides.endpointId ?? newId('ep'),
    eventId,
    eventType,
    payload: JSON.stringify({
      id: eventId,
      type: eventType,
      createdAt: fixtureTime().toISOString(),
      data: { id: 'pay_conformance', amount: 1234, currency: 'USD' },
    }),
    status: 'pending',
    attempts: 0,
    nextAttemptAt: fixtureTime(),
    lockedBy: null,
    lockedUntil: null,
    lastStatus: null,
    lastError: null,
    createdAt: fixtureTime(),
    updatedAt: fixtureTime(),
    deliveredAt: null,
    ...overrides,
  };
}

/**
 * A valid first attempt of `deliveryId` that got HTTP 500 and is retried in 5 s; `overrides`
 * replace fields. Ids are time-ordered: attempts built later sort after earlier ones.
 *
 * @example
 * ```ts
 * await storage.appendDeliveryAttempt(makeDeliveryAttempt({ deliveryId: delivery.id, endpointId: delivery.endpointId }));
 * ```
 */
export function makeDeliveryAttempt(overrides: Partial<StoredDeliveryAttempt> = {}): StoredDeliveryAttempt {
  return {
    id: newId('att'),
    deliveryId: newId('dlv'),
    endpointId: newId('ep'),
    attempt: 1,
    startedAt: fixtureTime(),
    durationMs: 125,
    responseStatus: 500,
    responseBody: '{"error":"internal"}',
    error: null,
    nextAttemptAt: fixtureTime(5),
    ...overrides,
  };
}
