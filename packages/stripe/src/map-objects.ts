import type {
  CheckoutStatus,
  InvoiceStatus,
  Metadata,
  PaymentStatus,
  ProviderCheckout,
  ProviderCustomer,
  ProviderInvoice,
  ProviderPayment,
  ProviderRefund,
  ProviderSubscription,
  RefundStatus,
  SubscriptionStatus,
} from '@payable/core';

/**
 * Mapping of Stripe objects to Payable's provider shapes. Each mapper reads a plain object, so it
 * works on SDK answers and on webhook payloads alike, across API versions (fields that moved, such
 * as a subscription's `current_period_end` or an invoice's `subscription`, are read from both
 * places).
 */

/** A Stripe object as JSON: read with the helpers below, never trusted blindly. */
export type StripeJson = Readonly<Record<string, unknown>>;

/** The metadata key that refunds carry Payable's free-text reason under (Stripe takes an enum). */
export const REFUND_REASON_METADATA_KEY = 'payable_reason';

/** The refund reasons Stripe accepts as `reason`. */
export const STRIPE_REFUND_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'] as const;

/** Whether `value` is a JSON object (not an array, not null). */
export function isObject(value: unknown): value is StripeJson {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function int(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : null;
}

/** The id of an expandable field: the string itself, or the `id` of the expanded object. */
export function idOf(value: unknown): string | null {
  if (typeof value === 'string') return value || null;
  if (isObject(value)) return str(value.id);
  return null;
}

function date(seconds: unknown): Date | null {
  const n = int(seconds);
  return n === null ? null : new Date(n * 1000);
}

function upper(value: unknown): string {
  return typeof value === 'string' ? value.toUpperCase() : '';
}

function metadataOf(value: unknown): Metadata {
  const out: Metadata = {};
  if (!isObject(value)) return out;
  for (const [key, v] of Object.entries(value)) if (typeof v === 'string') out[key] = v;
  return out;
}

/**
 * A PaymentIntent's status in Payable's vocabulary. `requires_payment_method` after a failed attempt
 * (a `last_payment_error` is set) is `failed`; the payer may still retry with another card.
 * `requires_capture` (authorized, not captured) is `pending`.
 */
export function paymentStatusOf(status: unknown, hasPaymentError: boolean): PaymentStatus {
  switch (status) {
    case 'requires_payment_method':
      return hasPaymentError ? 'failed' : 'pending';
    case 'requires_confirmation':
    case 'requires_capture':
      return 'pending';
    case 'requires_action':
      return 'requires_action';
    case 'processing':
      return 'processing';
    case 'succeeded':
      return 'succeeded';
    case 'canceled':
      return 'canceled';
    default:
      return 'pending';
  }
}

/**
 * A PaymentIntent as a Payable payment. With `latest_charge` expanded, `amountRefunded` and the
 * refunded statuses come from the charge; otherwise `amountRefunded` is left out (unknown).
 */
export function toPayment(pi: StripeJson): ProviderPayment {
  const error = isObject(pi.last_payment_error) ? pi.last_payment_error : null;
  let status = paymentStatusOf(pi.status, error !== null);
  const amount = int(pi.amount) ?? 0;
  const payment: ProviderPayment = {
    providerId: str(pi.id) ?? '',
    status,
    amount,
    currency: upper(pi.currency),
    customerProviderId: idOf(pi.customer),
    description: str(pi.description),
    expiresAt: null,
    failureCode: error ? (str(error.decline_code) ?? str(error.code)) : null,
    failureMessage: error ? str(error.message) : null,
    nextActionUrl: nextActionUrlOf(pi.next_action),
    metadata: metadataOf(pi.metadata),
  };
  const charge = isObject(pi.latest_charge) ? pi.latest_charge : null;
  if (charge !== null) {
    const refunded = int(charge.amount_refunded) ?? 0;
    payment.amountRefunded = refunded;
    if (status === 'succeeded' && refunded > 0) {
      const captured = int(pi.amount_received) ?? amount;
      status = charge.refunded === true || refunded >= captured ? 'refunded' : 'partially_refunded';
      payment.status = status;
    }
  }
  return payment;
}

function nextActionUrlOf(nextAction: unknown): string | null {
  if (!isObject(nextAction)) return null;
  const redirect = nextAction.redirect_to_url;
  return isObject(redirect) ? str(redirect.url) : null;
}

/**
 * A Charge (from `charge.refunded`) as a view of its payment: keyed by the PaymentIntent id (Payable
 * keys Stripe payments by PaymentIntent), with the refunded amount and status.
 */
export function chargeToPayment(charge: StripeJson): ProviderPayment {
  const amount = int(charge.amount) ?? 0;
  const captured = int(charge.amount_captured) ?? amount;
  const refunded = int(charge.amount_refunded) ?? 0;
  let status: PaymentStatus =
    charge.status === 'succeeded' ? 'succeeded' : charge.status === 'failed' ? 'failed' : 'processing';
  if (refunded > 0) status = charge.refunded === true || refunded >= captured ? 'refunded' : 'partially_refunded';
  return {
    providerId: idOf(charge.payment_intent) ?? str(charge.id) ?? '',
    status,
    amount,
    currency: upper(charge.currency),
    amountRefunded: refunded,
    customerProviderId: idOf(charge.customer),
    description: str(charge.description),
    metadata: metadataOf(charge.metadata),
  };
}

/** A Refund's status in Payable's vocabulary (`requires_action` is still `pending`). */
export function refundStatusOf(status: unknown): RefundStatus {
  switch (status) {
    case 'succeeded':
      return 'succeeded';
    case 'failed':
      return 'failed';
    case 'canceled':
      return 'canceled';
    default:
      return 'pending';
  }
}

/** A Refund as a Payable refund; the free-text reason comes back from its metadata. */
export function toRefund(refund: StripeJson): ProviderRefund {
  const metadata = metadataOf(refund.metadata);
  const freeText = metadata[REFUND_REASON_METADATA_KEY] ?? null;
  delete metadata[REFUND_REASON_METADATA_KEY];
  return {
    providerId: str(refund.id) ?? '',
    paymentProviderId: idOf(refund.payment_intent) ?? idOf(refund.charge) ?? '',
    amount: int(refund.amount) ?? 0,
    currency: upper(refund.currency),
    status: refundStatusOf(refund.status),
    reason: freeText ?? str(refund.reason),
    metadata,
  };
}

/** A Customer as a Payable customer. */
export function toCustomer(customer: StripeJson): ProviderCustomer {
  return {
    providerId: str(customer.id) ?? '',
    email: str(customer.email),
    name: str(customer.name),
    metadata: metadataOf(customer.metadata),
  };
}

function checkoutStatusOf(status: unknown): CheckoutStatus {
  return status === 'complete' ? 'complete' : status === 'expired' ? 'expired' : 'open';
}

/** A Checkout Session as a Payable checkout. */
export function toCheckout(session: StripeJson): ProviderCheckout {
  const currency = str(session.currency);
  return {
    providerId: str(session.id) ?? '',
    mode: session.mode === 'subscription' ? 'subscription' : 'payment',
    url: str(session.url) ?? '',
    status: checkoutStatusOf(session.status),
    amount: int(session.amount_total),
    currency: currency === null ? null : currency.toUpperCase(),
    customerProviderId: idOf(session.customer),
    paymentProviderId: idOf(session.payment_intent),
    subscriptionProviderId: idOf(session.subscription),
    expiresAt: date(session.expires_at),
    metadata: metadataOf(session.metadata),
  };
}

/** A Subscription's status in Payable's vocabulary (`incomplete_expired` is `canceled`). */
export function subscriptionStatusOf(status: unknown): SubscriptionStatus {
  switch (status) {
    case 'trialing':
    case 'active':
    case 'past_due':
    case 'paused':
    case 'unpaid':
    case 'canceled':
    case 'incomplete':
      return status;
    case 'incomplete_expired':
      return 'canceled';
    default:
      return 'incomplete';
  }
}

function firstItem(subscription: StripeJson): StripeJson | null {
  const items = subscription.items;
  if (!isObject(items) || !Array.isArray(items.data)) return null;
  const first: unknown = items.data[0];
  return isObject(first) ? first : null;
}

/** A Subscription as a Payable subscription (the price and period of its first item). */
export function toSubscription(subscription: StripeJson): ProviderSubscription {
  const item = firstItem(subscription);
  const price = item ? (idOf(item.price) ?? idOf(item.plan)) : null;
  return {
    providerId: str(subscription.id) ?? '',
    customerProviderId: idOf(subscription.customer),
    priceId: price ?? '',
    status: subscriptionStatusOf(subscription.status),
    // Newer API versions keep the period on the item; older ones on the subscription.
    currentPeriodEnd: date(item?.current_period_end) ?? date(subscription.current_period_end),
    cancelAtPeriodEnd: subscription.cancel_at_period_end === true,
    canceledAt: date(subscription.canceled_at),
    trialEnd: date(subscription.trial_end),
    metadata: metadataOf(subscription.metadata),
  };
}

function invoiceStatusOf(status: unknown): InvoiceStatus {
  switch (status) {
    case 'open':
    case 'paid':
    case 'void':
    case 'uncollectible':
      return status;
    default:
      return 'draft';
  }
}

function invoiceSubscriptionOf(invoice: StripeJson): string | null {
  const parent = invoice.parent;
  if (isObject(parent) && isObject(parent.subscription_details)) {
    const id = idOf(parent.subscription_details.subscription);
    if (id !== null) return id;
  }
  return idOf(invoice.subscription);
}

/** An Invoice as a Payable invoice (`amount` is what is due, `amountPaid` what was paid). */
export function toInvoice(invoice: StripeJson): ProviderInvoice {
  return {
    providerId: str(invoice.id) ?? '',
    customerProviderId: idOf(invoice.customer),
    subscriptionProviderId: invoiceSubscriptionOf(invoice),
    amount: int(invoice.amount_due) ?? int(invoice.total) ?? 0,
    amountPaid: int(invoice.amount_paid) ?? 0,
    currency: upper(invoice.currency),
    status: invoiceStatusOf(invoice.status),
    hostedUrl: str(invoice.hosted_invoice_url),
    metadata: metadataOf(invoice.metadata),
  };
}
