import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { type FormParams, type FormValue, parseStripeForm } from './form.js';

/**
 * A local Stripe API simulator for tests: a node:http server speaking the documented v1 paths the
 * official SDK calls (form-encoded bodies, Stripe ids, Stripe's error body shape and statuses,
 * `Idempotency-Key`, test payment methods), with state, and webhooks signed exactly as Stripe signs
 * them. Point the real SDK at it with `simulator.client()` or `simulator.clientConfig()`.
 *
 * Not a complete Stripe: it implements what Payable uses, with Stripe's documented behaviour.
 * Every customer is treated as having a working card on file (subscriptions start `active`).
 */

/** A Stripe object as the simulator stores and returns it. */
export type SimObject = Record<string, unknown> & { id: string; object: string };

/** A Stripe price the simulator knows. */
export interface SimPrice {
  unit_amount: number;
  currency: string;
  /** Recurring interval; default `month`. */
  interval?: 'day' | 'week' | 'month' | 'year';
}

/** Options of {@link StripeSimulator.start}. */
export interface StripeSimulatorOptions {
  /** The API key the simulator accepts. Default `sk_test_simulator`. */
  apiKey?: string;
  /** The webhook signing secret it signs with. Default `whsec_simulator`. */
  webhookSecret?: string;
  /** The port to listen on (127.0.0.1). Default: a free port. */
  port?: number;
  /** Known prices. Any other `price_…` id costs 1000 USD a month; other ids are unknown. */
  prices?: Readonly<Record<string, SimPrice>>;
  /** The simulator's clock. Default: the system time. */
  now?: () => Date;
}

/** One request the simulator answered. */
export interface SimRequest {
  method: string;
  path: string;
  params: FormParams;
  idempotencyKey: string | null;
  stripeVersion: string | null;
  status: number;
  /** `true` when the answer was an idempotent replay. */
  replayed: boolean;
}

/** A failure to answer instead of the real response (rate limit, outage…). */
export interface SimFault {
  /** HTTP status, e.g. 429 or 500. */
  status: number;
  /** Only requests whose path starts with this (e.g. `/v1/payment_intents`). Default: any. */
  path?: string;
  /** Only requests of this method. Default: any. */
  method?: string;
  /** How many matching requests fail. Default 1. */
  times?: number;
  /** The error body's `error` object. Default: Stripe's body for the status. */
  error?: Record<string, unknown>;
  /** Extra response headers (e.g. `stripe-should-retry`). */
  headers?: Record<string, string>;
}

/** A signed webhook delivery: the exact raw body and the headers Stripe sends. */
export interface SimDelivery {
  rawBody: string;
  headers: Record<string, string>;
}

/** Options for signing a delivery. */
export interface SimSignOptions {
  /** The signature time: a `Date` or unix seconds. Default now. */
  timestamp?: Date | number;
  /** Sign with this secret instead of the simulator's. */
  secret?: string;
  /** Sign with each of these secrets: one `v1` per secret, as Stripe does while a secret rolls. */
  secrets?: readonly string[];
}

/** Options of {@link StripeSimulator.event}. */
export interface SimEventOptions extends SimSignOptions {
  /** The event id. Default a new `evt_…` (reuse one to simulate a redelivery). */
  id?: string;
  /** The event's `created`. Default now. */
  created?: Date;
  /** `data.previous_attributes`. */
  previousAttributes?: Record<string, unknown>;
}

/** The default simulator API key (a test value, never a real key). */
export const SIMULATOR_API_KEY = 'sk_test_simulator';
/** The default simulator webhook secret (a test value, never a real secret). */
export const SIMULATOR_WEBHOOK_SECRET = 'whsec_simulator';

const DEFAULT_PRICE: SimPrice = { unit_amount: 1000, currency: 'usd', interval: 'month' };
const DAY = 86_400;
const SUCCEEDING_CARDS = new Set([
  'pm_card_visa',
  'pm_card_visa_debit',
  'pm_card_mastercard',
  'pm_card_amex',
  'pm_card_discover',
  'pm_card_jcb',
  'pm_card_unionpay',
  'pm_card_us',
]);
/** Stripe's test PaymentMethods that decline, with the error they give. */
const DECLINING_CARDS: Readonly<Record<string, { code: string; decline_code?: string; message: string }>> = {
  pm_card_chargeDeclined: {
    code: 'card_declined',
    decline_code: 'generic_decline',
    message: 'Your card was declined.',
  },
  pm_card_chargeDeclinedInsufficientFunds: {
    code: 'card_declined',
    decline_code: 'insufficient_funds',
    message: 'Your card has insufficient funds.',
  },
  pm_card_chargeDeclinedLostCard: {
    code: 'card_declined',
    decline_code: 'lost_card',
    message: 'Your card was declined.',
  },
  pm_card_chargeDeclinedStolenCard: {
    code: 'card_declined',
    decline_code: 'stolen_card',
    message: 'Your card was declined.',
  },
  pm_card_chargeDeclinedFraudulent: {
    code: 'card_declined',
    decline_code: 'fraudulent',
    message: 'Your card was declined.',
  },
  pm_card_chargeDeclinedExpiredCard: { code: 'expired_card', message: 'Your card has expired.' },
  pm_card_chargeDeclinedIncorrectCvc: { code: 'incorrect_cvc', message: "Your card's security code is incorrect." },
  pm_card_chargeDeclinedProcessingError: {
    code: 'processing_error',
    message: 'An error occurred while processing your card. Try again in a little bit.',
  },
};
/** Test PaymentMethods that need 3-D Secure. */
const AUTHENTICATING_CARDS = new Set(['pm_card_threeDSecure2Required', 'pm_card_authenticationRequired']);

const PREFIX = {
  payment_intent: 'pi',
  charge: 'ch',
  refund: 're',
  customer: 'cus',
  'checkout.session': 'cs_test',
  subscription: 'sub',
  subscription_item: 'si',
  invoice: 'in',
  event: 'evt',
  request: 'req',
} as const;

type Kind = keyof typeof PREFIX;

