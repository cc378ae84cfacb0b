import type {
  CheckoutStatus,
  InvoiceStatus,
  PaymentStatus,
  RecordKind,
  RefundStatus,
  SubscriptionStatus,
} from './types.js';

const IN_FLIGHT: PaymentStatus[] = ['pending', 'requires_action', 'processing'];
const SETTLED: PaymentStatus[] = ['succeeded', 'partially_refunded', 'refunded'];

/**
 * Which payment status may follow which. Money moved wins: a succeeded payment only moves on to
 * refunds, and a late `failed`, `canceled` or `expired` never undoes it; `refunded` is final.
 */
const PAYMENT_NEXT: Record<PaymentStatus, readonly PaymentStatus[]> = {
  pending: ['requires_action', 'processing', 'succeeded', 'failed', 'canceled', 'expired', 'underpaid'],
  requires_action: ['processing', 'succeeded', 'failed', 'canceled', 'expired', 'underpaid'],
  processing: ['requires_action', 'succeeded', 'failed', 'canceled', 'expired', 'underpaid'],
  // A failed attempt can be retried by the customer (another card): it may still succeed.
  failed: ['requires_action', 'processing', 'succeeded', 'canceled', 'expired'],
  underpaid: ['succeeded', 'partially_refunded', 'refunded', 'canceled', 'expired'],
  // Money that arrives after expiry or cancellation is real money: record it.
  expired: ['succeeded', 'underpaid'],
  canceled: ['succeeded'],
  succeeded: ['partially_refunded', 'refunded'],
  partially_refunded: ['refunded'],
  refunded: [],
};

const REFUND_NEXT: Record<RefundStatus, readonly RefundStatus[]> = {
  pending: ['succeeded', 'failed', 'canceled'],
  succeeded: ['failed'], // a refund can fail after it was reported successful (Stripe: refund.failed)
  failed: [],
  canceled: [],
};

const SUBSCRIPTION_NEXT: Record<SubscriptionStatus, readonly SubscriptionStatus[]> = {
  incomplete: ['trialing', 'active', 'past_due', 'unpaid', 'paused', 'canceled'],
  trialing: ['active', 'past_due', 'unpaid', 'paused', 'canceled'],
  active: ['past_due', 'unpaid', 'paused', 'canceled'],
  past_due: ['active', 'unpaid', 'paused', 'canceled'],
  unpaid: ['active', 'past_due', 'paused', 'canceled'],
  paused: ['active', 'trialing', 'past_due', 'canceled'],
  canceled: [],
};

const CHECKOUT_NEXT: Record<CheckoutStatus, readonly CheckoutStatus[]> = {
  open: ['complete', 'expired'],
  complete: [],
  expired: [],
};

const INVOICE_NEXT: Record<InvoiceStatus, readonly InvoiceStatus[]> = {
  draft: ['open', 'paid', 'void', 'uncollectible'],
  open: ['paid', 'void', 'uncollectible'],
  uncollectible: ['paid', 'void'],
  paid: [],
  void: [],
};

const TABLES: Partial<Record<RecordKind, Record<string, readonly string[]>>> = {
  payment: PAYMENT_NEXT,
  refund: REFUND_NEXT,
  subscription: SUBSCRIPTION_NEXT,
  checkout: CHECKOUT_NEXT,
  invoice: INVOICE_NEXT,
};

/**
 * Whether a record of `kind` may move from status `from` to `to`. Staying put is allowed (fields
 * may still change); kinds without a status (customers) always may.
 *
 * @example
 * ```ts
 * canTransition('payment', 'succeeded', 'failed'); // false: a late failure never undoes a success
 * ```
 */
export function canTransition(kind: RecordKind, from: string, to: string): boolean {
  if (from === to) return true;
  const table = TABLES[kind];
  if (!table) return true;
  return table[from]?.includes(to) ?? false;
}

/** Whether a payment in `status` has been paid (and so may be refunded). */
export function isSettledPayment(status: PaymentStatus): boolean {
  return SETTLED.includes(status) || status === 'underpaid';
}

/** Whether a payment in `status` is still waiting for the payer. */
export function isInFlightPayment(status: PaymentStatus): boolean {
  return IN_FLIGHT.includes(status);
}
