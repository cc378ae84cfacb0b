import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Environment, Paddle } from '@paddle/paddle-node-sdk';

/**
 * A local Paddle Billing API simulator for tests (not published). It speaks the JSON API the
 * official SDK calls (the `{ data, meta: { request_id } }` envelope, paginated lists with
 * `meta.pagination`, the `{ error: { type, code, detail, documentation_url, errors? }, meta }`
 * error shape, Paddle-style ids), keeps state in memory, and signs webhooks exactly as Paddle
 * documents: `Paddle-Signature: ts=<unix>;h1=<hex HMAC-SHA256(secret, "<ts>:<raw body>")>`, one
 * `h1` per active secret while a secret is rotated.
 *
 * The SDK is pointed at it through `environment`: the SDK's client uses its built-in URL for
 * `sandbox`/`production` and any other value as the base URL itself (`getBaseUrl` in
 * `internal/api/client.js`), so `new Paddle(key, { environment: 'http://127.0.0.1:port' })` talks
 * to this server over real HTTP. See {@link PaddleSimulator.sdk}.
 */

type Json = Record<string, unknown>;

/** A signed notification, as Paddle POSTs it. */
export interface PaddleDelivery {
  rawBody: string;
  headers: Record<string, string>;
}

/** A catalog price to seed. */
export interface SimulatorPriceSeed {
  /** Minor units. */
  amount: number;
  currency: string;
  /** `null` for a one-time price. Default `'month'`. */
  interval?: 'day' | 'week' | 'month' | 'year' | null;
  frequency?: number;
  /** A trial the catalog price itself has. */
  trialDays?: number;
  name?: string;
}

/** Options of {@link PaddleSimulator.start}. */
export interface PaddleSimulatorOptions {
  apiKey?: string;
  /** The notification destination's secret key. */
  webhookSecret?: string;
  /** The account's default payment link; `null` for none (transactions then get no checkout URL). */
  defaultPaymentLink?: string | null;
  /** Catalog prices by id (any id, e.g. `pri_…`). */
  prices?: Record<string, SimulatorPriceSeed>;
  /** The simulator's time. Default: the system time. */
  now?: () => Date;
}

/** A failure to inject into the next matching request(s). */
export interface SimulatorFailure {
  status: number;
  type?: 'request_error' | 'api_error';
  code?: string;
  detail?: string;
  /** Seconds, sent as `Retry-After`. */
  retryAfter?: number;
  /** A raw (non-JSON) body to send instead of Paddle's error envelope, e.g. a proxy's HTML page. */
  rawBody?: string;
}

/** One request the simulator received. */
export interface SimulatorRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: Json | null;
  authorization: string | undefined;
}

/** The simulator's default API key. */
export const SIMULATOR_API_KEY = 'pdl_sdbx_apikey_01simulator000000000000000_simulator';
/** The simulator's default webhook secret. */
export const SIMULATOR_WEBHOOK_SECRET = 'pdl_ntfset_01simulator00000000000000_simulatorsecret';
/** The simulator's default payment link. */
export const SIMULATOR_PAYMENT_LINK = 'https://shop.simulator.test/pay';
/** A seeded monthly price: 1500 USD cents. */
export const SIMULATOR_MONTHLY_PRICE = 'pri_01simmonthly0000000000000';
/** A seeded one-time price: 4900 EUR cents. */
export const SIMULATOR_ONE_TIME_PRICE = 'pri_01simonetime0000000000000';

const CURRENCIES = new Set([
  'USD',
  'EUR',
  'GBP',
  'JPY',
  'AUD',
  'CAD',
  'CHF',
  'CLP',
  'HKD',
  'SGD',
  'SEK',
  'ARS',
  'BRL',
  'CNY',
  'COP',
  'CZK',
  'DKK',
  'HUF',
  'ILS',
  'INR',
  'KRW',
  'MXN',
  'NOK',
  'NZD',
  'PEN',
  'PLN',
  'RUB',
  'THB',
  'TRY',
  'TWD',
  'UAH',
  'VND',
  'ZAR',
]);
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly type: 'request_error' | 'api_error' = 'request_error',
    readonly errors?: { field: string; message: string }[],
  ) {
    super(detail);
  }
}

const notFound = (id: string) => new HttpFailure(404, 'not_found', `Entity ${id} not found`);
const invalid = (field: string, message: string) =>
  new HttpFailure(400, 'bad_request', 'Invalid request.', 'request_error', [{ field, message }]);

