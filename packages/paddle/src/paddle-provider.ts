import {
  type Adjustment,
  ApiError,
  type CountryCode,
  type CreateTransactionRequestBody,
  type CurrencyCode,
  Environment,
  type ITransactionItemWithNonCatalogPrice,
  Paddle,
  type Transaction,
} from '@paddle/paddle-node-sdk';
import {
  type Metadata,
  type NormalizedEvent,
  type PaymentProvider,
  type ProviderCheckout,
  type ProviderCheckoutInput,
  type ProviderContext,
  type ProviderCustomer,
  type ProviderCustomerInput,
  ProviderError,
  type ProviderInvoice,
  type ProviderInvoiceQuery,
  type ProviderPayment,
  type ProviderRefund,
  type ProviderRefundInput,
  type ProviderSubscribeInput,
  type ProviderSubscription,
  InvalidWebhookPayloadError,
  InvalidWebhookSignatureError,
  ValidationError,
  type WebhookVerifyInput,
} from '@payable/core';
import { formatPaddleAmount } from './amount.js';
import { mapPaddleError } from './map-error.js';
import { parsePaddleEvent } from './paddle-events.js';
import {
  amountOf,
  CATALOG_PRICE_KEY,
  PaddleShapeError,
  toCheckout,
  toCustomer,
  toInvoice,
  toPayment,
  toRefund,
  toSubscription,
  transactionAmount,
} from './paddle-objects.js';
import {
  PADDLE_DEFAULT_TOLERANCE_SECONDS,
  PADDLE_SIGNATURE_HEADER,
  verifyPaddleSignature,
} from './paddle-signature.js';

/**
 * What a `PaddleProvider` can do. There is no `charges`: Paddle takes payments through checkout.
 *
 * @example
 * ```ts
 * PADDLE_CAPABILITIES.includes('charges'); // false: payable.supports('charges', 'paddle') is false too
 * ```
 */
export const PADDLE_CAPABILITIES = Object.freeze([
  'checkout',
  'customers',
  'subscriptions',
  'refunds',
  'invoices',
  'webhooks',
] as const);

/**
 * The capabilities of a `PaddleProvider`, as a type.
 *
 * @example
 * ```ts
 * const needed: PaddleCapability = 'refunds';
 * ```
 */
export type PaddleCapability = (typeof PADDLE_CAPABILITIES)[number];

/**
 * Options of {@link PaddleProvider}.
 *
 * @example
 * ```ts
 * const options: PaddleProviderOptions = {
 *   apiKey: process.env.PADDLE_API_KEY,
 *   environment: 'production',
 *   webhookSecrets: [process.env.PADDLE_WEBHOOK_SECRET_NEW!, process.env.PADDLE_WEBHOOK_SECRET_OLD!],
 *   toleranceSeconds: 300,
 * };
 * ```
 */
export interface PaddleProviderOptions {
  /**
   * A Paddle API key (`pdl_sdbx_apikey_…` for sandbox, `pdl_live_apikey_…` for live). Required
   * unless `paddle` is given.
   */
  apiKey?: string;
  /** Which Paddle: `'sandbox'` or `'production'`. Required unless `paddle` is given. */
  environment?: 'sandbox' | 'production';
  /** The notification destination's secret key. Give this or `webhookSecrets`. */
  webhookSecret?: string;
  /**
   * Several secret keys, all accepted, for rotation: list the new one beside the old one while
   * Paddle sends both signatures, then drop the old one.
   */
  webhookSecrets?: readonly string[];
  /**
   * How far (seconds, past or future) a signature's `ts` may be from now. Default 300. Paddle's
   * own SDK uses 5 seconds, which refuses genuine deliveries under ordinary clock skew.
   */
  toleranceSeconds?: number;
  /**
   * A configured SDK instance to use instead of building one from `apiKey` and `environment`
   * (custom headers, logging, or pointed at a local simulator).
   */
  paddle?: Paddle;
  /**
   * The page of your site that opens Paddle Checkout with Paddle.js (an approved domain). Paddle
   * appends `?_ptxn=<transaction id>`. Default: the account's default payment link.
   */
  checkoutUrl?: string;
  /**
   * The catalog product (`pro_…`) that amount-only checkouts are sold as. Default: a non-catalog
   * product named `checkoutProductName` with the `standard` tax category.
   */
  checkoutProductId?: string;
  /** The name of the non-catalog product for amount-only checkouts. Default `'Payment'`. */
  checkoutProductName?: string;
  /**
   * The country of the address `subscribe` creates for a customer who has none (Paddle bills to an
   * address). Default: none, and `subscribe` refuses customers without an address.
   */
  defaultCountryCode?: CountryCode;
  /** Days the customer has to pay the invoice of a subscription made by `subscribe`. Default 14. */
  paymentTermsDays?: number;
}

