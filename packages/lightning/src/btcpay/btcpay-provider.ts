import { createHmac } from 'node:crypto';
import {
  type Metadata,
  type NormalizedEvent,
  type PayableError,
  type PayableEventType,
  type PaymentProvider,
  type ProviderChargeInput,
  type ProviderContext,
  ProviderError,
  type ProviderPayment,
  timingSafeEqualString,
  ValidationError,
  type WebhookVerifyInput,
} from '@payable/core';
import {
  btcDecimalToMsat,
  decimalToMinorUnits,
  decimalToUnits,
  minorUnitsToDecimal,
} from '../common/decimal-amount.js';
import { asObject, type FetchLike, type HttpRequestSpec, joinUrl, sendRequest, str } from '../common/http.js';
import { invoiceFacts } from '../common/invoice-details.js';
import {
  headerValue,
  invalidPayload,
  invalidSignature,
  parseJsonObject,
  refuseDescriptionHash,
} from '../common/webhook.js';
import { BTCPAY_EVENT_STATUS, BTCPAY_EVENT_TYPES, btcpayInvoiceStatus } from './events.js';
import { mapBtcpayError } from './map-error.js';

/** What a `BtcpayProvider` can do: Lightning invoices and signed webhooks, no refunds. */
export const BTCPAY_CAPABILITIES = ['charges', 'lightning', 'webhooks'] as const;

/** One capability of {@link BTCPAY_CAPABILITIES}. */
export type BtcpayCapability = (typeof BTCPAY_CAPABILITIES)[number];

/** The header BTCPay signs its webhooks in: `BTCPay-Sig: sha256=<hex HMAC-SHA256 of the raw body>`. */
export const BTCPAY_SIGNATURE_HEADER = 'btcpay-sig';

/** The Lightning payment method id of BTCPay Server 2.x (`BTC-LightningNetwork` before 2.0). */
export const BTCPAY_DEFAULT_LIGHTNING_METHOD = 'BTC-LN';

/**
 * Options of {@link BtcpayProvider}.
 *
 * @example
 * ```ts
 * const options: BtcpayProviderOptions = {
 *   url: 'https://btcpay.example.com',
 *   apiKey: process.env.BTCPAY_API_KEY!,
 *   storeId: process.env.BTCPAY_STORE_ID!,
 *   webhookSecret: process.env.BTCPAY_WEBHOOK_SECRET!,
 * };
 * ```
 */
export interface BtcpayProviderOptions {
  /** The BTCPay Server base URL, e.g. `https://btcpay.example.com`. */
  url: string;
  /** A Greenfield API key with `btcpay.store.cancreateinvoice` and `btcpay.store.canviewinvoices`. */
  apiKey: string;
  storeId: string;
  /** The secret of the store webhook pointing at Payable's `/webhooks/btcpay` route. */
  webhookSecret: string;
  /** A `fetch` to use instead of the global one. */
  fetch?: FetchLike;
  /** Per-request timeout in milliseconds. Default 10000. */
  timeoutMs?: number;
  /**
   * The Lightning payment method id to ask for and read: `BTC-LN` (BTCPay 2.x, the default) or
   * `BTC-LightningNetwork` (1.x).
   */
  lightningPaymentMethod?: string;
  /**
   * Credit a settlement only with its preimage (`settlementProof: 'preimage'`). BTCPay reports the
   * preimage in the Lightning payment method's `additionalData.preimage` (1.8 and newer, when its
   * Lightning backend returns it); turn this on once yours does. Default `false`: BTCPay's signed
   * word is enough, and a preimage it does report must still match the payment hash.
   */
  requirePreimage?: boolean;
}

const DESCRIPTION_KEY = 'itemDesc';
const LIGHTNING_METHODS = new Set(['BTC-LN', 'BTC-LightningNetwork', 'BTC_LightningLike']);

function required(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ValidationError(`BtcpayProvider needs ${field}.`, { context: { field, reason: 'required' } });
  }
  return value;
}