/** An error answer: Stripe's `{ error: { … } }` body with its status. */
class SimError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    /** Whether an idempotency key remembers this answer (not for parameter validation errors). */
    readonly saved: boolean,
  ) {
    super(typeof body.message === 'string' ? body.message : 'error');
  }
}

function invalid(message: string, param?: string, code?: string, saved = false): SimError {
  return new SimError(
    400,
    {
      type: 'invalid_request_error',
      message,
      ...(param === undefined ? {} : { param }),
      ...(code === undefined
        ? {}
        : { code, doc_url: `https://docs.stripe.com/error-codes/${code.replace(/_/g, '-')}` }),
    },
    saved,
  );
}

function missing(kind: string, id: string, param: string, status: 404 | 400): SimError {
  return new SimError(
    status,
    {
      type: 'invalid_request_error',
      code: 'resource_missing',
      param,
      message: `No such ${kind}: '${id}'`,
      doc_url: 'https://docs.stripe.com/error-codes/resource-missing',
    },
    status === 400,
  );
}

function randomId(prefix: string): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  const bytes = randomBytes(24);
  let out = '';
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return `${prefix}_${out}`;
}

function copy<T>(value: T): T {
  return structuredClone(value);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}

function stringParam(params: FormParams, name: string): string | null {
  const value = params[name];
  return typeof value === 'string' && value !== '' ? value : null;
}

function objectParam(params: FormParams, name: string): FormParams | null {
  const value = params[name];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : null;
}

function intParam(params: FormParams, name: string, required: boolean): number | null {
  const value = params[name];
  if (value === undefined || value === '') {
    if (required) throw invalid(`Missing required param: ${name}.`, name, 'parameter_missing');
    return null;
  }
  if (typeof value !== 'string' || !/^-?\d+$/.test(value)) {
    throw invalid(`Invalid integer: ${String(value)}`, name);
  }
  return Number(value);
}

function boolParam(params: FormParams, name: string): boolean | null {
  const value = params[name];
  if (value === undefined) return null;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw invalid(`Invalid boolean: ${String(value)}`, name);
}

function currencyParam(value: FormValue | undefined, param: string): string {
  if (value === undefined || value === '')
    throw invalid(`Missing required param: ${param}.`, param, 'parameter_missing');
  if (typeof value !== 'string' || !/^[a-z]{3}$/.test(value))
    throw invalid(`Invalid currency: ${String(value)}.`, param);
  return value;
}

function metadataParam(params: FormParams, base: Record<string, string> = {}): Record<string, string> {
  const value = params.metadata;
  if (value === undefined) return base;
  if (value === '') return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid('Invalid metadata.', 'metadata');
  const out = { ...base };
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw invalid('Metadata values must be strings.', `metadata[${key}]`);
    if (key.length > 40) throw invalid('Metadata keys can be at most 40 characters.', `metadata[${key}]`);
    if (v.length > 500) throw invalid('Metadata values can be at most 500 characters.', `metadata[${key}]`);
    if (v === '') delete out[key];
    else out[key] = v;
  }
  if (Object.keys(out).length > 50) throw invalid('Metadata can have at most 50 keys.', 'metadata');
  return out;
}