/**
 * Options of {@link PaddleProvider.pauseSubscription}.
 *
 * @example
 * ```ts
 * const options: PaddlePauseOptions = { atPeriodEnd: true, resumeAt: new Date('2026-09-01') };
 * ```
 */
export interface PaddlePauseOptions {
  /** `true` to pause when the current billing period ends. Default `false`: now. */
  atPeriodEnd?: boolean;
  /** When Paddle resumes it by itself. Default: paused until resumed. */
  resumeAt?: Date | null;
}

/**
 * Options of {@link PaddleProvider.resumeSubscription}.
 *
 * @example
 * ```ts
 * const options: PaddleResumeOptions = { at: new Date('2026-07-01') };
 * ```
 */
export interface PaddleResumeOptions {
  /** When to resume. Default: now. */
  at?: Date;
}

const ALLOWED_ENVIRONMENTS = ['sandbox', 'production'] as const;
/** Statuses of transactions that are invoices (billed or paid), for `listInvoices`. */
const INVOICE_STATUSES = ['billed', 'paid', 'completed', 'past_due', 'canceled'] as const;
/** Waits (ms) while Paddle attaches the subscription a billed transaction creates. */
const SUBSCRIPTION_POLL_DELAYS = [100, 200, 400, 800, 1600];

function requireNonEmpty(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ValidationError(`${field} must be a non-empty string.`, { context: { field, reason: 'required' } });
  }
  return value;
}

