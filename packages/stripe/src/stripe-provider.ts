import { createHash } from 'node:crypto';
import {
  InvalidWebhookPayloadError,
  isPayableError,
  type NormalizedEvent,
  NotFoundError,
  type PaymentProvider,
  type ProviderChargeInput,
  type ProviderCheckout,
  type ProviderCheckoutInput,
  type ProviderContext,
  type ProviderCustomer,
  type ProviderCustomerInput,
  type ProviderHealth,
  type ProviderInvoice,
  type ProviderInvoiceQuery,
  type ProviderPayment,
  type ProviderRefund,
  type ProviderRefundInput,
  type ProviderSubscribeInput,
  type ProviderSubscription,
  ValidationError,
  type WebhookVerifyInput,
} from '@payable/core';
import Stripe from 'stripe';
import { normalizeStripeEvent } from './events.js';
import { mapStripeError } from './map-error.js';
import {
  isObject,
  REFUND_REASON_METADATA_KEY,
  STRIPE_REFUND_REASONS,
  type StripeJson,
  toCheckout,
  toCustomer,
  toInvoice,
  toPayment,
  toRefund,
  toSubscription,
} from './map-objects.js';
import {
  checkStripeTimestamp,
  parseStripeSignatureHeader,
  STRIPE_DEFAULT_MAX_SIGNATURES,
  STRIPE_DEFAULT_TOLERANCE_SECONDS,
  signatureError,
} from './signature.js';

/** What a `StripeProvider` can do. */
export const STRIPE_CAPABILITIES = [
  'charges',
  'checkout',
  'refunds',
  'customers',
  'subscriptions',
  'invoices',
  'webhooks',
] as const;

/** One of {@link STRIPE_CAPABILITIES}. */
export type StripeCapability = (typeof STRIPE_CAPABILITIES)[number];

/**
 * Metadata keys of a charge or checkout input that the provider reads as Stripe options and does
 * not send on as metadata:
 * - `stripe_payment_method` (charge): a PaymentMethod id (`pm_…`) to confirm the PaymentIntent
 *   with at once (`payment_method` + `confirm: true`). Without it the PaymentIntent waits for the
 *   payer (status `pending`) and is confirmed client-side with its `client_secret`.
 * - `stripe_return_url` (charge): where a redirect-based payment method (3-D Secure) sends the payer
 *   back; without it a confirmed PaymentIntent is limited to methods that never redirect
 *   (`automatic_payment_methods: { enabled: true, allow_redirects: 'never' }`).
 * - `stripe_product_name` (payment-mode checkout): the line item's product name (default `Payment`).
 *
 * @example
 * ```ts
 * await payable.charge({ amount: 1999, currency: 'EUR',
 *   metadata: { [STRIPE_METADATA_KEYS.paymentMethod]: 'pm_card_visa', orderId: '42' } });
 * ```
 */
export const STRIPE_METADATA_KEYS = {
  paymentMethod: 'stripe_payment_method',
  returnUrl: 'stripe_return_url',
  productName: 'stripe_product_name',
} as const;

/** Retries the SDK makes itself (network errors, 409, 5xx) before the provider reports a failure. */
export const STRIPE_DEFAULT_MAX_NETWORK_RETRIES = 2;

/**
 * Options of {@link StripeProvider}.
 *
 * @example
 * ```ts
 * const options: StripeProviderOptions = {
 *   secretKey: process.env.STRIPE_SECRET_KEY!,
 *   webhookSecrets: [process.env.STRIPE_WEBHOOK_SECRET!],
 *   toleranceSeconds: 300,
 * };
 * ```
 */
