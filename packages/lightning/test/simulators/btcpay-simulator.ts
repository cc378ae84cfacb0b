import { createHmac } from 'node:crypto';
import {
  base58Id,
  fiatToMsat,
  issueInvoice,
  msatToBtc,
  postDelivery,
  scaleUp,
  type SimAnswer,
  type SimDelivery,
  type SimDeliveryResult,
  type SimFailure,
  type SimRequest,
  SimServer,
} from './sim-server.js';

/**
 * A local BTCPay Server speaking the Greenfield API for one store: invoices with a Lightning
 * payment method carrying a real BOLT-11 invoice, API keys with permissions
 * (`Authorization: token <key>`), store webhooks signed `BTCPay-Sig: sha256=<hex HMAC-SHA256 of the
 * raw body>` with `deliveryId` / `originalDeliveryId`, and "paying" an invoice (settle, overpay,
 * underpay), expiring or invalidating it.
 */

/** Invoice events the simulator emits. */
export type BtcpaySimEvent =
  | 'InvoiceCreated'
  | 'InvoiceReceivedPayment'
  | 'InvoicePaymentSettled'
  | 'InvoiceProcessing'
  | 'InvoiceSettled'
  | 'InvoiceExpired'
  | 'InvoiceInvalid';

interface SimInvoice {
  id: string;
  amount: string;
  currency: string;
  status: 'New' | 'Processing' | 'Settled' | 'Expired' | 'Invalid';
  additionalStatus: 'None' | 'PaidPartial' | 'PaidOver' | 'PaidLate' | 'Marked' | 'Invalid';
  createdTime: number;
  expirationTime: number;
  metadata: Record<string, unknown>;
  checkout: Record<string, unknown>;
  dueMsat: bigint;
  paidMsat: bigint;
  paymentRequest: string;
  paymentHash: string;
  preimage: string;
  activated: boolean;
  payments: Record<string, unknown>[];
}

interface SimWebhook {
  id: string;
  url: string;
  secret: string;
}

/** Options of {@link BtcpaySimulator.start}. */
export interface BtcpaySimOptions {
  storeId?: string;
  /** API keys and their permissions (`btcpay.store.cancreateinvoice`, …). Default: one key with both. */
  apiKeys?: Record<string, readonly string[]>;
  /** The BTC price in each fiat currency (major units). Default USD 50000, EUR 45000. */
  rates?: Record<string, string>;
  /** Activate the Lightning payment method only on request (BTCPay's "lazy payment methods"). */
  lazyPaymentMethods?: boolean;
  /** Report the preimage of paid invoices in `additionalData.preimage` (BTCPay 1.8+). Default `true`. */
  reportPreimage?: boolean;
  now?: () => Date;
}

const PERMISSION = {
  create: 'btcpay.store.cancreateinvoice',
  view: 'btcpay.store.canviewinvoices',
} as const;

/** The local BTCPay Server. */
export class BtcpaySimulator {
  readonly storeId: string;
  readonly apiKey = 'btcpay_api_key_test';
  readonly server: SimServer;
  /** Webhooks posted, in order. */
  readonly deliveries: SimDeliveryResult[] = [];
  readonly #keys: Map<string, readonly string[]>;
  readonly #rates: Record<string, string>;
  readonly #invoices = new Map<string, SimInvoice>();
  readonly #webhooks: SimWebhook[] = [];
  readonly #lazy: boolean;
  /** Report preimages of paid invoices (`false`: a backend that does not return them). */
  #reportPreimage: boolean;
  /** A preimage to report instead of the real one (a lying or broken server). */
  readonly #forgedPreimages = new Map<string, string>();
  readonly #now: () => Date;

