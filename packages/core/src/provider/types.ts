import type {
  CheckoutStatus,
  InvoiceStatus,
  LightningDetails,
  Metadata,
  PaymentStatus,
  RefundStatus,
  SubscriptionStatus,
} from '../records/types.js';

/**
 * What a provider can do. Capabilities are data: core checks them before calling an operation.
 * `webhooks` means the provider verifies inbound webhooks; `lightning` that it issues BOLT-11
 * invoices; `holdInvoices` that it can hold an invoice until settled with a preimage.
 */
export const CAPABILITIES = [
  'charges',
  'checkout',
  'refunds',
  'customers',
  'subscriptions',
  'invoices',
  'webhooks',
  'lightning',
  'holdInvoices',
] as const;

/** One capability name. */
export type Capability = (typeof CAPABILITIES)[number];

/** Per-call context the core hands a provider. */
export interface ProviderContext {
  /** Forwarded to providers with native idempotency (`idempotency: 'native'`). */
  idempotencyKey: string | null;
  tenantId: string | null;
}

/** A payment as the provider reports it. Amounts are integer minor units. */
export interface ProviderPayment {
  providerId: string;
  status: PaymentStatus;
  amount: number;
  currency: string;
  amountRefunded?: number;
  customerProviderId?: string | null;
  description?: string | null;
  expiresAt?: Date | null;
  failureCode?: string | null;
  failureMessage?: string | null;
  nextActionUrl?: string | null;
  lightning?: LightningDetails | null;
  metadata?: Metadata;
}

/** A refund as the provider reports it. */
export interface ProviderRefund {
  providerId: string;
  paymentProviderId: string;
  amount: number;
  currency: string;
  status: RefundStatus;
  reason?: string | null;
  metadata?: Metadata;
}

/** A customer as the provider reports it. */
export interface ProviderCustomer {
  providerId: string;
  email: string | null;
  name: string | null;
  metadata?: Metadata;
}

/** A hosted checkout as the provider reports it. */
export interface ProviderCheckout {
  providerId: string;
  mode: 'payment' | 'subscription';
  url: string;
  status: CheckoutStatus;
  amount: number | null;
  currency: string | null;
  customerProviderId?: string | null;
  paymentProviderId?: string | null;
  subscriptionProviderId?: string | null;
  expiresAt?: Date | null;
  metadata?: Metadata;
}

/** A subscription as the provider reports it. */
export interface ProviderSubscription {
  providerId: string;
  customerProviderId: string | null;
  priceId: string;
  status: SubscriptionStatus;
  currentPeriodEnd?: Date | null;
  cancelAtPeriodEnd?: boolean;
  canceledAt?: Date | null;
  trialEnd?: Date | null;
  metadata?: Metadata;
}

/** An invoice as the provider reports it. */
export interface ProviderInvoice {
  providerId: string;
  customerProviderId: string | null;
  subscriptionProviderId: string | null;
  amount: number;
  amountPaid: number;
  currency: string;
  status: InvoiceStatus;
  hostedUrl?: string | null;
  metadata?: Metadata;
}

/** A provider object carried by a webhook event, tagged with its kind. */
export type ProviderObject =
  | ({ kind: 'payment' } & ProviderPayment)
  | ({ kind: 'refund' } & ProviderRefund)
  | ({ kind: 'customer' } & ProviderCustomer)
  | ({ kind: 'checkout' } & ProviderCheckout)
  | ({ kind: 'subscription' } & ProviderSubscription)
  | ({ kind: 'invoice' } & ProviderInvoice);

/**
 * Payable's event vocabulary. Provider events are normalized to these; anything else keeps its
 * provider type in `providerType` and has type `unknown`.
 */
export const EVENT_TYPES = [
  'payment.succeeded',
  'payment.failed',
  'payment.canceled',
  'payment.expired',
  'payment.processing',
  'payment.underpaid',
  'payment.requires_action',
  'refund.succeeded',
  'refund.failed',
  'refund.updated',
  'checkout.completed',
  'checkout.expired',
  'customer.created',
  'customer.updated',
  'subscription.created',
  'subscription.updated',
  'subscription.canceled',
  'subscription.paused',
  'subscription.resumed',
  'invoice.paid',
  'invoice.payment_failed',
  'unknown',
] as const;

