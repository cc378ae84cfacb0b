import {
  InvalidWebhookPayloadError,
  type NormalizedEvent,
  type PayableError,
  type PayableEventType,
  type PaymentStatus,
  type ProviderObject,
} from '@payable/core';
import {
  type PaddleAdjustmentView,
  type PaddleCustomData,
  type PaddleCustomerView,
  PaddleShapeError,
  type PaddleSubscriptionView,
  type PaddleTransactionView,
  toCustomer,
  toPayment,
  toRefund,
  toSubscription,
} from './paddle-objects.js';

/**
 * How Paddle's notification types map to Payable's event types. Adjustments map by their status
 * (and only refunds do: other adjustment actions are `unknown`); types not listed are `unknown`,
 * stored with their Paddle type in `providerType`.
 *
 * @example
 * ```ts
 * PADDLE_EVENT_TYPES['transaction.completed']; // 'payment.succeeded'
 * ```
 */
export const PADDLE_EVENT_TYPES: Readonly<Record<string, PayableEventType>> = Object.freeze({
  'transaction.completed': 'payment.succeeded',
  'transaction.paid': 'payment.succeeded',
  'transaction.payment_failed': 'payment.failed',
  'transaction.canceled': 'payment.canceled',
  'subscription.created': 'subscription.created',
  'subscription.updated': 'subscription.updated',
  'subscription.activated': 'subscription.updated',
  'subscription.trialing': 'subscription.updated',
  'subscription.past_due': 'subscription.updated',
  'subscription.canceled': 'subscription.canceled',
  'subscription.paused': 'subscription.paused',
  'subscription.resumed': 'subscription.resumed',
  'adjustment.created': 'refund.updated',
  'adjustment.updated': 'refund.updated',
  'customer.created': 'customer.created',
  'customer.updated': 'customer.updated',
});

/** The payment status a transaction event states, whatever the transaction's own status says. */
const TRANSACTION_EVENT_STATUS: Readonly<Record<string, PaymentStatus>> = {
  'transaction.completed': 'succeeded',
  'transaction.paid': 'succeeded',
  'transaction.payment_failed': 'failed',
  'transaction.canceled': 'canceled',
};

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function payloadError(field: string, message: string): PayableError {
  return new InvalidWebhookPayloadError(message, { context: { provider: 'paddle', field } });
}

// ---- readers: snake_case JSON → the camelCase views the mappers take ---------------------------

class Reader {
  constructor(
    private readonly value: Json,
    private readonly path: string,
  ) {}

  field(name: string): string {
    return this.path === '' ? name : `${this.path}.${name}`;
  }

  string(name: string): string {
    const v = this.value[name];
    if (typeof v !== 'string' || v === '')
      throw new PaddleShapeError(this.field(name), `${this.field(name)} must be a string.`);
    return v;
  }

  stringOrNull(name: string): string | null {
    const v = this.value[name];
    if (v === null || v === undefined) return null;
    if (typeof v !== 'string')
      throw new PaddleShapeError(this.field(name), `${this.field(name)} must be a string or null.`);
    return v;
  }

  raw(name: string): unknown {
    return this.value[name];
  }

  objectOrNull(name: string): Reader | null {
    const v = this.value[name];
    if (v === null || v === undefined) return null;
    if (!isObject(v)) throw new PaddleShapeError(this.field(name), `${this.field(name)} must be an object.`);
    return new Reader(v, this.field(name));
  }

  object(name: string): Reader {
    const r = this.objectOrNull(name);
    if (r === null) throw new PaddleShapeError(this.field(name), `${this.field(name)} is required.`);
    return r;
  }

  array(name: string): Reader[] {
    const v = this.value[name];
    if (v === null || v === undefined) return [];
    if (!Array.isArray(v)) throw new PaddleShapeError(this.field(name), `${this.field(name)} must be an array.`);
    return v.map((item, i) => {
      const at = `${this.field(name)}[${i}]`;
      if (!isObject(item)) throw new PaddleShapeError(at, `${at} must be an object.`);
      return new Reader(item, at);
    });
  }

  customData(name: string): PaddleCustomData {
    const v = this.value[name];
    return isObject(v) ? v : null;
  }
}

/** Reads a transaction from a Paddle notification's `data`. */
export function readTransaction(data: Json): PaddleTransactionView {
  const r = new Reader(data, 'data');
  const details = r.objectOrNull('details');
  const totals = details?.objectOrNull('totals') ?? null;
  const checkout = r.objectOrNull('checkout');
  return {
    id: r.string('id'),
    status: r.string('status'),
    customerId: r.stringOrNull('customer_id'),
    subscriptionId: r.stringOrNull('subscription_id'),
    currencyCode: r.string('currency_code'),
    customData: r.customData('custom_data'),
    details: details
      ? {
          totals: totals ? { grandTotal: totals.raw('grand_total') as string } : null,
          lineItems: details.array('line_items').map((li) => {
            const t = li.objectOrNull('totals');
            return { id: li.string('id'), totals: t ? { total: t.raw('total') as string } : null };
          }),
        }
      : null,
    checkout: checkout ? { url: checkout.stringOrNull('url') } : null,
    payments: r.array('payments').map((p) => ({ status: p.string('status'), errorCode: p.stringOrNull('error_code') })),
  };
}

