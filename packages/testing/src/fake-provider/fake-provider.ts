import { createHash, randomBytes } from 'node:crypto';
import {
  type Capability,
  type Clock,
  InternalError,
  InvalidWebhookPayloadError,
  type JsonValue,
  type Metadata,
  type PayableError,
  type NormalizedEvent,
  newId,
  NotFoundError,
  type PaymentProvider,
  type PaymentStatus,
  ProviderCapabilityNotSupportedError,
  type ProviderChargeInput,
  type ProviderCheckout,
  type ProviderCheckoutInput,
  type ProviderContext,
  type ProviderCustomer,
  type ProviderCustomerInput,
  ProviderError,
  type ProviderHealth,
  type ProviderInvoice,
  type ProviderInvoiceQuery,
  type ProviderObject,
  type ProviderPayment,
  type ProviderRefund,
  type ProviderRefundInput,
  type ProviderSubscribeInput,
  type ProviderSubscription,
  ProviderUnavailableError,
  ValidationError,
  type WebhookVerifyInput,
} from '@payable/core';
import {
  type DeliveryChaos,
  type DeliveryReport,
  type DeliveryTarget,
  deliverWithChaos,
  type SignedDelivery,
} from './fake-delivery.js';
import { fakeEventData, fakeEventKind, parseFakeEvent } from './fake-events.js';
import {
  FAKE_DEFAULT_TOLERANCE_SECONDS,
  FAKE_SIGNATURE_HEADER,
  FAKE_WEBHOOK_SECRET,
  fakeSignatureValue,
  verifyFakeSignature,
} from './fake-signature.js';

/** The capabilities a `FakeProvider` can have (every one but `holdInvoices`). */
export type FakeCapability = Exclude<Capability, 'holdInvoices'>;

/** Every capability a `FakeProvider` has unless told otherwise. */
export const FAKE_DEFAULT_CAPABILITIES = [
  'charges',
  'checkout',
  'refunds',
  'customers',
  'subscriptions',
  'invoices',
  'webhooks',
] as const satisfies readonly FakeCapability[];

/** The default capability set, as a type. */
export type FakeDefaultCapability = (typeof FAKE_DEFAULT_CAPABILITIES)[number];

/** A price the fake knows for subscriptions and their invoices. */
export interface FakePrice {
  amount: number;
  currency: string;
}

/** The price of a `priceId` the `prices` option does not list. */
export const FAKE_DEFAULT_PRICE: FakePrice = { amount: 1000, currency: 'USD' };

/**
 * The invoice fields a Lightning `FakeProvider` asks its encoder to write (a subset of
 * `@payable/lightning`'s `EncodeInvoiceInput`).
 *
 * @example
 * ```ts
 * const fields: FakeInvoiceFields = { network: 'regtest', amountMsat: 10_000n, timestamp, paymentHash, paymentSecret, description: 'api', expiry: 3600, minFinalCltvExpiry: 80 };
 * ```
 */
export interface FakeInvoiceFields {
  network: 'bitcoin' | 'testnet' | 'signet' | 'regtest';
  amountMsat: bigint;
  /** Seconds since the Unix epoch. */
  timestamp: number;
  paymentHash: string;
  paymentSecret: string;
  description?: string;
  descriptionHash?: string;
  expiry: number;
  minFinalCltvExpiry: number;
}

/**
 * Writes and signs a BOLT-11 invoice: pass `encodeInvoice` from `@payable/lightning` (the testing
 * kit does not depend on the Lightning package, which depends on it).
 *
 * @example
 * ```ts
 * import { encodeInvoice } from '@payable/lightning';
 * new FakeProvider({ capabilities: ['charges', 'lightning'], encodeInvoice });
 * ```
 */
export type FakeEncodeInvoice = (fields: FakeInvoiceFields, privateKey: string) => string;

/**
 * What {@link FakeProvider.pay} returns: the preimage (the payer's proof of payment), the invoice's
 * payment hash, the payment's provider id, and the signed `payment.succeeded` delivery.
 *
 * @example
 * ```ts
 * const { preimage } = fake.pay(payment.lightning!.paymentRequest);
 * ```
 */
export interface FakeLightningPayment {
  /** 64 lowercase hex characters; sha256(preimage) is the payment hash. */
  preimage: string;
  paymentHash: string;
  providerId: string;
  /** The `payment.succeeded` webhook telling the core (lightning details and preimage included). */
  delivery: SignedDelivery;
}

/** The options every `FakeProvider` takes. */
export interface FakeProviderBaseOptions<C extends FakeCapability = FakeDefaultCapability> {
  /** The webhook signing secret. Default {@link FAKE_WEBHOOK_SECRET}. */
  secret?: string;
  /**
   * What it can do. Default: every capability but `lightning` and `holdInvoices`. With
   * `lightning`, charges are BOLT-11 invoices (BTC only) that {@link FakeProvider.pay} settles.
   */
  capabilities?: readonly C[];
  /** Let it run under `NODE_ENV=production` (a staging smoke test). Default `false`. */
  allowInProduction?: boolean;
  /** Time for created/updated dates, event `created` and `sign()`. Default: the system time. */
  clock?: Clock;
  /** Webhook signature tolerance in seconds, both directions. Default 300. */
  toleranceSeconds?: number;
  /** Prices by `priceId` for subscriptions and invoices; unknown ids cost {@link FAKE_DEFAULT_PRICE}. */
  prices?: Readonly<Record<string, FakePrice>>;
  /** Lightning: the node key invoices are signed with (32 bytes hex). Default: a fixed test key. */
  nodeKey?: string;
  /** Lightning: the invoices' network. Default `regtest` (`lnbcrt…`). */
  network?: FakeInvoiceFields['network'];
}

