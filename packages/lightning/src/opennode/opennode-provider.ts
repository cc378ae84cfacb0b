import { createHmac } from 'node:crypto';
import {
  isPayableError,
  type Metadata,
  type NormalizedEvent,
  type PayableError,
  type PaymentProvider,
  type ProviderChargeInput,
  type ProviderContext,
  ProviderError,
  type ProviderPayment,
  timingSafeEqualString,
  ValidationError,
  type WebhookVerifyInput,
} from '@payable/core';
import { decimalToMinorUnits, jsonNumberToDecimal, minorUnitsToDecimal } from '../common/decimal-amount.js';
import { asObject, type FetchLike, type HttpRequestSpec, joinUrl, sendRequest, str } from '../common/http.js';
import { invoiceFacts } from '../common/invoice-details.js';
import { invalidPayload, invalidSignature, refuseDescriptionHash } from '../common/webhook.js';
import { openNodeChargeStatus, openNodeEventType } from './events.js';
import { mapOpenNodeError } from './map-error.js';

/** What an `OpenNodeProvider` can do: Lightning charges and verified callbacks, no refunds. */
export const OPENNODE_CAPABILITIES = ['charges', 'lightning', 'webhooks'] as const;

/** One capability of {@link OPENNODE_CAPABILITIES}. */
export type OpenNodeCapability = (typeof OPENNODE_CAPABILITIES)[number];

/** The OpenNode API of each environment. */
export const OPENNODE_BASE_URLS = {
  development: 'https://dev-api.opennode.com',
  live: 'https://api.opennode.com',
} as const;

/**
 * Where OpenNode puts a callback's signature: not in a header but in the form field
 * `hashed_order` = hex HMAC-SHA256(key = API key, message = charge id). `signatureHeader` names it.
 */
export const OPENNODE_SIGNATURE_FIELD = 'hashed_order';

/**
 * Options of {@link OpenNodeProvider}.
 *
 * @example
 * ```ts
 * const options: OpenNodeProviderOptions = {
 *   apiKey: process.env.OPENNODE_API_KEY!,
 *   environment: 'development',
 *   callbackUrl: 'https://shop.example.com/payable/webhooks/opennode',
 * };
 * ```
 */
export interface OpenNodeProviderOptions {
  /** An OpenNode API key with the Invoices permission; it also keys the callbacks' `hashed_order`. */
  apiKey: string;
  /** `development` (dev-api.opennode.com) or `live` (api.opennode.com). */
  environment: 'development' | 'live';
  /** The callback URL sent with each charge: Payable's `/webhooks/opennode` route. Without it, no callbacks. */
  callbackUrl?: string;
  /** An API base URL overriding the environment's (a proxy, a simulator). */
  baseUrl?: string;
  /** A `fetch` to use instead of the global one. */
  fetch?: FetchLike;
  /** Per-request timeout in milliseconds. Default 10000. */
  timeoutMs?: number;
}

function required(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ValidationError(`OpenNodeProvider needs ${field}.`, { context: { field, reason: 'required' } });
  }
  return value;
}

/** The callback fields, from a form-encoded body (OpenNode's format) or, leniently, a flat JSON object. */
function callbackFields(payload: Buffer): Map<string, string> {
  const text = payload.toString('utf8');
  const fields = new Map<string, string>();
  if (text.trimStart().startsWith('{')) {
    try {
      const parsed = asObject(JSON.parse(text));
      for (const [key, value] of Object.entries(parsed ?? {})) {
        if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
          fields.set(key, String(value));
        }
      }
      return fields;
    } catch {
      // not JSON after all: read it as a form
    }
  }
  for (const [key, value] of new URLSearchParams(text)) if (!fields.has(key)) fields.set(key, value);
  return fields;
}

/**
 * A payment provider over OpenNode's API: each charge is an OpenNode charge
 * (`POST /v1/charges`), paid through its BOLT-11 invoice (`lightning_invoice.payreq`, decoded for
 * the payment hash, amount and expiry), read back with `GET /v2/charge/{id}`.
 *
 * - BTC charges are sent in satoshis (OpenNode's default unit, no currency); fiat charges as the
 *   decimal amount with the currency, and read back exactly from `source_fiat_value`.
 * - Callbacks are form-encoded (`application/x-www-form-urlencoded`) and signed only by
 *   `hashed_order` = HMAC-SHA256(API key, charge id), compared in constant time. That proves the
 *   charge id, not the status, so `verifyWebhook` reads the charge from the API and the event
 *   takes the API's status (type, id and object); the event is also marked `refetch: true`, so
 *   Payable reads the charge again before applying it. A forged `status=paid` for an unpaid
 *   charge is therefore an `unknown` event about a pending payment and credits nothing. The event
 *   id is `<charge id>:<status>`: a redelivery dedupes, a new status is a new event. When the API
 *   cannot be reached at receipt, the event keeps the callback's status, its id is
 *   `<charge id>:<status>:unconfirmed` (so a forgery can never take the id of the confirmed event
 *   that follows), and the re-fetch before applying decides.
 * - `signatureHeader` is `hashed_order`, the body field carrying the signature (OpenNode signs
 *   no header); there is no timestamp and no tolerance window.
 * - No idempotency keys (Payable supplies them), no refunds (OpenNode refunds go to an address the
 *   payer gives).
 *
 * @example
 * ```ts
 * const opennode = new OpenNodeProvider({
 *   apiKey: process.env.OPENNODE_API_KEY!,
 *   environment: 'live',
 *   callbackUrl: 'https://shop.example.com/payable/webhooks/opennode',
 * });
 * const payable = createPayable({ providers: { opennode }, storage });
 * const payment = await payable.charge({ amount: 1500, currency: 'USD' });
 * payment.lightning?.paymentRequest; // 'lnbc…'
 * ```
 */