/** The HMAC BTCPay puts in `BTCPay-Sig`, as the header value: `sha256=<hex>`. */
function btcpaySignature(payload: Buffer | string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(payload).digest('hex')}`;
}

/**
 * A payment provider over BTCPay Server's Greenfield API: each charge is a store invoice paid over
 * Lightning (`POST /api/v1/stores/{storeId}/invoices`), its BOLT-11 invoice read from the invoice's
 * payment methods and decoded (payment hash, amount, expiry come from the invoice itself).
 *
 * - Amounts travel as decimal strings (`"50.00"` USD, `"0.00005000"` BTC) and are converted to
 *   and from integer minor units exactly; BTC counts in satoshis.
 * - Webhooks are verified from `BTCPay-Sig: sha256=<hex>` (HMAC-SHA256 of the raw body with the
 *   webhook secret, constant-time). BTCPay signs no timestamp, so there is no tolerance window:
 *   replays are caught by the inbox's dedupe on the event id, which is `originalDeliveryId` (the
 *   same for every redelivery of one event), else `deliveryId`.
 * - BTCPay webhooks carry no amounts, so every invoice event is marked `refetch: true`: Payable
 *   re-reads the invoice (`getPayment`) before it applies anything. The event's own object only
 *   carries the ids and the status the event implies, with a placeholder amount of 0.
 * - The preimage BTCPay reports for a paid Lightning invoice (`additionalData.preimage`) is passed
 *   on as the receipt; Payable credits nothing whose preimage does not hash to the payment hash.
 *   `requirePreimage: true` makes the preimage mandatory for a settlement.
 * - `descriptionHash` is refused (`VALIDATION_ERROR`): BTCPay writes its own invoice description.
 * - No idempotency keys (Payable supplies them), no refunds (BTCPay refunds are pull payments the
 *   buyer claims with their own destination).
 *
 * @example
 * ```ts
 * const btcpay = new BtcpayProvider({
 *   url: 'https://btcpay.example.com',
 *   apiKey: process.env.BTCPAY_API_KEY!,
 *   storeId: process.env.BTCPAY_STORE_ID!,
 *   webhookSecret: process.env.BTCPAY_WEBHOOK_SECRET!,
 * });
 * const payable = createPayable({ providers: { btcpay }, storage });
 * const payment = await payable.charge({ amount: 5000, currency: 'BTC' }); // 5,000 sats
 * payment.lightning?.paymentRequest; // 'lnbc50u1p…'
 * ```
 */
export class BtcpayProvider implements PaymentProvider<BtcpayCapability> {
  readonly name = 'btcpay';
  readonly capabilities: readonly BtcpayCapability[] = BTCPAY_CAPABILITIES;
  readonly idempotency = 'none' as const;
  readonly signatureHeader = BTCPAY_SIGNATURE_HEADER;
  /** `'preimage'` with `requirePreimage: true`, else `'none'` (see {@link BtcpayProviderOptions.requirePreimage}). */
  readonly settlementProof: 'preimage' | 'none';
  /** The store invoices are created in. */
  readonly storeId: string;

  readonly #url: string;
  readonly #apiKey: string;
  readonly #webhookSecret: string;
  readonly #fetch: FetchLike;
  readonly #timeoutMs: number;
  readonly #method: string;

  constructor(options: BtcpayProviderOptions) {
    this.#url = required('url', options.url);
    this.#apiKey = required('apiKey', options.apiKey);
    this.storeId = required('storeId', options.storeId);
    this.#webhookSecret = required('webhookSecret', options.webhookSecret);
    const timeout = options.timeoutMs ?? 10_000;
    if (!Number.isFinite(timeout) || timeout <= 0) {
      throw new ValidationError('timeoutMs must be a positive number.', {
        context: { field: 'timeoutMs', reason: 'expected a positive number' },
      });
    }
    this.#timeoutMs = timeout;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#method = options.lightningPaymentMethod ?? BTCPAY_DEFAULT_LIGHTNING_METHOD;
    this.settlementProof = options.requirePreimage === true ? 'preimage' : 'none';
  }

  /**
   * Creates a store invoice for the amount (a decimal string in the currency; BTC amounts in
   * BTC), restricted to the Lightning payment method, with `expiresIn` as the invoice's
   * `checkout.expirationMinutes` (fractional minutes when it is not a whole number of minutes).
   * The description goes to the invoice metadata's `itemDesc`, `metadata` to the invoice metadata.
   */
  async charge(input: ProviderChargeInput, _ctx: ProviderContext): Promise<ProviderPayment> {
    refuseDescriptionHash(input, 'btcpay', 'BTCPay Server');
    const metadata: Record<string, string> = { ...input.metadata };
    if (input.description) metadata[DESCRIPTION_KEY] = input.description;
    const checkout: Record<string, unknown> = { paymentMethods: [this.#method] };
    if (input.expiresIn !== null) checkout.expirationMinutes = input.expiresIn / 60;
    const body = {
      amount: minorUnitsToDecimal(input.amount, input.currency),
      currency: input.currency.toUpperCase(),
      metadata,
      checkout,
    };
    const invoice = await this.#call('charge', 'POST', `/invoices`, body);
    const id = str(asObject(invoice)?.id);
    if (id === undefined) throw this.#malformed('charge', 'the created invoice has no id');
    return this.#payment('charge', invoice, await this.#lightningMethod('charge', id, true));
  }

  /** Reads the invoice and its Lightning payment method. Unknown id: `NOT_FOUND`. */
  async getPayment(providerId: string, _ctx: ProviderContext): Promise<ProviderPayment> {
    const invoice = await this.#call('getPayment', 'GET', `/invoices/${encodeURIComponent(providerId)}`);
    return this.#payment('getPayment', invoice, await this.#lightningMethod('getPayment', providerId, false));
  }

  /**
   * Verifies `BTCPay-Sig` over the raw body and normalizes the event. Invoice events of another
   * store become `unknown` events without an object.
   */
  async verifyWebhook(input: WebhookVerifyInput): Promise<NormalizedEvent> {
    const header = headerValue(input, BTCPAY_SIGNATURE_HEADER);
    if (header === undefined) {
      throw invalidSignature('btcpay', 'The BTCPay-Sig header is missing.', 'missing_header');
    }
    const secret = input.secret ?? this.#webhookSecret;
    const expected = btcpaySignature(input.payload, secret);
    const received = header.trim();
    const normalized = received.startsWith('sha256=') ? `sha256=${received.slice(7).toLowerCase()}` : received;
    if (!timingSafeEqualString(normalized, expected)) {
      throw invalidSignature(
        'btcpay',
        'The BTCPay-Sig signature does not match the body: check the webhook secret and that the raw body reaches Payable.',
        'mismatch',
      );
    }
    if (input.payload.length === 0) throw invalidPayload('btcpay', 'The webhook body is empty.', 'empty');
    const body = parseJsonObject(input.payload, 'btcpay');
    const deliveryId = str(body.deliveryId);
    const providerType = str(body.type);
    if (deliveryId === undefined || providerType === undefined) {
      throw invalidPayload('btcpay', 'The BTCPay webhook has no deliveryId or type.', 'missing_fields');
    }
    const id = str(body.originalDeliveryId) ?? deliveryId;
    const seconds = typeof body.timestamp === 'number' && Number.isFinite(body.timestamp) ? body.timestamp : null;
    const createdAt = seconds === null ? input.now : new Date(seconds * 1000);
    const invoiceId = str(body.invoiceId);
    const storeId = str(body.storeId);
    let type: PayableEventType = Object.hasOwn(BTCPAY_EVENT_TYPES, providerType)
      ? BTCPAY_EVENT_TYPES[providerType as keyof typeof BTCPAY_EVENT_TYPES]
      : 'unknown';
    if (type === 'payment.expired' && body.partiallyPaid === true) type = 'payment.underpaid';
    if (type === 'unknown' || invoiceId === undefined || (storeId !== undefined && storeId !== this.storeId)) {
      return { id, type: 'unknown', providerType, createdAt, object: null };
    }
    const status = BTCPAY_EVENT_STATUS[type as keyof typeof BTCPAY_EVENT_STATUS];
    return {
      id,
      type,
      providerType,
      createdAt,
      // Ids and the implied status only: the amounts come from the re-fetch.
      object: { kind: 'payment', providerId: invoiceId, status, amount: 0, currency: '' },
      refetch: true,
    };
  }

  // -------------------------------------------------------------------------------------------

  async #call(
    op: string,
    method: HttpRequestSpec['method'],
    path: string,
    body?: unknown,
    expectBody = true,
  ): Promise<unknown> {
    try {
      const result = await sendRequest(this.#fetch, {
        method,
        url: joinUrl(this.#url, `/api/v1/stores/${encodeURIComponent(this.storeId)}${path}`),
        headers: { authorization: `token ${this.#apiKey}` },
        ...(body === undefined ? {} : { body }),
        timeoutMs: this.#timeoutMs,
      });
      if (expectBody && result.json === undefined) throw this.#malformed(op, 'the answer is not JSON');
      return result.json;
    } catch (error) {
      throw mapBtcpayError(error, { op, storeId: this.storeId });
    }
  }

  /** The invoice's Lightning payment method, activated first when the store activates lazily. */
  async #lightningMethod(op: string, invoiceId: string, activate: boolean): Promise<Record<string, unknown> | null> {
    const path = `/invoices/${encodeURIComponent(invoiceId)}/payment-methods`;
    let entry = this.#pickLightning(await this.#call(op, 'GET', path));
    if (activate && entry && entry.activated === false) {
      const methodId = str(entry.paymentMethodId) ?? str(entry.paymentMethod) ?? this.#method;
      await this.#call(op, 'POST', `${path}/${encodeURIComponent(methodId)}/activate`, undefined, false);
      entry = this.#pickLightning(await this.#call(op, 'GET', path));
    }
    if (activate && (!entry || !str(entry.destination))) {
      throw new ProviderError(
        `BTCPay created invoice ${invoiceId} without a Lightning invoice: connect a Lightning node to store ${this.storeId} (Store → Lightning) and enable the ${this.#method} payment method.`,
        { context: { provider: 'btcpay', op, providerId: invoiceId, reason: 'no_lightning_method' } },
      );
    }
    return entry;
  }

  #pickLightning(methods: unknown): Record<string, unknown> | null {
    if (!Array.isArray(methods)) return null;
    for (const raw of methods) {
      const entry = asObject(raw);
      const id = str(entry?.paymentMethodId) ?? str(entry?.paymentMethod);
      if (entry && id !== undefined && (id === this.#method || LIGHTNING_METHODS.has(id))) return entry;
    }
    return null;
  }

  #payment(op: string, raw: unknown, method: Record<string, unknown> | null): ProviderPayment {
    const invoice = asObject(raw);
    const id = str(invoice?.id);
    const amountText = invoice?.amount;
    const currencyText = str(invoice?.currency);
    if (!invoice || id === undefined || typeof amountText !== 'string' || currencyText === undefined) {
      throw this.#malformed(op, 'the invoice lacks id, amount or currency');
    }
    // BTCPay's SATS currency counts in satoshis: Payable writes it as BTC.
    const sats = currencyText.toUpperCase() === 'SATS';
    const currency = sats ? 'BTC' : currencyText.toUpperCase();
    const amount = sats ? decimalToUnits(amountText, 0) : decimalToMinorUnits(amountText, currency);
    if (amount === null) throw this.#malformed(op, `the amount "${amountText}" ${currency} is not whole minor units`);
    const status = btcpayInvoiceStatus(str(invoice.status) ?? '', str(invoice.additionalStatus) ?? null);
    const metadata: Metadata = {};
    let description: string | null = null;
    for (const [key, value] of Object.entries(asObject(invoice.metadata) ?? {})) {
      if (typeof value !== 'string') continue;
      if (key === DESCRIPTION_KEY) description = value;
      else metadata[key] = value;
    }
    const expiration = typeof invoice.expirationTime === 'number' ? new Date(invoice.expirationTime * 1000) : null;
    const payment: ProviderPayment = {
      providerId: id,
      status,
      amount,
      currency,
      description,
      expiresAt: expiration,
      nextActionUrl: str(invoice.checkoutLink) ?? null,
      metadata,
      lightning: null,
    };
    const destination = str(method?.destination);
    if (destination !== undefined) {
      const paidText = method?.paymentMethodPaid;
      const paid = typeof paidText === 'string' ? btcDecimalToMsat(paidText) : null;
      const facts = invoiceFacts(destination, paid !== null && paid > 0n ? paid : null, {
        provider: 'btcpay',
        label: 'BTCPay Server',
        providerId: id,
      });
      // The preimage BTCPay reports once paid: Payable checks sha256(preimage) = payment hash.
      const preimage = str(asObject(method?.additionalData)?.preimage);
      payment.lightning = { ...facts.lightning, preimage: preimage?.toLowerCase() ?? null };
      payment.expiresAt ??= facts.expiresAt;
    }
    return payment;
  }

  #malformed(op: string, what: string): PayableError {
    return new ProviderError(`BTCPay Server answered ${op} with an unexpected body: ${what}.`, {
      context: { provider: 'btcpay', op, reason: 'malformed_response' },
    });
  }
}