/**
 * Options of {@link FakeProvider}: a capability list naming `lightning` requires `encodeInvoice`
 * (when the capabilities are not known statically, it is checked when the fake is constructed).
 *
 * @example
 * ```ts
 * new FakeProvider({ capabilities: ['charges', 'webhooks', 'lightning'], encodeInvoice });
 * ```
 */
export type FakeProviderOptions<C extends FakeCapability = FakeDefaultCapability> = FakeProviderBaseOptions<C> &
  ([Extract<C, 'lightning'>] extends [never]
    ? { encodeInvoice?: FakeEncodeInvoice }
    : [FakeCapability] extends [C]
      ? { encodeInvoice?: FakeEncodeInvoice }
      : { /** Signs the BOLT-11 invoices (see {@link FakeEncodeInvoice}). */ encodeInvoice: FakeEncodeInvoice });

/** The operation names `FakeProvider#calls` records: the facade operations plus the reads. */
export type FakeOperation =
  | 'charge'
  | 'getPayment'
  | 'refund'
  | 'createCustomer'
  | 'getCustomer'
  | 'createCheckout'
  | 'subscribe'
  | 'cancelSubscription'
  | 'listInvoices';

/** One call the core made on a `FakeProvider`: the operation, its provider input, its context. */
export type FakeCall =
  | { op: 'charge'; input: ProviderChargeInput; options: ProviderContext }
  | { op: 'getPayment'; input: string; options: ProviderContext }
  | { op: 'refund'; input: ProviderRefundInput; options: ProviderContext }
  | { op: 'createCustomer'; input: ProviderCustomerInput; options: ProviderContext }
  | { op: 'getCustomer'; input: string; options: ProviderContext }
  | { op: 'createCheckout'; input: ProviderCheckoutInput; options: ProviderContext }
  | { op: 'subscribe'; input: ProviderSubscribeInput; options: ProviderContext }
  | { op: 'cancelSubscription'; input: { providerId: string; atPeriodEnd: boolean }; options: ProviderContext }
  | { op: 'listInvoices'; input: ProviderInvoiceQuery; options: ProviderContext };

/** What `FakeProvider#lastVerifyInput` holds: the last `verifyWebhook` input, secret resolved. */
export interface FakeVerifyInput {
  payload: Buffer;
  headers: Readonly<Record<string, string>>;
  /** The secret actually checked against (the override, or the fake's own). */
  secret: string;
  /** The header actually read (the override, or `x-fake-signature`). */
  signatureHeader: string;
  now: Date;
}

/** The signature time for {@link FakeProvider.sign}: a `Date` or unix seconds. */
export type FakeTimestamp = Date | number;

/** Options of {@link FakeProvider.sign} and {@link FakeProvider.signedDelivery}. */
export interface FakeSignOptions {
  /** The signature time. Default: the clock's now. */
  timestamp?: FakeTimestamp;
  /** Sign with another secret (to test a wrong or a per-tenant secret). Default: the fake's. */
  secret?: string;
}

/** Options of {@link FakeProvider.eventFor}. */
export interface FakeEventOptions extends FakeSignOptions {
  /** The event id. Default: a new `fake_evt_…`. Reuse one to simulate a redelivery. */
  id?: string;
  /** The body's `created`. Default: the clock's now. */
  created?: Date;
}

/**
 * What {@link FakeProvider.eventFor} describes: a provider id of an object the fake holds, a
 * provider object (as an operation returned it), or, for a type outside Payable's vocabulary, the
 * raw `data` object to send.
 */
export type FakeEventSubject =
  | string
  | ProviderPayment
  | ProviderRefund
  | ProviderCustomer
  | ProviderCheckout
  | ProviderSubscription
  | ProviderInvoice
  | { [key: string]: JsonValue };

/** The outcome a charge's `metadata.fake_outcome` asks for. */
export type FakeChargeOutcome = 'succeeded' | 'pending' | 'requires_action' | 'declined' | 'unavailable';

const OUTCOMES: readonly FakeChargeOutcome[] = ['succeeded', 'pending', 'requires_action', 'declined', 'unavailable'];
const ALL_FAKE_CAPABILITIES: readonly FakeCapability[] = [...FAKE_DEFAULT_CAPABILITIES, 'lightning'];
const DEFAULT_NODE_KEY = createHash('sha256').update('payable fake provider lightning node key').digest('hex');
const DEFAULT_LIGHTNING_EXPIRY = 3600;
const DAY_MS = 86_400_000;
const CHECKOUT_BASE_URL = 'https://fake.payable.test/checkout/';

const OPERATION_CAPABILITY: Record<FakeOperation, FakeCapability> = {
  charge: 'charges',
  getPayment: 'charges',
  refund: 'refunds',
  createCustomer: 'customers',
  getCustomer: 'customers',
  createCheckout: 'checkout',
  subscribe: 'subscriptions',
  cancelSubscription: 'subscriptions',
  listInvoices: 'invoices',
};

interface IdempotencyEntry {
  fingerprint: string;
  result: unknown;
}

/** JSON with object keys sorted at every level: equal inputs give equal fingerprints. */
function fingerprintOf(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}

function copy<T>(value: T): T {
  return structuredClone(value);
}

function badRequest(message: string, providerCode: string, context: Record<string, unknown> = {}): PayableError {
  return new ProviderError(message, { context: { provider: 'fake', providerCode, ...context } });
}

function requireAmount(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw badRequest(`${field} must be a positive integer in minor units.`, 'invalid_amount', { field });
  }
  return value;
}

function requireString(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw badRequest(`${field} is required.`, 'invalid_request', { field });
  }
  return value;
}

function isProviderObjectLike(value: unknown): value is { providerId: string } {
  return (
    typeof value === 'object' && value !== null && typeof (value as { providerId?: unknown }).providerId === 'string'
  );
}

