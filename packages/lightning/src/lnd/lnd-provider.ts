import {
  type Clock,
  DEFAULT_LIGHTNING_EXPIRY_SECONDS,
  InvalidWebhookSignatureError,
  isPayableError,
  type NormalizedEvent,
  NotFoundError,
  type PaymentProvider,
  type ProviderChargeInput,
  type ProviderContext,
  type ProviderHealth,
  type ProviderPayment,
  ProviderError,
  type SettlementStreamOptions,
  type SettlementUpdate,
  SystemClock,
  ValidationError,
} from '@payable/core';
import { decodeInvoice } from '../bolt11/decode-invoice.js';
import { LndClient, type LndClientOptions } from './lnd-client.js';
import { base64ToHex, hexToBase64, type LndInvoice, lndInvoiceToPayment, lndStreamUpdate } from './lnd-invoice.js';

/**
 * What `LndProvider` can do: BOLT-11 charges (`charges`, `lightning`) and hold invoices. No
 * `webhooks`: LND has none; settlements arrive over its invoice stream (`payable.lightning.listen()`).
 *
 * @example
 * ```ts
 * payable.supports('holdInvoices', 'lnd'); // true
 * ```
 */
export const LND_CAPABILITIES = ['charges', 'lightning', 'holdInvoices'] as const;

/**
 * One of {@link LND_CAPABILITIES}.
 *
 * @example
 * ```ts
 * const capability: LndCapability = 'holdInvoices';
 * ```
 */
export type LndCapability = (typeof LND_CAPABILITIES)[number];

/** The longest memo LND writes into an invoice's description (bytes). */
const MAX_MEMO_BYTES = 639;
const HEX_32 = /^[0-9a-fA-F]{64}$/;

/**
 * Options of {@link LndProvider}.
 *
 * @example
 * ```ts
 * new LndProvider({
 *   url: 'https://127.0.0.1:8080',
 *   macaroon: readFileSync(`${lndDir}/data/chain/bitcoin/mainnet/invoice.macaroon`),
 *   tlsCert: readFileSync(`${lndDir}/tls.cert`),
 * });
 * ```
 */
export interface LndProviderOptions extends LndClientOptions {
  /** The time invoice expiry is judged against (pass the app's clock in tests). Default: the system clock. */
  clock?: Clock;
}

/**
 * Input of {@link LndProvider.createHoldInvoice}.
 *
 * @example
 * ```ts
 * const input: LndHoldInvoiceInput = { paymentHash, amount: 1000, expiresIn: 600, cltvExpiry: 80 };
 * ```
 */
export interface LndHoldInvoiceInput {
  /** SHA-256 of a preimage only you know (hex): the invoice settles when you reveal it. */
  paymentHash: string;
  /** Satoshis. */
  amount: number;
  description?: string | null;
  /** SHA-256 (hex) of a description given out of band, instead of `description`. */
  descriptionHash?: string | null;
  /** Seconds the invoice can be paid for. Default 3600. */
  expiresIn?: number;
  /** The final CLTV delta (blocks) the held HTLC gets: how long you have to settle or cancel. */
  cltvExpiry?: number;
}

function positiveInteger(value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ValidationError(`${field} must be a positive integer.`, {
      context: { field, reason: 'not_positive_integer' },
    });
  }
}

function checkHex32(value: string, field: string): string {
  if (typeof value !== 'string' || !HEX_32.test(value)) {
    throw new ValidationError(`${field} must be 64 hex characters (32 bytes).`, {
      context: { field, reason: 'not_hex32' },
    });
  }
  return value.toLowerCase();
}

function memoOf(description: string | null | undefined): string {
  const memo = description ?? '';
  if (Buffer.byteLength(memo, 'utf8') > MAX_MEMO_BYTES) {
    throw new ValidationError(`An invoice description is at most ${MAX_MEMO_BYTES} bytes.`, {
      context: { field: 'description', reason: 'too_long_for_invoice' },
    });
  }
  return memo;
}