export interface StripeProviderOptions {
  /** The secret (`sk_…`) or restricted (`rk_…`) API key. Required unless `stripe` is given. */
  secretKey?: string;
  /** The webhook endpoint's signing secret (`whsec_…`). */
  webhookSecret?: string;
  /**
   * Several signing secrets accepted at once, for rotation (Stripe keeps the old secret valid for
   * up to 24 hours after a roll): a delivery signed with any of them verifies.
   */
  webhookSecrets?: readonly string[];
  /** The Stripe API version to pin, when the provider builds the client. Default: the SDK's. */
  apiVersion?: string;
  /**
   * Your own configured `Stripe` instance (proxy agent, Connect account, telemetry…). Its own
   * retry and timeout settings apply; `secretKey`, `apiVersion`, `maxNetworkRetries` and `config`
   * are then ignored.
   */
  stripe?: Stripe;
  /** Webhook signature timestamp tolerance in seconds, checked in both directions. Default 300. */
  toleranceSeconds?: number;
  /** Most `v1` signatures read from one `Stripe-Signature` header; more is refused. Default 5. */
  maxSignatures?: number;
  /** Retries the SDK makes itself before a failure is reported. Default 2. */
  maxNetworkRetries?: number;
  /**
   * Further options of the `Stripe` client the provider builds (`timeout`, `httpAgent`, `host`,
   * `port`, `protocol`, `appInfo`…).
   */
  config?: Stripe.StripeConfig;
}

type RequestOptions = Stripe.RequestOptions | undefined;

const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

function headerValue(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  const direct = headers[name];
  if (direct !== undefined) return direct;
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

function isSignatureVerificationError(error: unknown): error is { message: string } {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { type?: unknown }).type === 'StripeSignatureVerificationError'
  );
}

/** An SDK answer as a plain JSON object for the mappers. */
function json(value: unknown): StripeJson {
  return isObject(value) ? value : {};
}

function keyMode(secretKey: string | undefined): 'test' | 'live' | 'unknown' {
  if (secretKey === undefined) return 'unknown';
  if (/^(sk|rk)_test_/.test(secretKey)) return 'test';
  if (/^(sk|rk)_live_/.test(secretKey)) return 'live';
  return 'unknown';
}

/**
 * The Stripe provider, on the official `stripe` SDK: charges are PaymentIntents (automatic or
 * manual capture), checkout is Checkout Sessions (payment and subscription mode), plus refunds,
 * customers, subscriptions (cancel now or at period end) and invoices. Idempotency keys are
 * forwarded to Stripe. Webhooks are verified with the SDK over the raw body, with a two-way
 * timestamp tolerance, secret rotation and a bound on the signatures read. Every SDK error is
 * mapped to a Payable error (see `mapStripeError`).
 *
 * @example
 * ```ts
 * import { StripeProvider } from '@payable/stripe';
 *
 * const stripe = new StripeProvider({
 *   secretKey: process.env.STRIPE_SECRET_KEY!,
 *   webhookSecrets: [process.env.STRIPE_WEBHOOK_SECRET!, process.env.STRIPE_WEBHOOK_SECRET_OLD!].filter(Boolean),
 * });
 * const payable = createPayable({ providers: { stripe }, storage });
 * ```
 */
export class StripeProvider implements PaymentProvider<StripeCapability> {
  readonly name = 'stripe';
  readonly capabilities: readonly StripeCapability[] = STRIPE_CAPABILITIES;
  readonly idempotency = 'native' as const;
  readonly signatureHeader = 'stripe-signature';
  /** The Stripe client the provider calls (yours, when passed as `stripe`). */
  readonly stripe: Stripe;
  /** The signature timestamp tolerance in seconds, both directions. */
  readonly toleranceSeconds: number;
  /** Most `v1` signatures read from one header. */
  readonly maxSignatures: number;
  readonly #webhookSecrets: readonly string[];
  readonly #mode: 'test' | 'live' | 'unknown';

