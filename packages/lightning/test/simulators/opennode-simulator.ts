import { createHmac, randomUUID } from 'node:crypto';
import {
  fiatToMsat,
  issueInvoice,
  postDelivery,
  type SimAnswer,
  type SimDelivery,
  type SimDeliveryResult,
  type SimFailure,
  type SimRequest,
  SimServer,
} from './sim-server.js';

/**
 * A local OpenNode API: charges (`POST /v1/charges`, `GET /v2/charge/{id}`) with a real BOLT-11
 * `lightning_invoice.payreq`, `Authorization: <api key>`, and charge callbacks posted to the
 * charge's `callback_url` as `application/x-www-form-urlencoded` bodies signed only by
 * `hashed_order` = hex HMAC-SHA256(key = API key, message = charge id), as OpenNode sends them.
 */

/** A charge status. */
export type OpenNodeSimStatus = 'unpaid' | 'processing' | 'paid' | 'underpaid' | 'expired' | 'refunded';

interface SimCharge {
  id: string;
  description: string;
  created_at: number;
  status: OpenNodeSimStatus;
  amount: number;
  callback_url: string | null;
  success_url: string | null;
  order_id: string;
  currency: string;
  source_fiat_value: number | null;
  fiat_value: number | null;
  auto_settle: boolean;
  ttl: number;
  metadata: Record<string, unknown>;
  missing_amt: number;
  payreq: string;
  expires_at: number;
  paymentHash: string;
}

/** Options of {@link OpenNodeSimulator.start}. */
export interface OpenNodeSimOptions {
  apiKey?: string;
  /** The BTC price in each fiat currency (major units). Default USD 50000, EUR 45000. */
  rates?: Record<string, string>;
  now?: () => Date;
}

/** The local OpenNode API. */
export class OpenNodeSimulator {
  readonly apiKey: string;
  readonly server: SimServer;
  /** Callbacks posted, in order. */
  readonly deliveries: SimDeliveryResult[] = [];
  readonly #rates: Record<string, string>;
  readonly #charges = new Map<string, SimCharge>();
  readonly #now: () => Date;

  private constructor(options: OpenNodeSimOptions) {
    this.apiKey = options.apiKey ?? 'opennode_dev_key_0f3c';
    this.#rates = options.rates ?? { USD: '50000', EUR: '45000' };
    this.#now = options.now ?? (() => new Date());
    this.server = new SimServer((req, url) => this.#route(req, url));
  }

  static async start(options: OpenNodeSimOptions = {}): Promise<OpenNodeSimulator> {
    const sim = new OpenNodeSimulator(options);
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

  /** The charge's status and payment hash. */
  chargeOf(id: string): { status: OpenNodeSimStatus; paymentHash: string; amount: number } {
    const charge = this.#get(id);
    return { status: charge.status, paymentHash: charge.paymentHash, amount: charge.amount };
  }

  /**
   * Moves the charge to `status` (default `paid`; `underpaid` with `missingSats` missing) and posts
   * the callback to its `callback_url`, when it has one.
   */
  async pay(
    id: string,
    options: { status?: OpenNodeSimStatus; missingSats?: number } = {},
  ): Promise<SimDeliveryResult | null> {
    const charge = this.#get(id);
    charge.status = options.status ?? 'paid';
    charge.missing_amt = charge.status === 'underpaid' ? (options.missingSats ?? Math.ceil(charge.amount / 2)) : 0;
    if (!charge.callback_url) return null;
    const result = await postDelivery(charge.callback_url, this.callback(id));
    this.deliveries.push(result);
    return result;
  }

  /** Sets the charge's status without a callback. */
  setStatus(id: string, status: OpenNodeSimStatus): void {
    this.#get(id).status = status;
  }

  /**
   * The callback OpenNode would send for the charge, claiming `status` (default: the charge's own),
   * with `hashed_order` keyed with `secret` (default: the API key). Changes nothing.
   */
  callback(id: string, options: { status?: string; secret?: string } = {}): SimDelivery {
    const charge = this.#get(id);
    const status = options.status ?? charge.status;
    const fields: [string, string][] = [
      ['id', charge.id],
      ['callback_url', charge.callback_url ?? ''],
      ['success_url', charge.success_url ?? ''],
      ['status', status],
      ['order_id', charge.order_id],
      ['description', charge.description],
      ['price', String(charge.amount)],
      ['fee', '0'],
      ['auto_settle', charge.auto_settle ? '1' : '0'],
    ];
    if (status === 'underpaid') fields.push(['missing_amt', String(charge.missing_amt)]);
    return this.sign(new URLSearchParams(fields).toString(), options.secret);
  }

  /**
   * Signs a form body the OpenNode way: (re)computes its `hashed_order` from its `id` with
   * `secret` (default: the API key). OpenNode signs nothing else, and no header.
   */
  sign(rawBody: string, secret: string = this.apiKey): SimDelivery {
    const params = new URLSearchParams(rawBody);
    params.set(
      'hashed_order',
      createHmac('sha256', secret)
        .update(params.get('id') ?? '')
        .digest('hex'),
    );
    return {
      rawBody: params.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'OpenNode' },
    };
  }

  // ---------------------------------------------------------------------------------------------

  #get(id: string): SimCharge {
    const charge = this.#charges.get(id);
    if (!charge) throw new Error(`no charge ${id}`);
    return charge;
  }