/**
 * The Lightning provider for an LND node, over its REST API (`restlisten`, port 8080 by default):
 * the macaroon travels hex-encoded in `Grpc-Metadata-macaroon`, LND's self-signed certificate is
 * trusted through `tlsCert`. Charges are BOLT-11 invoices (`POST /v1/invoices`) whose expiry is
 * the payment's `expiresIn` exactly; `providerId` is the payment hash (hex). Hold invoices
 * (`/v2/invoices/hodl|settle|cancel`) are the `holdInvoices` capability. Settlements stream from
 * `GET /v1/invoices/subscribe`, resumed after the recorded settle index: run
 * `payable.lightning.listen()`. LND has no webhooks and no idempotency keys: Payable's own
 * idempotency makes one key one invoice.
 *
 * @example
 * ```ts
 * const lnd = new LndProvider({ url: process.env.LND_REST_URL!, macaroon: process.env.LND_MACAROON_HEX!, tlsCert });
 * const payable = createPayable({ providers: { lnd }, storage });
 * payable.lightning.listen();
 * const payment = await payable.charge({ amount: 2500, currency: 'BTC', expiresIn: 900 }, { provider: 'lnd' });
 * payment.lightning?.paymentRequest; // 'lnbc25u1p…': show it as a QR code
 * ```
 */
export class LndProvider implements PaymentProvider<LndCapability> {
  readonly name = 'lnd';
  readonly capabilities = LND_CAPABILITIES;
  readonly idempotency = 'none' as const;
  /** LND sends no webhooks: no delivery carries this header, and `verifyWebhook` refuses every one. */
  readonly signatureHeader = 'x-lnd-no-webhooks';
  /** Every settlement carries the preimage; Payable checks it. */
  readonly settlementProof = 'preimage' as const;
  readonly #client: LndClient;
  readonly #clock: Clock;

  constructor(options: LndProviderOptions) {
    this.#client = new LndClient(options);
    this.#clock = options.clock ?? new SystemClock();
  }