  constructor(options: StripeProviderOptions) {
    const secrets = [
      ...(options.webhookSecret === undefined ? [] : [options.webhookSecret]),
      ...(options.webhookSecrets ?? []),
    ];
    if (secrets.length === 0) {
      throw new ValidationError('StripeProvider needs webhookSecret (or webhookSecrets) to verify webhooks.', {
        context: { field: 'webhookSecret', reason: 'required' },
      });
    }
    if (!secrets.every(nonEmpty)) {
      throw new ValidationError('A Stripe webhook secret must not be empty.', {
        context: { field: 'webhookSecrets', reason: 'empty' },
      });
    }
    const tolerance = options.toleranceSeconds ?? STRIPE_DEFAULT_TOLERANCE_SECONDS;
    if (!Number.isFinite(tolerance) || tolerance <= 0) {
      throw new ValidationError('toleranceSeconds must be a positive number of seconds.', {
        context: { field: 'toleranceSeconds', reason: 'expected a positive number' },
      });
    }
    const maxSignatures = options.maxSignatures ?? STRIPE_DEFAULT_MAX_SIGNATURES;
    if (!Number.isSafeInteger(maxSignatures) || maxSignatures < 1) {
      throw new ValidationError('maxSignatures must be a positive integer.', {
        context: { field: 'maxSignatures', reason: 'expected a positive integer' },
      });
    }
    if (options.stripe !== undefined) {
      this.stripe = options.stripe;
    } else {
      if (!nonEmpty(options.secretKey)) {
        throw new ValidationError('StripeProvider needs secretKey (or a configured stripe instance).', {
          context: { field: 'secretKey', reason: 'required' },
        });
      }
      if (options.secretKey.startsWith('pk_')) {
        throw new ValidationError(
          'secretKey is a publishable key (pk_…): use the secret key (sk_…) or a restricted key (rk_…).',
          {
            context: { field: 'secretKey', reason: 'publishable key' },
          },
        );
      }
      const retries = options.maxNetworkRetries ?? STRIPE_DEFAULT_MAX_NETWORK_RETRIES;
      if (!Number.isSafeInteger(retries) || retries < 0) {
        throw new ValidationError('maxNetworkRetries must be a non-negative integer.', {
          context: { field: 'maxNetworkRetries', reason: 'expected a non-negative integer' },
        });
      }
      this.stripe = new Stripe(options.secretKey, {
        maxNetworkRetries: retries,
        appInfo: { name: 'Payable' },
        ...options.config,
        ...(options.apiVersion === undefined ? {} : { apiVersion: options.apiVersion as Stripe.LatestApiVersion }),
      });
    }
    this.#mode = options.stripe !== undefined ? 'unknown' : keyMode(options.secretKey);
    this.#webhookSecrets = Object.freeze([...new Set(secrets)]);
    this.toleranceSeconds = tolerance;
    this.maxSignatures = maxSignatures;
  }

  // -------------------------------------------------------------------------------------------
  // Operations

  /**
   * Creates a PaymentIntent. `capture: false` authorizes only (`capture_method: 'manual'`).
   * `metadata.stripe_payment_method` confirms it at once (see {@link STRIPE_METADATA_KEYS}); a
   * decline is then a `PROVIDER_ERROR` with `context.declineCode`.
   */
  async charge(input: ProviderChargeInput, ctx: ProviderContext): Promise<ProviderPayment> {
    const metadata = { ...input.metadata };
    const paymentMethod = metadata[STRIPE_METADATA_KEYS.paymentMethod];
    const returnUrl = metadata[STRIPE_METADATA_KEYS.returnUrl];
    delete metadata[STRIPE_METADATA_KEYS.paymentMethod];
    delete metadata[STRIPE_METADATA_KEYS.returnUrl];
    const params: Stripe.PaymentIntentCreateParams = {
      amount: input.amount,
      currency: input.currency.toLowerCase(),
      capture_method: input.capture ? 'automatic' : 'manual',
      metadata,
      ...(input.customerProviderId ? { customer: input.customerProviderId } : {}),
      ...(input.description ? { description: input.description } : {}),
    };
    if (nonEmpty(paymentMethod)) {
      params.payment_method = paymentMethod;
      params.confirm = true;
      if (nonEmpty(returnUrl)) params.return_url = returnUrl;
      else params.automatic_payment_methods = { enabled: true, allow_redirects: 'never' };
    }
    const pi = await this.#call('charge', ctx, (options) => this.stripe.paymentIntents.create(params, options));
    return toPayment(json(pi));
  }