/** A normalized event type, e.g. `'payment.succeeded'`. */
export type PayableEventType = (typeof EVENT_TYPES)[number];

/** JSON values, as parsed from a webhook body. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A verified, normalized webhook event, as a provider returns it from `verifyWebhook`. */
export interface NormalizedEvent {
  /** The provider's own event id, stable across redeliveries: the dedupe key. */
  id: string;
  type: PayableEventType;
  /** The provider's own event type, e.g. `payment_intent.succeeded`. */
  providerType: string;
  createdAt: Date;
  /** The object the event is about, mapped to Payable's shape; `null` when there is none. */
  object: ProviderObject | null;
  /**
   * `true` when the payload may be stale (out-of-order delivery, or only an id is signed): the
   * core re-fetches the object with the provider's `getPayment` before applying it.
   */
  refetch?: boolean;
}

/** What a provider's webhook verifier receives: the exact raw bytes and lowercased headers. */
export interface WebhookVerifyInput {
  payload: Buffer;
  headers: Readonly<Record<string, string>>;
  /** A secret overriding the provider's configured one (per-tenant secrets). */
  secret?: string;
  /** A header name overriding the provider's own signature header. */
  signatureHeader?: string;
  /** The time to check timestamp tolerances against. */
  now: Date;
}

/** Charge input handed to a provider, with Payable ids already resolved to the provider's ids. */
export interface ProviderChargeInput {
  amount: number;
  currency: string;
  customerProviderId: string | null;
  description: string | null;
  metadata: Metadata;
  /** Seconds until the payment expires (Lightning invoices: the invoice expiry, exactly). */
  expiresIn: number | null;
  /** `false` to authorize only and capture later, where supported. */
  capture: boolean;
  /**
   * Lightning: SHA-256 (64 hex) of a description given out of band, written in the invoice's `h`
   * field instead of `description` (LNURL-pay). Only set for providers with the `lightning` capability.
   */
  descriptionHash?: string | null;
}

/** Refund input handed to a provider. */
export interface ProviderRefundInput {
  paymentProviderId: string;
  /** Integer minor units; always set (core fills in the rest of the payment). */
  amount: number;
  currency: string;
  reason: string | null;
  metadata: Metadata;
}

/** Customer input handed to a provider. */
export interface ProviderCustomerInput {
  email: string | null;
  name: string | null;
  metadata: Metadata;
}

/** Checkout input handed to a provider. */
export interface ProviderCheckoutInput {
  mode: 'payment' | 'subscription';
  amount: number | null;
  currency: string | null;
  priceId: string | null;
  successUrl: string;
  cancelUrl: string;
  customerProviderId: string | null;
  metadata: Metadata;
}

/** Subscription input handed to a provider. */
export interface ProviderSubscribeInput {
  customerProviderId: string;
  priceId: string;
  trialDays: number | null;
  metadata: Metadata;
}

/** Invoice query handed to a provider. */
export interface ProviderInvoiceQuery {
  customerProviderId: string | null;
  subscriptionProviderId: string | null;
  limit: number;
}

/**
 * One message of a provider's settlement stream (LND's invoice subscription), ready for the inbox.
 *
 * @example
 * ```ts
 * const update: SettlementUpdate = { event, payload: line, cursor: '42' };
 * ```
 */
export interface SettlementUpdate {
  /** The normalized event; its id is stable across redeliveries, e.g. `lnd:<payment_hash>:settled`. */
  event: NormalizedEvent;
  /** The message as received (stored as the event's raw payload). */
  payload: string;
  /**
   * The stream position to resume after, once this update is durably stored (LND: the settle
   * index); `null` when the update moves no position (an invoice added, held or canceled).
   */
  cursor: string | null;
}

/**
 * What `subscribeSettlements` receives.
 *
 * @example
 * ```ts
 * for await (const update of lnd.subscribeSettlements({ cursor: '41', signal })) store(update);
 * ```
 */
