import type {
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
import { parsePaddleAmount } from './amount.js';

// The views below are the few fields Payable reads, in the SDK's camelCase. The SDK's entity
// classes (Transaction, Subscription, Adjustment, Customer) satisfy them structurally; webhook
// payloads (snake_case JSON) are read into them by paddle-events.ts.

/** Custom data as Paddle keeps it: any JSON object. */
export type PaddleCustomData = Record<string, unknown> | null;

/** The fields of a Paddle transaction Payable reads. */
export interface PaddleTransactionView {
  readonly id: string;
  readonly status: string;
  readonly customerId: string | null;
  readonly subscriptionId: string | null;
  readonly currencyCode: string;
  readonly customData: PaddleCustomData;
  readonly details: {
    readonly totals: { readonly grandTotal: string } | null;
    readonly lineItems: readonly {
      readonly id: string;
      readonly totals: { readonly total: string } | null;
    }[];
  } | null;
  readonly checkout: { readonly url: string | null } | null;
  readonly payments: readonly { readonly status: string; readonly errorCode: string | null }[];
}

/** The fields of a Paddle subscription Payable reads. */
export interface PaddleSubscriptionView {
  readonly id: string;
  readonly status: string;
  readonly customerId: string | null;
  readonly customData: PaddleCustomData;
  readonly canceledAt: string | null;
  readonly currentBillingPeriod: { readonly endsAt: string } | null;
  readonly scheduledChange: { readonly action: string; readonly effectiveAt: string } | null;
  readonly items: readonly {
    readonly price: { readonly id: string; readonly customData: PaddleCustomData } | null;
    readonly trialDates: { readonly endsAt: string } | null;
  }[];
}

/** The fields of a Paddle adjustment Payable reads. */
export interface PaddleAdjustmentView {
  readonly id: string;
  readonly action: string;
  readonly transactionId: string;
  readonly currencyCode: string;
  readonly status: string;
  readonly reason: string | null;
  readonly totals: { readonly total: string };
}

/** The fields of a Paddle customer Payable reads. */
export interface PaddleCustomerView {
  readonly id: string;
  readonly email: string | null;
  readonly name: string | null;
  readonly customData: PaddleCustomData;
}

/** A Paddle object did not have the shape Payable needs; `field` names the place. */
export class PaddleShapeError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.name = 'PaddleShapeError';
    this.field = field;
  }
}

/**
 * The key of a non-catalog price's custom data that remembers the catalog price it stands for
 * (Payable creates one for a subscription with a trial that the catalog price does not have).
 */
export const CATALOG_PRICE_KEY = 'payable_catalog_price_id';

/** Parses a Paddle amount at `field`, or throws a `PaddleShapeError` naming it. */
export function amountOf(value: unknown, field: string): number {
  const amount = parsePaddleAmount(value);
  if (amount === null) {
    throw new PaddleShapeError(
      field,
      `${field} must be a string of digits in minor units, got ${JSON.stringify(value)}.`,
    );
  }
  return amount;
}

function date(value: string | null | undefined, field: string): Date | null {
  if (value === null || value === undefined) return null;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new PaddleShapeError(field, `${field} is not a date: ${JSON.stringify(value)}.`);
  return d;
}

/** Paddle custom data → Payable metadata: the string values (metadata is string to string). */
export function metadataOf(customData: PaddleCustomData): Metadata {
  const metadata: Metadata = {};
  if (!customData) return metadata;
  for (const [key, value] of Object.entries(customData)) if (typeof value === 'string') metadata[key] = value;
  return metadata;
}

/** The amount a transaction is for: `details.totals.grand_total` (tax included), exactly. */
export function transactionAmount(txn: PaddleTransactionView): number {
  return amountOf(txn.details?.totals?.grandTotal, 'details.totals.grand_total');
}

/** A transaction status → Payable's payment status. */
export function paymentStatusOf(status: string): PaymentStatus {
  switch (status) {
    case 'paid':
    case 'completed':
      return 'succeeded';
    case 'canceled':
      return 'canceled';
    case 'past_due':
      return 'failed';
    default:
      // draft, ready, billed: awaiting payment.
      return 'pending';
  }
}

/** A transaction as a payment; `status` overrides the transaction's own (an event's verdict). */
export function toPayment(txn: PaddleTransactionView, status?: PaymentStatus): ProviderPayment {
  const resolved = status ?? paymentStatusOf(txn.status);
  const failed = [...txn.payments].reverse().find((p) => p.status === 'error' || p.status === 'canceled');
  return {
    providerId: txn.id,
    status: resolved,
    amount: transactionAmount(txn),
    currency: txn.currencyCode.toUpperCase(),
    customerProviderId: txn.customerId,
    description: null,
    failureCode: resolved === 'failed' ? (failed?.errorCode ?? 'payment_failed') : null,
    failureMessage: null,
    nextActionUrl: resolved === 'pending' ? (txn.checkout?.url ?? null) : null,
    metadata: metadataOf(txn.customData),
  };
}