  /** Retrieves the PaymentIntent (with its latest charge, for the refunded amount). */
  async getPayment(providerId: string, ctx: ProviderContext): Promise<ProviderPayment> {
    const pi = await this.#call('getPayment', ctx, (options) =>
      this.stripe.paymentIntents.retrieve(providerId, { expand: ['latest_charge'] }, options),
    );
    return toPayment(json(pi));
  }

  /**
   * Refunds (part of) a PaymentIntent. Stripe's own reasons (`duplicate`, `fraudulent`,
   * `requested_by_customer`) are sent as `reason`; any other text travels in the refund's metadata.
   */
  async refund(input: ProviderRefundInput, ctx: ProviderContext): Promise<ProviderRefund> {
    const metadata = { ...input.metadata };
    let reason: Stripe.RefundCreateParams.Reason | undefined;
    if (input.reason) {
      if ((STRIPE_REFUND_REASONS as readonly string[]).includes(input.reason)) {
        reason = input.reason as Stripe.RefundCreateParams.Reason;
      } else {
        metadata[REFUND_REASON_METADATA_KEY] = input.reason.slice(0, 500);
      }
    }
    const target = input.paymentProviderId.startsWith('ch_')
      ? { charge: input.paymentProviderId }
      : { payment_intent: input.paymentProviderId };
    const params: Stripe.RefundCreateParams = {
      ...target,
      amount: input.amount,
      metadata,
      ...(reason ? { reason } : {}),
    };
    const refund = await this.#call('refund', ctx, (options) => this.stripe.refunds.create(params, options));
    return toRefund(json(refund));
  }

  /** Creates a Customer. */
  async createCustomer(input: ProviderCustomerInput, ctx: ProviderContext): Promise<ProviderCustomer> {
    const params: Stripe.CustomerCreateParams = {
      metadata: { ...input.metadata },
      ...(input.email ? { email: input.email } : {}),
      ...(input.name ? { name: input.name } : {}),
    };
    const customer = await this.#call('createCustomer', ctx, (options) =>
      this.stripe.customers.create(params, options),
    );
    return toCustomer(json(customer));
  }

  /** Retrieves a Customer; a deleted one is `NOT_FOUND`. */
  async getCustomer(providerId: string, ctx: ProviderContext): Promise<ProviderCustomer> {
    const customer = json(
      await this.#call('getCustomer', ctx, (options) => this.stripe.customers.retrieve(providerId, {}, options)),
    );
    if (customer.deleted === true) {
      throw new NotFoundError(`The Stripe customer ${providerId} was deleted.`, {
        context: { provider: 'stripe', op: 'getCustomer', providerId },
      });
    }
    return toCustomer(customer);
  }

  /**
   * Creates a Checkout Session: payment mode with one line item of the amount (`price_data`), or
   * subscription mode with the price. The session's metadata is copied to the PaymentIntent or
   * subscription it creates, so their webhooks carry it too.
   */
  async createCheckout(input: ProviderCheckoutInput, ctx: ProviderContext): Promise<ProviderCheckout> {
    const metadata = { ...input.metadata };
    const productName = metadata[STRIPE_METADATA_KEYS.productName];
    delete metadata[STRIPE_METADATA_KEYS.productName];
    const common = {
      success_url: input.successUrl,
      cancel_url: input.cancelUrl,
      metadata,
      ...(input.customerProviderId ? { customer: input.customerProviderId } : {}),
    };
    let params: Stripe.Checkout.SessionCreateParams;
    if (input.mode === 'subscription') {
      if (!nonEmpty(input.priceId)) {
        throw new ValidationError('A subscription checkout needs a priceId.', {
          context: { field: 'priceId', reason: 'required' },
        });
      }
      params = {
        ...common,
        mode: 'subscription',
        line_items: [{ price: input.priceId, quantity: 1 }],
        subscription_data: { metadata },
      };
    } else {
      if (input.amount === null || !nonEmpty(input.currency)) {
        throw new ValidationError('A payment checkout needs an amount and a currency.', {
          context: { field: input.amount === null ? 'amount' : 'currency', reason: 'required' },
        });
      }
      params = {
        ...common,
        mode: 'payment',
        line_items: [
          {
            quantity: 1,
            price_data: {
              currency: input.currency.toLowerCase(),
              unit_amount: input.amount,
              product_data: { name: nonEmpty(productName) ? productName : 'Payment' },
            },
          },
        ],
        payment_intent_data: { metadata },
      };
    }
    const session = await this.#call('createCheckout', ctx, (options) =>
      this.stripe.checkout.sessions.create(params, options),
    );
    return toCheckout(json(session));
  }

  /** Subscribes a customer to a price (`trial_period_days` with `trialDays`). */
  async subscribe(input: ProviderSubscribeInput, ctx: ProviderContext): Promise<ProviderSubscription> {
    const params: Stripe.SubscriptionCreateParams = {
      customer: input.customerProviderId,
      items: [{ price: input.priceId }],
      metadata: { ...input.metadata },
      ...(input.trialDays ? { trial_period_days: input.trialDays } : {}),
    };
    const subscription = await this.#call('subscribe', ctx, (options) =>
      this.stripe.subscriptions.create(params, options),
    );
    return toSubscription(json(subscription));
  }

  /**
   * Cancels now (`subscriptions.cancel`) or at the period end (`cancel_at_period_end: true`).
   * Canceling a subscription that is already canceled returns it (a retry whose first answer was
   * lost must not fail: Stripe ignores idempotency keys on DELETE).
   */
  async cancelSubscription(
    providerId: string,
    options: { atPeriodEnd: boolean },
    ctx: ProviderContext,
  ): Promise<ProviderSubscription> {
    if (options.atPeriodEnd) {
      const updated = await this.#call('cancelSubscription', ctx, (request) =>
        this.stripe.subscriptions.update(providerId, { cancel_at_period_end: true }, request),
      );
      return toSubscription(json(updated));
    }
    try {
      const canceled = await this.#call('cancelSubscription', ctx, (request) =>
        this.stripe.subscriptions.cancel(providerId, {}, request),
      );
      return toSubscription(json(canceled));
    } catch (error) {
      if (!isPayableError(error) || error.code !== 'PROVIDER_ERROR') throw error;
      const current = await this.#call('cancelSubscription', { ...ctx, idempotencyKey: null }, (request) =>
        this.stripe.subscriptions.retrieve(providerId, {}, request),
      ).catch(() => null);
      if (current !== null && json(current).status === 'canceled') return toSubscription(json(current));
      throw error;
    }
  }

  /** Lists invoices, newest first, by customer and/or subscription (at most 100). */
  async listInvoices(query: ProviderInvoiceQuery, ctx: ProviderContext): Promise<ProviderInvoice[]> {
    const params: Stripe.InvoiceListParams = {
      limit: Math.min(Math.max(Math.trunc(query.limit) || 10, 1), 100),
      ...(query.customerProviderId ? { customer: query.customerProviderId } : {}),
      ...(query.subscriptionProviderId ? { subscription: query.subscriptionProviderId } : {}),
    };
    const page = await this.#call('listInvoices', { ...ctx, idempotencyKey: null }, (options) =>
      this.stripe.invoices.list(params, options),
    );
    const data: unknown = json(page).data;
    return Array.isArray(data) ? data.map((invoice) => toInvoice(json(invoice))) : [];
  }

  /**
   * The provider's configuration, without calling Stripe (a health probe must not spend API rate):
   * the key's mode and the number of webhook secrets; a warning for a test key in production.
   */
  async health(): Promise<ProviderHealth> {
    const warnings: string[] = [];
    if (this.#mode === 'test' && process.env.NODE_ENV === 'production') {
      warnings.push('A Stripe test-mode key is configured while NODE_ENV=production.');
    }
    return {
      ok: true,
      details: { provider: 'stripe', mode: this.#mode, webhookSecrets: this.#webhookSecrets.length },
      ...(warnings.length > 0 ? { warnings } : {}),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Webhooks

  /**
   * Verifies a Stripe webhook over the exact raw bytes and normalizes it. Before the SDK runs, the
   * `Stripe-Signature` header is parsed with a bound (`maxSignatures` `v1` entries) and its
   * timestamp checked against `input.now` in both directions; then
   * `stripe.webhooks.constructEvent` checks the signature (constant-time, any `v1` may match) with
   * each configured secret in turn (rotation), or only `input.secret` when given. Failures are
   * `INVALID_WEBHOOK_SIGNATURE` with `context.reason`; a verified body that is not a Stripe event is
   * `INVALID_WEBHOOK_PAYLOAD`.
   */
  async verifyWebhook(input: WebhookVerifyInput): Promise<NormalizedEvent> {
    const payload: unknown = input.payload;
    if (!(payload instanceof Uint8Array) || payload.length === 0) {
      throw new InvalidWebhookPayloadError('The Stripe webhook body is missing or was parsed before verification.', {
        context: { provider: 'stripe', reason: payload instanceof Uint8Array ? 'empty' : 'not_raw_bytes' },
      });
    }
    const headerName = (input.signatureHeader ?? this.signatureHeader).toLowerCase();
    const header = headerValue(input.headers, headerName);
    if (header === undefined || header.trim() === '') {
      throw signatureError('missing_header', `The ${headerName} header is missing.`, { header: headerName });
    }
    const parts = parseStripeSignatureHeader(header, this.maxSignatures);
    checkStripeTimestamp(parts.timestamp, input.now, this.toleranceSeconds);
    const secrets = input.secret !== undefined ? [input.secret] : this.#webhookSecrets;
    if (!secrets.every(nonEmpty)) throw signatureError('no_secret', 'The webhook secret is empty.');
    let lastFailure: 'signature_mismatch' | 'timestamp_outside_tolerance' = 'signature_mismatch';
    for (const secret of secrets) {
      let event: unknown;
      try {
        event = this.stripe.webhooks.constructEvent(
          payload,
          header,
          secret,
          this.toleranceSeconds,
          undefined,
          input.now.getTime(),
        );
      } catch (error) {
        if (isSignatureVerificationError(error)) {
          if (/tolerance/i.test(error.message)) lastFailure = 'timestamp_outside_tolerance';
          continue;
        }
        // The signature matched; the SDK could not read the body as an event.
        throw new InvalidWebhookPayloadError('The Stripe webhook body is not a JSON Stripe event.', {
          context: { provider: 'stripe', reason: 'not_json' },
          cause: error,
        });
      }
      return normalizeStripeEvent(event);
    }
    throw signatureError(
      lastFailure,
      lastFailure === 'signature_mismatch'
        ? 'No Stripe-Signature v1 signature matches the raw body with the configured webhook secret(s).'
        : 'The Stripe-Signature timestamp is outside the tolerance.',
      { header: headerName, secrets: secrets.length },
    );
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  /**
   * The request options of a call: the idempotency key, namespaced by tenant when there is one (one
   * Stripe account may serve several tenants whose keys must not collide), hashed when too long.
   */
  #requestOptions(ctx: ProviderContext): RequestOptions {
    const key = ctx.idempotencyKey;
    if (!nonEmpty(key)) return undefined;
    let scoped = ctx.tenantId ? `${ctx.tenantId}:${key}` : key;
    if (scoped.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
      scoped = `payable-sha256-${createHash('sha256').update(scoped).digest('hex')}`;
    }
    return { idempotencyKey: scoped };
  }

  async #call<T>(op: string, ctx: ProviderContext, run: (options: RequestOptions) => Promise<T>): Promise<T> {
    const options = this.#requestOptions(ctx);
    try {
      return await run(options);
    } catch (error) {
      throw mapStripeError(error, { op, idempotencyKey: options?.idempotencyKey ?? null });
    }
  }
}