export interface SettlementStreamOptions {
  /** Resume after this position (from a `SettlementUpdate.cursor`); `null` streams from now on. */
  cursor: string | null;
  /** Aborted to stop the stream. */
  signal: AbortSignal;
  /** Called once the stream is established, before the updates it delivers. */
  onConnected?: () => void;
}

/** A provider's view of its own health, for `/health` and `payable doctor`. */
export interface ProviderHealth {
  ok: boolean;
  details?: Record<string, unknown>;
  warnings?: string[];
}

/**
 * The provider port. A provider declares its capabilities as a const list and implements the
 * operations those capabilities name; core never calls an operation the list lacks.
 *
 * @example
 * ```ts
 * const payable = createPayable({ providers: { stripe: new StripeProvider({ ... }) } });
 * ```
 */
export interface PaymentProvider<C extends Capability = Capability> {
  /** The kind of provider, e.g. `'stripe'` (the registered name may differ). */
  readonly name: string;
  /** What it can do. */
  readonly capabilities: readonly C[];
  /** `native` when the provider accepts an idempotency key itself (core forwards it). */
  readonly idempotency: 'native' | 'none';
  /** The header carrying the webhook signature, e.g. `stripe-signature`. */
  readonly signatureHeader: string;

  charge?(input: ProviderChargeInput, ctx: ProviderContext): Promise<ProviderPayment>;
  getPayment?(providerId: string, ctx: ProviderContext): Promise<ProviderPayment>;
  refund?(input: ProviderRefundInput, ctx: ProviderContext): Promise<ProviderRefund>;
  createCustomer?(input: ProviderCustomerInput, ctx: ProviderContext): Promise<ProviderCustomer>;
  getCustomer?(providerId: string, ctx: ProviderContext): Promise<ProviderCustomer>;
  createCheckout?(input: ProviderCheckoutInput, ctx: ProviderContext): Promise<ProviderCheckout>;
  subscribe?(input: ProviderSubscribeInput, ctx: ProviderContext): Promise<ProviderSubscription>;
  cancelSubscription?(
    providerId: string,
    options: { atPeriodEnd: boolean },
    ctx: ProviderContext,
  ): Promise<ProviderSubscription>;
  listInvoices?(query: ProviderInvoiceQuery, ctx: ProviderContext): Promise<ProviderInvoice[]>;

  /**
   * Verify a webhook over the exact raw bytes and normalize it. Throws
   * `InvalidWebhookSignatureError` or `InvalidWebhookPayloadError`; compares signatures in
   * constant time; checks the signature timestamp's tolerance against `input.now`.
   */
  verifyWebhook(input: WebhookVerifyInput): Promise<NormalizedEvent>;

  /** Reachability and warnings (e.g. zero inbound liquidity). */
  health?(): Promise<ProviderHealth>;

  /**
   * Lightning: how a settlement is proven. `'preimage'` (the default for a provider with the
   * `lightning` capability): Payable credits a settlement only with a preimage whose SHA-256 is the
   * payment hash. `'none'`: the provider cannot return preimages (a custodial service), so Payable
   * credits on its verified word; a preimage it does send must still match.
   */
  readonly settlementProof?: 'preimage' | 'none';

  /**
   * Lightning nodes without webhooks (LND): the invoice updates, resumed after `options.cursor`.
   * The iterable ends or throws when the connection drops; `payable.lightning.listen()` feeds each
   * update into the webhook inbox, records its cursor, and reconnects with backoff.
   */
  subscribeSettlements?(options: SettlementStreamOptions): AsyncIterable<SettlementUpdate>;
}

/** The capabilities a provider type declares. */
export type CapabilitiesOf<P> = P extends PaymentProvider<infer C> ? C : never;

/** The registered provider names (of a `providers` map) whose provider has capability `Cap`. */
export type ProviderNamesWith<P extends Record<string, PaymentProvider>, Cap extends Capability> = {
  [K in keyof P & string]: Cap extends CapabilitiesOf<P[K]> ? K : never;
}[keyof P & string];