/** A transaction opened for checkout, as a hosted checkout. */
export function toCheckout(txn: PaddleTransactionView, mode: 'payment' | 'subscription'): ProviderCheckout {
  const url = txn.checkout?.url;
  if (!url) throw new PaddleShapeError('checkout.url', 'The transaction has no checkout URL.');
  const status = paymentStatusOf(txn.status);
  return {
    providerId: txn.id,
    mode,
    url,
    status: status === 'succeeded' ? 'complete' : status === 'pending' ? 'open' : 'expired',
    amount: transactionAmount(txn),
    currency: txn.currencyCode.toUpperCase(),
    customerProviderId: txn.customerId,
    paymentProviderId: txn.id,
    subscriptionProviderId: txn.subscriptionId,
    expiresAt: null,
    metadata: metadataOf(txn.customData),
  };
}

/** A transaction status → Payable's invoice status. */
export function invoiceStatusOf(status: string): InvoiceStatus {
  switch (status) {
    case 'paid':
    case 'completed':
      return 'paid';
    case 'canceled':
      return 'void';
    case 'billed':
    case 'past_due':
      return 'open';
    default:
      return 'draft';
  }
}

/** A billed or paid transaction as an invoice. */
export function toInvoice(txn: PaddleTransactionView): ProviderInvoice {
  const amount = transactionAmount(txn);
  const status = invoiceStatusOf(txn.status);
  return {
    providerId: txn.id,
    customerProviderId: txn.customerId,
    subscriptionProviderId: txn.subscriptionId,
    amount,
    amountPaid: status === 'paid' ? amount : 0,
    currency: txn.currencyCode.toUpperCase(),
    status,
    hostedUrl: txn.checkout?.url ?? null,
    metadata: metadataOf(txn.customData),
  };
}

/** A subscription status → Payable's (the names match; anything new reads as `active`). */
export function subscriptionStatusOf(status: string): SubscriptionStatus {
  switch (status) {
    case 'trialing':
    case 'past_due':
    case 'paused':
    case 'canceled':
    case 'active':
      return status;
    default:
      return 'active';
  }
}

/** A Paddle subscription as Payable's. The price is the first item's (its catalog price, when known). */
export function toSubscription(sub: PaddleSubscriptionView): ProviderSubscription {
  const item = sub.items[0];
  const price = item?.price;
  if (!price) throw new PaddleShapeError('items[0].price.id', 'The subscription has no priced item.');
  const catalog = price.customData?.[CATALOG_PRICE_KEY];
  const status = subscriptionStatusOf(sub.status);
  return {
    providerId: sub.id,
    customerProviderId: sub.customerId,
    priceId: typeof catalog === 'string' && catalog !== '' ? catalog : price.id,
    status,
    currentPeriodEnd: date(sub.currentBillingPeriod?.endsAt, 'current_billing_period.ends_at'),
    cancelAtPeriodEnd: sub.scheduledChange?.action === 'cancel',
    canceledAt: date(sub.canceledAt, 'canceled_at'),
    trialEnd: date(item.trialDates?.endsAt, 'items[0].trial_dates.ends_at'),
    metadata: metadataOf(sub.customData),
  };
}

/** An adjustment status → Payable's refund status. */
export function refundStatusOf(status: string): RefundStatus {
  switch (status) {
    case 'approved':
      return 'succeeded';
    case 'rejected':
      return 'failed';
    case 'reversed':
      return 'canceled';
    default:
      // pending_approval: Paddle reviews refunds before they are paid out.
      return 'pending';
  }
}

/** A refund adjustment as a refund. */
export function toRefund(adj: PaddleAdjustmentView): ProviderRefund {
  return {
    providerId: adj.id,
    paymentProviderId: adj.transactionId,
    amount: amountOf(adj.totals.total, 'totals.total'),
    currency: adj.currencyCode.toUpperCase(),
    status: refundStatusOf(adj.status),
    reason: adj.reason,
  };
}

/** A Paddle customer as Payable's. */
export function toCustomer(customer: PaddleCustomerView): ProviderCustomer {
  return {
    providerId: customer.id,
    email: customer.email,
    name: customer.name,
    metadata: metadataOf(customer.customData),
  };
}
