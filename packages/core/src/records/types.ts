/** Free-form string metadata attached to a record (never secrets). */
export type Metadata = Record<string, string>;

/** The kinds of billing record Payable keeps. */
export type RecordKind = 'customer' | 'payment' | 'refund' | 'subscription' | 'invoice' | 'checkout';

/** Fields every billing record carries. */
export interface RecordBase {
  /** Payable's own id, e.g. `pay_01J…`. */
  id: string;
  /** The tenant (merchant) the record belongs to; `null` in single-tenant apps. */
  tenantId: string | null;
  /** The registered provider name (the key in `createPayable({ providers })`). */
  provider: string;
  /** The provider's own id for the object. */
  providerId: string;
  metadata: Metadata;
  createdAt: Date;
  updatedAt: Date;
}

/** A customer. `email` and `name` are PII and are encrypted at rest when encryption is configured. */
export interface CustomerRecord extends RecordBase {
  email: string | null;
  name: string | null;
}

/**
 * Where a payment is in its life. Transitions are monotonic: see `canTransitionPayment`.
 * `underpaid` is for Lightning invoices paid below the tolerated amount.
 */
export type PaymentStatus =
  | 'pending'
  | 'requires_action'
  | 'processing'
  | 'succeeded'
  | 'failed'
  | 'canceled'
  | 'expired'
  | 'underpaid'
  | 'partially_refunded'
  | 'refunded';

/** The rate quote locked on a Lightning payment priced in fiat. */
export interface LightningQuote {
  fiatAmount: number;
  fiatCurrency: string;
  sats: number;
  /** Sats per one major unit of the fiat currency, as a decimal string. */
  rate: string;
  quotedAt: Date;
}

/** Lightning details of a payment made through a BOLT-11 invoice. */
export interface LightningDetails {
  paymentRequest: string;
  paymentHash: string;
  /** Invoice amount in millisatoshis, as a decimal string (a bigint does not survive JSON). */
  amountMsat: string | null;
  /** Amount received, in millisatoshis, once paid. */
  amountPaidMsat: string | null;
  /** The preimage revealed at settlement: the receipt. Only stored after sha256(preimage) = paymentHash. */
  preimage: string | null;
  quote: LightningQuote | null;
}

/** A payment (charge, PaymentIntent, transaction, invoice paid over Lightning). */
export interface PaymentRecord extends RecordBase {
  /** Integer amount in the currency's minor unit (satoshis for BTC). */
  amount: number;
  /** ISO 4217 code, upper case (`BTC` for Lightning). */
  currency: string;
  status: PaymentStatus;
  amountRefunded: number;
  customerId: string | null;
  description: string | null;
  expiresAt: Date | null;
  failureCode: string | null;
  failureMessage: string | null;
  /** A URL the payer completes the payment at, when the provider gives one. */
  nextActionUrl: string | null;
  lightning: LightningDetails | null;
}

/** Where a refund is in its life. */
export type RefundStatus = 'pending' | 'succeeded' | 'failed' | 'canceled';

/** A refund of (part of) a payment. */
export interface RefundRecord extends RecordBase {
  paymentId: string | null;
  amount: number;
  currency: string;
  status: RefundStatus;
  reason: string | null;
}

/** Where a subscription is in its life. */
export type SubscriptionStatus = 'incomplete' | 'trialing' | 'active' | 'past_due' | 'paused' | 'unpaid' | 'canceled';

/** A recurring subscription to a price. */
export interface SubscriptionRecord extends RecordBase {
  customerId: string | null;
  priceId: string;
  status: SubscriptionStatus;
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  canceledAt: Date | null;
  trialEnd: Date | null;
}

/** Where an invoice is in its life. */
export type InvoiceStatus = 'draft' | 'open' | 'paid' | 'void' | 'uncollectible';

/** A provider invoice (a bill), as listed by `listInvoices`. */
export interface InvoiceRecord extends RecordBase {
  customerId: string | null;
  subscriptionId: string | null;
  amount: number;
  amountPaid: number;
  currency: string;
  status: InvoiceStatus;
  hostedUrl: string | null;
}

/** Where a hosted checkout is in its life. */
export type CheckoutStatus = 'open' | 'complete' | 'expired';

/** A hosted checkout session the customer is redirected to. */
export interface CheckoutRecord extends RecordBase {
  mode: 'payment' | 'subscription';
  url: string;
  status: CheckoutStatus;
  amount: number | null;
  currency: string | null;
  customerId: string | null;
  paymentId: string | null;
  subscriptionId: string | null;
  expiresAt: Date | null;
}

/** The record type stored for each kind. */
export interface RecordByKind {
  customer: CustomerRecord;
  payment: PaymentRecord;
  refund: RefundRecord;
  subscription: SubscriptionRecord;
  invoice: InvoiceRecord;
  checkout: CheckoutRecord;
}

/** Any billing record. */
export type AnyRecord = RecordByKind[RecordKind];

/** A page of a list: `{ data, hasMore, nextCursor }`, the shape of every list route too. */
export interface Page<T> {
  data: T[];
  hasMore: boolean;
  nextCursor: string | null;
}