/** Reads a subscription from a Paddle notification's `data`. */
export function readSubscription(data: Json): PaddleSubscriptionView {
  const r = new Reader(data, 'data');
  const period = r.objectOrNull('current_billing_period');
  const change = r.objectOrNull('scheduled_change');
  return {
    id: r.string('id'),
    status: r.string('status'),
    customerId: r.stringOrNull('customer_id'),
    customData: r.customData('custom_data'),
    canceledAt: r.stringOrNull('canceled_at'),
    currentBillingPeriod: period ? { endsAt: period.string('ends_at') } : null,
    scheduledChange: change ? { action: change.string('action'), effectiveAt: change.string('effective_at') } : null,
    items: r.array('items').map((item) => {
      const price = item.objectOrNull('price');
      const trial = item.objectOrNull('trial_dates');
      return {
        price: price ? { id: price.string('id'), customData: price.customData('custom_data') } : null,
        trialDates: trial ? { endsAt: trial.string('ends_at') } : null,
      };
    }),
  };
}

/** Reads an adjustment from a Paddle notification's `data`. */
export function readAdjustment(data: Json): PaddleAdjustmentView {
  const r = new Reader(data, 'data');
  return {
    id: r.string('id'),
    action: r.string('action'),
    transactionId: r.string('transaction_id'),
    currencyCode: r.string('currency_code'),
    status: r.string('status'),
    reason: r.stringOrNull('reason'),
    totals: { total: r.object('totals').raw('total') as string },
  };
}

/** Reads a customer from a Paddle notification's `data`. */
export function readCustomer(data: Json): PaddleCustomerView {
  const r = new Reader(data, 'data');
  return {
    id: r.string('id'),
    email: r.stringOrNull('email'),
    name: r.stringOrNull('name'),
    customData: r.customData('custom_data'),
  };
}

// ---- normalization ------------------------------------------------------------------------------

function normalizedObject(type: string, data: Json): { type: PayableEventType; object: ProviderObject | null } {
  const mapped = PADDLE_EVENT_TYPES[type];
  if (mapped === undefined) return { type: 'unknown', object: null };
  const entity = type.slice(0, type.indexOf('.'));
  switch (entity) {
    case 'transaction': {
      const txn = readTransaction(data);
      return { type: mapped, object: { kind: 'payment', ...toPayment(txn, TRANSACTION_EVENT_STATUS[type]) } };
    }
    case 'subscription':
      return { type: mapped, object: { kind: 'subscription', ...toSubscription(readSubscription(data)) } };
    case 'customer':
      return { type: mapped, object: { kind: 'customer', ...toCustomer(readCustomer(data)) } };
    case 'adjustment': {
      const adj = readAdjustment(data);
      if (adj.action !== 'refund') return { type: 'unknown', object: null };
      const refund = toRefund(adj);
      const refundType: PayableEventType =
        refund.status === 'succeeded'
          ? 'refund.succeeded'
          : refund.status === 'failed'
            ? 'refund.failed'
            : 'refund.updated';
      return { type: refundType, object: { kind: 'refund', ...refund } };
    }
    default:
      return { type: 'unknown', object: null };
  }
}

/**
 * Parses a verified Paddle notification body (`{ event_id, event_type, occurred_at, data, … }`)
 * into a normalized event. The id is `event_id` (stable across redeliveries and destinations);
 * `createdAt` is `occurred_at`. A body that is not JSON, or lacks what its type needs, is
 * `INVALID_WEBHOOK_PAYLOAD` with `context.field` naming the place.
 *
 * @example
 * ```ts
 * const event = parsePaddleEvent(Buffer.from(rawBody)); // after verifyPaddleSignature
 * event.type; // 'payment.succeeded' for a transaction.completed
 * ```
 */
export function parsePaddleEvent(payload: Uint8Array): NormalizedEvent {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    throw new InvalidWebhookPayloadError('The Paddle webhook body is not valid JSON.', {
      context: { provider: 'paddle', reason: 'invalid_json' },
    });
  }
  if (!isObject(body)) throw payloadError('body', 'The Paddle webhook body must be a JSON object.');
  const { event_id: id, event_type: providerType, occurred_at: occurredAt, data } = body;
  if (typeof id !== 'string' || id === '') throw payloadError('event_id', 'The Paddle webhook has no event_id.');
  if (typeof providerType !== 'string' || providerType === '') {
    throw payloadError('event_type', 'The Paddle webhook has no event_type.');
  }
  const createdAt = typeof occurredAt === 'string' ? new Date(occurredAt) : new Date(Number.NaN);
  if (Number.isNaN(createdAt.getTime())) throw payloadError('occurred_at', 'occurred_at must be an RFC 3339 date.');
  if (!isObject(data)) throw payloadError('data', 'The Paddle webhook has no data object.');
  try {
    const { type, object } = normalizedObject(providerType, data);
    return { id, type, providerType, createdAt, object };
  } catch (error) {
    if (error instanceof PaddleShapeError) {
      const field = error.field.startsWith('data.') ? error.field : `data.${error.field}`;
      throw payloadError(field, `The Paddle ${providerType} payload is malformed: ${error.message}`);
    }
    throw error;
  }
}