function expandList(params: FormParams): string[] {
  const value = params.expand;
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.filter((v): v is string => typeof v === 'string');
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

interface Route {
  method: string;
  pattern: RegExp;
  run: (params: FormParams, match: RegExpMatchArray) => SimObject | Record<string, unknown>;
}

interface SavedAnswer {
  fingerprint: string;
  status: number;
  body: string;
}

/**
 * The Stripe API simulator. Start it with {@link StripeSimulator.start}; close it after the tests.
 *
 * @example
 * ```ts
 * const sim = await StripeSimulator.start();
 * const stripe = sim.client();
 * const pi = await stripe.paymentIntents.create({ amount: 500, currency: 'usd' });
 * const delivery = sim.delivery('payment_intent.succeeded', sim.confirmPaymentIntent(pi.id).id);
 * await sim.close();
 * ```
 */
export class StripeSimulator {
  /** The API key it accepts. */
  readonly apiKey: string;
  /** The webhook secret it signs with. */
  readonly webhookSecret: string;
  /** Every request it answered, in order. */
  readonly requests: SimRequest[] = [];

  readonly #server: Server;
  readonly #now: () => Date;
  readonly #prices: Readonly<Record<string, SimPrice>>;
  readonly #objects = new Map<string, SimObject>();
  readonly #idempotency = new Map<string, SavedAnswer>();
  readonly #faults: (SimFault & { times: number })[] = [];
  readonly #routes: Route[];

  private constructor(server: Server, options: StripeSimulatorOptions) {
    this.#server = server;
    this.apiKey = options.apiKey ?? SIMULATOR_API_KEY;
    this.webhookSecret = options.webhookSecret ?? SIMULATOR_WEBHOOK_SECRET;
    this.#now = options.now ?? (() => new Date());
    this.#prices = { ...(options.prices ?? {}) };
    this.#routes = this.#buildRoutes();
  }

  /** Starts a simulator on 127.0.0.1 (a free port unless `options.port`). */
  static async start(options: StripeSimulatorOptions = {}): Promise<StripeSimulator> {
    const server = createServer();
    const simulator = new StripeSimulator(server, options);
    server.on('request', (req, res) => {
      void simulator.#handle(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    return simulator;
  }

  /** The port it listens on. */
  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Its base URL, e.g. `http://127.0.0.1:54321`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The `Stripe` client options pointing at it: `{ host, port, protocol }`. */
  clientConfig(): { host: string; port: number; protocol: 'http' } {
    return { host: '127.0.0.1', port: this.port, protocol: 'http' };
  }

  /** A real `Stripe` SDK client pointed at the simulator (no network retries unless configured). */
  client(config: Stripe.StripeConfig = {}): Stripe {
    return new Stripe(this.apiKey, { maxNetworkRetries: 0, ...this.clientConfig(), ...config });
  }

  /** Answers the next matching request(s) with an error instead (rate limit, outage…). */
  fail(fault: SimFault): void {
    this.#faults.push({ ...fault, times: fault.times ?? 1 });
  }

  /** The requests to `path` (a prefix), optionally of one method. */
  requestsTo(path: string, method?: string): SimRequest[] {
    return this.requests.filter((r) => r.path.startsWith(path) && (method === undefined || r.method === method));
  }

  /** Stops listening and drops open connections. */
  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  // -------------------------------------------------------------------------------------------
  // State, for tests

  /** A copy of the object with this id; throws for an unknown id. */
  get(id: string): SimObject {
    const found = this.#objects.get(id);
    if (!found) throw new Error(`The simulator has no object ${id}`);
    return copy(found);
  }

  /** Changes fields of a stored object (e.g. a subscription's `status: 'paused'`), returning a copy. */
  patch(id: string, fields: Record<string, unknown>): SimObject {
    const found = this.#objects.get(id);
    if (!found) throw new Error(`The simulator has no object ${id}`);
    Object.assign(found, copy(fields));
    return copy(found);
  }

  /** The stored objects of a Stripe `object` type (`payment_intent`, `refund`…), oldest first. */
  list(object: string): SimObject[] {
    return [...this.#objects.values()].filter((o) => o.object === object).map(copy);
  }

  /**
   * Confirms a PaymentIntent as if the payer paid with `paymentMethod` (a Stripe test
   * PaymentMethod, default `pm_card_visa`), returning the PaymentIntent. A declining card leaves
   * it `requires_payment_method` with a `last_payment_error`.
   */
  confirmPaymentIntent(id: string, paymentMethod = 'pm_card_visa'): SimObject {
    const pi = this.#require('payment_intent', id, 'intent', 404);
    if (pi.status !== 'requires_payment_method' && pi.status !== 'requires_confirmation') {
      throw new Error(`${id} is ${String(pi.status)}: only a PaymentIntent waiting for the payer can be confirmed`);
    }
    try {
      this.#confirm(pi, paymentMethod, 'https://simulator.test/return');
    } catch (error) {
      if (!(error instanceof SimError) || error.status !== 402) throw error;
    }
    return copy(pi);
  }

  /** Completes a PaymentIntent waiting for 3-D Secure (`requires_action`): it succeeds. */
  authenticatePaymentIntent(id: string): SimObject {
    const pi = this.#require('payment_intent', id, 'intent', 404);
    if (pi.status !== 'requires_action') throw new Error(`${id} is ${String(pi.status)}, not requires_action`);
    this.#succeed(pi, String(pi.payment_method));
    return copy(pi);
  }

  /**
   * Completes an open Checkout Session as if the customer paid: payment mode creates a succeeded
   * PaymentIntent, subscription mode a subscription (and a customer when it had none).
   */
  completeCheckout(id: string): SimObject {
    const session = this.#require('checkout.session', id, 'session', 404);
    if (session.status !== 'open') throw new Error(`${id} is ${String(session.status)}`);
    const metadata = (session.metadata ?? {}) as Record<string, string>;
    if (session.mode === 'subscription') {
      let customer = typeof session.customer === 'string' ? session.customer : null;
      if (customer === null) customer = this.#createCustomer({}).id;
      const sub = this.#createSubscription(customer, String(session.price_id), null, {
        ...((session.subscription_metadata ?? {}) as Record<string, string>),
      });
      session.customer = customer;
      session.subscription = sub.id;
    } else {
      const pi = this.#createPaymentIntent({
        amount: String(session.amount_total),
        currency: String(session.currency),
        ...(typeof session.customer === 'string' ? { customer: session.customer } : {}),
        metadata: (session.payment_intent_metadata ?? metadata) as FormParams,
      });
      this.#succeed(pi, 'pm_card_visa');
      session.payment_intent = pi.id;
    }
    session.status = 'complete';
    session.payment_status = 'paid';
    session.url = null;
    return copy(session);
  }

  // -------------------------------------------------------------------------------------------
  // Webhooks

  /**
   * The raw body of a Stripe event of `type` about `subject` (an id of an object the simulator
   * holds, whose current state is sent, or an object), pretty-printed as Stripe sends it.
   */
  event(type: string, subject: string | Record<string, unknown>, options: SimEventOptions = {}): string {
    const object = typeof subject === 'string' ? this.get(subject) : copy(subject);
    const created = options.created ?? this.#now();
    const body = {
      id: options.id ?? randomId(PREFIX.event),
      object: 'event',
      api_version: Stripe.API_VERSION,
      created: Math.floor(created.getTime() / 1000),
      data: {
        object,
        ...(options.previousAttributes ? { previous_attributes: options.previousAttributes } : {}),
      },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
    };
    return JSON.stringify(body, null, 2);
  }

  /**
   * The `Stripe-Signature` header value for `rawBody`, computed by the SDK's own
   * `generateTestHeaderString` (Stripe's scheme): `t=<seconds>,v1=<hex>` (one `v1` per secret).
   */
  sign(rawBody: string, options: SimSignOptions = {}): string {
    const at = options.timestamp ?? this.#now();
    const timestamp = at instanceof Date ? Math.floor(at.getTime() / 1000) : Math.floor(at);
    const secrets = options.secrets ?? [options.secret ?? this.webhookSecret];
    const signatures = secrets.map((secret) => {
      const header = Stripe.webhooks.generateTestHeaderString({ payload: rawBody, secret, timestamp });
      return header.slice(header.indexOf(',') + 1);
    });
    return [`t=${timestamp}`, ...signatures].join(',');
  }

  /** `rawBody` as a delivery with Stripe's headers, signed. */
  signedDelivery(rawBody: string, options: SimSignOptions = {}): SimDelivery {
    return {
      rawBody,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        'stripe-signature': this.sign(rawBody, options),
      },
    };
  }

  /** A signed delivery of the event `type` about `subject` (see {@link event}). */
  delivery(type: string, subject: string | Record<string, unknown>, options: SimEventOptions = {}): SimDelivery {
    return this.signedDelivery(this.event(type, subject, options), options);
  }

  // -------------------------------------------------------------------------------------------
  // HTTP

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const body = await readBody(req);
    const params = method === 'POST' ? parseStripeForm(body) : parseStripeForm(url.search.slice(1));
    // Stripe honours keys on POST only ("they have no effect" on GET and DELETE); all are recorded.
    const sentKey = headerOf(req, 'idempotency-key');
    const idempotencyKey = method === 'POST' ? sentKey : null;
    const record: SimRequest = {
      method,
      path: url.pathname,
      params,
      idempotencyKey: sentKey,
      stripeVersion: headerOf(req, 'stripe-version'),
      status: 0,
      replayed: false,
    };
    this.requests.push(record);
    const send = (status: number, payload: string, headers: Record<string, string> = {}) => {
      record.status = status;
      res.writeHead(status, {
        'content-type': 'application/json',
        'request-id': randomId(PREFIX.request),
        ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
        ...(record.stripeVersion ? { 'stripe-version': record.stripeVersion } : {}),
        ...headers,
      });
      res.end(payload);
    };

    if (headerOf(req, 'authorization') !== `Bearer ${this.apiKey}`) {
      const shown = (headerOf(req, 'authorization') ?? '').replace(/^Bearer /, '');
      send(
        401,
        JSON.stringify({
          error: {
            type: 'invalid_request_error',
            message: `Invalid API Key provided: ${shown.slice(0, 8)}${'*'.repeat(Math.max(0, shown.length - 12))}${shown.slice(-4)}`,
          },
        }),
      );
      return;
    }

    const fault = this.#takeFault(method, url.pathname);
    if (fault) {
      send(fault.status, JSON.stringify({ error: fault.error ?? defaultFaultBody(fault.status) }), fault.headers);
      return;
    }

    const fingerprint = canonical({ method, path: url.pathname, params });
    if (idempotencyKey) {
      const saved = this.#idempotency.get(idempotencyKey);
      if (saved) {
        if (saved.fingerprint !== fingerprint) {
          send(
            400,
            JSON.stringify({
              error: {
                type: 'idempotency_error',
                message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
              },
            }),
          );
          return;
        }
        record.replayed = true;
        send(saved.status, saved.body, { 'idempotent-replayed': 'true' });
        return;
      }
    }

    let status = 200;
    let payload: string;
    let save = true;
    try {
      payload = JSON.stringify(this.#route(method, url.pathname, params));
    } catch (error) {
      if (!(error instanceof SimError)) {
        status = 500;
        payload = JSON.stringify({ error: { type: 'api_error', message: String(error) } });
        save = false;
      } else {
        status = error.status;
        payload = JSON.stringify({ error: error.body });
        save = error.saved;
      }
    }
    if (idempotencyKey && save) this.#idempotency.set(idempotencyKey, { fingerprint, status, body: payload });
    send(status, payload);
  }

  #takeFault(method: string, path: string): SimFault | null {
    const index = this.#faults.findIndex(
      (f) =>
        (f.method === undefined || f.method.toUpperCase() === method) &&
        (f.path === undefined || path.startsWith(f.path)),
    );
    if (index === -1) return null;
    const fault = this.#faults[index] as SimFault & { times: number };
    fault.times -= 1;
    if (fault.times <= 0) this.#faults.splice(index, 1);
    return fault;
  }

  #route(method: string, path: string, params: FormParams): Record<string, unknown> {
    for (const route of this.#routes) {
      if (route.method !== method) continue;
      const match = path.match(route.pattern);
      if (match) return route.run(params, match);
    }
    throw new SimError(
      404,
      { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path}).` },
      false,
    );
  }

  #buildRoutes(): Route[] {
    const id = '([^/]+)';
    const r = (method: string, path: string, run: Route['run']): Route => ({
      method,
      pattern: new RegExp(`^${path}$`),
      run,
    });
    return [
      r('POST', '/v1/payment_intents', (p) => this.#paymentIntentCreate(p)),
      r('GET', `/v1/payment_intents/${id}`, (p, m) => this.#paymentIntentView(this.#pi(m), p)),
      r('POST', `/v1/payment_intents/${id}/confirm`, (p, m) => this.#paymentIntentConfirm(this.#pi(m), p)),
      r('POST', `/v1/payment_intents/${id}/capture`, (p, m) => this.#paymentIntentCapture(this.#pi(m), p)),
      r('POST', `/v1/payment_intents/${id}/cancel`, (p, m) => this.#paymentIntentCancel(this.#pi(m), p)),
      r('GET', `/v1/charges/${id}`, (_p, m) => copy(this.#require('charge', decode(m), 'id', 404))),
      r('POST', '/v1/refunds', (p) => this.#refundCreate(p)),
      r('GET', `/v1/refunds/${id}`, (_p, m) => copy(this.#require('refund', decode(m), 'refund', 404))),
      r('POST', '/v1/customers', (p) => copy(this.#createCustomer(p))),
      r('GET', `/v1/customers/${id}`, (_p, m) => this.#customerView(decode(m))),
      r('POST', `/v1/customers/${id}`, (p, m) => this.#customerUpdate(decode(m), p)),
      r('DELETE', `/v1/customers/${id}`, (_p, m) => this.#customerDelete(decode(m))),
      r('POST', '/v1/checkout/sessions', (p) => this.#sessionCreate(p)),
      r('GET', `/v1/checkout/sessions/${id}`, (_p, m) =>
        this.#sessionView(this.#require('checkout.session', decode(m), 'session', 404)),
      ),
      r('POST', `/v1/checkout/sessions/${id}/expire`, (_p, m) => this.#sessionExpire(decode(m))),
      r('POST', '/v1/subscriptions', (p) => this.#subscriptionCreate(p)),
      r('GET', `/v1/subscriptions/${id}`, (_p, m) => copy(this.#require('subscription', decode(m), 'id', 404))),
      r('POST', `/v1/subscriptions/${id}`, (p, m) => this.#subscriptionUpdate(decode(m), p)),
      r('DELETE', `/v1/subscriptions/${id}`, (_p, m) => this.#subscriptionCancel(decode(m))),
      r('GET', '/v1/invoices', (p) => this.#invoiceList(p)),
      r('GET', `/v1/invoices/${id}`, (_p, m) => copy(this.#require('invoice', decode(m), 'invoice', 404))),
    ];
  }

  // -------------------------------------------------------------------------------------------
  // Objects

  #nowSeconds(): number {
    return Math.floor(this.#now().getTime() / 1000);
  }

  #store<T extends SimObject>(object: T): T {
    this.#objects.set(object.id, object);
    return object;
  }

  #require(kind: Kind, id: string, param: string, status: 404 | 400): SimObject {
    const found = this.#objects.get(id);
    if (!found || found.object !== kind) throw missing(kind, id, param, status);
    return found;
  }

  #pi(match: RegExpMatchArray): SimObject {
    return this.#require('payment_intent', decode(match), 'intent', 404);
  }

  #price(priceId: string, param: string): SimPrice {
    const known = this.#prices[priceId];
    if (known) return known;
    if (priceId.startsWith('price_')) return DEFAULT_PRICE;
    throw missing('price', priceId, param, 400);
  }

  // ---- PaymentIntents -------------------------------------------------------------------------

  #createPaymentIntent(params: FormParams): SimObject {
    const amount = intParam(params, 'amount', true) as number;
    if (amount < 50) {
      throw invalid('Amount must be at least 50 cents.', 'amount', 'amount_too_small');
    }
    if (amount > 99_999_999) throw invalid('Amount must be no more than 999,999.99.', 'amount', 'amount_too_large');
    const currency = currencyParam(params.currency, 'currency');
    const customer = stringParam(params, 'customer');
    if (customer !== null) this.#require('customer', customer, 'customer', 400);
    const captureMethod = stringParam(params, 'capture_method') ?? 'automatic';
    if (!['automatic', 'automatic_async', 'manual'].includes(captureMethod)) {
      throw invalid(`Invalid capture_method: ${captureMethod}`, 'capture_method');
    }
    const apm = objectParam(params, 'automatic_payment_methods');
    const id = randomId(PREFIX.payment_intent);
    return this.#store({
      id,
      object: 'payment_intent',
      amount,
      amount_capturable: 0,
      amount_received: 0,
      automatic_payment_methods: {
        enabled: apm ? apm.enabled !== 'false' : true,
        ...(apm && typeof apm.allow_redirects === 'string' ? { allow_redirects: apm.allow_redirects } : {}),
      },
      canceled_at: null,
      cancellation_reason: null,
      capture_method: captureMethod,
      client_secret: `${id}_secret_${randomBytes(12).toString('hex')}`,
      confirmation_method: 'automatic',
      created: this.#nowSeconds(),
      currency,
      customer,
      description: stringParam(params, 'description'),
      last_payment_error: null,
      latest_charge: null,
      livemode: false,
      metadata: metadataParam(params),
      next_action: null,
      payment_method: null,
      payment_method_types: ['card'],
      status: 'requires_payment_method',
    });
  }

  #paymentIntentCreate(params: FormParams): SimObject {
    const confirm = boolParam(params, 'confirm') === true;
    const paymentMethod = stringParam(params, 'payment_method');
    if (confirm) this.#checkConfirmable(params, paymentMethod);
    const pi = this.#createPaymentIntent(params);
    if (paymentMethod !== null) {
      pi.payment_method = paymentMethod;
      pi.status = 'requires_confirmation';
    }
    if (confirm) this.#confirm(pi, paymentMethod as string, stringParam(params, 'return_url'));
    return this.#paymentIntentView(pi, params);
  }

  /** Stripe refuses to confirm without a return URL unless redirects are ruled out. */
  #checkConfirmable(params: FormParams, paymentMethod: string | null, pi?: SimObject): void {
    if (paymentMethod === null) {
      throw invalid(
        "You cannot confirm this PaymentIntent because it's missing a payment method. Update the PaymentIntent with a payment method and then confirm it again.",
        'payment_method',
        'payment_intent_unexpected_state',
      );
    }
    const apm = objectParam(params, 'automatic_payment_methods');
    const stored = pi?.automatic_payment_methods as { allow_redirects?: string } | undefined;
    const noRedirects = apm?.allow_redirects === 'never' || stored?.allow_redirects === 'never';
    if (!noRedirects && stringParam(params, 'return_url') === null) {
      throw invalid(
        "This PaymentIntent is configured to accept payment methods enabled in your Dashboard. Because some of these payment methods might redirect your customer off of your page, you must provide a `return_url`. If you don't want to accept redirect-based payment methods, set `automatic_payment_methods[enabled]` to `true` and `automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment Intents.",
        'return_url',
      );
    }
  }

  #paymentIntentConfirm(pi: SimObject, params: FormParams): SimObject {
    if (pi.status !== 'requires_payment_method' && pi.status !== 'requires_confirmation') {
      throw invalid(
        `This PaymentIntent's status is ${String(pi.status)}, so it cannot be confirmed.`,
        undefined,
        'payment_intent_unexpected_state',
        true,
      );
    }
    const paymentMethod =
      stringParam(params, 'payment_method') ?? (typeof pi.payment_method === 'string' ? pi.payment_method : null);
    this.#checkConfirmable(params, paymentMethod, pi);
    this.#confirm(pi, paymentMethod as string, stringParam(params, 'return_url'));
    return this.#paymentIntentView(pi, params);
  }

  /** Runs a confirmation with a test PaymentMethod: succeed, decline (a 402), or ask for 3-D Secure. */
  #confirm(pi: SimObject, paymentMethod: string, returnUrl: string | null): void {
    const decline = DECLINING_CARDS[paymentMethod];
    if (decline) {
      const charge = this.#store({
        ...this.#chargeFor(pi, paymentMethod),
        status: 'failed',
        captured: false,
        amount_captured: 0,
        failure_code: decline.code,
        failure_message: decline.message,
      });
      pi.status = 'requires_payment_method';
      pi.payment_method = null;
      pi.latest_charge = charge.id;
      pi.last_payment_error = {
        type: 'card_error',
        code: decline.code,
        ...(decline.decline_code ? { decline_code: decline.decline_code } : {}),
        message: decline.message,
        charge: charge.id,
        payment_method: { id: paymentMethod, object: 'payment_method', type: 'card' },
      };
      throw new SimError(
        402,
        {
          type: 'card_error',
          code: decline.code,
          ...(decline.decline_code ? { decline_code: decline.decline_code } : {}),
          message: decline.message,
          charge: charge.id,
          doc_url: `https://docs.stripe.com/error-codes/${decline.code.replace(/_/g, '-')}`,
          payment_intent: copy(pi),
        },
        true,
      );
    }
    if (AUTHENTICATING_CARDS.has(paymentMethod)) {
      pi.payment_method = paymentMethod;
      pi.status = 'requires_action';
      pi.next_action = returnUrl
        ? {
            type: 'redirect_to_url',
            redirect_to_url: {
              url: `https://hooks.stripe.com/3d_secure_2/hosted?payment_intent=${pi.id}`,
              return_url: returnUrl,
            },
          }
        : { type: 'use_stripe_sdk', use_stripe_sdk: { type: 'three_d_secure_redirect' } };
      return;
    }
    if (!SUCCEEDING_CARDS.has(paymentMethod)) throw missing('PaymentMethod', paymentMethod, 'payment_method', 400);
    this.#succeed(pi, paymentMethod);
  }

  #chargeFor(pi: SimObject, paymentMethod: string): SimObject {
    return {
      id: randomId(PREFIX.charge),
      object: 'charge',
      amount: pi.amount,
      amount_captured: 0,
      amount_refunded: 0,
      captured: false,
      created: this.#nowSeconds(),
      currency: pi.currency,
      customer: pi.customer,
      description: pi.description,
      livemode: false,
      metadata: copy(pi.metadata),
      paid: false,
      payment_intent: pi.id,
      payment_method: paymentMethod,
      refunded: false,
      status: 'pending',
    };
  }

  #succeed(pi: SimObject, paymentMethod: string): void {
    const manual = pi.capture_method === 'manual';
    const amount = pi.amount as number;
    const charge = this.#store({
      ...this.#chargeFor(pi, paymentMethod),
      status: 'succeeded',
      paid: true,
      captured: !manual,
      amount_captured: manual ? 0 : amount,
    });
    pi.payment_method = paymentMethod;
    pi.latest_charge = charge.id;
    pi.last_payment_error = null;
    pi.next_action = null;
    if (manual) {
      pi.status = 'requires_capture';
      pi.amount_capturable = amount;
    } else {
      pi.status = 'succeeded';
      pi.amount_received = amount;
    }
  }

  #paymentIntentCapture(pi: SimObject, params: FormParams): SimObject {
    if (pi.status !== 'requires_capture') {
      throw invalid(
        `This PaymentIntent could not be captured because it has a status of ${String(pi.status)}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.`,
        undefined,
        'payment_intent_unexpected_state',
        true,
      );
    }
    const capturable = pi.amount_capturable as number;
    const amount = intParam(params, 'amount_to_capture', false) ?? capturable;
    if (amount <= 0 || amount > capturable) {
      throw invalid(`The amount to capture must be between 1 and ${capturable}.`, 'amount_to_capture');
    }
    const charge = this.#require('charge', String(pi.latest_charge), 'charge', 400);
    charge.captured = true;
    charge.amount_captured = amount;
    pi.status = 'succeeded';
    pi.amount_received = amount;
    pi.amount_capturable = 0;
    return this.#paymentIntentView(pi, params);
  }

  #paymentIntentCancel(pi: SimObject, params: FormParams): SimObject {
    const cancelable = ['requires_payment_method', 'requires_capture', 'requires_confirmation', 'requires_action'];
    if (!cancelable.includes(String(pi.status))) {
      throw invalid(
        `You cannot cancel this PaymentIntent because it has a status of ${String(pi.status)}. Only a PaymentIntent with one of the following statuses may be canceled: ${cancelable.join(', ')}.`,
        undefined,
        'payment_intent_unexpected_state',
        true,
      );
    }
    pi.status = 'canceled';
    pi.canceled_at = this.#nowSeconds();
    pi.cancellation_reason = stringParam(params, 'cancellation_reason');
    pi.amount_capturable = 0;
    pi.next_action = null;
    return this.#paymentIntentView(pi, params);
  }

  #paymentIntentView(pi: SimObject, params: FormParams): SimObject {
    const view = copy(pi);
    if (expandList(params).includes('latest_charge') && typeof pi.latest_charge === 'string') {
      view.latest_charge = copy(this.#objects.get(pi.latest_charge) ?? null);
    }
    return view;
  }

  // ---- Refunds --------------------------------------------------------------------------------

  #refundCreate(params: FormParams): SimObject {
    const piId = stringParam(params, 'payment_intent');
    const chargeId = stringParam(params, 'charge');
    let charge: SimObject;
    if (piId !== null) {
      const pi = this.#require('payment_intent', piId, 'payment_intent', 400);
      const latest = typeof pi.latest_charge === 'string' ? this.#objects.get(pi.latest_charge) : undefined;
      if (pi.status !== 'succeeded' || !latest) {
        throw invalid(
          `This PaymentIntent (${piId}) does not have a successful charge to refund.`,
          'payment_intent',
          'charge_not_refundable',
          true,
        );
      }
      charge = latest;
    } else if (chargeId !== null) {
      charge = this.#require('charge', chargeId, 'charge', 400);
    } else {
      throw invalid(
        'One of the following params should be provided for this request: payment_intent or charge.',
        undefined,
        'parameter_missing',
      );
    }
    const reason = stringParam(params, 'reason');
    if (reason !== null && !['duplicate', 'fraudulent', 'requested_by_customer'].includes(reason)) {
      throw invalid(`Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer`, 'reason');
    }
    const remaining = (charge.amount_captured as number) - (charge.amount_refunded as number);
    if (remaining <= 0) {
      throw invalid(`Charge ${charge.id} has already been refunded.`, undefined, 'charge_already_refunded', true);
    }
    const amount = intParam(params, 'amount', false) ?? remaining;
    if (amount <= 0) throw invalid('Refund amount must be positive.', 'amount');
    if (amount > remaining) {
      throw invalid(
        `Refund amount (${amount}) is greater than unrefunded amount on charge (${remaining})`,
        'amount',
        'amount_too_large',
        true,
      );
    }
    charge.amount_refunded = (charge.amount_refunded as number) + amount;
    charge.refunded = charge.amount_refunded === charge.amount_captured;
    return copy(
      this.#store({
        id: randomId(PREFIX.refund),
        object: 'refund',
        amount,
        charge: charge.id,
        created: this.#nowSeconds(),
        currency: charge.currency,
        metadata: metadataParam(params),
        payment_intent: charge.payment_intent,
        reason,
        status: 'succeeded',
      }),
    );
  }

  // ---- Customers ------------------------------------------------------------------------------

  #createCustomer(params: FormParams): SimObject {
    return this.#store({
      id: randomId(PREFIX.customer),
      object: 'customer',
      created: this.#nowSeconds(),
      description: stringParam(params, 'description'),
      email: stringParam(params, 'email'),
      livemode: false,
      metadata: metadataParam(params),
      name: stringParam(params, 'name'),
    });
  }

  #customerView(id: string): SimObject {
    const customer = this.#require('customer', id, 'id', 404);
    return customer.deleted === true ? { id, object: 'customer', deleted: true } : copy(customer);
  }

  #customerUpdate(id: string, params: FormParams): SimObject {
    const customer = this.#require('customer', id, 'id', 404);
    if (customer.deleted === true) throw missing('customer', id, 'id', 404);
    if (params.email !== undefined) customer.email = stringParam(params, 'email');
    if (params.name !== undefined) customer.name = stringParam(params, 'name');
    customer.metadata = metadataParam(params, customer.metadata as Record<string, string>);
    return copy(customer);
  }

  #customerDelete(id: string): SimObject {
    const customer = this.#require('customer', id, 'id', 404);
    customer.deleted = true;
    return { id, object: 'customer', deleted: true };
  }

  // ---- Checkout Sessions ----------------------------------------------------------------------

  #sessionCreate(params: FormParams): SimObject {
    const mode = stringParam(params, 'mode');
    if (mode !== 'payment' && mode !== 'subscription') {
      throw invalid('Missing required param: mode.', 'mode', 'parameter_missing');
    }
    const items = params.line_items;
    if (!Array.isArray(items) || items.length === 0) {
      throw invalid('Missing required param: line_items.', 'line_items', 'parameter_missing');
    }
    const customer = stringParam(params, 'customer');
    if (customer !== null) this.#require('customer', customer, 'customer', 400);
    let total = 0;
    let currency: string | null = null;
    let priceId: string | null = null;
    items.forEach((item, i) => {
      if (typeof item !== 'object' || Array.isArray(item)) throw invalid('Invalid line item.', `line_items[${i}]`);
      const quantity = intParam(item, 'quantity', false) ?? 1;
      const price = stringParam(item, 'price');
      const data = objectParam(item, 'price_data');
      if (price !== null) {
        const known = this.#price(price, `line_items[${i}][price]`);
        priceId ??= price;
        total += known.unit_amount * quantity;
        currency ??= known.currency;
      } else if (data !== null) {
        if (mode === 'subscription' && objectParam(data, 'recurring') === null) {
          throw invalid('A subscription checkout needs recurring prices.', `line_items[${i}][price_data][recurring]`);
        }
        const unit = intParam(data, 'unit_amount', true) as number;
        const product = objectParam(data, 'product_data');
        if (stringParam(data, 'product') === null && (product === null || stringParam(product, 'name') === null)) {
          throw invalid(
            'Missing required param: line_items[0][price_data][product_data][name].',
            `line_items[${i}][price_data][product_data][name]`,
            'parameter_missing',
          );
        }
        total += unit * quantity;
        currency ??= currencyParam(data.currency, `line_items[${i}][price_data][currency]`);
      } else {
        throw invalid('Each line item needs a price or price_data.', `line_items[${i}]`, 'parameter_missing');
      }
    });
    if (mode === 'payment' && total < 50) {
      throw invalid('The Checkout Session total must be at least 50 cents.', 'line_items', 'amount_too_small');
    }
    const id = randomId(PREFIX['checkout.session']);
    const session = this.#store({
      id,
      object: 'checkout.session',
      amount_subtotal: total,
      amount_total: total,
      cancel_url: stringParam(params, 'cancel_url'),
      created: this.#nowSeconds(),
      currency,
      customer,
      expires_at: this.#nowSeconds() + DAY,
      livemode: false,
      metadata: metadataParam(params),
      mode,
      payment_intent: null,
      payment_status: 'unpaid',
      status: 'open',
      subscription: null,
      success_url: stringParam(params, 'success_url'),
      url: `https://checkout.stripe.com/c/pay/${id}`,
      // Kept to complete the session later; not part of Stripe's object (hidden by the view).
      price_id: priceId,
      payment_intent_metadata: metadataParam(objectParam(params, 'payment_intent_data') ?? {}),
      subscription_metadata: metadataParam(objectParam(params, 'subscription_data') ?? {}),
    });
    return this.#sessionView(session);
  }

  #sessionView(session: SimObject): SimObject {
    const { price_id: _p, payment_intent_metadata: _m, subscription_metadata: _s, ...view } = copy(session);
    return view as SimObject;
  }

  #sessionExpire(id: string): SimObject {
    const session = this.#require('checkout.session', id, 'session', 404);
    if (session.status !== 'open') {
      throw invalid(`Only Checkout Sessions with a status in ["open"] can be expired.`, undefined, undefined, true);
    }
    session.status = 'expired';
    session.url = null;
    return this.#sessionView(session);
  }

  // ---- Subscriptions and invoices -------------------------------------------------------------

  #createSubscription(
    customer: string,
    priceId: string,
    trialDays: number | null,
    metadata: Record<string, string>,
  ): SimObject {
    const price = this.#price(priceId, 'items[0][price]');
    const now = this.#nowSeconds();
    const id = randomId(PREFIX.subscription);
    const trialEnd = trialDays ? now + trialDays * DAY : null;
    const periodDays = { day: 1, week: 7, month: 30, year: 365 }[price.interval ?? 'month'];
    const periodEnd = trialEnd ?? now + periodDays * DAY;
    const invoiceAmount = trialEnd ? 0 : price.unit_amount;
    const invoiceId = randomId(PREFIX.invoice);
    this.#store({
      id: invoiceId,
      object: 'invoice',
      amount_due: invoiceAmount,
      amount_paid: invoiceAmount,
      amount_remaining: 0,
      billing_reason: 'subscription_create',
      created: now,
      currency: price.currency,
      customer,
      hosted_invoice_url: `https://invoice.stripe.com/i/acct_simulator/test_${invoiceId}`,
      livemode: false,
      metadata: {},
      parent: {
        type: 'subscription_details',
        quote_details: null,
        subscription_details: { metadata: copy(metadata), subscription: id },
      },
      period_end: now,
      period_start: now,
      status: 'paid',
      total: invoiceAmount,
    });
    return this.#store({
      id,
      object: 'subscription',
      cancel_at: null,
      cancel_at_period_end: false,
      canceled_at: null,
      created: now,
      currency: price.currency,
      customer,
      ended_at: null,
      items: {
        object: 'list',
        data: [
          {
            id: randomId(PREFIX.subscription_item),
            object: 'subscription_item',
            current_period_end: periodEnd,
            current_period_start: now,
            price: {
              id: priceId,
              object: 'price',
              currency: price.currency,
              recurring: { interval: price.interval ?? 'month', interval_count: 1 },
              unit_amount: price.unit_amount,
            },
            quantity: 1,
            subscription: id,
          },
        ],
        has_more: false,
        url: `/v1/subscription_items?subscription=${id}`,
      },
      latest_invoice: invoiceId,
      livemode: false,
      metadata: copy(metadata),
      start_date: now,
      status: trialEnd ? 'trialing' : 'active',
      trial_end: trialEnd,
      trial_start: trialEnd ? now : null,
    });
  }

  #subscriptionCreate(params: FormParams): SimObject {
    const customer = stringParam(params, 'customer');
    if (customer === null) throw invalid('Missing required param: customer.', 'customer', 'parameter_missing');
    const found = this.#require('customer', customer, 'customer', 400);
    if (found.deleted === true) throw missing('customer', customer, 'customer', 400);
    const items = params.items;
    const first = Array.isArray(items) ? items[0] : undefined;
    const price =
      typeof first === 'object' && first !== null && !Array.isArray(first) ? stringParam(first, 'price') : null;
    if (price === null) throw invalid('Missing required param: items[0][price].', 'items', 'parameter_missing');
    const trialDays = intParam(params, 'trial_period_days', false);
    if (trialDays !== null && (trialDays < 0 || trialDays > 730)) {
      throw invalid('trial_period_days must be between 0 and 730.', 'trial_period_days');
    }
    const subscription = this.#createSubscription(customer, price, trialDays, metadataParam(params));
    if (boolParam(params, 'cancel_at_period_end') === true) subscription.cancel_at_period_end = true;
    return copy(subscription);
  }

  #subscriptionUpdate(id: string, params: FormParams): SimObject {
    const subscription = this.#require('subscription', id, 'id', 404);
    if (subscription.status === 'canceled') {
      throw invalid(
        'A canceled subscription can only update its cancellation_details and metadata.',
        undefined,
        undefined,
        true,
      );
    }
    const atPeriodEnd = boolParam(params, 'cancel_at_period_end');
    if (atPeriodEnd !== null) {
      subscription.cancel_at_period_end = atPeriodEnd;
      const item = (subscription.items as { data: SimObject[] }).data[0];
      subscription.cancel_at = atPeriodEnd ? (item?.current_period_end ?? null) : null;
      subscription.canceled_at = atPeriodEnd ? this.#nowSeconds() : null;
    }
    subscription.metadata = metadataParam(params, subscription.metadata as Record<string, string>);
    return copy(subscription);
  }

  #subscriptionCancel(id: string): SimObject {
    const subscription = this.#require('subscription', id, 'id', 404);
    if (subscription.status === 'canceled') {
      throw invalid(`The subscription ${id} has already been canceled.`, undefined, undefined, true);
    }
    const now = this.#nowSeconds();
    subscription.status = 'canceled';
    subscription.canceled_at = now;
    subscription.ended_at = now;
    subscription.cancel_at_period_end = false;
    return copy(subscription);
  }

  #invoiceList(params: FormParams): Record<string, unknown> {
    const limit = intParam(params, 'limit', false) ?? 10;
    if (limit < 1 || limit > 100) throw invalid('limit must be between 1 and 100.', 'limit');
    const customer = stringParam(params, 'customer');
    const subscription = stringParam(params, 'subscription');
    const all = [...this.#objects.values()]
      .filter((o) => o.object === 'invoice')
      .filter((o) => customer === null || o.customer === customer)
      .filter((o) => {
        if (subscription === null) return true;
        const parent = o.parent as { subscription_details?: { subscription?: string } } | null;
        return parent?.subscription_details?.subscription === subscription;
      })
      .reverse();
    return { object: 'list', data: all.slice(0, limit).map(copy), has_more: all.length > limit, url: '/v1/invoices' };
  }
}

function decode(match: RegExpMatchArray): string {
  return decodeURIComponent(match[1] ?? '');
}

function headerOf(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  if (Array.isArray(value)) return value[0] ?? null;
  return value ?? null;
}

function defaultFaultBody(status: number): Record<string, unknown> {
  if (status === 429) {
    return {
      type: 'invalid_request_error',
      code: 'rate_limit',
      message: 'Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.',
      doc_url: 'https://docs.stripe.com/error-codes/rate-limit',
    };
  }
  if (status >= 500) {
    return {
      type: 'api_error',
      message:
        "Sorry, something went wrong. We've already been notified of the problem, but if you need any help, you can reach out to support.",
    };
  }
  return { type: 'invalid_request_error', message: `Simulated ${status}.` };
}