/**
 * A stateful, in-memory payment provider for tests and local development: a sandbox that keeps
 * customers, payments, refunds, checkouts, subscriptions and invoices, signs its own webhooks
 * (`x-fake-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`) and can
 * deliver them with chaos (duplicates, reordering, drops, delays).
 *
 * - Charges succeed at once. `metadata.fake_outcome` changes that: `'pending'` (completed later by
 *   {@link completePayment}), `'requires_action'` (with a `nextActionUrl`), `'declined'` (a
 *   `ProviderError` with `context.declineCode = 'card_declined'`), `'unavailable'` (a
 *   `ProviderUnavailableError`). `capture: false` leaves the payment `pending` until completed.
 * - Idempotency is native: the same `ctx.idempotencyKey` with the same input returns the first
 *   result again and creates nothing; with a different input it is a `ProviderError`
 *   (`providerCode: 'idempotency_key_reused'`). Failed calls do not bind a key.
 * - Unknown ids are `NotFoundError`s; refused requests are `ProviderError`s with a `providerCode`.
 * - Operations of a capability it lacks throw `ProviderCapabilityNotSupportedError`.
 * - With the `lightning` capability (and `encodeInvoice` from `@payable/lightning`), charges are
 *   real BOLT-11 invoices in BTC signed with a test node key, `pending` until {@link pay} plays the
 *   payer and returns the preimage (`payment.lightning` carries the request, hash and, once paid,
 *   the preimage).
 * - It refuses to be constructed when `NODE_ENV` is `production` (an `InternalError`, code
 *   `INTERNAL_ERROR`, `context.reason = 'fake_provider_in_production'`): it accepts any payment and
 *   signs its own webhooks. Pass `allowInProduction: true` to run it there deliberately.
 *
 * The capability list is a const type parameter, so the facade narrows operations by it.
 *
 * @example
 * ```ts
 * const fake = new FakeProvider({ capabilities: ['charges', 'webhooks'] });
 * const payable = createPayable({ providers: { fake }, storage });
 * const payment = await payable.charge({ amount: 500, currency: 'USD', metadata: { fake_outcome: 'pending' } });
 * await payable.webhooks.receive({ provider: 'fake', ...fake.completePayment(payment.providerId) });
 * fake.calls.map((c) => c.op); // ['charge']
 * ```
 */
export class FakeProvider<const C extends FakeCapability = FakeDefaultCapability> implements PaymentProvider<C> {
  readonly name = 'fake';
  readonly capabilities: readonly C[];
  readonly idempotency = 'native' as const;
  readonly signatureHeader = FAKE_SIGNATURE_HEADER;
  /** The webhook signing secret it signs and verifies with. */
  readonly secret: string;
  /** The signature tolerance in seconds, both directions. */
  readonly toleranceSeconds: number;
  /** Every operation call, in order, with its provider input and context (copies). */
  readonly calls: FakeCall[] = [];
  /** The input of the last `verifyWebhook` call (recorded before verifying), or `null`. */
  lastVerifyInput: FakeVerifyInput | null = null;

  readonly #clock: Clock | null;
  readonly #prices: Readonly<Record<string, FakePrice>>;
  readonly #payments = new Map<string, ProviderPayment>();
  readonly #refunds = new Map<string, ProviderRefund>();
  readonly #customers = new Map<string, ProviderCustomer>();
  readonly #checkouts = new Map<string, ProviderCheckout>();
  readonly #subscriptions = new Map<string, ProviderSubscription>();
  readonly #invoices = new Map<string, ProviderInvoice>();
  readonly #checkoutPrices = new Map<string, string>();
  readonly #idempotency = new Map<string, IdempotencyEntry>();
  readonly #encodeInvoice: FakeEncodeInvoice | null;
  readonly #nodeKey: string;
  readonly #network: FakeInvoiceFields['network'];
  /** Lightning: payment hash → { providerId, preimage }, and payment request → payment hash. */
  readonly #lightning = new Map<string, { providerId: string; preimage: Buffer }>();
  readonly #invoiceHashes = new Map<string, string>();

  constructor(options: FakeProviderOptions<C> = {} as FakeProviderOptions<C>) {
    if (process.env.NODE_ENV === 'production' && options.allowInProduction !== true) {
      throw new InternalError(
        'FakeProvider refuses to run with NODE_ENV=production: it accepts every payment and signs its own webhooks. ' +
          'Configure a real provider, or pass allowInProduction: true if this is deliberate.',
        { context: { provider: 'fake', reason: 'fake_provider_in_production' } },
      );
    }
    const capabilities =
      options.capabilities ?? (FAKE_DEFAULT_CAPABILITIES as readonly FakeCapability[] as readonly C[]);
    for (const capability of capabilities) {
      if (!ALL_FAKE_CAPABILITIES.includes(capability)) {
        throw new ValidationError(`FakeProvider does not support the capability "${String(capability)}".`, {
          context: { field: 'capabilities', reason: 'unsupported capability', capability },
        });
      }
    }
    const encodeInvoice = (options as { encodeInvoice?: FakeEncodeInvoice }).encodeInvoice ?? null;
    if ((capabilities as readonly FakeCapability[]).includes('lightning') && typeof encodeInvoice !== 'function') {
      throw new ValidationError(
        "The FakeProvider capability \"lightning\" needs an invoice encoder: new FakeProvider({ capabilities: [..., 'lightning'], encodeInvoice }) with encodeInvoice from '@payable/lightning'.",
        { context: { field: 'capabilities', reason: 'lightning needs encodeInvoice', capability: 'lightning' } },
      );
    }
    if (options.secret !== undefined && options.secret.trim() === '') {
      throw new ValidationError('The FakeProvider secret must not be empty.', {
        context: { field: 'secret', reason: 'empty' },
      });
    }
    const tolerance = options.toleranceSeconds ?? FAKE_DEFAULT_TOLERANCE_SECONDS;
    if (!Number.isFinite(tolerance) || tolerance < 0) {
      throw new ValidationError('toleranceSeconds must be a non-negative number.', {
        context: { field: 'toleranceSeconds', reason: 'expected a non-negative number' },
      });
    }
    this.capabilities = Object.freeze([...new Set(capabilities)]);
    this.secret = options.secret ?? FAKE_WEBHOOK_SECRET;
    this.toleranceSeconds = tolerance;
    this.#clock = options.clock ?? null;
    this.#prices = { ...(options.prices ?? {}) };
    this.#encodeInvoice = encodeInvoice;
    this.#nodeKey = options.nodeKey ?? DEFAULT_NODE_KEY;
    this.#network = options.network ?? 'regtest';
  }

