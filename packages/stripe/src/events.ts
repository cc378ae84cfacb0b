import {
  InvalidWebhookPayloadError,
  type NormalizedEvent,
  type PayableError,
  type PayableEventType,
  type ProviderObject,
} from '@payable/core';
import {
  chargeToPayment,
  isObject,
  type StripeJson,
  toCheckout,
  toCustomer,
  toInvoice,
  toPayment,
  toRefund,
  toSubscription,
} from './map-objects.js';

/**
 * Stripe event types and the Payable event type each is stored as. Any other Stripe type is stored
 * as `unknown` (its Stripe type kept in `providerType`) with no object to apply.
 *
 * Two rules refine this table:
 * - `refund.created` and `refund.updated` are `refund.succeeded` / `refund.failed` when the refund
 *   in the payload is `succeeded` / `failed`, and `refund.updated` otherwise.
 * - `charge.refunded` carries the **payment** (keyed by its PaymentIntent) with `amountRefunded` and
 *   status `partially_refunded` or `refunded`, since Stripe no longer embeds the refunds in it.
 *
 * @example
 * ```ts
 * STRIPE_EVENT_MAP['payment_intent.succeeded']; // 'payment.succeeded'
 * STRIPE_EVENT_MAP['customer.subscription.deleted']; // 'subscription.canceled'
 * ```
 */
export const STRIPE_EVENT_MAP = {
  'payment_intent.succeeded': 'payment.succeeded',
  'payment_intent.payment_failed': 'payment.failed',
  'payment_intent.canceled': 'payment.canceled',
  'payment_intent.processing': 'payment.processing',
  'payment_intent.requires_action': 'payment.requires_action',
  'charge.refunded': 'refund.succeeded',
  'refund.created': 'refund.updated',
  'refund.updated': 'refund.updated',
  'refund.failed': 'refund.failed',
  'checkout.session.completed': 'checkout.completed',
  'checkout.session.expired': 'checkout.expired',
  'customer.created': 'customer.created',
  'customer.updated': 'customer.updated',
  'customer.subscription.created': 'subscription.created',
  'customer.subscription.updated': 'subscription.updated',
  'customer.subscription.deleted': 'subscription.canceled',
  'customer.subscription.paused': 'subscription.paused',
  'customer.subscription.resumed': 'subscription.resumed',
  'invoice.paid': 'invoice.paid',
  'invoice.payment_failed': 'invoice.payment_failed',
} as const satisfies Readonly<Record<string, PayableEventType>>;

/** A Stripe event type Payable maps, e.g. `'payment_intent.succeeded'`. */
export type StripeMappedEventType = keyof typeof STRIPE_EVENT_MAP;

/**
 * The Stripe event types to enable on the webhook endpoint in the Stripe dashboard (every key of
 * {@link STRIPE_EVENT_MAP}).
 *
 * @example
 * ```ts
 * await stripe.webhookEndpoints.create({ url, enabled_events: [...STRIPE_WEBHOOK_EVENTS] });
 * ```
 */
export const STRIPE_WEBHOOK_EVENTS = Object.freeze(Object.keys(STRIPE_EVENT_MAP)) as readonly StripeMappedEventType[];

function isMapped(type: string): type is StripeMappedEventType {
  return Object.hasOwn(STRIPE_EVENT_MAP, type);
}

function invalid(reason: string, message: string): PayableError {
  return new InvalidWebhookPayloadError(message, { context: { provider: 'stripe', reason } });
}

/** The object a mapped event is about, in Payable's shape; `null` when the payload lacks it. */
function objectOf(type: StripeMappedEventType, data: StripeJson): ProviderObject | null {
  const kindOk = (expected: string) => data.object === undefined || data.object === expected;
  if (type.startsWith('payment_intent.'))
    return kindOk('payment_intent') ? { kind: 'payment', ...toPayment(data) } : null;
  if (type === 'charge.refunded') return kindOk('charge') ? { kind: 'payment', ...chargeToPayment(data) } : null;
  if (type.startsWith('refund.')) return kindOk('refund') ? { kind: 'refund', ...toRefund(data) } : null;
  if (type.startsWith('checkout.session.')) {
    return kindOk('checkout.session') ? { kind: 'checkout', ...toCheckout(data) } : null;
  }
  if (type.startsWith('customer.subscription.')) {
    return kindOk('subscription') ? { kind: 'subscription', ...toSubscription(data) } : null;
  }
  if (type.startsWith('invoice.')) return kindOk('invoice') ? { kind: 'invoice', ...toInvoice(data) } : null;
  if (type.startsWith('customer.')) return kindOk('customer') ? { kind: 'customer', ...toCustomer(data) } : null;
  return null;
}

/**
 * Normalizes a verified Stripe event (the parsed webhook body) to Payable's event. PaymentIntent
 * events and `charge.refunded` set `refetch: true`: Stripe does not guarantee delivery order, so
 * the core reads the PaymentIntent's current state before applying it. A body that is not a Stripe
 * event (`{ id, type, created, data: { object } }`) is `INVALID_WEBHOOK_PAYLOAD`.
 *
 * @example
 * ```ts
 * const event = normalizeStripeEvent(JSON.parse(rawBody));
 * event.type; // 'payment.succeeded'
 * ```
 */
export function normalizeStripeEvent(body: unknown): NormalizedEvent {
  if (!isObject(body)) throw invalid('not_an_event', 'The Stripe webhook body is not a JSON object.');
  const { id, type, created, data } = body;
  if (typeof id !== 'string' || id === '') throw invalid('missing_id', 'The Stripe event has no id.');
  if (typeof type !== 'string' || type === '') throw invalid('missing_type', 'The Stripe event has no type.');
  if (typeof created !== 'number' || !Number.isFinite(created)) {
    throw invalid('missing_created', 'The Stripe event has no created time.');
  }
  const createdAt = new Date(created * 1000);
  if (!isMapped(type)) {
    return { id, type: 'unknown', providerType: type, createdAt, object: null };
  }
  const subject = isObject(data) && isObject(data.object) ? data.object : null;
  if (subject === null) throw invalid('missing_object', `The Stripe ${type} event has no data.object.`);
  const object = objectOf(type, subject);
  let payableType: PayableEventType = STRIPE_EVENT_MAP[type];
  if ((type === 'refund.created' || type === 'refund.updated') && object?.kind === 'refund') {
    if (object.status === 'succeeded') payableType = 'refund.succeeded';
    if (object.status === 'failed') payableType = 'refund.failed';
  }
  const event: NormalizedEvent = { id, type: payableType, providerType: type, createdAt, object };
  const paymentId = object?.kind === 'payment' ? object.providerId : '';
  if (paymentId.startsWith('pi_')) event.refetch = true;
  return event;
}