  private constructor(options: BtcpaySimOptions) {
    this.storeId = options.storeId ?? 'StoreSim7xq9';
    this.#keys = new Map(Object.entries(options.apiKeys ?? { [this.apiKey]: [PERMISSION.create, PERMISSION.view] }));
    this.#rates = options.rates ?? { USD: '50000', EUR: '45000' };
    this.#lazy = options.lazyPaymentMethods ?? false;
    this.#reportPreimage = options.reportPreimage ?? true;
    this.#now = options.now ?? (() => new Date());
    this.server = new SimServer((req, url) => this.#route(req, url));
  }

  static async start(options: BtcpaySimOptions = {}): Promise<BtcpaySimulator> {
    const sim = new BtcpaySimulator(options);
    await sim.server.listen();
    return sim;
  }

  get url(): string {
    return this.server.url;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  failNext(failure: SimFailure): void {
    this.server.failNext(failure);
  }

  /** Registers a store webhook (as `POST /api/v1/stores/{storeId}/webhooks` does). */
  addWebhook(url: string, secret: string): void {
    this.#webhooks.push({ id: base58Id(), url, secret });
  }

  /** The invoice's preimage and payment hash (what the store's node knows). */
  secretsOf(invoiceId: string): { preimage: string; paymentHash: string; paymentRequest: string } {
    const invoice = this.#get(invoiceId);
    return { preimage: invoice.preimage, paymentHash: invoice.paymentHash, paymentRequest: invoice.paymentRequest };
  }

  /** Makes the server report `preimage` for the invoice instead of the real one. */
  forgePreimage(invoiceId: string, preimage: string): void {
    this.#forgedPreimages.set(invoiceId, preimage);
  }

  /** The invoice's current status. */
  statusOf(invoiceId: string): { status: string; additionalStatus: string } {
    const invoice = this.#get(invoiceId);
    return { status: invoice.status, additionalStatus: invoice.additionalStatus };
  }

  /**
   * Pays the invoice over Lightning (`amountMsat` default: what is due): a full or larger payment
   * settles it (`PaidOver` when larger), a smaller one leaves it `New`/`PaidPartial`. Posts the
   * webhooks BTCPay would send to every registered webhook and returns them.
   */
  async pay(invoiceId: string, options: { amountMsat?: bigint } = {}): Promise<SimDeliveryResult[]> {
    const invoice = this.#get(invoiceId);
    const amount = options.amountMsat ?? invoice.dueMsat - invoice.paidMsat;
    invoice.paidMsat += amount;
    const payment = {
      id: `${invoice.paymentHash}`,
      receivedDate: Math.floor(this.#now().getTime() / 1000),
      value: msatToBtc(amount),
      fee: '0.00000000',
      status: 'Settled',
      destination: invoice.paymentRequest,
    };
    invoice.payments.push(payment);
    const extra = { afterExpiration: false, paymentMethodId: 'BTC-LN', payment };
    const sent = [
      ...(await this.#emit('InvoiceReceivedPayment', invoice, extra)),
      ...(await this.#emit('InvoicePaymentSettled', invoice, extra)),
    ];
    if (invoice.paidMsat >= invoice.dueMsat) {
      invoice.status = 'Settled';
      invoice.additionalStatus = invoice.paidMsat > invoice.dueMsat ? 'PaidOver' : 'None';
      sent.push(
        ...(await this.#emit('InvoiceSettled', invoice, {
          manuallyMarked: false,
          overPaid: invoice.paidMsat > invoice.dueMsat,
        })),
      );
    } else {
      invoice.additionalStatus = 'PaidPartial';
    }
    return sent;
  }

  /** Lets the invoice expire (`PaidPartial` when partly paid) and sends `InvoiceExpired`. */
  async expire(invoiceId: string): Promise<SimDeliveryResult[]> {
    const invoice = this.#get(invoiceId);
    invoice.status = 'Expired';
    const partiallyPaid = invoice.paidMsat > 0n;
    if (partiallyPaid) invoice.additionalStatus = 'PaidPartial';
    return this.#emit('InvoiceExpired', invoice, { partiallyPaid, paymentMethodId: 'BTC-LN' });
  }

  /** Marks the invoice invalid (as the merchant can) and sends `InvoiceInvalid`. */
  async invalidate(invoiceId: string): Promise<SimDeliveryResult[]> {
    const invoice = this.#get(invoiceId);
    invoice.status = 'Invalid';
    invoice.additionalStatus = 'Marked';
    return this.#emit('InvoiceInvalid', invoice, { manuallyMarked: true });
  }

  /** A signed delivery of `type` about the invoice, without sending it or changing state. */
  delivery(type: BtcpaySimEvent | string, invoiceId: string, options: { secret?: string } = {}): SimDelivery {
    const invoice = this.#invoices.get(invoiceId);
    const deliveryId = base58Id();
    const body = {
      deliveryId,
      webhookId: this.#webhooks[0]?.id ?? base58Id(),
      originalDeliveryId: deliveryId,
      isRedelivery: false,
      type,
      timestamp: Math.floor(this.#now().getTime() / 1000),
      storeId: this.storeId,
      invoiceId,
      metadata: invoice?.metadata ?? {},
      ...(type === 'InvoiceSettled' ? { manuallyMarked: false, overPaid: false } : {}),
    };
    return this.sign(JSON.stringify(body), options.secret ?? this.#webhooks[0]?.secret ?? 'btcpay_webhook_secret');
  }

  /** A redelivery of `delivery` (as the store's "Redeliver" button): new `deliveryId`, same `originalDeliveryId`. */
  redelivery(delivery: SimDelivery, secret: string): SimDelivery {
    const body = JSON.parse(delivery.rawBody) as Record<string, unknown>;
    body.deliveryId = base58Id();
    body.isRedelivery = true;
    body.timestamp = Math.floor(this.#now().getTime() / 1000);
    return this.sign(JSON.stringify(body), secret);
  }

  /** `rawBody` signed as BTCPay signs: `BTCPay-Sig: sha256=<hex HMAC-SHA256(secret, raw body)>`. */
  sign(rawBody: string, secret: string): SimDelivery {
    const sig = createHmac('sha256', secret).update(rawBody, 'utf8').digest('hex');
    return {
      rawBody,
      headers: { 'content-type': 'application/json', 'btcpay-sig': `sha256=${sig}`, 'user-agent': 'BTCPayServer' },
    };
  }

  // ---------------------------------------------------------------------------------------------

  #get(invoiceId: string): SimInvoice {
    const invoice = this.#invoices.get(invoiceId);
    if (!invoice) throw new Error(`no invoice ${invoiceId}`);
    return invoice;
  }

  async #emit(type: BtcpaySimEvent, invoice: SimInvoice, extra: Record<string, unknown>): Promise<SimDeliveryResult[]> {
    const sent: SimDeliveryResult[] = [];
    for (const hook of this.#webhooks) {
      const deliveryId = base58Id();
      const body = {
        deliveryId,
        webhookId: hook.id,
        originalDeliveryId: deliveryId,
        isRedelivery: false,
        type,
        timestamp: Math.floor(this.#now().getTime() / 1000),
        storeId: this.storeId,
        invoiceId: invoice.id,
        metadata: invoice.metadata,
        ...extra,
      };
      const result = await postDelivery(hook.url, this.sign(JSON.stringify(body), hook.secret));
      this.deliveries.push(result);
      sent.push(result);
    }
    return sent;
  }

  #auth(req: SimRequest, storeId: string, permission: string): SimAnswer | null {
    const match = /^token (.+)$/.exec(req.headers.authorization ?? '');
    const permissions = match ? this.#keys.get(match[1] as string) : undefined;
    if (!permissions) {
      return {
        status: 401,
        body: { code: 'unauthenticated', message: 'Authentication is required for accessing this endpoint' },
      };
    }
    if (storeId !== this.storeId || !permissions.some((p) => p === permission || p === `${permission}:${storeId}`)) {
      return {
        status: 403,
        body: {
          code: 'missing-permission',
          message: `Insufficient API Permissions. Please use an API key with permission "${permission}". You can create an API key in your account's settings / Api Keys.`,
          missingPermission: permission,
        },
      };
    }
    return null;
  }

  #invoiceData(invoice: SimInvoice): Record<string, unknown> {
    return {
      id: invoice.id,
      storeId: this.storeId,
      amount: invoice.amount,
      currency: invoice.currency,
      type: 'Standard',
      checkoutLink: `${this.url}/i/${invoice.id}`,
      createdTime: invoice.createdTime,
      expirationTime: invoice.expirationTime,
      monitoringExpiration: invoice.expirationTime + 86_400,
      status: invoice.status,
      additionalStatus: invoice.additionalStatus,
      availableStatusesForManualMarking: invoice.status === 'Settled' ? ['Invalid'] : ['Settled', 'Invalid'],
      archived: false,
      metadata: invoice.metadata,
      checkout: invoice.checkout,
    };
  }

  #paymentMethods(invoice: SimInvoice): Record<string, unknown>[] {
    const rate =
      invoice.currency === 'BTC' ? '1' : invoice.currency === 'SATS' ? '0.00000001' : this.#rates[invoice.currency];
    return [
      {
        paymentMethodId: 'BTC-LN',
        currency: 'BTC',
        destination: invoice.activated ? invoice.paymentRequest : null,
        paymentLink: invoice.activated ? `lightning:${invoice.paymentRequest}` : null,
        rate,
        paymentMethodPaid: msatToBtc(invoice.paidMsat),
        totalPaid: msatToBtc(invoice.paidMsat),
        due: invoice.paidMsat >= invoice.dueMsat ? '0.00000000' : msatToBtc(invoice.dueMsat - invoice.paidMsat),
        amount: msatToBtc(invoice.dueMsat),
        paymentMethodFee: '0.00000000',
        payments: invoice.payments,
        activated: invoice.activated,
        additionalData: {
          paymentHash: invoice.activated ? invoice.paymentHash : null,
          // BTCPay 1.8+ reports the preimage of a paid Lightning invoice (when its backend gives it).
          preimage:
            invoice.paidMsat > 0n && this.#reportPreimage
              ? (this.#forgedPreimages.get(invoice.id) ?? invoice.preimage)
              : null,
          invoiceId: invoice.id,
        },
      },
    ];
  }

  #route(req: SimRequest, url: URL): SimAnswer | null {
    const m =
      /^\/api\/v1\/stores\/([^/]+)\/invoices(?:\/([^/]+))?(?:\/(payment-methods)(?:\/([^/]+)\/(activate))?)?$/.exec(
        url.pathname,
      );
    const hooks = /^\/api\/v1\/stores\/([^/]+)\/webhooks$/.exec(url.pathname);
    if (hooks && req.method === 'POST') {
      const denied = this.#auth(req, hooks[1] as string, 'btcpay.store.webhooks.canmodifywebhooks');
      if (denied) return denied;
      const body = JSON.parse(req.body || '{}') as { url?: string; secret?: string };
      const hook = { id: base58Id(), url: body.url ?? '', secret: body.secret ?? base58Id(30) };
      this.#webhooks.push(hook);
      return {
        status: 200,
        body: { ...hook, enabled: true, automaticRedelivery: true, authorizedEvents: { everything: true } },
      };
    }
    if (!m) return null;
    const [, storeId, invoiceId, methods, , activate] = m as unknown as [
      string,
      string,
      string?,
      string?,
      string?,
      string?,
    ];
    if (req.method === 'POST' && invoiceId === undefined) {
      const denied = this.#auth(req, storeId, PERMISSION.create);
      return denied ?? this.#create(req);
    }
    const denied = this.#auth(req, storeId, activate ? PERMISSION.create : PERMISSION.view);
    if (denied) return denied;
    const invoice = invoiceId === undefined ? undefined : this.#invoices.get(invoiceId);
    if (!invoice) return { status: 404, body: { code: 'invoice-not-found', message: 'The invoice was not found' } };
    if (activate && req.method === 'POST') {
      invoice.activated = true;
      return { status: 200 };
    }
    if (req.method !== 'GET') return null;
    return { status: 200, body: methods ? this.#paymentMethods(invoice) : this.#invoiceData(invoice) };
  }

  #create(req: SimRequest): SimAnswer {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(req.body) as Record<string, unknown>;
    } catch {
      return { status: 400, body: { code: 'invalid-json', message: 'The request body is not JSON' } };
    }
    const amountText = typeof body.amount === 'number' ? String(body.amount) : body.amount;
    const currency = typeof body.currency === 'string' ? body.currency.toUpperCase() : '';
    const errors: { path: string; message: string }[] = [];
    if (typeof amountText !== 'string' || scaleUp(amountText, 8) === null || scaleUp(amountText, 8) === 0n) {
      errors.push({ path: 'amount', message: 'Amount should be greater than 0' });
    }
    if (currency !== 'BTC' && currency !== 'SATS' && this.#rates[currency] === undefined) {
      errors.push({ path: 'currency', message: 'Invalid currency' });
    }
    if (errors.length > 0) return { status: 422, body: errors };
    const checkout = (typeof body.checkout === 'object' && body.checkout !== null ? body.checkout : {}) as Record<
      string,
      unknown
    >;
    const minutes = typeof checkout.expirationMinutes === 'number' ? checkout.expirationMinutes : 15;
    const now = this.#now();
    const seconds = Math.round(minutes * 60);
    const text = amountText as string;
    const dueMsat =
      currency === 'BTC'
        ? (scaleUp(text, 11) as bigint)
        : currency === 'SATS'
          ? (scaleUp(text, 0) as bigint) * 1000n
          : fiatToMsat(text, this.#rates[currency] as string);
    const metadata = (typeof body.metadata === 'object' && body.metadata !== null ? body.metadata : {}) as Record<
      string,
      unknown
    >;
    const issued = issueInvoice({
      network: 'regtest',
      amountMsat: dueMsat,
      description: typeof metadata.itemDesc === 'string' ? metadata.itemDesc : `Paid to store ${this.storeId}`,
      expirySeconds: seconds,
      now,
    });
    const invoice: SimInvoice = {
      id: base58Id(),
      amount: text,
      currency,
      status: 'New',
      additionalStatus: 'None',
      createdTime: Math.floor(now.getTime() / 1000),
      expirationTime: Math.floor(now.getTime() / 1000) + seconds,
      metadata,
      checkout: { speedPolicy: 'MediumSpeed', expirationMinutes: minutes, ...checkout },
      dueMsat,
      paidMsat: 0n,
      ...issued,
      activated: !this.#lazy,
      payments: [],
    };
    this.#invoices.set(invoice.id, invoice);
    return { status: 200, body: this.#invoiceData(invoice) };
  }
}
