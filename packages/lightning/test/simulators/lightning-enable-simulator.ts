import { createHmac, randomBytes } from 'node:crypto';
import {
  fiatToMsat,
  issueInvoice,
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
 * A local Lightning Enable API: payments (`POST /api/payments`, `GET /api/payments/{invoiceId}`,
 * `GET /api/payments/order/{orderId}`) with `X-API-Key`, a real BOLT-11 `lightningInvoice`, the
 * merchant webhook URL (`PUT /api/merchant/webhook-url`), and webhooks with the documented payload
 * signed `X-LightningEnable-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`.
 */

/** A payment status. */
export type LightningEnableSimStatus = 'unpaid' | 'processing' | 'paid' | 'expired' | 'underpaid' | 'refunded';

interface SimPayment {
  invoiceId: string;
  orderId: string;
  status: LightningEnableSimStatus;
  /** The amount as the merchant wrote it (a decimal with its scale, e.g. "49.99" or "25.00"). */
  amount: string;
  currency: string;
  amountSats: number;
  description: string | null;
  metadata: Record<string, unknown>;
  lightningInvoice: string;
  paymentHash: string;
  expiresAt: string;
  createdAt: string;
  paidAt: string | null;
  openNodeChargeId: string;
}

/** Options of {@link LightningEnableSimulator.start}. */
export interface LightningEnableSimOptions {
  apiKey?: string;
  webhookSecret?: string;
  /** The BTC price in each fiat currency (major units). Default USD 40000, EUR 37000, GBP 32000. */
  rates?: Record<string, string>;
  now?: () => Date;
}

const CURRENCIES = new Set(['USD', 'EUR', 'GBP', 'BTC']);

/** JSON text with the given keys' values written as raw decimal numbers (`25.00` keeps its scale). */
function jsonWithDecimals(value: Record<string, unknown>, decimals: Record<string, string>): string {
  const marked: Record<string, unknown> = { ...value };
  for (const key of Object.keys(decimals)) marked[key] = `@@${key}@@`;
  let text = JSON.stringify(marked);
  for (const [key, decimal] of Object.entries(decimals)) text = text.replace(`"@@${key}@@"`, decimal);
  return text;
}

/** The local Lightning Enable API. */
export class LightningEnableSimulator {
  readonly apiKey: string;
  readonly webhookSecret: string;
  readonly server: SimServer;
  /** Webhooks posted, in order. */
  readonly deliveries: SimDeliveryResult[] = [];
  /** The merchant's webhook URL (`callbackUrl` / `webhookUrl`). */
  webhookUrl: string | null = null;
  readonly #rates: Record<string, string>;
  readonly #payments = new Map<string, SimPayment>();
  readonly #now: () => Date;

  private constructor(options: LightningEnableSimOptions) {
    this.apiKey = options.apiKey ?? 'le_merchant_sim_5f2a9c';
    this.webhookSecret = options.webhookSecret ?? 'le_whsec_sim_81d0';
    this.#rates = options.rates ?? { USD: '40000', EUR: '37000', GBP: '32000' };
    this.#now = options.now ?? (() => new Date());
    this.server = new SimServer((req, url) => this.#route(req, url));
  }

  static async start(options: LightningEnableSimOptions = {}): Promise<LightningEnableSimulator> {
    const sim = new LightningEnableSimulator(options);
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

  /** The payment's status and payment hash. */
  paymentOf(invoiceId: string): { status: LightningEnableSimStatus; paymentHash: string } {
    const payment = this.#get(invoiceId);
    return { status: payment.status, paymentHash: payment.paymentHash };
  }

  /** Moves the payment to `status` (default `paid`) and posts the webhook to the merchant URL. */
  async pay(invoiceId: string, status: LightningEnableSimStatus = 'paid'): Promise<SimDeliveryResult | null> {
    const payment = this.#get(invoiceId);
    payment.status = status;
    if (status === 'paid') payment.paidAt = this.#now().toISOString();
    if (!this.webhookUrl) return null;
    const result = await postDelivery(this.webhookUrl, this.delivery(invoiceId));
    this.deliveries.push(result);
    return result;
  }

  /** The signed webhook for the payment (claiming `status`, default its own), changing nothing. */
  delivery(invoiceId: string, options: { status?: string; at?: Date; secret?: string } = {}): SimDelivery {
    const payment = this.#get(invoiceId);
    const body = jsonWithDecimals(
      {
        invoiceId: payment.invoiceId,
        orderId: payment.orderId,
        openNodeChargeId: payment.openNodeChargeId,
        status: options.status ?? payment.status,
        amount: 0,
        currency: payment.currency,
        amountSats: payment.amountSats,
        paidAt: payment.paidAt,
        metadata: payment.metadata,
      },
      { amount: payment.amount },
    );
    return this.sign(body, options);
  }

  /**
   * Signs `rawBody` as Lightning Enable does, at `at` (default now) with `secret` (default the
   * webhook secret); `extraSecrets` add more `v1` values (a rotation).
   */
  sign(rawBody: string, options: { at?: Date; secret?: string; extraSecrets?: string[] } = {}): SimDelivery {
    const t = Math.floor((options.at ?? this.#now()).getTime() / 1000);
    const v1 = [options.secret ?? this.webhookSecret, ...(options.extraSecrets ?? [])].map(
      (secret) => `v1=${createHmac('sha256', secret).update(`${t}.${rawBody}`, 'utf8').digest('hex')}`,
    );
    return {
      rawBody,
      headers: { 'content-type': 'application/json', 'x-lightningenable-signature': `t=${t},${v1.join(',')}` },
    };
  }

  // ---------------------------------------------------------------------------------------------

  #get(invoiceId: string): SimPayment {
    const payment = this.#payments.get(invoiceId);
    if (!payment) throw new Error(`no payment ${invoiceId}`);
    return payment;
  }

  #view(payment: SimPayment, withInvoice: boolean): string {
    const base: Record<string, unknown> = {
      invoiceId: payment.invoiceId,
      orderId: payment.orderId,
      status: payment.status,
      amount: 0,
      currency: payment.currency,
      amountSats: payment.amountSats,
    };
    if (withInvoice) {
      base.lightningInvoice = payment.lightningInvoice;
      base.expiresAt = payment.expiresAt;
    }
    if (payment.paidAt) base.paidAt = payment.paidAt;
    base.createdAt = payment.createdAt;
    return jsonWithDecimals(base, { amount: payment.amount });
  }

  #route(req: SimRequest, url: URL): SimAnswer | null {
    if (req.headers['x-api-key'] !== this.apiKey) {
      return {
        status: 401,
        body: { error: 'API key required', message: 'Please provide API key in X-API-Key header' },
      };
    }
    if (req.method === 'PUT' && url.pathname === '/api/merchant/webhook-url') {
      const body = JSON.parse(req.body || '{}') as { webhookUrl?: string };
      this.webhookUrl = body.webhookUrl ?? null;
      return { status: 200, body: { webhookUrl: this.webhookUrl } };
    }
    if (req.method === 'POST' && url.pathname === '/api/payments') return this.#create(req);
    const byOrder = /^\/api\/payments\/order\/([^/]+)$/.exec(url.pathname);
    const byId = /^\/api\/payments\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && (byOrder || byId)) {
      const key = decodeURIComponent(((byOrder ?? byId) as RegExpExecArray)[1] as string);
      const payment = byOrder ? [...this.#payments.values()].find((p) => p.orderId === key) : this.#payments.get(key);
      if (!payment) return { status: 404, body: { error: 'Not Found', message: 'Payment not found' } };
      return { status: 200, body: this.#view(payment, false) };
    }
    return null;
  }

  #create(req: SimRequest): SimAnswer {
    // Read the amount's exact text from the JSON (as a decimal-typed server would).
    const amountMatch = /"amount"\s*:\s*(\d+(?:\.\d+)?)/.exec(req.body);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(req.body) as Record<string, unknown>;
    } catch {
      return { status: 400, body: { error: 'Bad Request', message: 'The request body is not valid JSON' } };
    }
    const currency = typeof body.currency === 'string' ? body.currency.toUpperCase() : '';
    const amount = amountMatch?.[1];
    if (typeof body.orderId !== 'string' || body.orderId === '') {
      return { status: 400, body: { error: 'Validation failed', message: 'orderId is required' } };
    }
    if (amount === undefined || scaleUp(amount, 8) === 0n) {
      return { status: 400, body: { error: 'Validation failed', message: 'amount must be greater than 0' } };
    }
    if (!CURRENCIES.has(currency)) {
      return { status: 400, body: { error: 'Validation failed', message: `Unsupported currency: ${currency}` } };
    }
    const msat =
      currency === 'BTC' ? (scaleUp(amount, 8) as bigint) * 1000n : fiatToMsat(amount, this.#rates[currency] as string);
    const now = this.#now();
    const description = typeof body.description === 'string' ? body.description : null;
    const issued = issueInvoice({
      network: 'bitcoin',
      amountMsat: msat,
      description: description ?? `Order ${body.orderId}`,
      expirySeconds: 3600,
      now,
    });
    const payment: SimPayment = {
      invoiceId: `inv_${randomBytes(6).toString('hex')}`,
      orderId: body.orderId,
      status: 'unpaid',
      amount,
      currency,
      amountSats: Number(msat / 1000n),
      description,
      metadata: (typeof body.metadata === 'object' && body.metadata !== null ? body.metadata : {}) as Record<
        string,
        unknown
      >,
      lightningInvoice: issued.paymentRequest,
      paymentHash: issued.paymentHash,
      expiresAt: new Date(now.getTime() + 3600_000).toISOString(),
      createdAt: now.toISOString(),
      paidAt: null,
      openNodeChargeId: `charge_${randomBytes(6).toString('hex')}`,
    };
    this.#payments.set(payment.invoiceId, payment);
    return { status: 200, body: this.#view(payment, true) };
  }
}