  #data(charge: SimCharge): Record<string, unknown> {
    return {
      id: charge.id,
      description: charge.description,
      desc_hash: false,
      created_at: charge.created_at,
      status: charge.status,
      amount: charge.amount,
      callback_url: charge.callback_url,
      success_url: charge.success_url,
      hosted_checkout_url: `https://dev-checkout.opennode.com/${charge.id}`,
      order_id: charge.order_id,
      currency: charge.currency,
      source_fiat_value: charge.source_fiat_value,
      fiat_value: charge.fiat_value,
      auto_settle: charge.auto_settle,
      notif_email: null,
      address: 'tb1qsimulatoraddress0000000000000000000000',
      metadata: charge.metadata,
      chain_invoice: { address: 'tb1qsimulatoraddress0000000000000000000000' },
      missing_amt: charge.missing_amt,
      ttl: charge.ttl,
      lightning_invoice: { expires_at: charge.expires_at, payreq: charge.payreq },
    };
  }

  #route(req: SimRequest, url: URL): SimAnswer | null {
    if (req.headers.authorization !== this.apiKey) {
      return { status: 401, body: { success: false, message: 'Invalid API key' } };
    }
    if (req.method === 'POST' && url.pathname === '/v1/charges') return this.#create(req);
    const read = /^\/v[12]\/charge\/([^/]+)$/.exec(url.pathname);
    if (read && req.method === 'GET') {
      const charge = this.#charges.get(decodeURIComponent(read[1] as string));
      if (!charge) return { status: 404, body: { success: false, message: 'Charge not found' } };
      return { status: 200, body: { data: this.#data(charge) } };
    }
    return null;
  }

  #create(req: SimRequest): SimAnswer {
    let body: Record<string, unknown>;
    try {
      body = (req.headers['content-type'] ?? '').includes('json')
        ? (JSON.parse(req.body) as Record<string, unknown>)
        : Object.fromEntries(new URLSearchParams(req.body));
    } catch {
      return { status: 400, body: { success: false, message: 'Invalid request body' } };
    }
    const amountText = typeof body.amount === 'number' ? String(body.amount) : body.amount;
    const currency = typeof body.currency === 'string' ? body.currency.toUpperCase() : 'BTC';
    if (typeof amountText !== 'string' || !/^\d+(\.\d+)?$/.test(amountText) || Number(amountText) <= 0) {
      return { status: 400, body: { success: false, message: 'amount must be a positive number' } };
    }
    if (currency !== 'BTC' && this.#rates[currency] === undefined) {
      return { status: 400, body: { success: false, message: `Currency ${currency} is not supported` } };
    }
    if (currency === 'BTC' && !/^\d+$/.test(amountText)) {
      return { status: 400, body: { success: false, message: 'amount in satoshis must be an integer' } };
    }
    const msat =
      currency === 'BTC' ? BigInt(amountText) * 1000n : fiatToMsat(amountText, this.#rates[currency] as string);
    const now = this.#now();
    const ttl = typeof body.ttl === 'number' ? body.ttl : 1440;
    const description = typeof body.description === 'string' ? body.description : '';
    const issued = issueInvoice({
      network: 'testnet',
      amountMsat: msat,
      description: description || 'OpenNode charge',
      expirySeconds: ttl * 60,
      now,
    });
    const fiat = currency === 'BTC' ? null : Number(amountText);
    const charge: SimCharge = {
      id: randomUUID(),
      description,
      created_at: Math.floor(now.getTime() / 1000),
      status: 'unpaid',
      amount: Number(msat / 1000n),
      callback_url: typeof body.callback_url === 'string' ? body.callback_url : null,
      success_url: typeof body.success_url === 'string' ? body.success_url : null,
      order_id: typeof body.order_id === 'string' ? body.order_id : 'N/A',
      currency,
      source_fiat_value: fiat,
      fiat_value: fiat,
      auto_settle: body.auto_settle === true,
      ttl,
      metadata: (typeof body.metadata === 'object' && body.metadata !== null ? body.metadata : {}) as Record<
        string,
        unknown
      >,
      missing_amt: 0,
      payreq: issued.paymentRequest,
      expires_at: Math.floor(now.getTime() / 1000) + ttl * 60,
      paymentHash: issued.paymentHash,
    };
    this.#charges.set(charge.id, charge);
    return { status: 201, body: { data: this.#data(charge) } };
  }
}