function addPeriod(from: Date, interval: string, frequency: number): Date {
  const d = new Date(from);
  if (interval === 'day') d.setUTCDate(d.getUTCDate() + frequency);
  else if (interval === 'week') d.setUTCDate(d.getUTCDate() + 7 * frequency);
  else if (interval === 'month') d.setUTCMonth(d.getUTCMonth() + frequency);
  else d.setUTCFullYear(d.getUTCFullYear() + frequency);
  return d;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function digits(value: unknown, field: string): bigint {
  if (typeof value !== 'string' || !/^\d+$/.test(value))
    throw invalid(field, 'must be a string of digits (minor units)');
  return BigInt(value);
}

/** The Paddle API simulator. */
export class PaddleSimulator {
  readonly apiKey: string;
  /** Active webhook secrets: one normally, two while rotating (each gets an `h1`). */
  webhookSecrets: string[];
  /** Every request received, in order. */
  readonly requests: SimulatorRequest[] = [];
  baseUrl = '';

  readonly #server: Server;
  readonly #now: () => Date;
  readonly #paymentLink: string | null;
  readonly #customers = new Map<string, Json>();
  readonly #addresses = new Map<string, Json>();
  readonly #products = new Map<string, Json>();
  readonly #prices = new Map<string, Json>();
  readonly #transactions = new Map<string, Json>();
  readonly #subscriptions = new Map<string, Json>();
  readonly #adjustments = new Map<string, Json>();
  readonly #failures: { method?: string; path?: RegExp; failure: SimulatorFailure; times: number }[] = [];
  #counter = 0;

  private constructor(options: PaddleSimulatorOptions) {
    this.apiKey = options.apiKey ?? SIMULATOR_API_KEY;
    this.webhookSecrets = [options.webhookSecret ?? SIMULATOR_WEBHOOK_SECRET];
    this.#now = options.now ?? (() => new Date());
    this.#paymentLink = options.defaultPaymentLink === undefined ? SIMULATOR_PAYMENT_LINK : options.defaultPaymentLink;
    const seeds: Record<string, SimulatorPriceSeed> = {
      [SIMULATOR_MONTHLY_PRICE]: { amount: 1500, currency: 'USD', interval: 'month', name: 'Monthly' },
      [SIMULATOR_ONE_TIME_PRICE]: { amount: 4900, currency: 'EUR', interval: null, name: 'Lifetime' },
      ...(options.prices ?? {}),
    };
    for (const [id, seed] of Object.entries(seeds)) this.#seedPrice(id, seed);
    this.#server = createServer((req, res) => {
      void this.#handle(req, res);
    });
  }

  /**
   * Starts a simulator on a free port of 127.0.0.1.
   *
   * @example
   * ```ts
   * const sim = await PaddleSimulator.start();
   * const provider = new PaddleProvider({ paddle: sim.sdk(), webhookSecret: sim.webhookSecrets[0] });
   * ```
   */
  static async start(options: PaddleSimulatorOptions = {}): Promise<PaddleSimulator> {
    const sim = new PaddleSimulator(options);
    await new Promise<void>((resolve) => sim.#server.listen(0, '127.0.0.1', resolve));
    const { port } = sim.#server.address() as AddressInfo;
    sim.baseUrl = `http://127.0.0.1:${port}`;
    return sim;
  }

  /** The official SDK, configured with this simulator's key and pointed at it. */
  sdk(apiKey: string = this.apiKey): Paddle {
    return new Paddle(apiKey, { environment: this.baseUrl as unknown as Environment });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  now(): Date {
    return this.#now();
  }

  /** Makes the next `times` requests matching `match` fail with `failure`. */
  failNext(match: { method?: string; path?: RegExp }, failure: SimulatorFailure, times = 1): void {
    this.#failures.push({ ...match, failure, times });
  }

  /** Starts a rotation: both secrets sign until {@link finishRotation}. */
  rotateSecret(next: string): void {
    this.webhookSecrets = [...this.webhookSecrets, next];
  }

  /** Ends a rotation: only the newest secret signs. */
  finishRotation(): void {
    this.webhookSecrets = this.webhookSecrets.slice(-1);
  }

  // ---- state access (raw Paddle JSON) ---------------------------------------------------------

  transaction(id: string): Json {
    return structuredClone(this.#get(this.#transactions, id));
  }

  subscription(id: string): Json {
    return structuredClone(this.#get(this.#subscriptions, id));
  }

  adjustment(id: string): Json {
    return structuredClone(this.#get(this.#adjustments, id));
  }

  customer(id: string): Json {
    return structuredClone(this.#get(this.#customers, id));
  }

  // ---- lifecycle: what a customer or Paddle's team does ----------------------------------------

  /**
   * The customer pays the transaction at checkout: a customer and address are created when it
   * had none, the payment is captured, the transaction becomes `completed`, and a subscription
   * is created for recurring items. Returns the notifications in Paddle's order.
   */
  completeTransaction(id: string, options: { email?: string } = {}): PaddleDelivery[] {
    const txn = this.#get(this.#transactions, id);
    if (!['draft', 'ready', 'billed', 'past_due'].includes(txn.status as string)) {
      throw new Error(`transaction ${id} is ${String(txn.status)}: it cannot be paid`);
    }
    const deliveries: PaddleDelivery[] = [];
    const now = this.#iso();
    if (!txn.customer_id) {
      const customer = this.#createCustomer({ email: options.email ?? `buyer-${this.#counter + 1}@simulator.test` });
      txn.customer_id = customer.id;
      deliveries.push(this.event('customer.created', customer.id as string));
    }
    if (!txn.address_id) txn.address_id = this.#createAddress(txn.customer_id as string, 'US').id;
    const grand = ((txn.details as Json).totals as Json).grand_total as string;
    (txn.payments as Json[]).unshift(this.#paymentAttempt(grand, 'captured', null));
    txn.billed_at ??= now;
    txn.status = 'paid';
    txn.updated_at = now;
    deliveries.push(this.event('transaction.paid', id));
    if (!txn.subscription_id && this.#hasRecurring(txn)) {
      const sub = this.#createSubscriptionFor(txn, 'automatic');
      txn.subscription_id = sub.id;
      deliveries.push(this.event('subscription.created', sub.id as string));
    }
    txn.status = 'completed';
    deliveries.push(this.event('transaction.completed', id));
    return deliveries;
  }

  /** A payment attempt on the transaction is declined: the `transaction.payment_failed` notification. */
  failTransactionPayment(id: string, errorCode = 'declined'): PaddleDelivery {
    const txn = this.#get(this.#transactions, id);
    const grand = ((txn.details as Json).totals as Json).grand_total as string;
    (txn.payments as Json[]).unshift(this.#paymentAttempt(grand, 'error', errorCode));
    txn.updated_at = this.#iso();
    return this.event('transaction.payment_failed', id);
  }

  /** Paddle approves (or rejects) a refund: the `adjustment.updated` notification. */
  reviewAdjustment(id: string, decision: 'approved' | 'rejected'): PaddleDelivery {
    const adj = this.#get(this.#adjustments, id);
    if (adj.status !== 'pending_approval') throw new Error(`adjustment ${id} is ${String(adj.status)}`);
    adj.status = decision;
    adj.updated_at = this.#iso();
    return this.event('adjustment.updated', id);
  }

  // ---- webhooks -------------------------------------------------------------------------------

  /**
   * A signed notification of `eventType` about an entity the simulator holds (by id, its current
   * state is sent) or about raw `data`. Signed now with the active secrets unless told otherwise.
   */
  event(
    eventType: string,
    subject: string | Json,
    options: { eventId?: string; occurredAt?: Date; at?: Date; secrets?: string[] } = {},
  ): PaddleDelivery {
    const data = typeof subject === 'string' ? this.#entity(eventType, subject) : subject;
    const body = {
      event_id: options.eventId ?? this.#id('evt'),
      event_type: eventType,
      occurred_at: (options.occurredAt ?? this.#now()).toISOString(),
      notification_id: this.#id('ntf'),
      data,
    };
    return this.sign(JSON.stringify(body), options);
  }

  /** `rawBody` signed as Paddle signs, at `at` (default now) with `secrets` (default the active ones). */
  sign(rawBody: string, options: { at?: Date; secrets?: string[] } = {}): PaddleDelivery {
    const ts = Math.floor((options.at ?? this.#now()).getTime() / 1000);
    const h1 = (options.secrets ?? this.webhookSecrets).map(
      (secret) => `h1=${createHmac('sha256', secret).update(`${ts}:`).update(rawBody, 'utf8').digest('hex')}`,
    );
    return {
      rawBody,
      headers: { 'content-type': 'application/json', 'paddle-signature': [`ts=${ts}`, ...h1].join(';') },
    };
  }

  /** POSTs a delivery to `url` over HTTP, as Paddle delivers to a notification destination. */
  async deliver(url: string, delivery: PaddleDelivery): Promise<{ status: number; body: string }> {
    const res = await fetch(url, {
      method: 'POST',
      headers: { ...delivery.headers, 'Paddle-Version': '1' },
      body: delivery.rawBody,
    });
    return { status: res.status, body: await res.text() };
  }

  // ---- HTTP -----------------------------------------------------------------------------------

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', this.baseUrl);
    const method = (req.method ?? 'GET').toUpperCase();
    const text = Buffer.concat(chunks).toString('utf8');
    let body: Json | null = null;
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', 'request-id': requestId, ...headers });
      res.end(JSON.stringify(payload));
    };
    const fail = (f: HttpFailure, headers: Record<string, string> = {}) =>
      send(
        f.status,
        {
          error: {
            type: f.type,
            code: f.code,
            detail: f.detail,
            documentation_url: `https://developer.paddle.com/v1/errors/shared/${f.code}`,
            ...(f.errors ? { errors: f.errors } : {}),
          },
          meta: { request_id: requestId },
        },
        headers,
      );
    try {
      if (text !== '') {
        const parsed: unknown = JSON.parse(text);
        body = isObject(parsed) ? parsed : null;
      }
    } catch {
      return fail(new HttpFailure(400, 'invalid_json', 'The request body is not valid JSON.'));
    }
    this.requests.push({
      method,
      path: url.pathname,
      query: url.searchParams,
      body,
      authorization: req.headers.authorization,
    });
    const injected = this.#failures.find(
      (f) => f.times > 0 && (!f.method || f.method === method) && (!f.path || f.path.test(url.pathname)),
    );
    if (injected) {
      injected.times--;
      const f = injected.failure;
      const headers: Record<string, string> = f.retryAfter === undefined ? {} : { 'retry-after': String(f.retryAfter) };
      if (f.rawBody !== undefined) {
        res.writeHead(f.status, { 'content-type': 'text/html', ...headers });
        res.end(f.rawBody);
        return;
      }
      const type = f.type ?? (f.status >= 500 ? 'api_error' : 'request_error');
      const code =
        f.code ?? (f.status === 429 ? 'too_many_requests' : f.status >= 500 ? 'internal_error' : 'bad_request');
      return fail(new HttpFailure(f.status, code, f.detail ?? 'Injected failure.', type), headers);
    }
    const auth = req.headers.authorization ?? '';
    const match = /^bearer\s+(\S+)$/i.exec(auth);
    if (!match) return fail(new HttpFailure(401, 'authentication_missing', 'Authentication header missing.'));
    if (match[1] !== this.apiKey) {
      return fail(new HttpFailure(403, 'forbidden', "You aren't permitted to perform this request."));
    }
    try {
      const result = this.#route(method, url, body ?? {});
      if (result.list) {
        send(200, { data: result.list.data, meta: { request_id: requestId, pagination: result.list.pagination } });
      } else {
        send(result.status ?? 200, { data: result.data, meta: { request_id: requestId } });
      }
    } catch (error) {
      if (error instanceof HttpFailure) return fail(error);
      fail(new HttpFailure(500, 'internal_error', String(error), 'api_error'));
    }
  }

  #route(
    method: string,
    url: URL,
    body: Json,
  ): { status?: number; data?: unknown; list?: { data: Json[]; pagination: Json } } {
    const parts = url.pathname.split('/').filter(Boolean);
    const [collection, id, action] = parts;
    const q = url.searchParams;
    const key = `${method} /${collection ?? ''}${id ? '/:id' : ''}${action ? `/${action}` : ''}`;
    switch (key) {
      case 'POST /customers':
        return { status: 201, data: this.#createCustomer(body) };
      case 'GET /customers': {
        const emails = q.get('email')?.split(',');
        const ids = q.get('id')?.split(',');
        const all = [...this.#customers.values()].filter(
          (c) => (!emails || emails.includes(c.email as string)) && (!ids || ids.includes(c.id as string)),
        );
        return { list: this.#page(url, all) };
      }
      case 'GET /customers/:id':
        return { data: this.#get(this.#customers, id as string) };
      case 'GET /customers/:id/addresses': {
        this.#get(this.#customers, id as string);
        const statuses = q.get('status')?.split(',');
        const all = [...this.#addresses.values()].filter(
          (a) => a.customer_id === id && (!statuses || statuses.includes(a.status as string)),
        );
        return { list: this.#page(url, all) };
      }
      case 'POST /customers/:id/addresses': {
        this.#get(this.#customers, id as string);
        const country = body.country_code;
        if (typeof country !== 'string' || !/^[A-Z]{2}$/.test(country))
          throw invalid('country_code', 'must be a country code');
        return { status: 201, data: this.#createAddress(id as string, country) };
      }
      case 'GET /prices/:id':
        return { data: this.#get(this.#prices, id as string) };
      case 'POST /transactions':
        return { status: 201, data: this.#createTransaction(body) };
      case 'GET /transactions/:id':
        return { data: this.#get(this.#transactions, id as string) };
      case 'GET /transactions': {
        const filter = (name: string) => q.get(name)?.split(',') ?? null;
        const [customers, subscriptions, statuses, ids] = ['customer_id', 'subscription_id', 'status', 'id'].map(
          filter,
        );
        const all = [...this.#transactions.values()].filter(
          (t) =>
            (!customers || customers.includes(t.customer_id as string)) &&
            (!subscriptions || subscriptions.includes(t.subscription_id as string)) &&
            (!statuses || statuses.includes(t.status as string)) &&
            (!ids || ids.includes(t.id as string)),
        );
        return { list: this.#page(url, all) };
      }
      case 'GET /subscriptions/:id':
        return { data: this.#get(this.#subscriptions, id as string) };
      case 'POST /subscriptions/:id/cancel':
        return { data: this.#cancel(id as string, body) };
      case 'POST /subscriptions/:id/pause':
        return { data: this.#pause(id as string, body) };
      case 'POST /subscriptions/:id/resume':
        return { data: this.#resume(id as string, body) };
      case 'POST /adjustments':
        return { status: 201, data: this.#createAdjustment(body) };
      case 'GET /adjustments': {
        const txns = q.get('transaction_id')?.split(',');
        const action = q.get('action');
        const all = [...this.#adjustments.values()].filter(
          (a) => (!txns || txns.includes(a.transaction_id as string)) && (!action || a.action === action),
        );
        return { list: this.#page(url, all) };
      }
      default:
        throw new HttpFailure(404, 'not_found', `No route ${method} ${url.pathname}.`);
    }
  }

  /** One page of `all`: ordered by `order_by` (id ascending by default), after the `after` cursor. */
  #page(url: URL, all: Json[]): { data: Json[]; pagination: Json } {
    const q = url.searchParams;
    const perPage = Math.min(200, Math.max(1, Number(q.get('per_page') ?? 50) || 50));
    const orderBy = q.get('order_by') ?? 'id[ASC]';
    const m = /^(id|created_at|updated_at|billed_at)\[(ASC|DESC)\]$/.exec(orderBy);
    if (!m) throw invalid('order_by', 'unsupported ordering');
    const [, field, dir] = m as unknown as [string, string, string];
    const sorted = [...all].sort((a, b) => {
      const x = String(a[field] ?? '') + String(a.id);
      const y = String(b[field] ?? '') + String(b.id);
      return dir === 'ASC' ? x.localeCompare(y) : y.localeCompare(x);
    });
    const after = q.get('after');
    const start = after ? sorted.findIndex((e) => e.id === after) + 1 : 0;
    const data = sorted.slice(start, start + perPage);
    const hasMore = start + perPage < sorted.length;
    const next = new URL(url.pathname, this.baseUrl);
    for (const [k, v] of q) if (k !== 'after') next.searchParams.set(k, v);
    if (data.length > 0) next.searchParams.set('after', data[data.length - 1]?.id as string);
    return {
      data: structuredClone(data),
      pagination: { per_page: perPage, next: next.toString(), has_more: hasMore, estimated_total: sorted.length },
    };
  }

  // ---- entities -------------------------------------------------------------------------------

  #id(prefix: string): string {
    const time = Date.now();
    let t = '';
    let n = time;
    for (let i = 0; i < 10; i++) {
      t = ALPHABET[n % 32] + t;
      n = Math.floor(n / 32);
    }
    let c = '';
    let k = ++this.#counter;
    for (let i = 0; i < 6; i++) {
      c = ALPHABET[k % 32] + c;
      k = Math.floor(k / 32);
    }
    const r = [...randomBytes(10)].map((b) => ALPHABET[b % 32]).join('');
    return `${prefix}_${t}${c}${r}`;
  }

  #iso(): string {
    return this.#now().toISOString();
  }

  #get(map: Map<string, Json>, id: string): Json {
    const found = map.get(id);
    if (!found) throw notFound(id);
    return found;
  }

  #entity(eventType: string, id: string): Json {
    const kind = eventType.slice(0, eventType.indexOf('.'));
    const map =
      kind === 'transaction'
        ? this.#transactions
        : kind === 'subscription'
          ? this.#subscriptions
          : kind === 'adjustment'
            ? this.#adjustments
            : kind === 'customer'
              ? this.#customers
              : null;
    if (!map) throw new Error(`no entity for ${eventType}: pass the data object`);
    return structuredClone(this.#get(map, id));
  }

  #seedPrice(id: string, seed: SimulatorPriceSeed): void {
    const now = this.#iso();
    const product: Json = {
      id: this.#id('pro'),
      name: seed.name ?? 'Plan',
      type: 'standard',
      description: null,
      tax_category: 'standard',
      image_url: null,
      custom_data: null,
      status: 'active',
      created_at: now,
      updated_at: now,
      import_meta: null,
    };
    this.#products.set(product.id as string, product);
    const interval = seed.interval === undefined ? 'month' : seed.interval;
    this.#prices.set(id, {
      id,
      product_id: product.id,
      type: 'standard',
      description: seed.name ?? 'Plan',
      name: seed.name ?? null,
      billing_cycle: interval === null ? null : { interval, frequency: seed.frequency ?? 1 },
      trial_period: seed.trialDays
        ? { interval: 'day', frequency: seed.trialDays, requires_payment_method: false }
        : null,
      tax_mode: 'account_setting',
      unit_price: { amount: String(seed.amount), currency_code: seed.currency },
      unit_price_overrides: [],
      quantity: { minimum: 1, maximum: 100 },
      status: 'active',
      custom_data: null,
      import_meta: null,
      created_at: now,
      updated_at: now,
    });
  }

  #createCustomer(body: Json): Json {
    const email = body.email;
    if (typeof email !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(email)) throw invalid('email', 'must be a valid email');
    for (const c of this.#customers.values()) {
      if (c.email === email) {
        throw new HttpFailure(
          409,
          'customer_already_exists',
          `customer email conflicts with customer of id ${String(c.id)}`,
        );
      }
    }
    const now = this.#iso();
    const customer: Json = {
      id: this.#id('ctm'),
      name: typeof body.name === 'string' ? body.name : null,
      email,
      marketing_consent: false,
      status: 'active',
      custom_data: isObject(body.custom_data) ? body.custom_data : null,
      locale: typeof body.locale === 'string' ? body.locale : 'en',
      created_at: now,
      updated_at: now,
      import_meta: null,
    };
    this.#customers.set(customer.id as string, customer);
    return customer;
  }

  #createAddress(customerId: string, country: string): Json {
    const now = this.#iso();
    const address: Json = {
      id: this.#id('add'),
      customer_id: customerId,
      description: null,
      first_line: null,
      second_line: null,
      city: null,
      postal_code: null,
      region: null,
      country_code: country,
      custom_data: null,
      status: 'active',
      created_at: now,
      updated_at: now,
      import_meta: null,
    };
    this.#addresses.set(address.id as string, address);
    return address;
  }

  /** A transaction item's price: a catalog price by `price_id`, or a non-catalog `price` created now. */
  #itemPrice(item: Json, at: string): Json {
    if (typeof item.price_id === 'string') {
      const catalog = this.#prices.get(item.price_id);
      if (!catalog) throw invalid(`${at}.price_id`, `price ${item.price_id} not found`);
      return catalog;
    }
    if (!isObject(item.price)) throw invalid(`${at}.price_id`, 'price_id or price is required');
    const p = item.price;
    let productId = p.product_id;
    if (typeof productId === 'string') {
      if (!this.#products.has(productId)) throw invalid(`${at}.price.product_id`, `product ${productId} not found`);
    } else if (isObject(p.product)) {
      if (typeof p.product.name !== 'string' || typeof p.product.tax_category !== 'string') {
        throw invalid(`${at}.price.product`, 'name and tax_category are required');
      }
      const now = this.#iso();
      productId = this.#id('pro');
      this.#products.set(productId as string, {
        id: productId,
        name: p.product.name,
        type: 'custom',
        description: null,
        tax_category: p.product.tax_category,
        image_url: null,
        custom_data: null,
        status: 'active',
        created_at: now,
        updated_at: now,
        import_meta: null,
      });
    } else {
      throw invalid(`${at}.price.product_id`, 'product_id or product is required');
    }
    if (typeof p.description !== 'string') throw invalid(`${at}.price.description`, 'is required');
    const unit = isObject(p.unit_price) ? p.unit_price : {};
    digits(unit.amount, `${at}.price.unit_price.amount`);
    if (typeof unit.currency_code !== 'string' || !CURRENCIES.has(unit.currency_code)) {
      throw invalid(`${at}.price.unit_price.currency_code`, 'unsupported currency');
    }
    const now = this.#iso();
    const price: Json = {
      id: this.#id('pri'),
      product_id: productId,
      type: 'custom',
      description: p.description,
      name: typeof p.name === 'string' ? p.name : null,
      billing_cycle: isObject(p.billing_cycle) ? p.billing_cycle : null,
      trial_period: isObject(p.trial_period) ? p.trial_period : null,
      tax_mode: typeof p.tax_mode === 'string' ? p.tax_mode : 'account_setting',
      unit_price: { amount: unit.amount, currency_code: unit.currency_code },
      unit_price_overrides: [],
      quantity: isObject(p.quantity) ? p.quantity : { minimum: 1, maximum: 100 },
      status: 'active',
      custom_data: isObject(p.custom_data) ? p.custom_data : null,
      import_meta: null,
      created_at: now,
      updated_at: now,
    };
    this.#prices.set(price.id as string, price);
    return price;
  }

  #createTransaction(body: Json): Json {
    if (!Array.isArray(body.items) || body.items.length === 0) throw invalid('items', 'at least one item is required');
    const collection = body.collection_mode ?? 'automatic';
    if (collection !== 'automatic' && collection !== 'manual') throw invalid('collection_mode', 'automatic or manual');
    const customerId = typeof body.customer_id === 'string' ? body.customer_id : null;
    const addressId = typeof body.address_id === 'string' ? body.address_id : null;
    if (customerId && !this.#customers.has(customerId))
      throw invalid('customer_id', `customer ${customerId} not found`);
    if (addressId && this.#addresses.get(addressId)?.customer_id !== customerId) {
      throw invalid('address_id', 'address not found for the customer');
    }
    if (collection === 'manual' && !isObject(body.billing_details)) {
      throw new HttpFailure(
        400,
        'transaction_billing_details_object_required',
        'billing_details must be non null if collection_mode=manual',
      );
    }
    const now = this.#iso();
    const id = this.#id('txn');
    const items: Json[] = [];
    const lineItems: Json[] = [];
    let currency: string | null = typeof body.currency_code === 'string' ? body.currency_code : null;
    if (currency !== null && !CURRENCIES.has(currency)) throw invalid('currency_code', 'unsupported currency');
    let subtotal = 0n;
    (body.items as unknown[]).forEach((raw, i) => {
      if (!isObject(raw)) throw invalid(`items[${i}]`, 'must be an object');
      const price = this.#itemPrice(raw, `items[${i}]`);
      const quantity = typeof raw.quantity === 'number' && Number.isInteger(raw.quantity) ? raw.quantity : 1;
      const unit = price.unit_price as Json;
      currency ??= unit.currency_code as string;
      if (unit.currency_code !== currency) throw invalid(`items[${i}]`, 'price currency differs from currency_code');
      const trial = isObject(price.trial_period);
      const total = trial ? 0n : digits(unit.amount, `items[${i}].price.unit_price.amount`) * BigInt(quantity);
      subtotal += total;
      items.push({ price: structuredClone(price), quantity, proration: null });
      const product = this.#products.get(price.product_id as string) ?? null;
      lineItems.push({
        id: this.#id('txnitm'),
        price_id: price.id,
        quantity,
        proration: null,
        tax_rate: '0',
        unit_totals: { subtotal: unit.amount, discount: '0', tax: '0', total: unit.amount },
        totals: { subtotal: String(total), discount: '0', tax: '0', total: String(total) },
        product: structuredClone(product),
      });
    });
    const money = String(subtotal);
    const totals = {
      subtotal: money,
      discount: '0',
      tax: '0',
      total: money,
      credit: '0',
      credit_to_balance: '0',
      balance: money,
      grand_total: money,
      grand_total_tax: '0',
      fee: null,
      earnings: null,
      currency_code: currency,
    };
    const link =
      isObject(body.checkout) && typeof body.checkout.url === 'string' ? body.checkout.url : this.#paymentLink;
    const billing = isObject(body.billing_details) ? body.billing_details : null;
    const withCheckout = collection === 'automatic' || billing?.enable_checkout === true;
    const txn: Json = {
      id,
      status: customerId && addressId ? 'ready' : 'draft',
      customer_id: customerId,
      address_id: addressId,
      business_id: null,
      custom_data: isObject(body.custom_data) ? body.custom_data : null,
      origin: 'api',
      collection_mode: collection,
      subscription_id: null,
      invoice_id: null,
      invoice_number: null,
      billing_details: billing,
      billing_period: null,
      currency_code: currency,
      discount_id: null,
      created_at: now,
      updated_at: now,
      billed_at: null,
      revised_at: null,
      items,
      details: {
        tax_rates_used: [{ tax_rate: '0', totals: { subtotal: money, discount: '0', tax: '0', total: money } }],
        totals,
        adjusted_totals: { ...totals, retained_fee: '0' },
        payout_totals: null,
        adjusted_payout_totals: null,
        line_items: lineItems,
      },
      payments: [],
      checkout: withCheckout && link ? { url: `${link}${link.includes('?') ? '&' : '?'}_ptxn=${id}` } : null,
    };
    if (body.status !== undefined && body.status !== null) {
      if (body.status !== 'billed') throw invalid('status', 'only billed may be set');
      if (!customerId || !addressId) {
        throw new HttpFailure(
          400,
          'transaction_not_ready',
          'customer_id and address_id are required to bill a transaction',
        );
      }
      txn.status = 'billed';
      txn.billed_at = now;
      txn.invoice_id = this.#id('inv');
      txn.invoice_number = `SIM-${this.#counter}`;
    }
    this.#transactions.set(id, txn);
    if (txn.status === 'billed' && this.#hasRecurring(txn)) {
      // Paddle creates the subscription of a billed invoice right after billing it: the create
      // answer does not show it yet, the next read does.
      const sub = this.#createSubscriptionFor(txn, 'manual');
      txn.subscription_id = sub.id;
      return { ...structuredClone(txn), subscription_id: null };
    }
    return txn;
  }

  #hasRecurring(txn: Json): boolean {
    return (txn.items as Json[]).some((item) => isObject((item.price as Json).billing_cycle));
  }

  #createSubscriptionFor(txn: Json, collection: 'automatic' | 'manual'): Json {
    const now = this.#now();
    const iso = now.toISOString();
    const recurring = (txn.items as Json[]).filter((item) => isObject((item.price as Json).billing_cycle));
    const first = recurring[0]?.price as Json;
    const cycle = first.billing_cycle as { interval: string; frequency: number };
    const trial = first.trial_period as { interval: string; frequency: number } | null;
    const trialEnd = trial ? addPeriod(now, trial.interval, trial.frequency) : null;
    const periodEnd = trialEnd ?? addPeriod(now, cycle.interval, cycle.frequency);
    const id = this.#id('sub');
    const sub: Json = {
      id,
      status: trialEnd ? 'trialing' : 'active',
      customer_id: txn.customer_id,
      address_id: txn.address_id,
      business_id: null,
      currency_code: txn.currency_code,
      created_at: iso,
      updated_at: iso,
      started_at: iso,
      first_billed_at: trialEnd ? null : iso,
      next_billed_at: periodEnd.toISOString(),
      paused_at: null,
      canceled_at: null,
      discount: null,
      collection_mode: collection,
      billing_details: txn.billing_details,
      current_billing_period: { starts_at: iso, ends_at: periodEnd.toISOString() },
      billing_cycle: { interval: cycle.interval, frequency: cycle.frequency },
      scheduled_change: null,
      items: recurring.map((item) => {
        const price = item.price as Json;
        return {
          status: trialEnd ? 'trialing' : 'active',
          quantity: item.quantity,
          recurring: true,
          created_at: iso,
          updated_at: iso,
          previously_billed_at: trialEnd ? null : iso,
          next_billed_at: periodEnd.toISOString(),
          trial_dates: trialEnd ? { starts_at: iso, ends_at: trialEnd.toISOString() } : null,
          price: structuredClone(price),
          product: structuredClone(this.#products.get(price.product_id as string) ?? null),
        };
      }),
      custom_data: txn.custom_data,
      management_urls: {
        update_payment_method: collection === 'automatic' ? `${SIMULATOR_PAYMENT_LINK}/update/${id}` : null,
        cancel: `${SIMULATOR_PAYMENT_LINK}/cancel/${id}`,
      },
      import_meta: null,
    };
    this.#subscriptions.set(id, sub);
    return sub;
  }

  #paymentAttempt(amount: string, status: string, errorCode: string | null): Json {
    const now = this.#iso();
    return {
      payment_attempt_id: randomUUID(),
      stored_payment_method_id: randomUUID(),
      payment_method_id: this.#id('paymtd'),
      amount,
      status,
      error_code: errorCode,
      method_details: {
        type: 'card',
        card: { type: 'visa', last4: '4242', expiry_month: 12, expiry_year: 2030, cardholder_name: 'Sim Buyer' },
      },
      created_at: now,
      captured_at: status === 'captured' ? now : null,
    };
  }

  #effective(body: Json, field: string): 'immediately' | 'next_billing_period' {
    const value = body[field] ?? 'next_billing_period';
    if (value !== 'immediately' && value !== 'next_billing_period') {
      throw invalid(field, 'must be immediately or next_billing_period');
    }
    return value;
  }

  #cancel(id: string, body: Json): Json {
    const sub = this.#get(this.#subscriptions, id);
    if (sub.status === 'canceled') {
      throw new HttpFailure(400, 'subscription_locked_canceled', 'subscription is canceled and cannot be changed');
    }
    const now = this.#iso();
    if (this.#effective(body, 'effective_from') === 'immediately') {
      sub.status = 'canceled';
      sub.canceled_at = now;
      sub.scheduled_change = null;
      sub.next_billed_at = null;
    } else {
      sub.scheduled_change = {
        action: 'cancel',
        effective_at: (sub.current_billing_period as Json).ends_at,
        resume_at: null,
      };
    }
    sub.updated_at = now;
    return sub;
  }

  #pause(id: string, body: Json): Json {
    const sub = this.#get(this.#subscriptions, id);
    if (sub.status !== 'active' && sub.status !== 'trialing' && sub.status !== 'past_due') {
      throw new HttpFailure(400, 'subscription_invalid_status_for_pause', `subscription is ${String(sub.status)}`);
    }
    const resumeAt = typeof body.resume_at === 'string' ? body.resume_at : null;
    if (resumeAt !== null && Number.isNaN(Date.parse(resumeAt))) throw invalid('resume_at', 'must be an RFC 3339 date');
    const now = this.#iso();
    if (this.#effective(body, 'effective_from') === 'immediately') {
      sub.status = 'paused';
      sub.paused_at = now;
      sub.next_billed_at = null;
      sub.current_billing_period = null;
      sub.scheduled_change = resumeAt ? { action: 'resume', effective_at: resumeAt, resume_at: null } : null;
    } else {
      sub.scheduled_change = {
        action: 'pause',
        effective_at: (sub.current_billing_period as Json).ends_at,
        resume_at: resumeAt,
      };
    }
    sub.updated_at = now;
    return sub;
  }

  #resume(id: string, body: Json): Json {
    const sub = this.#get(this.#subscriptions, id);
    const from = body.effective_from;
    if (typeof from !== 'string') throw invalid('effective_from', 'is required');
    if (sub.status !== 'paused') {
      throw new HttpFailure(400, 'subscription_not_paused', 'only paused subscriptions can be resumed');
    }
    const now = this.#now();
    if (from === 'immediately') {
      const cycle = sub.billing_cycle as { interval: string; frequency: number };
      const end = addPeriod(now, cycle.interval, cycle.frequency);
      sub.status = 'active';
      sub.paused_at = null;
      sub.scheduled_change = null;
      sub.current_billing_period = { starts_at: now.toISOString(), ends_at: end.toISOString() };
      sub.next_billed_at = end.toISOString();
    } else {
      if (Number.isNaN(Date.parse(from))) throw invalid('effective_from', 'immediately or an RFC 3339 date');
      sub.scheduled_change = { action: 'resume', effective_at: from, resume_at: null };
    }
    sub.updated_at = now.toISOString();
    return sub;
  }

  #createAdjustment(body: Json): Json {
    if (body.action !== 'refund') throw invalid('action', 'only refund is simulated');
    if (typeof body.reason !== 'string' || body.reason.trim() === '') throw invalid('reason', 'is required');
    if (typeof body.transaction_id !== 'string') throw invalid('transaction_id', 'is required');
    const txn = this.#get(this.#transactions, body.transaction_id);
    if (txn.status !== 'completed' && txn.status !== 'paid') {
      throw new HttpFailure(
        400,
        'adjustment_transaction_invalid_status_for_refund',
        `transaction is ${String(txn.status)}: only completed transactions can be refunded`,
      );
    }
    const lines = (txn.details as Json).line_items as Json[];
    const refunded = new Map<string, bigint>();
    for (const a of this.#adjustments.values()) {
      if (a.transaction_id !== txn.id || a.action !== 'refund' || a.status === 'rejected' || a.status === 'reversed')
        continue;
      for (const item of a.items as Json[]) {
        refunded.set(
          item.item_id as string,
          (refunded.get(item.item_id as string) ?? 0n) + BigInt(item.amount as string),
        );
      }
    }
    const type = body.type ?? 'partial';
    const items: Json[] = [];
    if (type === 'full') {
      if (refunded.size > 0) {
        throw new HttpFailure(
          400,
          'adjustment_full_refund_not_allowed',
          'the transaction already has refunds: refund partially',
        );
      }
      for (const line of lines) {
        const total = (line.totals as Json).total as string;
        items.push({
          id: this.#id('adjitm'),
          item_id: line.id,
          type: 'full',
          amount: total,
          proration: null,
          totals: { subtotal: total, tax: '0', total },
        });
      }
    } else if (type === 'partial') {
      if (!Array.isArray(body.items) || body.items.length === 0)
        throw invalid('items', 'at least one item is required');
      (body.items as unknown[]).forEach((raw, i) => {
        if (!isObject(raw)) throw invalid(`items[${i}]`, 'must be an object');
        const line = lines.find((l) => l.id === raw.item_id);
        if (!line) throw invalid(`items[${i}].item_id`, 'is not an item of the transaction');
        const amount = digits(raw.amount, `items[${i}].amount`);
        const room = BigInt((line.totals as Json).total as string) - (refunded.get(line.id as string) ?? 0n);
        if (amount <= 0n || amount > room) {
          throw new HttpFailure(
            400,
            'adjustment_amount_above_remaining_allowed',
            `items[${i}].amount ${amount} is above the ${room} that remains`,
          );
        }
        const total = String(amount);
        items.push({
          id: this.#id('adjitm'),
          item_id: line.id,
          type: 'partial',
          amount: total,
          proration: null,
          totals: { subtotal: total, tax: '0', total },
        });
      });
    } else {
      throw invalid('type', 'full or partial');
    }
    const total = String(items.reduce((sum, item) => sum + BigInt(item.amount as string), 0n));
    const now = this.#iso();
    const adj: Json = {
      id: this.#id('adj'),
      action: 'refund',
      type,
      transaction_id: txn.id,
      subscription_id: txn.subscription_id,
      customer_id: txn.customer_id,
      reason: body.reason,
      credit_applied_to_balance: false,
      currency_code: txn.currency_code,
      status: 'pending_approval',
      items,
      totals: {
        subtotal: total,
        tax: '0',
        total,
        fee: '0',
        earnings: '0',
        currency_code: txn.currency_code,
        retained_fee: '0',
      },
      payout_totals: null,
      created_at: now,
      updated_at: now,
    };
    this.#adjustments.set(adj.id as string, adj);
    return adj;
  }
}