  /** The fake's current time: its clock's, or the system time. */
  now(): Date {
    return this.#clock?.now() ?? new Date();
  }

  /** Whether it has `capability`. */
  has(capability: Capability): boolean {
    return (this.capabilities as readonly Capability[]).includes(capability);
  }

  /**
   * The current state of an object the fake holds, without recording a call (for assertions and
   * harnesses); `NotFoundError` for an unknown id.
   *
   * @example
   * ```ts
   * fake.lookup('payment', payment.providerId).status; // 'succeeded'
   * ```
   */
  lookup<K extends ProviderObject['kind']>(kind: K, providerId: string): Extract<ProviderObject, { kind: K }> {
    return copy(this.#objectOf(kind, providerId)) as Extract<ProviderObject, { kind: K }>;
  }

  // -------------------------------------------------------------------------------------------
  // Operations

  /** Creates a payment; see the class notes for `metadata.fake_outcome`. */
  async charge(input: ProviderChargeInput, ctx: ProviderContext): Promise<ProviderPayment> {
    this.#record({ op: 'charge', input, options: ctx });
    return this.#idempotent('charge', input, ctx, () => {
      const amount = requireAmount('amount', input.amount);
      const currency = requireString('currency', input.currency);
      const metadata: Metadata = { ...(input.metadata ?? {}) };
      const outcome = metadata.fake_outcome ?? 'succeeded';
      if (!(OUTCOMES as readonly string[]).includes(outcome)) {
        throw badRequest(`metadata.fake_outcome must be one of ${OUTCOMES.join(', ')}.`, 'invalid_request', {
          field: 'metadata.fake_outcome',
        });
      }
      if (outcome === 'unavailable') {
        throw new ProviderUnavailableError('The fake provider is unavailable (fake_outcome: unavailable).', {
          context: { provider: 'fake', providerCode: 'unavailable' },
        });
      }
      if (outcome === 'declined') {
        throw new ProviderError('Your card was declined.', {
          context: { provider: 'fake', declineCode: 'card_declined', providerCode: 'card_declined' },
        });
      }
      if (input.customerProviderId) this.#customer(input.customerProviderId);
      if (this.has('lightning')) return this.#invoice(input, amount, currency, metadata);
      const now = this.now();
      const providerId = newId('fake_pay', now.getTime());
      let status: PaymentStatus = 'succeeded';
      if (outcome === 'pending' || input.capture === false) status = 'pending';
      if (outcome === 'requires_action') status = 'requires_action';
      const payment: ProviderPayment = {
        providerId,
        status,
        amount,
        currency,
        amountRefunded: 0,
        customerProviderId: input.customerProviderId ?? null,
        description: input.description ?? null,
        expiresAt: input.expiresIn ? new Date(now.getTime() + input.expiresIn * 1000) : null,
        failureCode: null,
        failureMessage: null,
        nextActionUrl: status === 'requires_action' ? `https://fake.payable.test/pay/${providerId}` : null,
        metadata,
      };
      this.#payments.set(providerId, payment);
      return payment;
    });
  }

  /** The payment's current state; `NotFoundError` for an unknown id. */
  async getPayment(providerId: string, ctx: ProviderContext): Promise<ProviderPayment> {
    this.#record({ op: 'getPayment', input: providerId, options: ctx });
    return copy(this.#payment(providerId));
  }

  /**
   * Refunds (part of) a succeeded payment: more than remains, another currency or a payment not
   * succeeded is a `ProviderError`; the payment's `amountRefunded` and status follow.
   */
  async refund(input: ProviderRefundInput, ctx: ProviderContext): Promise<ProviderRefund> {
    this.#record({ op: 'refund', input, options: ctx });
    return this.#idempotent('refund', input, ctx, () => {
      const payment = this.#payment(requireString('paymentProviderId', input.paymentProviderId));
      const amount = requireAmount('amount', input.amount);
      if (payment.status !== 'succeeded' && payment.status !== 'partially_refunded') {
        throw badRequest(`A ${payment.status} payment cannot be refunded.`, 'payment_not_refundable', {
          status: payment.status,
        });
      }
      if (input.currency && input.currency.toUpperCase() !== payment.currency.toUpperCase()) {
        throw badRequest('The refund currency is not the payment currency.', 'currency_mismatch', {
          currency: input.currency,
        });
      }
      const remaining = payment.amount - (payment.amountRefunded ?? 0);
      if (amount > remaining) {
        throw badRequest(`The refund of ${amount} exceeds the ${remaining} left to refund.`, 'amount_too_large', {
          amount,
          remaining,
        });
      }
      payment.amountRefunded = (payment.amountRefunded ?? 0) + amount;
      payment.status = payment.amountRefunded === payment.amount ? 'refunded' : 'partially_refunded';
      const refund: ProviderRefund = {
        providerId: newId('fake_re', this.now().getTime()),
        paymentProviderId: payment.providerId,
        amount,
        currency: payment.currency,
        status: 'succeeded',
        reason: input.reason ?? null,
        metadata: { ...(input.metadata ?? {}) },
      };
      this.#refunds.set(refund.providerId, refund);
      return refund;
    });
  }

  /** Creates a customer. */
  async createCustomer(input: ProviderCustomerInput, ctx: ProviderContext): Promise<ProviderCustomer> {
    this.#record({ op: 'createCustomer', input, options: ctx });
    return this.#idempotent('createCustomer', input, ctx, () => {
      const customer: ProviderCustomer = {
        providerId: newId('fake_cus', this.now().getTime()),
        email: input.email ?? null,
        name: input.name ?? null,
        metadata: { ...(input.metadata ?? {}) },
      };
      this.#customers.set(customer.providerId, customer);
      return customer;
    });
  }

  /** The customer's current state; `NotFoundError` for an unknown id. */
  async getCustomer(providerId: string, ctx: ProviderContext): Promise<ProviderCustomer> {
    this.#record({ op: 'getCustomer', input: providerId, options: ctx });
    return copy(this.#customer(providerId));
  }

  /** Opens a hosted checkout at `https://fake.payable.test/checkout/<id>`, valid 24 hours. */
  async createCheckout(input: ProviderCheckoutInput, ctx: ProviderContext): Promise<ProviderCheckout> {
    this.#record({ op: 'createCheckout', input, options: ctx });
    return this.#idempotent('createCheckout', input, ctx, () => {
      requireString('successUrl', input.successUrl);
      requireString('cancelUrl', input.cancelUrl);
      let amount: number | null = null;
      let currency: string | null = null;
      if (input.mode === 'subscription') {
        const price = this.#price(requireString('priceId', input.priceId));
        amount = price.amount;
        currency = price.currency;
      } else {
        amount = requireAmount('amount', input.amount);
        currency = requireString('currency', input.currency);
      }
      if (input.customerProviderId) this.#customer(input.customerProviderId);
      const now = this.now();
      const providerId = newId('fake_cs', now.getTime());
      const checkout: ProviderCheckout = {
        providerId,
        mode: input.mode,
        url: `${CHECKOUT_BASE_URL}${providerId}`,
        status: 'open',
        amount,
        currency,
        customerProviderId: input.customerProviderId ?? null,
        paymentProviderId: null,
        subscriptionProviderId: null,
        expiresAt: new Date(now.getTime() + DAY_MS),
        metadata: { ...(input.metadata ?? {}) },
      };
      this.#checkouts.set(providerId, checkout);
      if (input.mode === 'subscription' && input.priceId) this.#checkoutPrices.set(providerId, input.priceId);
      return checkout;
    });
  }

  /**
   * Subscribes a known customer to a price: `trialing` with `trialDays`, else `active`, for
   * 30-day periods. Each subscription gets a paid invoice (of 0 during a trial).
   */
  async subscribe(input: ProviderSubscribeInput, ctx: ProviderContext): Promise<ProviderSubscription> {
    this.#record({ op: 'subscribe', input, options: ctx });
    return this.#idempotent('subscribe', input, ctx, () => this.#createSubscription(input));
  }

  /** Cancels now (`canceled`, `canceledAt`) or at the period end (`cancelAtPeriodEnd`, status kept). */
  async cancelSubscription(
    providerId: string,
    options: { atPeriodEnd: boolean },
    ctx: ProviderContext,
  ): Promise<ProviderSubscription> {
    const input = { providerId, atPeriodEnd: options.atPeriodEnd === true };
    this.#record({ op: 'cancelSubscription', input, options: ctx });
    return this.#idempotent('cancelSubscription', input, ctx, () => {
      const subscription = this.#subscription(providerId);
      if (subscription.status === 'canceled') return subscription;
      if (input.atPeriodEnd) {
        subscription.cancelAtPeriodEnd = true;
      } else {
        subscription.status = 'canceled';
        subscription.canceledAt = this.now();
        subscription.cancelAtPeriodEnd = false;
      }
      return subscription;
    });
  }

  /** Invoices, newest first, filtered by customer and/or subscription, at most `limit`. */
  async listInvoices(query: ProviderInvoiceQuery, ctx: ProviderContext): Promise<ProviderInvoice[]> {
    this.#record({ op: 'listInvoices', input: query, options: ctx });
    const limit = query.limit > 0 ? query.limit : 10;
    return [...this.#invoices.values()]
      .filter((i) => !query.customerProviderId || i.customerProviderId === query.customerProviderId)
      .filter((i) => !query.subscriptionProviderId || i.subscriptionProviderId === query.subscriptionProviderId)
      .reverse()
      .slice(0, limit)
      .map(copy);
  }

  /** Always healthy. */
  async health(): Promise<ProviderHealth> {
    return { ok: true, details: { provider: 'fake', capabilities: [...this.capabilities] } };
  }

  // -------------------------------------------------------------------------------------------
  // Webhooks

  /**
   * Verifies the `x-fake-signature` header (or `input.signatureHeader`) over the exact raw bytes
   * with the fake's secret (or `input.secret`), then parses the body. Signature first: a bad
   * signature is `INVALID_WEBHOOK_SIGNATURE` whatever the body; a genuine signature over a body
   * that is not JSON `{ id, type, created, data }` is `INVALID_WEBHOOK_PAYLOAD`, as is an empty or
   * non-byte payload.
   */
  async verifyWebhook(input: WebhookVerifyInput): Promise<NormalizedEvent> {
    this.#require('webhooks');
    const secret = input.secret ?? this.secret;
    const signatureHeader = (input.signatureHeader ?? this.signatureHeader).toLowerCase();
    const payload: unknown = input.payload;
    this.lastVerifyInput = {
      payload: input.payload,
      headers: input.headers,
      secret,
      signatureHeader,
      now: input.now,
    };
    if (!(payload instanceof Uint8Array) || payload.length === 0) {
      throw new InvalidWebhookPayloadError('The webhook body is missing or was parsed before verification.', {
        context: { provider: 'fake', reason: payload instanceof Uint8Array ? 'empty' : 'not_raw_bytes' },
      });
    }
    verifyFakeSignature({
      payload,
      header: headerValue(input.headers, signatureHeader),
      headerName: signatureHeader,
      secret,
      now: input.now,
      toleranceSeconds: this.toleranceSeconds,
    });
    return parseFakeEvent(payload);
  }

  /**
   * The signature headers for `rawBody`, as the fake sends them: `{ 'x-fake-signature': 't=…,v1=…' }`,
   * signed at the clock's now unless `timestamp` (a `Date` or unix seconds) is given.
   *
   * @example
   * ```ts
   * const headers = fake.sign(rawBody, { timestamp: new Date(Date.now() - 600_000) }); // stale
   * ```
   */
  sign(rawBody: string | Uint8Array, options: FakeSignOptions = {}): Record<string, string> {
    const at = options.timestamp ?? this.now();
    const seconds = at instanceof Date ? Math.floor(at.getTime() / 1000) : Math.floor(at);
    return { [FAKE_SIGNATURE_HEADER]: fakeSignatureValue(options.secret ?? this.secret, rawBody, seconds) };
  }

  /** A delivery of any raw body, signed (for bodies no event makes, e.g. one that is not JSON). */
  signedDelivery(rawBody: string, options: FakeSignOptions = {}): SignedDelivery {
    return { rawBody, headers: { 'content-type': 'application/json', ...this.sign(rawBody, options) } };
  }

  /**
   * A signed delivery of an event `type` about `subject`: the provider id of an object the fake
   * holds (its current state is sent), a provider object, or for a type outside Payable's
   * vocabulary the raw `data`. The body is `{ id, type, created, data }`.
   *
   * @example
   * ```ts
   * const customer = await fake.createCustomer({ email: 'a@b.test', name: null, metadata: {} }, ctx);
   * await payable.webhooks.receive({ provider: 'fake', ...fake.eventFor('customer.updated', customer.providerId) });
   * fake.eventFor('charge.dispute.created', { id: 'dp_1' }); // verifies as type 'unknown'
   * ```
   */
  eventFor(type: string, subject: FakeEventSubject, options: FakeEventOptions = {}): SignedDelivery {
    requireString('type', type);
    const kind = fakeEventKind(type);
    let data: { [key: string]: JsonValue };
    if (kind === null) {
      if (typeof subject === 'string') {
        throw new ValidationError(`"${type}" is not a Payable event type: pass the raw data object, not an id.`, {
          context: { field: 'subject', reason: 'raw data required for unknown event types' },
        });
      }
      data = copy(subject as { [key: string]: JsonValue });
    } else if (typeof subject === 'string') {
      data = fakeEventData(this.#objectOf(kind, subject));
    } else if (isProviderObjectLike(subject)) {
      data = fakeEventData({ ...subject, kind } as ProviderObject);
    } else {
      throw new ValidationError(`A "${type}" event needs a provider id or a provider object.`, {
        context: { field: 'subject', reason: 'expected a provider id or object' },
      });
    }
    const created = options.created ?? this.now();
    const body = {
      id: options.id ?? newId('fake_evt', created.getTime()),
      type,
      created: Math.floor(created.getTime() / 1000),
      data,
    };
    return this.signedDelivery(JSON.stringify(body), options);
  }

  /**
   * Completes a pending payment (as if the payer paid): status `succeeded`, and the signed
   * `payment.succeeded` delivery telling the core. A payment not in flight is a `ProviderError`.
   */
  completePayment(providerId: string, options: FakeEventOptions = {}): SignedDelivery {
    this.#move(providerId, 'succeeded', ['pending', 'requires_action', 'processing', 'failed']);
    return this.eventFor('payment.succeeded', providerId, options);
  }

  /** Fails a payment in flight (`failureCode` default `card_declined`): the `payment.failed` delivery. */
  failPayment(
    providerId: string,
    options: FakeEventOptions & { code?: string; message?: string } = {},
  ): SignedDelivery {
    const payment = this.#move(providerId, 'failed', ['pending', 'requires_action', 'processing']);
    payment.failureCode = options.code ?? 'card_declined';
    payment.failureMessage = options.message ?? 'Your card was declined.';
    return this.eventFor('payment.failed', providerId, options);
  }

  /** Expires a payment in flight: the `payment.expired` delivery. */
  expirePayment(providerId: string, options: FakeEventOptions = {}): SignedDelivery {
    this.#move(providerId, 'expired', ['pending', 'requires_action', 'processing', 'failed']);
    return this.eventFor('payment.expired', providerId, options);
  }

  /**
   * Lightning: plays the payer of a BOLT-11 invoice this fake issued (by payment request or payment
   * hash): the payment becomes `succeeded` with its preimage and the amount paid, and the result
   * carries the preimage (what a wallet returns) and the signed `payment.succeeded` delivery.
   * An unknown invoice is `NOT_FOUND`; an expired one becomes `expired` and, like one already paid,
   * is a `ProviderError` (`invoice_expired`, `invalid_state`).
   *
   * @example
   * ```ts
   * const payment = await payable.charge({ amount: 10, currency: 'BTC' }, { provider: 'fake' });
   * const { preimage, delivery } = fake.pay(payment.lightning!.paymentRequest);
   * await payable.webhooks.receive({ provider: 'fake', ...delivery });
   * ```
   */
  pay(invoice: string, options: { amountMsat?: bigint | number | string } = {}): FakeLightningPayment {
    this.#require('lightning');
    const key = typeof invoice === 'string' ? invoice.trim() : '';
    const hash = this.#invoiceHashes.get(key) ?? this.#invoiceHashes.get(key.toLowerCase()) ?? key.toLowerCase();
    const entry = this.#lightning.get(hash);
    if (entry === undefined) {
      throw new NotFoundError('The fake provider issued no such Lightning invoice.', {
        context: { provider: 'fake', kind: 'invoice' },
      });
    }
    const payment = this.#payment(entry.providerId);
    if (payment.status === 'pending' && payment.expiresAt && this.now().getTime() >= payment.expiresAt.getTime()) {
      payment.status = 'expired';
      throw badRequest('The Lightning invoice has expired.', 'invoice_expired', { status: 'expired' });
    }
    if (payment.status !== 'pending') {
      throw badRequest(`A ${payment.status} invoice cannot be paid.`, 'invalid_state', { status: payment.status });
    }
    const preimage = entry.preimage.toString('hex');
    const paid = options.amountMsat === undefined ? BigInt(payment.amount) * 1000n : BigInt(options.amountMsat);
    payment.status = 'succeeded';
    if (payment.lightning) {
      payment.lightning = { ...payment.lightning, preimage, amountPaidMsat: paid.toString() };
    }
    return {
      preimage,
      paymentHash: hash,
      providerId: payment.providerId,
      delivery: this.eventFor('payment.succeeded', payment.providerId),
    };
  }

  /**
   * {@link pay} as a wallet: the fake can be handed to an L402 client (`new L402Client({ wallet: fake })`)
   * to pay the invoices it issued.
   *
   * @example
   * ```ts
   * const { preimage } = await fake.payInvoice(bolt11);
   * ```
   */
  async payInvoice(invoice: string): Promise<FakeLightningPayment> {
    return this.pay(invoice);
  }

  /**
   * Completes an open checkout as if the customer paid: payment mode creates a succeeded payment,
   * subscription mode a subscription (the customer is created when the checkout had none).
   * Returns the deliveries in the order a provider sends them: `checkout.completed`, then
   * `payment.succeeded` or `subscription.created`.
   */
  completeCheckout(providerId: string): SignedDelivery[] {
    const checkout = this.#checkout(providerId);
    if (checkout.status !== 'open') {
      throw badRequest(`A ${checkout.status} checkout cannot be completed.`, 'invalid_state', {
        status: checkout.status,
      });
    }
    const now = this.now();
    const metadata = { ...(checkout.metadata ?? {}) };
    if (checkout.mode === 'subscription') {
      let customerProviderId = checkout.customerProviderId ?? null;
      if (customerProviderId === null) {
        customerProviderId = newId('fake_cus', now.getTime());
        this.#customers.set(customerProviderId, {
          providerId: customerProviderId,
          email: null,
          name: null,
          metadata: {},
        });
      }
      const subscription = this.#createSubscription({
        customerProviderId,
        priceId: this.#checkoutPrices.get(providerId) ?? 'price_fake',
        trialDays: null,
        metadata,
      });
      checkout.customerProviderId = customerProviderId;
      checkout.subscriptionProviderId = subscription.providerId;
      checkout.status = 'complete';
      return [
        this.eventFor('checkout.completed', providerId),
        this.eventFor('subscription.created', subscription.providerId),
      ];
    }
    const payment: ProviderPayment = {
      providerId: newId('fake_pay', now.getTime()),
      status: 'succeeded',
      amount: checkout.amount ?? 0,
      currency: checkout.currency ?? FAKE_DEFAULT_PRICE.currency,
      amountRefunded: 0,
      customerProviderId: checkout.customerProviderId ?? null,
      description: null,
      expiresAt: null,
      failureCode: null,
      failureMessage: null,
      nextActionUrl: null,
      metadata,
    };
    this.#payments.set(payment.providerId, payment);
    checkout.paymentProviderId = payment.providerId;
    checkout.status = 'complete';
    return [this.eventFor('checkout.completed', providerId), this.eventFor('payment.succeeded', payment.providerId)];
  }

  /**
   * Sends deliveries to `target` one by one, with optional chaos (duplicates, reordering, drops,
   * delays), deterministic for a given `chaos.seed`. Errors thrown by the target are recorded in
   * the report, not thrown.
   *
   * @example
   * ```ts
   * const report = await fake.deliver((d) => payable.webhooks.receive({ provider: 'fake', ...d }),
   *   [fake.completePayment(a), fake.completePayment(b)], { duplicate: 1, reorder: true, seed: 7 });
   * report.attempts.length; // 3
   * ```
   */
  deliver(
    target: DeliveryTarget,
    deliveries: SignedDelivery | readonly SignedDelivery[],
    chaos?: DeliveryChaos,
  ): Promise<DeliveryReport> {
    const list: readonly SignedDelivery[] = Array.isArray(deliveries)
      ? (deliveries as readonly SignedDelivery[])
      : [deliveries as SignedDelivery];
    return deliverWithChaos(target, list, chaos);
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  /** A Lightning charge: a BOLT-11 invoice signed with the fake's node key, open until paid. */
  #invoice(input: ProviderChargeInput, amount: number, currency: string, metadata: Metadata): ProviderPayment {
    if (currency.toUpperCase() !== 'BTC') {
      throw badRequest('Lightning invoices are in BTC (satoshis).', 'invalid_currency', { currency });
    }
    const encode = this.#encodeInvoice as FakeEncodeInvoice;
    const now = this.now();
    const providerId = newId('fake_pay', now.getTime());
    const preimage = randomBytes(32);
    const paymentHash = createHash('sha256').update(preimage).digest('hex');
    const expiry = input.expiresIn ?? DEFAULT_LIGHTNING_EXPIRY;
    const timestamp = Math.floor(now.getTime() / 1000);
    const paymentRequest = encode(
      {
        network: this.#network,
        amountMsat: BigInt(amount) * 1000n,
        timestamp,
        paymentHash,
        paymentSecret: randomBytes(32).toString('hex'),
        ...(input.descriptionHash
          ? { descriptionHash: input.descriptionHash }
          : { description: input.description ?? '' }),
        expiry,
        minFinalCltvExpiry: 80,
      },
      this.#nodeKey,
    );
    // An invoice is open until paid; `fake_outcome: 'succeeded'` asks for one paid at once.
    const settled = metadata.fake_outcome === 'succeeded';
    const payment: ProviderPayment = {
      providerId,
      status: settled ? 'succeeded' : 'pending',
      amount,
      currency: 'BTC',
      amountRefunded: 0,
      customerProviderId: input.customerProviderId ?? null,
      description: input.description ?? null,
      expiresAt: new Date((timestamp + expiry) * 1000),
      failureCode: null,
      failureMessage: null,
      nextActionUrl: null,
      lightning: {
        paymentRequest,
        paymentHash,
        amountMsat: String(BigInt(amount) * 1000n),
        amountPaidMsat: settled ? String(BigInt(amount) * 1000n) : null,
        preimage: settled ? preimage.toString('hex') : null,
        quote: null,
      },
      metadata,
    };
    this.#payments.set(providerId, payment);
    this.#lightning.set(paymentHash, { providerId, preimage });
    this.#invoiceHashes.set(paymentRequest, paymentHash);
    return payment;
  }

  #require(capability: FakeCapability): void {
    if (!this.has(capability)) {
      throw new ProviderCapabilityNotSupportedError(`The fake provider was configured without "${capability}".`, {
        context: { provider: this.name, capability },
      });
    }
  }

  #record(call: FakeCall): void {
    this.calls.push({ op: call.op, input: copy(call.input), options: { ...call.options } } as FakeCall);
    this.#require(OPERATION_CAPABILITY[call.op]);
  }

  /** Runs `create` once per idempotency key; returns copies so callers cannot change the store. */
  #idempotent<T>(op: FakeOperation, input: unknown, ctx: ProviderContext, create: () => T): T {
    const key = ctx.idempotencyKey;
    if (key === null || key === undefined) return copy(create());
    const slot = `${ctx.tenantId ?? ''}\u0000${key}`;
    const fingerprint = fingerprintOf({ op, input });
    const entry = this.#idempotency.get(slot);
    if (entry !== undefined) {
      if (entry.fingerprint !== fingerprint) {
        throw badRequest('This idempotency key was already used with another request.', 'idempotency_key_reused', {
          idempotencyKey: key,
        });
      }
      return copy(entry.result as T);
    }
    const result = copy(create());
    this.#idempotency.set(slot, { fingerprint, result: copy(result) });
    return result;
  }

  #createSubscription(input: ProviderSubscribeInput): ProviderSubscription {
    const customerProviderId = requireString('customerProviderId', input.customerProviderId);
    this.#customer(customerProviderId);
    const price = this.#price(requireString('priceId', input.priceId));
    const trialDays = input.trialDays ?? 0;
    if (!Number.isSafeInteger(trialDays) || trialDays < 0) {
      throw badRequest('trialDays must be a non-negative integer.', 'invalid_request', { field: 'trialDays' });
    }
    const now = this.now();
    const trialEnd = trialDays > 0 ? new Date(now.getTime() + trialDays * DAY_MS) : null;
    const subscription: ProviderSubscription = {
      providerId: newId('fake_sub', now.getTime()),
      customerProviderId,
      priceId: input.priceId,
      status: trialEnd ? 'trialing' : 'active',
      currentPeriodEnd: trialEnd ?? new Date(now.getTime() + 30 * DAY_MS),
      cancelAtPeriodEnd: false,
      canceledAt: null,
      trialEnd,
      metadata: { ...(input.metadata ?? {}) },
    };
    this.#subscriptions.set(subscription.providerId, subscription);
    const amount = trialEnd ? 0 : price.amount;
    const invoice: ProviderInvoice = {
      providerId: newId('fake_in', now.getTime()),
      customerProviderId,
      subscriptionProviderId: subscription.providerId,
      amount,
      amountPaid: amount,
      currency: price.currency,
      status: 'paid',
      hostedUrl: null,
      metadata: {},
    };
    invoice.hostedUrl = `https://fake.payable.test/invoice/${invoice.providerId}`;
    this.#invoices.set(invoice.providerId, invoice);
    return subscription;
  }

  #move(providerId: string, to: PaymentStatus, from: readonly PaymentStatus[]): ProviderPayment {
    const payment = this.#payment(providerId);
    if (!from.includes(payment.status)) {
      throw badRequest(`A ${payment.status} payment cannot become ${to}.`, 'invalid_state', {
        status: payment.status,
        to,
      });
    }
    payment.status = to;
    return payment;
  }

  #price(priceId: string): FakePrice {
    return this.#prices[priceId] ?? FAKE_DEFAULT_PRICE;
  }

  #objectOf(kind: ProviderObject['kind'], providerId: string): ProviderObject {
    switch (kind) {
      case 'payment':
        return { kind, ...this.#payment(providerId) };
      case 'refund':
        return { kind, ...this.#find(this.#refunds, 'refund', providerId) };
      case 'customer':
        return { kind, ...this.#customer(providerId) };
      case 'checkout':
        return { kind, ...this.#checkout(providerId) };
      case 'subscription':
        return { kind, ...this.#subscription(providerId) };
      case 'invoice':
        return { kind, ...this.#find(this.#invoices, 'invoice', providerId) };
    }
  }

  #payment(providerId: string): ProviderPayment {
    return this.#find(this.#payments, 'payment', providerId);
  }

  #customer(providerId: string): ProviderCustomer {
    return this.#find(this.#customers, 'customer', providerId);
  }

  #checkout(providerId: string): ProviderCheckout {
    return this.#find(this.#checkouts, 'checkout', providerId);
  }

  #subscription(providerId: string): ProviderSubscription {
    return this.#find(this.#subscriptions, 'subscription', providerId);
  }

  #find<T>(map: Map<string, T>, kind: string, providerId: string): T {
    const found = typeof providerId === 'string' ? map.get(providerId) : undefined;
    if (found === undefined) {
      throw new NotFoundError(`The fake provider has no ${kind} "${String(providerId)}".`, {
        context: { provider: 'fake', kind, providerId },
      });
    }
    return found;
  }
}

function headerValue(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  const direct = headers[name];
  if (direct !== undefined) return direct;
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}