function customDataOf(metadata: Metadata | undefined): Record<string, string> | undefined {
  return metadata && Object.keys(metadata).length > 0 ? { ...metadata } : undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function headerValue(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  const direct = headers[name];
  if (direct !== undefined) return direct;
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

/**
 * Payable's provider for Paddle Billing, on the official `@paddle/paddle-node-sdk`.
 *
 * - **checkout**: a transaction with a checkout URL; by amount (a non-catalog price) or by
 *   `priceId` (subscription mode). Payments arrive through webhooks (`transaction.completed`).
 * - **customers**, **subscriptions** (`subscribe` bills an invoice for the price, which makes
 *   Paddle create the subscription; cancel now or at period end; {@link pauseSubscription} and
 *   {@link resumeSubscription} besides), **refunds** (refund adjustments, full or partial; Paddle
 *   reviews them, so they start `pending`), **invoices** (billed transactions), **webhooks**
 *   (`Paddle-Signature`, verified here over the raw bytes in constant time, several `h1` and
 *   several secrets accepted, tolerance both directions).
 * - No `charges` (Paddle cannot charge a card directly) and no idempotency keys (`idempotency:
 *   'none'`: Payable's own idempotency keys still protect every operation).
 * - Every failure is a Payable error (see `mapPaddleError`), never a raw SDK error.
 *
 * @example
 * ```ts
 * const paddle = new PaddleProvider({
 *   apiKey: process.env.PADDLE_API_KEY!,
 *   environment: 'sandbox',
 *   webhookSecret: process.env.PADDLE_WEBHOOK_SECRET!,
 * });
 * const payable = createPayable({ providers: { paddle }, storage });
 * const checkout = await payable.createCheckout({ amount: 1999, currency: 'USD', successUrl, cancelUrl });
 * ```
 */
export class PaddleProvider implements PaymentProvider<PaddleCapability> {
  readonly name = 'paddle';
  readonly capabilities: readonly PaddleCapability[] = PADDLE_CAPABILITIES;
  readonly idempotency = 'none' as const;
  readonly signatureHeader = PADDLE_SIGNATURE_HEADER;
  /** The signature tolerance in seconds, both directions. */
  readonly toleranceSeconds: number;
  /** The SDK instance it calls (yours, when you passed `paddle`). */
  readonly client: Paddle;

  readonly #secrets: readonly string[];
  readonly #options: PaddleProviderOptions;

  constructor(options: PaddleProviderOptions) {
    this.#options = { ...options };
    if (options.paddle !== undefined) {
      this.client = options.paddle;
    } else {
      const apiKey = requireNonEmpty('apiKey', options.apiKey);
      const environment = options.environment;
      if (environment === undefined || !(ALLOWED_ENVIRONMENTS as readonly string[]).includes(environment)) {
        throw new ValidationError("environment must be 'sandbox' or 'production'.", {
          context: { field: 'environment', reason: 'expected sandbox or production' },
        });
      }
      const keyEnvironment = apiKey.startsWith('pdl_sdbx_')
        ? 'sandbox'
        : apiKey.startsWith('pdl_live_')
          ? 'production'
          : null;
      if (keyEnvironment !== null && keyEnvironment !== environment) {
        throw new ValidationError(`The API key is a ${keyEnvironment} key but environment is '${environment}'.`, {
          context: { field: 'environment', reason: 'api key environment mismatch' },
        });
      }
      this.client = new Paddle(apiKey, {
        environment: environment === 'sandbox' ? Environment.sandbox : Environment.production,
      });
    }
    const secrets = [
      ...(options.webhookSecret === undefined ? [] : [options.webhookSecret]),
      ...(options.webhookSecrets ?? []),
    ];
    if (secrets.length === 0) {
      throw new ValidationError(
        'webhookSecret or webhookSecrets is required: Paddle webhooks cannot be verified without it.',
        {
          context: { field: 'webhookSecret', reason: 'required' },
        },
      );
    }
    for (const [i, secret] of secrets.entries()) {
      requireNonEmpty(i === 0 && options.webhookSecret !== undefined ? 'webhookSecret' : 'webhookSecrets', secret);
    }
    this.#secrets = Object.freeze([...new Set(secrets)]);
    const tolerance = options.toleranceSeconds ?? PADDLE_DEFAULT_TOLERANCE_SECONDS;
    if (!Number.isFinite(tolerance) || tolerance < 0) {
      throw new ValidationError('toleranceSeconds must be a non-negative number.', {
        context: { field: 'toleranceSeconds', reason: 'expected a non-negative number' },
      });
    }
    this.toleranceSeconds = tolerance;
    const terms = options.paymentTermsDays ?? 14;
    if (!Number.isSafeInteger(terms) || terms < 1) {
      throw new ValidationError('paymentTermsDays must be a positive integer.', {
        context: { field: 'paymentTermsDays', reason: 'expected a positive integer' },
      });
    }
  }

  // ---- webhooks ---------------------------------------------------------------------------------

  /**
   * Verifies a Paddle notification over the exact raw bytes and normalizes it (see
   * `PADDLE_EVENT_TYPES`). Signature first: a bad signature is `INVALID_WEBHOOK_SIGNATURE`
   * whatever the body; a genuinely signed body that is not a Paddle notification is
   * `INVALID_WEBHOOK_PAYLOAD`. `input.secret` replaces the configured secrets (per-tenant secrets).
   */
  async verifyWebhook(input: WebhookVerifyInput): Promise<NormalizedEvent> {
    const payload: unknown = input.payload;
    const headerName = (input.signatureHeader ?? this.signatureHeader).toLowerCase();
    if (!(payload instanceof Uint8Array)) {
      throw new InvalidWebhookPayloadError('The webhook body must be the raw bytes, not a parsed object.', {
        context: { provider: 'paddle', reason: 'not_raw_bytes' },
      });
    }
    if (input.secret !== undefined && input.secret.trim() === '') {
      throw new InvalidWebhookSignatureError('The webhook secret given for this delivery is empty.', {
        context: { provider: 'paddle', header: headerName, reason: 'empty_secret' },
      });
    }
    verifyPaddleSignature({
      payload,
      header: headerValue(input.headers, headerName),
      headerName,
      secrets: input.secret !== undefined ? [input.secret] : this.#secrets,
      now: input.now,
      toleranceSeconds: this.toleranceSeconds,
    });
    if (payload.length === 0) {
      throw new InvalidWebhookPayloadError('The webhook body is empty.', {
        context: { provider: 'paddle', reason: 'empty' },
      });
    }
    return parsePaddleEvent(payload);
  }

  // ---- customers --------------------------------------------------------------------------------

  /**
   * Creates a Paddle customer. Paddle requires an email (without one: `VALIDATION_ERROR`) and keeps
   * one customer per email: for an email Paddle already knows, the existing customer is returned
   * as it is (its name and custom data unchanged).
   */
  async createCustomer(input: ProviderCustomerInput, _ctx?: ProviderContext): Promise<ProviderCustomer> {
    if (input.email === null || input.email.trim() === '') {
      throw new ValidationError('Paddle customers need an email.', {
        context: { field: 'email', reason: 'required by Paddle' },
      });
    }
    const email = input.email;
    return this.#call('createCustomer', async () => {
      const customData = customDataOf(input.metadata);
      try {
        const customer = await this.client.customers.create({
          email,
          ...(input.name === null ? {} : { name: input.name }),
          ...(customData ? { customData } : {}),
        });
        return toCustomer(customer);
      } catch (error) {
        // Paddle keeps one customer per email: hand back the one it already has.
        if (!(error instanceof ApiError) || error.code !== 'customer_already_exists') throw error;
        const [existing] = await this.client.customers.list({ email: [email], perPage: 1 }).next();
        if (!existing) throw error;
        return toCustomer(existing);
      }
    });
  }

  /** Reads a Paddle customer (`ctm_…`); unknown ids are `NOT_FOUND`. */
  async getCustomer(providerId: string, _ctx?: ProviderContext): Promise<ProviderCustomer> {
    return this.#call('getCustomer', async () => toCustomer(await this.client.customers.get(providerId)));
  }

  // ---- checkout ---------------------------------------------------------------------------------

  /**
   * Creates a transaction to pay at checkout and returns its checkout URL. Payment mode: a
   * non-catalog price for `amount` in `currency`; subscription mode: the catalog `priceId`.
   * `successUrl`/`cancelUrl` are not Paddle API fields: Paddle.js on the checkout page redirects
   * (its `settings.successUrl`). A transaction without a checkout URL (no default payment link
   * and no `checkoutUrl` option) is `PROVIDER_ERROR` with `providerCode: 'checkout_url_missing'`.
   */
  async createCheckout(input: ProviderCheckoutInput, _ctx?: ProviderContext): Promise<ProviderCheckout> {
    const item = this.#checkoutItem(input);
    return this.#call('createCheckout', async () => {
      const customData = customDataOf(input.metadata);
      const body: CreateTransactionRequestBody = {
        items: [item],
        collectionMode: 'automatic',
        ...(input.mode === 'payment' && input.currency
          ? { currencyCode: input.currency.toUpperCase() as CurrencyCode }
          : {}),
        ...(input.customerProviderId ? { customerId: input.customerProviderId } : {}),
        ...(customData ? { customData } : {}),
        ...(this.#options.checkoutUrl ? { checkout: { url: this.#options.checkoutUrl } } : {}),
      };
      const txn = await this.client.transactions.create(body);
      if (!txn.checkout?.url) {
        throw new ProviderError(
          'Paddle gave the transaction no checkout URL: set a default payment link in Paddle (Checkout settings) or the checkoutUrl option.',
          { context: { provider: 'paddle', providerCode: 'checkout_url_missing', transactionId: txn.id } },
        );
      }
      return toCheckout(txn, input.mode);
    });
  }

  #checkoutItem(input: ProviderCheckoutInput): ITransactionItemWithNonCatalogPrice {
    if (input.mode === 'subscription' || input.priceId) {
      return { priceId: requireNonEmpty('priceId', input.priceId), quantity: 1 };
    }
    const amount = input.amount === null ? null : formatPaddleAmount(input.amount);
    if (amount === null || amount === '0') {
      throw new ValidationError('amount must be a positive integer in minor units.', {
        context: { field: 'amount', reason: 'expected a positive integer' },
      });
    }
    const currency = requireNonEmpty('currency', input.currency).toUpperCase() as CurrencyCode;
    const name = this.#options.checkoutProductName ?? 'Payment';
    const price = {
      description: name,
      unitPrice: { amount, currencyCode: currency },
      quantity: { minimum: 1, maximum: 1 },
    };
    return this.#options.checkoutProductId
      ? { price: { ...price, productId: this.#options.checkoutProductId }, quantity: 1 }
      : { price: { ...price, product: { name, taxCategory: 'standard' } }, quantity: 1 };
  }

  // ---- subscriptions ----------------------------------------------------------------------------

  /**
   * Subscribes an existing customer to a price without a checkout: bills a manually-collected
   * transaction (an invoice the customer pays within `paymentTermsDays`), which makes Paddle create
   * the subscription, and returns that subscription. Paddle bills to an address: the customer's
   * first active address is used, or one in `defaultCountryCode` is created. `trialDays` uses a
   * non-catalog copy of the price with that trial (the catalog price id is kept as `priceId`).
   * For self-serve sign-ups use `createCheckout({ priceId })` instead.
   */
  async subscribe(input: ProviderSubscribeInput, _ctx?: ProviderContext): Promise<ProviderSubscription> {
    const customerId = requireNonEmpty('customerProviderId', input.customerProviderId);
    const priceId = requireNonEmpty('priceId', input.priceId);
    const trialDays = input.trialDays ?? 0;
    if (!Number.isSafeInteger(trialDays) || trialDays < 0) {
      throw new ValidationError('trialDays must be a non-negative integer.', {
        context: { field: 'trialDays', reason: 'expected a non-negative integer' },
      });
    }
    return this.#call('subscribe', async () => {
      const addressId = await this.#addressFor(customerId);
      const item = trialDays > 0 ? await this.#trialItem(priceId, trialDays) : { priceId, quantity: 1 };
      const customData = customDataOf(input.metadata);
      const created = await this.client.transactions.create({
        items: [item],
        customerId,
        addressId,
        collectionMode: 'manual',
        billingDetails: {
          enableCheckout: true,
          paymentTerms: { interval: 'day', frequency: this.#options.paymentTermsDays ?? 14 },
        },
        status: 'billed',
        ...(customData ? { customData } : {}),
      });
      // Paddle attaches the new subscription to the transaction right after billing it.
      let txn: Transaction = created;
      for (const delay of SUBSCRIPTION_POLL_DELAYS) {
        if (txn.subscriptionId) break;
        await sleep(delay);
        txn = await this.client.transactions.get(created.id);
      }
      if (!txn.subscriptionId) {
        throw new ProviderError(
          'Paddle billed the transaction but has not created its subscription yet; it will arrive with the subscription.created webhook.',
          { context: { provider: 'paddle', providerCode: 'subscription_pending', transactionId: created.id } },
        );
      }
      return toSubscription(await this.client.subscriptions.get(txn.subscriptionId));
    });
  }

  async #addressFor(customerId: string): Promise<string> {
    const page = await this.client.addresses.list(customerId, { status: ['active'], perPage: 1 }).next();
    const existing = page[0];
    if (existing) return existing.id;
    const country = this.#options.defaultCountryCode;
    if (!country) {
      throw new ProviderError(
        'The Paddle customer has no address to bill to: add one in Paddle, or set the defaultCountryCode option.',
        { context: { provider: 'paddle', providerCode: 'address_required', customerId } },
      );
    }
    return (await this.client.addresses.create(customerId, { countryCode: country })).id;
  }

  async #trialItem(priceId: string, trialDays: number): Promise<ITransactionItemWithNonCatalogPrice> {
    const price = await this.client.prices.get(priceId);
    if (!price.billingCycle) {
      throw new ProviderError(`Price ${priceId} is not recurring: it cannot have a trial.`, {
        context: { provider: 'paddle', providerCode: 'price_not_recurring', priceId },
      });
    }
    return {
      price: {
        productId: price.productId,
        description: price.description,
        ...(price.name ? { name: price.name } : {}),
        unitPrice: { amount: price.unitPrice.amount, currencyCode: price.unitPrice.currencyCode },
        billingCycle: { interval: price.billingCycle.interval, frequency: price.billingCycle.frequency },
        trialPeriod: { interval: 'day', frequency: trialDays, requiresPaymentMethod: false },
        taxMode: price.taxMode,
        customData: { [CATALOG_PRICE_KEY]: priceId },
      },
      quantity: 1,
    };
  }

  /**
   * Cancels a subscription: now (`effective_from: immediately`, status `canceled`) or at the end
   * of the billing period (status unchanged, `cancelAtPeriodEnd: true`).
   */
  async cancelSubscription(
    providerId: string,
    options: { atPeriodEnd: boolean },
    _ctx?: ProviderContext,
  ): Promise<ProviderSubscription> {
    return this.#call('cancelSubscription', async () =>
      toSubscription(
        await this.client.subscriptions.cancel(providerId, {
          effectiveFrom: options.atPeriodEnd ? 'next_billing_period' : 'immediately',
        }),
      ),
    );
  }

  /**
   * Pauses a subscription (Paddle only; not a facade operation): now by default, or at the end of
   * the billing period, optionally until `resumeAt`. Payable's record follows with the
   * `subscription.paused` webhook (or apply the returned object yourself).
   *
   * @example
   * ```ts
   * const sub = await paddle.pauseSubscription('sub_01…', { resumeAt: new Date('2026-09-01') });
   * sub.status; // 'paused'
   * ```
   */
  async pauseSubscription(providerId: string, options: PaddlePauseOptions = {}): Promise<ProviderSubscription> {
    return this.#call('pauseSubscription', async () =>
      toSubscription(
        await this.client.subscriptions.pause(providerId, {
          effectiveFrom: options.atPeriodEnd ? 'next_billing_period' : 'immediately',
          ...(options.resumeAt ? { resumeAt: options.resumeAt.toISOString() } : {}),
        }),
      ),
    );
  }

  /**
   * Resumes a paused subscription (Paddle only; not a facade operation): now, or at `at`.
   * Payable's record follows with the `subscription.resumed` webhook.
   *
   * @example
   * ```ts
   * (await paddle.resumeSubscription('sub_01…')).status; // 'active'
   * ```
   */
  async resumeSubscription(providerId: string, options: PaddleResumeOptions = {}): Promise<ProviderSubscription> {
    return this.#call('resumeSubscription', async () =>
      toSubscription(
        await this.client.subscriptions.resume(providerId, {
          effectiveFrom: options.at ? options.at.toISOString() : 'immediately',
        }),
      ),
    );
  }

  // ---- refunds ----------------------------------------------------------------------------------

  /**
   * Refunds (part of) a paid transaction with a refund adjustment. The whole transaction, never
   * refunded before, is a `full` adjustment; anything else is `partial`, spread over the line
   * items by what is left to refund on each. Paddle reviews refunds: the result is usually
   * `pending` and becomes `succeeded` (or `failed`) with the `adjustment.updated` webhook.
   * More than is left is `PROVIDER_ERROR` with `providerCode: 'amount_exceeds_refundable'`.
   */
  async refund(input: ProviderRefundInput, _ctx?: ProviderContext): Promise<ProviderRefund> {
    const transactionId = requireNonEmpty('paymentProviderId', input.paymentProviderId);
    const amount = formatPaddleAmount(input.amount);
    if (amount === null || input.amount === 0) {
      throw new ValidationError('amount must be a positive integer in minor units.', {
        context: { field: 'amount', reason: 'expected a positive integer' },
      });
    }
    return this.#call('refund', async () => {
      const txn = await this.client.transactions.get(transactionId);
      const total = transactionAmount(txn);
      const refunded = new Map<string, number>();
      let refundedTotal = 0;
      for await (const adj of this.client.adjustments.list({ transactionId: [transactionId], action: 'refund' })) {
        if (adj.status === 'rejected' || adj.status === 'reversed') continue;
        for (const [itemId, value] of this.#adjustedPerItem(adj, txn)) {
          refunded.set(itemId, (refunded.get(itemId) ?? 0) + value);
          refundedTotal += value;
        }
      }
      const reason = input.reason ?? 'Refund requested';
      if (refundedTotal === 0 && input.amount === total) {
        return toRefund(
          await this.client.adjustments.create({ action: 'refund', type: 'full', transactionId, reason }),
        );
      }
      const items: { itemId: string; type: 'partial'; amount: string }[] = [];
      let left = input.amount;
      for (const line of txn.details?.lineItems ?? []) {
        if (left === 0) break;
        const lineTotal = amountOf(line.totals?.total, `details.line_items[${line.id}].totals.total`);
        const room = lineTotal - (refunded.get(line.id) ?? 0);
        if (room <= 0) continue;
        const take = Math.min(room, left);
        items.push({ itemId: line.id, type: 'partial', amount: String(take) });
        left -= take;
      }
      if (left > 0) {
        throw new ProviderError(`Refund of ${input.amount} exceeds the ${total - refundedTotal} left to refund.`, {
          context: {
            provider: 'paddle',
            providerCode: 'amount_exceeds_refundable',
            refundable: Math.max(0, total - refundedTotal),
          },
        });
      }
      return toRefund(
        await this.client.adjustments.create({ action: 'refund', type: 'partial', transactionId, reason, items }),
      );
    });
  }

  /** What an adjustment took from each line item: its partial amounts, or whole items for `full`. */
  #adjustedPerItem(adj: Adjustment, txn: Transaction): [string, number][] {
    const lineTotals = new Map(
      (txn.details?.lineItems ?? []).map((li) => [
        li.id,
        amountOf(li.totals?.total, `details.line_items[${li.id}].totals.total`),
      ]),
    );
    return adj.items.map((item) => {
      const value =
        item.amount !== null
          ? amountOf(item.amount, `adjustment ${adj.id} items.amount`)
          : (lineTotals.get(item.itemId) ?? 0);
      return [item.itemId, value];
    });
  }

  // ---- invoices ---------------------------------------------------------------------------------

  /** Lists billed and paid transactions (Paddle's invoices), newest first, of a customer or subscription. */
  async listInvoices(query: ProviderInvoiceQuery, _ctx?: ProviderContext): Promise<ProviderInvoice[]> {
    return this.#call('listInvoices', async () => {
      const page = await this.client.transactions
        .list({
          ...(query.customerProviderId ? { customerId: [query.customerProviderId] } : {}),
          ...(query.subscriptionProviderId ? { subscriptionId: [query.subscriptionProviderId] } : {}),
          status: [...INVOICE_STATUSES],
          perPage: query.limit,
          orderBy: 'created_at[DESC]',
        })
        .next();
      return page
        .filter((txn) => txn.status !== 'canceled' || txn.billedAt !== null)
        .slice(0, query.limit)
        .map((txn) => toInvoice(txn));
    });
  }

  // ---- reads outside the port -------------------------------------------------------------------

  /**
   * Reads a transaction as a payment (Paddle only; Payable learns of payments from webhooks).
   *
   * @example
   * ```ts
   * (await paddle.getTransaction('txn_01…')).status; // 'succeeded' once completed
   * ```
   */
  async getTransaction(providerId: string): Promise<ProviderPayment> {
    return this.#call('getTransaction', async () => toPayment(await this.client.transactions.get(providerId)));
  }

  /** Runs an SDK call; maps whatever it throws (and malformed answers) to a Payable error. */
  async #call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof PaddleShapeError) {
        throw new ProviderError(`Paddle answered ${operation} with an unexpected shape: ${error.message}`, {
          context: { provider: 'paddle', op: operation, field: error.field, reason: 'unexpected_response' },
          cause: error,
        });
      }
      throw mapPaddleError(error, operation);
    }
  }
}
