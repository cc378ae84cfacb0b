import { randomUUID } from 'node:crypto';
import {
  type Metadata,
  type NormalizedEvent,
  type PayableError,
  type PaymentProvider,
  type ProviderChargeInput,
  type ProviderContext,
  ProviderError,
  type ProviderPayment,
  ValidationError,
  type WebhookVerifyInput,
} from '@payable/core';
import { decimalToMinorUnits, jsonNumberToDecimal, minorUnitsToDecimal } from '../common/decimal-amount.js';
import { asObject, type FetchLike, type HttpRequestSpec, joinUrl, sendRequest, str } from '../common/http.js';
import { invoiceFacts } from '../common/invoice-details.js';
import {
  headerValue,
  invalidPayload,
  invalidSignature,
  parseJsonObject,
  refuseDescriptionHash,
} from '../common/webhook.js';
import { LIGHTNING_ENABLE_EVENT_TYPES, lightningEnableStatus } from './events.js';
import { mapLightningEnableError } from './map-error.js';
import { verifyLightningEnableSignature } from './signature.js';

/** What a `LightningEnableProvider` can do: Lightning payments and signed webhooks. */
export const LIGHTNING_ENABLE_CAPABILITIES = ['charges', 'lightning', 'webhooks'] as const;

/** One capability of {@link LIGHTNING_ENABLE_CAPABILITIES}. */
export type LightningEnableCapability = (typeof LIGHTNING_ENABLE_CAPABILITIES)[number];

/** `X-LightningEnable-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, lower-cased. */
export const LIGHTNING_ENABLE_SIGNATURE_HEADER = 'x-lightningenable-signature';

/** The Lightning Enable API. */
export const LIGHTNING_ENABLE_BASE_URL = 'https://api.lightningenable.com';

/**
 * Options of {@link LightningEnableProvider}.
 *
 * @example
 * ```ts
 * const options: LightningEnableProviderOptions = {
 *   apiKey: process.env.LIGHTNING_ENABLE_API_KEY!,
 *   webhookSecret: process.env.LIGHTNING_ENABLE_WEBHOOK_SECRET!,
 *   toleranceSeconds: 300,
 * };
 * ```
 */
export interface LightningEnableProviderOptions {
  /** The merchant API key (`le_merchant_…`), sent as `X-API-Key`. */
  apiKey: string;
  /** The webhook secret of the merchant account. */
  webhookSecret: string;
  /** An API base URL overriding {@link LIGHTNING_ENABLE_BASE_URL}. */
  baseUrl?: string;
  /** A `fetch` to use instead of the global one. */
  fetch?: FetchLike;
  /** Signature timestamp tolerance in seconds, both directions. Default 300 (five minutes). */
  toleranceSeconds?: number;
  /** Per-request timeout in milliseconds. Default 10000. */
  timeoutMs?: number;
}

function required(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ValidationError(`LightningEnableProvider needs ${field}.`, { context: { field, reason: 'required' } });
  }
  return value;
}

function positive(field: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new ValidationError(`${field} must be a positive number.`, {
      context: { field, reason: 'expected a positive number' },
    });
  }
  return value;
}