  /** Issue a BOLT-11 invoice for `input.amount` satoshis (`currency` must be `BTC`). */
  async charge(input: ProviderChargeInput, _ctx: ProviderContext): Promise<ProviderPayment> {
    if (input.currency.toUpperCase() !== 'BTC') {
      throw new ValidationError(
        'LND charges in BTC (satoshis): charge in BTC, or price in fiat with createPayable({ lightning: { rates } }).',
        { context: { field: 'currency', reason: 'btc_only' } },
      );
    }
    positiveInteger(input.amount, 'amount');
    const expiry = input.expiresIn ?? DEFAULT_LIGHTNING_EXPIRY_SECONDS;
    positiveInteger(expiry, 'expiresIn');
    const descriptionHash = input.descriptionHash ? checkHex32(input.descriptionHash, 'descriptionHash') : null;
    const valueMsat = (BigInt(input.amount) * 1000n).toString();
    const added = await this.#client.request<{ r_hash?: string; payment_request?: string }>(
      'charge',
      'POST',
      '/v1/invoices',
      {
        memo: memoOf(input.description),
        value_msat: valueMsat,
        expiry: String(expiry),
        ...(descriptionHash ? { description_hash: hexToBase64(descriptionHash) } : {}),
      },
    );
    const payment = this.#issued(added.payment_request, base64ToHex(added.r_hash), valueMsat, expiry, descriptionHash);
    return { ...payment, amount: input.amount, description: input.description, metadata: input.metadata };
  }

  /** The invoice with this payment hash (hex), as a payment. */
  async getPayment(providerId: string, _ctx?: ProviderContext): Promise<ProviderPayment> {
    if (typeof providerId !== 'string' || !HEX_32.test(providerId)) {
      throw new NotFoundError(`LND has no invoice "${String(providerId).slice(0, 80)}" (not a payment hash).`, {
        context: { provider: 'lnd', id: String(providerId).slice(0, 80) },
      });
    }
    const invoice = await this.#client.request<LndInvoice>(
      'getPayment',
      'GET',
      `/v1/invoice/${providerId.toLowerCase()}`,
    );
    return lndInvoiceToPayment(invoice, this.#clock.now());
  }

  /**
   * Issue a hold invoice for `paymentHash`: a payer's HTLC is held (`processing`) until you settle
   * it with the preimage or cancel it. Returns the pending payment.
   *
   * @example
   * ```ts
   * const preimage = randomBytes(32);
   * const held = await lnd.createHoldInvoice({ paymentHash: sha256(preimage), amount: 1000, expiresIn: 600 });
   * // ... once the payer's HTLC is held (status processing) and the goods are ready:
   * await lnd.settleHoldInvoice(preimage.toString('hex'));
   * ```
   */
  async createHoldInvoice(input: LndHoldInvoiceInput, _ctx?: ProviderContext): Promise<ProviderPayment> {
    const paymentHash = checkHex32(input.paymentHash, 'paymentHash');
    positiveInteger(input.amount, 'amount');
    const expiry = input.expiresIn ?? DEFAULT_LIGHTNING_EXPIRY_SECONDS;
    positiveInteger(expiry, 'expiresIn');
    if (input.cltvExpiry !== undefined) positiveInteger(input.cltvExpiry, 'cltvExpiry');
    const descriptionHash = input.descriptionHash ? checkHex32(input.descriptionHash, 'descriptionHash') : null;
    const valueMsat = (BigInt(input.amount) * 1000n).toString();
    const added = await this.#client.request<{ payment_request?: string }>(
      'createHoldInvoice',
      'POST',
      '/v2/invoices/hodl',
      {
        memo: memoOf(input.description),
        hash: hexToBase64(paymentHash),
        value_msat: valueMsat,
        expiry: String(expiry),
        ...(descriptionHash ? { description_hash: hexToBase64(descriptionHash) } : {}),
        ...(input.cltvExpiry === undefined ? {} : { cltv_expiry: String(input.cltvExpiry) }),
      },
    );
    const payment = this.#issued(added.payment_request, paymentHash, valueMsat, expiry, descriptionHash);
    return { ...payment, amount: input.amount, description: input.description ?? null };
  }

  /** Settle a held invoice by revealing its preimage (hex); the settlement then streams like any other. */
  async settleHoldInvoice(preimage: string, _ctx?: ProviderContext): Promise<void> {
    const hex = checkHex32(preimage, 'preimage');
    await this.#client.request('settleHoldInvoice', 'POST', '/v2/invoices/settle', { preimage: hexToBase64(hex) });
  }

  /** Cancel an open or held invoice (a held HTLC goes back to the payer). A settled one cannot be. */
  async cancelInvoice(paymentHash: string, _ctx?: ProviderContext): Promise<void> {
    const hex = checkHex32(paymentHash, 'paymentHash');
    await this.#client.request('cancelInvoice', 'POST', '/v2/invoices/cancel', { payment_hash: hexToBase64(hex) });
  }

  /**
   * LND invoice updates from `GET /v1/invoices/subscribe`, resumed after settle index
   * `options.cursor`: settled, held and canceled invoices as inbox updates with stable ids.
   */
  async *subscribeSettlements(options: SettlementStreamOptions): AsyncGenerator<SettlementUpdate> {
    const settleIndex = options.cursor !== null && /^\d+$/.test(options.cursor) ? options.cursor : '0';
    const path = `/v1/invoices/subscribe?add_index=0&settle_index=${settleIndex}`;
    for await (const message of this.#client.stream(
      'subscribeSettlements',
      path,
      options.signal,
      options.onConnected,
    )) {
      const envelope = message as { result?: LndInvoice; error?: { code?: number; message?: string } };
      if (envelope.error) {
        throw new ProviderError(`LND ended the invoice stream: ${envelope.error.message ?? 'error'}`, {
          context: { provider: 'lnd', op: 'subscribeSettlements', grpcCode: envelope.error.code ?? null },
        });
      }
      if (!envelope.result) continue;
      const update = lndStreamUpdate(envelope.result, JSON.stringify(message), this.#clock);
      if (update) yield update;
    }
  }

  /**
   * LND sends no webhooks, so every delivery is refused (`INVALID_WEBHOOK_SIGNATURE`): a POST to
   * `/webhooks/lnd` can never credit a payment. Settlements arrive over the invoice stream.
   */
  async verifyWebhook(): Promise<NormalizedEvent> {
    throw new InvalidWebhookSignatureError(
      'LND sends no webhooks: settlements arrive over its invoice stream (run payable.lightning.listen()). Delivery refused.',
      { context: { provider: 'lnd', reason: 'no_webhooks' } },
    );
  }

  /**
   * Reachability (`GET /v1/getinfo`) and inbound liquidity: the sum of `remote_balance` over active
   * channels (`GET /v1/channels`). Zero inbound liquidity is a warning: every payment would fail
   * with NO_ROUTE, and the node never sees the failures.
   */
  async health(): Promise<ProviderHealth> {
    let info: {
      identity_pubkey?: string;
      alias?: string;
      synced_to_chain?: boolean;
      block_height?: number;
    };
    try {
      info = await this.#client.request('health', 'GET', '/v1/getinfo');
    } catch (error) {
      return {
        ok: false,
        details: { reachable: false, error: isPayableError(error) ? error.code : 'unreachable' },
        warnings: [isPayableError(error) ? error.message : 'The LND node could not be reached.'],
      };
    }
    const warnings: string[] = [];
    const details: Record<string, unknown> = {
      reachable: true,
      alias: info.alias ?? null,
      identityPubkey: info.identity_pubkey ?? null,
      syncedToChain: info.synced_to_chain ?? null,
      blockHeight: info.block_height ?? null,
    };
    if (info.synced_to_chain === false) warnings.push('The LND node is not synced to the chain yet.');
    try {
      const { channels = [] } = await this.#client.request<{
        channels?: { active?: boolean; remote_balance?: string; local_balance?: string }[];
      }>('health', 'GET', '/v1/channels?active_only=true');
      const active = channels.filter((c) => c.active !== false);
      const sum = (pick: (c: (typeof active)[number]) => string | undefined) =>
        active.reduce((total, c) => total + BigInt(/^\d+$/.test(pick(c) ?? '') ? (pick(c) as string) : '0'), 0n);
      const inbound = sum((c) => c.remote_balance);
      details.activeChannels = active.length;
      details.inboundLiquiditySat = inbound.toString();
      details.outboundLiquiditySat = sum((c) => c.local_balance).toString();
      if (inbound === 0n) {
        warnings.push(
          'Inbound liquidity is zero: every payment would fail with NO_ROUTE (payers see the failure, this node does not). Open or buy inbound channels.',
        );
      }
    } catch (error) {
      details.inboundLiquiditySat = null;
      warnings.push(
        `Could not read the channels (${isPayableError(error) ? error.code : 'error'}): the macaroon needs offchain:read for the liquidity check.`,
      );
    }
    return { ok: true, details, warnings };
  }

  /** Check an invoice LND just issued against what was asked, and map it to a pending payment. */
  #issued(
    paymentRequest: string | undefined,
    paymentHash: string | null,
    valueMsat: string,
    expiry: number,
    descriptionHash: string | null,
  ): ProviderPayment {
    if (!paymentRequest || !paymentHash) {
      throw new ProviderError('LND answered without a payment request or payment hash.', {
        context: { provider: 'lnd', reason: 'malformed_answer' },
      });
    }
    let decoded: ReturnType<typeof decodeInvoice>;
    try {
      decoded = decodeInvoice(paymentRequest);
    } catch (error) {
      throw new ProviderError('LND issued an invoice Payable cannot decode.', {
        context: { provider: 'lnd', reason: 'invalid_invoice' },
        cause: error,
      });
    }
    const mismatch =
      decoded.paymentHash !== paymentHash
        ? 'paymentHash'
        : (decoded.amountMsat?.toString() ?? '0') !== valueMsat
          ? 'amountMsat'
          : decoded.expiry !== expiry
            ? 'expiry'
            : descriptionHash !== null && decoded.descriptionHash !== descriptionHash
              ? 'descriptionHash'
              : null;
    if (mismatch) {
      throw new ProviderError(`LND issued an invoice whose ${mismatch} is not the one asked for.`, {
        context: { provider: 'lnd', reason: 'invoice_mismatch', field: mismatch },
      });
    }
    return {
      providerId: paymentHash,
      status: 'pending',
      amount: Number(BigInt(valueMsat) / 1000n),
      currency: 'BTC',
      expiresAt: new Date((decoded.timestamp + decoded.expiry) * 1000),
      lightning: {
        paymentRequest,
        paymentHash,
        amountMsat: valueMsat,
        amountPaidMsat: null,
        preimage: null,
        quote: null,
      },
    };
  }
}