export class OpenNodeProvider implements PaymentProvider<OpenNodeCapability> {
  readonly name = 'opennode';
  readonly capabilities: readonly OpenNodeCapability[] = OPENNODE_CAPABILITIES;
  readonly idempotency = 'none' as const;
  /** A custodial service reveals no preimages: Payable credits its verified word. */
  readonly settlementProof = 'none' as const;
  readonly signatureHeader = OPENNODE_SIGNATURE_FIELD;
  readonly environment: 'development' | 'live';

  readonly #apiKey: string;
  readonly #baseUrl: string;
  readonly #callbackUrl: string | null;
  readonly #fetch: FetchLike;
  readonly #timeoutMs: number;

  constructor(options: OpenNodeProviderOptions) {
    this.#apiKey = required('apiKey', options.apiKey);
    if (options.environment !== 'development' && options.environment !== 'live') {
      throw new ValidationError('OpenNodeProvider environment must be "development" or "live".', {
        context: { field: 'environment', reason: 'expected development or live' },
      });
    }
    this.environment = options.environment;
    this.#baseUrl = options.baseUrl ?? OPENNODE_BASE_URLS[options.environment];
    this.#callbackUrl = options.callbackUrl ?? null;
    const timeout = options.timeoutMs ?? 10_000;
    if (!Number.isFinite(timeout) || timeout <= 0) {
      throw new ValidationError('timeoutMs must be a positive number.', {
        context: { field: 'timeoutMs', reason: 'expected a positive number' },
      });
    }
    this.#timeoutMs = timeout;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /**
   * Creates a charge. `expiresIn` becomes `ttl` in whole minutes (rounded up); `metadata` is sent
   * as the charge's metadata, and `metadata.order_id`, when set, as its `order_id`.
   */
  async charge(input: ProviderChargeInput, _ctx: ProviderContext): Promise<ProviderPayment> {
    refuseDescriptionHash(input, 'opennode', 'OpenNode');
    const currency = input.currency.toUpperCase();
    const body: Record<string, unknown> = {
      // Satoshis without a currency; fiat as its exact decimal (a JSON number prints back exactly).
      amount: currency === 'BTC' ? input.amount : Number(minorUnitsToDecimal(input.amount, currency)),
      ...(currency === 'BTC' ? {} : { currency }),
      description: input.description ?? '',
      metadata: input.metadata,
    };
    if (input.metadata.order_id) body.order_id = input.metadata.order_id;
    if (this.#callbackUrl) body.callback_url = this.#callbackUrl;
    if (input.expiresIn !== null) body.ttl = Math.ceil(input.expiresIn / 60);
    return this.#payment('charge', await this.#call('charge', 'POST', '/v1/charges', body)).payment;
  }

  /** Reads a charge (`GET /v2/charge/{id}`). Unknown id: `NOT_FOUND`. */
  async getPayment(providerId: string, _ctx: ProviderContext): Promise<ProviderPayment> {
    return (await this.#read('getPayment', providerId)).payment;
  }

  /**
   * Verifies a charge callback by recomputing `hashed_order` from the charge id, then reads the
   * charge so that the event states the API's status, not the callback's (see the class notes).
   */
  async verifyWebhook(input: WebhookVerifyInput): Promise<NormalizedEvent> {
    if (input.payload.length === 0) {
      throw invalidSignature(
        'opennode',
        'The callback body is empty: there is no hashed_order to check.',
        'missing_signature',
      );
    }
    const fields = callbackFields(input.payload);
    const hashed = fields.get(OPENNODE_SIGNATURE_FIELD);
    if (hashed === undefined || hashed === '') {
      throw invalidSignature('opennode', 'The OpenNode callback has no hashed_order field.', 'missing_signature');
    }
    const chargeId = fields.get('id');
    if (chargeId === undefined || chargeId === '') {
      throw invalidPayload('opennode', 'The OpenNode callback has no charge id.', 'missing_id');
    }
    const expected = createHmac('sha256', input.secret ?? this.#apiKey)
      .update(chargeId)
      .digest('hex');
    if (!timingSafeEqualString(hashed.toLowerCase(), expected)) {
      throw invalidSignature(
        'opennode',
        'The OpenNode hashed_order does not match the charge id: check the OpenNodeProvider apiKey (the key that created the charge).',
        'mismatch',
      );
    }
    const claimed = fields.get('status') ?? '';
    let read: { payment: ProviderPayment; rawStatus: string } | null = null;
    try {
      read = await this.#read('verifyWebhook', chargeId);
    } catch (error) {
      // Unreachable now: keep the callback's word, and let the re-fetch before applying decide.
      if (!isPayableError(error) || error.code !== 'PROVIDER_UNAVAILABLE') throw error;
    }
    const object = read?.payment ?? null;
    const status = read ? read.rawStatus : claimed;
    return {
      // An unconfirmed status gets its own id, so that a forgery sent while the API is down can
      // never take the id of the genuine, confirmed event that follows.
      id: read ? `${chargeId}:${status}` : `${chargeId}:${status}:unconfirmed`,
      type: openNodeEventType(status),
      providerType: `charge.${status || 'unknown'}`,
      createdAt: input.now,
      object: object
        ? { kind: 'payment', ...object }
        : { kind: 'payment', providerId: chargeId, status: openNodeChargeStatus(claimed), amount: 0, currency: '' },
      refetch: true,
    };
  }

  // -------------------------------------------------------------------------------------------

  async #read(op: string, chargeId: string): Promise<{ payment: ProviderPayment; rawStatus: string }> {
    return this.#payment(op, await this.#call(op, 'GET', `/v2/charge/${encodeURIComponent(chargeId)}`));
  }

  async #call(op: string, method: HttpRequestSpec['method'], path: string, body?: unknown): Promise<unknown> {
    try {
      const result = await sendRequest(this.#fetch, {
        method,
        url: joinUrl(this.#baseUrl, path),
        headers: { authorization: this.#apiKey },
        ...(body === undefined ? {} : { body }),
        timeoutMs: this.#timeoutMs,
      });
      const data = asObject(result.json)?.data;
      if (!asObject(data)) throw this.#malformed(op, 'the answer has no data object');
      return data;
    } catch (error) {
      throw mapOpenNodeError(error, { op, environment: this.environment });
    }
  }

  /** The charge as a payment, with OpenNode's own status (for event ids and types). */
  #payment(op: string, raw: unknown): { payment: ProviderPayment; rawStatus: string } {
    const charge = asObject(raw);
    const id = str(charge?.id);
    if (!charge || id === undefined) throw this.#malformed(op, 'the charge has no id');
    const rawStatus = str(charge.status) ?? '';
    const sats = typeof charge.amount === 'number' && Number.isSafeInteger(charge.amount) ? charge.amount : null;
    const currencyText = (str(charge.currency) ?? 'BTC').toUpperCase();
    let currency = currencyText;
    let amount: number | null;
    if (currencyText === 'BTC' || currencyText === 'SATS') {
      currency = 'BTC';
      amount = sats;
    } else {
      const fiat = jsonNumberToDecimal(charge.source_fiat_value) ?? jsonNumberToDecimal(charge.fiat_value);
      amount = fiat === null ? null : decimalToMinorUnits(fiat, currency);
    }
    if (amount === null)
      throw this.#malformed(op, `the charge amount in ${currency} is missing or not whole minor units`);
    const metadata: Metadata = {};
    for (const [key, value] of Object.entries(asObject(charge.metadata) ?? {})) {
      if (typeof value === 'string') metadata[key] = value;
    }
    const payment: ProviderPayment = {
      providerId: id,
      status: openNodeChargeStatus(rawStatus),
      amount,
      currency,
      description: str(charge.description) ?? null,
      nextActionUrl: str(charge.hosted_checkout_url) ?? null,
      metadata,
      lightning: null,
      expiresAt: null,
    };
    const invoice = asObject(charge.lightning_invoice);
    const payreq = str(invoice?.payreq);
    if (payreq !== undefined) {
      const missing = typeof charge.missing_amt === 'number' ? charge.missing_amt : 0;
      const facts = invoiceFacts(payreq, null, { provider: 'opennode', label: 'OpenNode', providerId: id });
      let paidMsat: bigint | null = null;
      if (rawStatus === 'paid' || rawStatus === 'refunded') {
        paidMsat = facts.amountMsat ?? (sats === null ? null : BigInt(sats) * 1000n);
      } else if (rawStatus === 'underpaid' && sats !== null && Number.isSafeInteger(missing)) {
        paidMsat = BigInt(Math.max(0, sats - missing)) * 1000n;
      }
      payment.lightning = { ...facts.lightning, amountPaidMsat: paidMsat === null ? null : paidMsat.toString() };
      payment.expiresAt = facts.expiresAt;
    } else if (typeof invoice?.expires_at === 'number') {
      payment.expiresAt = new Date(invoice.expires_at * 1000);
    }
    return { payment, rawStatus };
  }

  #malformed(op: string, what: string): PayableError {
    return new ProviderError(`OpenNode answered ${op} with an unexpected body: ${what}.`, {
      context: { provider: 'opennode', op, reason: 'malformed_response' },
    });
  }
}