function dateOf(value: unknown): Date | null {
  if (typeof value !== 'string') return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Integer minor units of a Lightning Enable amount: `amountSats` for BTC, else the decimal `amount`. */
function amountOf(body: Record<string, unknown>, currency: string): number | null {
  if (currency === 'BTC' && typeof body.amountSats === 'number' && Number.isSafeInteger(body.amountSats)) {
    return body.amountSats;
  }
  const decimal = typeof body.amount === 'string' ? body.amount : jsonNumberToDecimal(body.amount);
  return decimal === null ? null : decimalToMinorUnits(decimal, currency);
}

function metadataOf(value: unknown): Metadata | undefined {
  const object = asObject(value);
  if (!object) return undefined;
  const metadata: Metadata = {};
  for (const [key, entry] of Object.entries(object)) if (typeof entry === 'string') metadata[key] = entry;
  return metadata;
}

/**
 * A payment provider over the Lightning Enable API: each charge is a payment
 * (`POST /api/payments`, `X-API-Key`) with a BOLT-11 invoice (`lightningInvoice`, decoded for the
 * payment hash, amount and expiry), read back with `GET /api/payments/{invoiceId}`.
 *
 * - Amounts travel as decimal numbers (`49.99` USD, `0.00005` BTC) and are converted exactly from
 *   their decimal text; BTC counts in satoshis (`amountSats`). Lightning Enable takes USD, EUR,
 *   GBP and BTC.
 * - `orderId` (required by the API, unique per order) is `metadata.orderId` when given, else a
 *   generated `payable-<uuid>`; `metadata` is sent as the payment's metadata.
 * - Webhooks are verified from `X-LightningEnable-Signature: t=…,v1=…`: HMAC-SHA256 of
 *   `{t}.{raw body}` with the webhook secret, constant-time, any of several `v1` values accepted,
 *   `t` within `toleranceSeconds` (default 300) of now in both directions. The signed payload is
 *   authoritative (no re-fetch). It has no event id, so the event id is `<invoiceId>:<status>`: a
 *   redelivery dedupes, a status change is a new event.
 * - No idempotency keys (Payable supplies them). Refunds are not offered: Lightning Enable pays
 *   refunds to a Lightning invoice or bitcoin address the payer provides, which a Payable refund
 *   does not carry.
 *
 * @example
 * ```ts
 * const le = new LightningEnableProvider({
 *   apiKey: process.env.LIGHTNING_ENABLE_API_KEY!,
 *   webhookSecret: process.env.LIGHTNING_ENABLE_WEBHOOK_SECRET!,
 * });
 * const payable = createPayable({ providers: { 'lightning-enable': le }, storage });
 * const payment = await payable.charge({ amount: 4999, currency: 'USD', metadata: { orderId: 'ORDER-1' } });
 * ```
 */
export class LightningEnableProvider implements PaymentProvider<LightningEnableCapability> {
  readonly name = 'lightning-enable';
  readonly capabilities: readonly LightningEnableCapability[] = LIGHTNING_ENABLE_CAPABILITIES;
  readonly idempotency = 'none' as const;
  /** A custodial service reveals no preimages: Payable credits its verified word. */
  readonly settlementProof = 'none' as const;
  readonly signatureHeader = LIGHTNING_ENABLE_SIGNATURE_HEADER;
  /** The signature tolerance in seconds, both directions. */
  readonly toleranceSeconds: number;

  readonly #apiKey: string;
  readonly #webhookSecret: string;
  readonly #baseUrl: string;
  readonly #fetch: FetchLike;
  readonly #timeoutMs: number;

  constructor(options: LightningEnableProviderOptions) {
    this.#apiKey = required('apiKey', options.apiKey);
    this.#webhookSecret = required('webhookSecret', options.webhookSecret);
    this.#baseUrl = options.baseUrl ?? LIGHTNING_ENABLE_BASE_URL;
    this.toleranceSeconds = positive('toleranceSeconds', options.toleranceSeconds ?? 300);
    this.#timeoutMs = positive('timeoutMs', options.timeoutMs ?? 10_000);
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** Creates a payment and returns it with its Lightning invoice. */
  async charge(input: ProviderChargeInput, _ctx: ProviderContext): Promise<ProviderPayment> {
    refuseDescriptionHash(input, 'lightning-enable', 'Lightning Enable');
    const currency = input.currency.toUpperCase();
    const body: Record<string, unknown> = {
      orderId: input.metadata.orderId ?? `payable-${randomUUID()}`,
      // The exact decimal as a JSON number: it prints back as the same digits.
      amount: Number(minorUnitsToDecimal(input.amount, currency)),
      currency,
    };
    if (input.description) body.description = input.description;
    if (Object.keys(input.metadata).length > 0) body.metadata = input.metadata;
    return this.#payment('charge', await this.#call('charge', 'POST', '/api/payments', body));
  }

  /** Reads a payment by its `invoiceId`. Unknown id: `NOT_FOUND`. */
  async getPayment(providerId: string, _ctx: ProviderContext): Promise<ProviderPayment> {
    return this.#payment(
      'getPayment',
      await this.#call('getPayment', 'GET', `/api/payments/${encodeURIComponent(providerId)}`),
    );
  }

  /** Verifies `X-LightningEnable-Signature` and normalizes the payload (see the class notes). */
  async verifyWebhook(input: WebhookVerifyInput): Promise<NormalizedEvent> {
    const header = headerValue(input, LIGHTNING_ENABLE_SIGNATURE_HEADER);
    if (header === undefined) {
      throw invalidSignature(
        'lightning-enable',
        'The X-LightningEnable-Signature header is missing (not X-Webhook-Signature).',
        'missing_header',
      );
    }
    const signedAt = verifyLightningEnableSignature(
      header,
      input.payload,
      input.secret ?? this.#webhookSecret,
      input.now,
      this.toleranceSeconds,
    );
    if (input.payload.length === 0) throw invalidPayload('lightning-enable', 'The webhook body is empty.', 'empty');
    const body = parseJsonObject(input.payload, 'lightning-enable');
    const invoiceId = str(body.invoiceId);
    const status = str(body.status);
    if (invoiceId === undefined || status === undefined) {
      throw invalidPayload(
        'lightning-enable',
        'The Lightning Enable webhook has no invoiceId or status.',
        'missing_fields',
      );
    }
    const id = `${invoiceId}:${status}`;
    const providerType = `payment.${status}`;
    if (!Object.hasOwn(LIGHTNING_ENABLE_EVENT_TYPES, status)) {
      return { id, type: 'unknown', providerType, createdAt: signedAt, object: null };
    }
    const type = LIGHTNING_ENABLE_EVENT_TYPES[status as keyof typeof LIGHTNING_ENABLE_EVENT_TYPES];
    const currency = (str(body.currency) ?? '').toUpperCase();
    const amount = currency === '' ? null : amountOf(body, currency);
    const metadata = metadataOf(body.metadata);
    if (amount === null) {
      // An amount we cannot read exactly: let Payable read the payment before applying.
      return {
        id,
        type,
        providerType,
        createdAt: signedAt,
        object: {
          kind: 'payment',
          providerId: invoiceId,
          status: lightningEnableStatus(status),
          amount: 0,
          currency: '',
        },
        refetch: true,
      };
    }
    return {
      id,
      type,
      providerType,
      createdAt: signedAt,
      object: {
        kind: 'payment',
        providerId: invoiceId,
        status: lightningEnableStatus(status),
        amount,
        currency,
        ...(metadata === undefined ? {} : { metadata }),
        lightning: null,
      },
    };
  }

  // -------------------------------------------------------------------------------------------

  async #call(op: string, method: HttpRequestSpec['method'], path: string, body?: unknown): Promise<unknown> {
    try {
      const result = await sendRequest(this.#fetch, {
        method,
        url: joinUrl(this.#baseUrl, path),
        headers: { 'x-api-key': this.#apiKey },
        ...(body === undefined ? {} : { body }),
        timeoutMs: this.#timeoutMs,
      });
      if (!asObject(result.json)) throw this.#malformed(op, 'the answer is not a JSON object');
      return result.json;
    } catch (error) {
      throw mapLightningEnableError(error, { op });
    }
  }

  #payment(op: string, raw: unknown): ProviderPayment {
    const body = asObject(raw);
    const invoiceId = str(body?.invoiceId);
    const currency = (str(body?.currency) ?? '').toUpperCase();
    if (!body || invoiceId === undefined || currency === '') {
      throw this.#malformed(op, 'the payment lacks invoiceId or currency');
    }
    const amount = amountOf(body, currency);
    if (amount === null) throw this.#malformed(op, `the amount in ${currency} is missing or not whole minor units`);
    const payment: ProviderPayment = {
      providerId: invoiceId,
      status: lightningEnableStatus(str(body.status) ?? ''),
      amount,
      currency,
      description: str(body.description) ?? null,
      expiresAt: dateOf(body.expiresAt),
      nextActionUrl: str(body.checkoutUrl) ?? null,
      lightning: null,
    };
    const metadata = metadataOf(body.metadata);
    if (metadata !== undefined) payment.metadata = metadata;
    const paymentRequest = str(body.lightningInvoice);
    if (paymentRequest !== undefined) {
      const paid = payment.status === 'succeeded' || payment.status === 'refunded';
      const facts = invoiceFacts(paymentRequest, null, {
        provider: 'lightning-enable',
        label: 'Lightning Enable',
        providerId: invoiceId,
      });
      payment.lightning = { ...facts.lightning, amountPaidMsat: paid ? facts.lightning.amountMsat : null };
      payment.expiresAt ??= facts.expiresAt;
    }
    return payment;
  }

  #malformed(op: string, what: string): PayableError {
    return new ProviderError(`Lightning Enable answered ${op} with an unexpected body: ${what}.`, {
      context: { provider: 'lightning-enable', op, reason: 'malformed_response' },
    });
  }
}
