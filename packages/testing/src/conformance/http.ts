import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createPayable,
  type HttpHandlerOptions,
  type HttpRequest,
  MemoryStorageDriver,
  type Payable,
  type PayableOptions,
  type PaymentProvider,
  type ProviderChargeInput,
  type ProviderContext,
  type ProviderPayment,
  SyncQueueDriver,
} from '@payable/core';
import { afterAll, describe, expect, it } from 'vitest';
import { TestClock } from '../clock/test-clock.js';
import type { SignedDelivery } from '../fake-provider/fake-delivery.js';
import { FakeProvider } from '../fake-provider/fake-provider.js';
import { waitFor } from '../wait-for.js';

/**
 * What the suite hands an adapter for one server: the `payable` to serve and the handler options
 * to mount it with (prefix, authorize, bodyLimit, webhookSignatureHeader, rateLimit): an adapter
 * must pass every one of them on to `createHttpHandler`.
 *
 * @example
 * ```ts
 * const makeServer = async ({ payable, options }: HttpConformanceSetup) => startMyAdapter(payable, options);
 * ```
 */
export interface HttpConformanceSetup {
  payable: Payable;
  options: HttpHandlerOptions;
}

/**
 * A listening server made by the adapter under test.
 *
 * @example
 * ```ts
 * const server: HttpConformanceServer = { url: 'http://127.0.0.1:51234', close: async () => app.close() };
 * ```
 */
export interface HttpConformanceServer {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:51234`; `options.prefix` is added by the suite. */
  url: string;
  close(): Promise<void>;
}

/**
 * Mounts `setup.payable` with `setup.options` on the adapter under test and starts listening.
 *
 * @example
 * ```ts
 * const makeServer: HttpConformanceMakeServer = async ({ payable, options }) => {
 *   const app = Fastify();
 *   await app.register(payablePlugin, { payable, ...options });
 *   return { url: await app.listen({ port: 0, host: '127.0.0.1' }), close: () => app.close() };
 * };
 * ```
 */
export type HttpConformanceMakeServer = (setup: HttpConformanceSetup) => Promise<HttpConformanceServer>;

/**
 * Handed to the `extra` hook, so an adapter's own tests can start servers the suite closes.
 *
 * @example
 * ```ts
 * httpConformance('express', makeServer, {
 *   extra: ({ serve, token }) => it('mounts beside other routes', async () => { const { url } = await serve(setup); }),
 * });
 * ```
 */
export interface HttpConformanceContext {
  /** Starts a server through `makeServer`; it (and its payable) is closed after the suite. */
  serve(setup: HttpConformanceSetup): Promise<HttpConformanceServer>;
  /** The bearer token the suite's `authorize` accepts. */
  token: string;
}

/**
 * Options of {@link httpConformance}.
 *
 * @example
 * ```ts
 * httpConformance('my-adapter', makeServer, { disabled: { 'routing – …': 'the framework answers HEAD itself' } });
 * ```
 */
export interface HttpConformanceOptions {
  /** Tests this adapter cannot pass, by exact title, each with the reason. */
  disabled?: Record<string, string>;
  /** Registers the adapter's own tests inside the suite's `describe`. */
  extra?: (context: HttpConformanceContext) => void;
}

type Json = Record<string, unknown>;

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: Json;
}

interface SendOptions {
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Send the admin bearer token (default true). */
  auth?: boolean;
}

/** A FakeProvider whose charges wait while `hold` is set: keeps a request in flight. */
class HeldFakeProvider extends FakeProvider {
  hold: Promise<void> | null = null;
  entered = 0;

  override async charge(input: ProviderChargeInput, ctx: ProviderContext): Promise<ProviderPayment> {
    this.entered++;
    if (this.hold) await this.hold;
    return super.charge(input, ctx);
  }
}

type ScenarioName =
  | 'main'
  | 'prefixed'
  | 'multi'
  | 'open'
  | 'small'
  | 'held'
  | 'down'
  | 'limited'
  | 'defaults'
  | 'breaker'
  | 'outbound';

interface Env {
  base: string;
  payable: Payable;
  fake: FakeProvider;
  /** The test clock of the payable (and its fake) in the scenarios that drive time. */
  clock: TestClock | null;
  /** Every request `authorize` was called with. */
  authorized: HttpRequest[];
  send(method: string, path: string, options?: SendOptions): Promise<Reply>;
  /** POST a signed delivery to a webhook path (no credentials). */
  deliver(path: string, delivery: SignedDelivery): Promise<Reply>;
}

const TOKEN = 'conformance-admin-token';
/** A second API caller `authorize` accepts (rate limits count callers apart). */
const OTHER_TOKEN = 'conformance-other-caller-token';
const SMALL_LIMIT = 1024;
const RELAY_SIGNATURE_HEADER = 'x-relay-signature';

/** The rate limits of the `limited` scenario, per minute. */
const LIMITS = { payments: 3, reads: 4, admin: 2 } as const;
const WINDOW_MS = 60_000;
/** The breaker of the `breaker` scenario. */
const BREAKER = { failureThreshold: 3, openMs: 10_000 } as const;
/**
 * Scenarios that do not test rate limits raise them, so their many requests are never refused
 * (the `defaults` scenario checks the defaults).
 */
const GENEROUS = { limit: 100_000, windowMs: WINDOW_MS } as const;

const MANAGEMENT_ROUTES: ReadonlyArray<readonly [method: string, path: string, body?: Json]> = [
  ['POST', '/payments', { amount: 100, currency: 'USD' }],
  ['GET', '/payments'],
  ['GET', '/payments/pay_unknown'],
  ['POST', '/refunds', { paymentId: 'pay_unknown' }],
  ['POST', '/customers', { email: 'nobody@example.com' }],
  ['GET', '/customers/cus_unknown'],
  [
    'POST',
    '/checkout',
    { amount: 100, currency: 'USD', successUrl: 'https://a.test/ok', cancelUrl: 'https://a.test/no' },
  ],
  ['POST', '/subscriptions', { customerId: 'cus_unknown', priceId: 'price_basic' }],
  ['POST', '/subscriptions/sub_unknown/cancel'],
  ['GET', '/invoices'],
  ['GET', '/events/wh_unknown'],
  ['POST', '/events/wh_unknown/replay'],
  ['POST', '/endpoints', { url: 'https://hooks.example.com/payable', events: ['*'] }],
  ['GET', '/endpoints'],
  ['GET', '/endpoints/ep_unknown'],
  ['PATCH', '/endpoints/ep_unknown', { description: 'x' }],
  ['POST', '/endpoints/ep_unknown/disable'],
  ['POST', '/endpoints/ep_unknown/rotate-secret'],
  ['GET', '/endpoints/ep_unknown/deliveries'],
  ['GET', '/deliveries/dlv_unknown'],
  ['POST', '/deliveries/dlv_unknown/redeliver'],
];

const ALL_PATHS = [
  '/webhooks',
  '/webhooks/fake',
  '/webhooks/fake/acme',
  '/health',
  ...new Set(MANAGEMENT_ROUTES.map(([, path]) => path)),
];

function str(value: unknown, what: string): string {
  expect(typeof value, `${what} is a string`).toBe('string');
  return value as string;
}

function obj(value: unknown, what: string): Json {
  expect(typeof value === 'object' && value !== null && !Array.isArray(value), `${what} is an object`).toBe(true);
  return value as Json;
}

function list(reply: Reply): Json[] {
  expect(reply.status).toBe(200);
  expect(Object.keys(reply.json).sort()).toEqual(['data', 'hasMore', 'nextCursor']);
  expect(Array.isArray(reply.json.data)).toBe(true);
  expect(typeof reply.json.hasMore).toBe('boolean');
  const next = reply.json.nextCursor;
  expect(next === null || typeof next === 'string').toBe(true);
  return reply.json.data as Json[];
}

function expectJson(reply: Reply): void {
  expect(reply.headers.get('content-type') ?? '').toMatch(/^application\/json/);
}

function expectError(reply: Reply, status: number, code: string, context?: Json): void {
  expect({ status: reply.status, error: reply.json.error }, reply.text).toEqual({ status, error: code });
  expectJson(reply);
  expect(Object.keys(reply.json).sort()).toEqual(['context', 'error', 'message']);
  expect(typeof reply.json.message).toBe('string');
  expect((reply.json.message as string).length).toBeGreaterThan(0);
  obj(reply.json.context, 'context');
  if (context) expect(reply.json.context).toMatchObject(context);
}

function expectIsoDate(value: unknown, what: string): void {
  const text = str(value, what);
  expect(new Date(text).toISOString(), what).toBe(text);
}

/** The rate-limit headers of a reply: `[limit, remaining, reset]` as strings, `null` when absent. */
function rateHeaders(reply: Reply): [string | null, string | null, string | null] {
  return [
    reply.headers.get('x-ratelimit-limit'),
    reply.headers.get('x-ratelimit-remaining'),
    reply.headers.get('x-ratelimit-reset'),
  ];
}

/** A local HTTP server that answers 200 to every delivery and keeps their bodies. */
async function startReceiver(): Promise<{ url: string; bodies: string[]; close(): Promise<void> }> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function expectPaymentShape(payment: Json): void {
  str(payment.id, 'id');
  str(payment.providerId, 'providerId');
  str(payment.provider, 'provider');
  str(payment.currency, 'currency');
  str(payment.status, 'status');
  str(payment.createdAt, 'createdAt');
  expect(Number.isSafeInteger(payment.amount)).toBe(true);
  expect(Number.isSafeInteger(payment.amountRefunded)).toBe(true);
}

/**
 * The HTTP adapter conformance suite: registers vitest tests every adapter of the core HTTP handler
 * must pass (node:http, Express, Fastify, Nest), with real `fetch` requests against a listening
 * server. The suite builds each `payable` itself (FakeProviders, MemoryStorageDriver,
 * SyncQueueDriver) and hands it to `makeServer` with the handler options to mount, then checks
 * every route and every error code reachable over HTTP: webhooks (first and duplicate delivery,
 * tenants, signatures, ambiguous and unknown providers), authorization, payments, refunds,
 * customers, checkout, subscriptions, invoices, event admin, outbound endpoints and deliveries,
 * health, idempotency keys, body limits, rate limits (`X-RateLimit-*`, 429 with `Retry-After`),
 * the provider circuit breaker (503 with `Retry-After`, driven by a `TestClock`), routing, and the
 * `{ error, message, context }` error body.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createNodeListener } from '@payable/core';
 * import { httpConformance } from '@payable/testing';
 *
 * httpConformance('node:http', async ({ payable, options }) => {
 *   const server = createServer(createNodeListener(payable, options));
 *   await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
 *   const { port } = server.address() as import('node:net').AddressInfo;
 *   return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
 * });
 * ```
 */
export function httpConformance(
  name: string,
  makeServer: HttpConformanceMakeServer,
  options: HttpConformanceOptions = {},
): void {
  const disabled = options.disabled ?? {};

  describe(`http conformance – ${name}`, () => {
    const started: Array<{ server: HttpConformanceServer; payable: Payable }> = [];
    const envs = new Map<ScenarioName, Promise<Env>>();

    afterAll(async () => {
      for (const { server, payable } of started.splice(0)) {
        await server.close();
        await payable.close();
      }
    });

    const serve = async (setup: HttpConformanceSetup): Promise<HttpConformanceServer> => {
      const server = await makeServer(setup);
      started.push({ server, payable: setup.payable });
      return server;
    };

    async function build(scenario: ScenarioName): Promise<Env> {
      const authorized: HttpRequest[] = [];
      const authorize = (req: HttpRequest): boolean => {
        authorized.push(req);
        if (req.headers['x-conformance-authorize'] === 'throw') throw new Error('authorize failed');
        return req.headers.authorization === `Bearer ${TOKEN}` || req.headers.authorization === `Bearer ${OTHER_TOKEN}`;
      };
      const clock = scenario === 'limited' || scenario === 'breaker' ? new TestClock() : null;
      const fake = scenario === 'held' ? new HeldFakeProvider() : new FakeProvider(clock === null ? {} : { clock });
      const providers: Record<string, PaymentProvider> = { fake };
      if (scenario === 'multi') providers.limited = new FakeProvider({ capabilities: ['charges', 'webhooks'] });
      const storage = scenario === 'open' ? undefined : new MemoryStorageDriver();
      const options: PayableOptions = { providers, queue: new SyncQueueDriver() };
      if (storage) options.storage = storage;
      if (clock) options.clock = clock;
      if (scenario === 'breaker') options.resilience = { retries: 0, breaker: BREAKER };
      if (scenario === 'outbound') options.outbound = { allowPrivateNetworks: true, requireHttps: false };
      const payable = createPayable(options);
      if (scenario === 'down') await storage?.close();

      const handlerOptions: HttpHandlerOptions = {};
      if (scenario !== 'open') handlerOptions.authorize = authorize;
      if (scenario === 'limited') {
        handlerOptions.rateLimit = {
          policies: {
            payments: { limit: LIMITS.payments, windowMs: WINDOW_MS },
            reads: { limit: LIMITS.reads, windowMs: WINDOW_MS },
            admin: { limit: LIMITS.admin, windowMs: WINDOW_MS },
          },
        };
      } else if (scenario !== 'defaults') {
        handlerOptions.rateLimit = { policies: { payments: GENEROUS, reads: GENEROUS, admin: GENEROUS } };
      }
      if (scenario === 'prefixed') {
        handlerOptions.prefix = '/payable';
        handlerOptions.webhookSignatureHeader = RELAY_SIGNATURE_HEADER;
      }
      if (scenario === 'small') handlerOptions.bodyLimit = SMALL_LIMIT;

      const server = await serve({ payable, options: handlerOptions });
      const base = server.url.replace(/\/+$/, '') + (handlerOptions.prefix ?? '');

      const send = async (method: string, path: string, opts: SendOptions = {}): Promise<Reply> => {
        const headers: Record<string, string> = { ...(opts.headers ?? {}) };
        if (opts.auth !== false) headers.authorization = `Bearer ${TOKEN}`;
        let body: string | undefined;
        if (opts.body !== undefined) {
          body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
          headers['content-type'] ??= 'application/json';
        }
        const res = await fetch(base + path, { method, headers, ...(body === undefined ? {} : { body }) });
        const text = await res.text();
        let json: Json = {};
        try {
          const parsed: unknown = JSON.parse(text);
          if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) json = parsed as Json;
        } catch {
          // Left empty: the assertions on `json` then fail with the raw text in view.
        }
        return { status: res.status, headers: res.headers, text, json };
      };
      const deliver = (path: string, delivery: SignedDelivery): Promise<Reply> =>
        send('POST', path, { body: delivery.rawBody, headers: delivery.headers, auth: false });

      return { base, payable, fake, clock, authorized, send, deliver };
    }

    const env = (scenario: ScenarioName): Promise<Env> => {
      let made = envs.get(scenario);
      if (made === undefined) {
        made = build(scenario);
        envs.set(scenario, made);
      }
      return made;
    };

    /** A payment created over HTTP in the main scenario. */
    const createPayment = async (e: Env, body: Json = {}): Promise<Json> => {
      const r = await e.send('POST', '/payments', { body: { amount: 2500, currency: 'USD', ...body } });
      expect(r.status, r.text).toBe(201);
      return r.json;
    };
    const createCustomer = async (e: Env): Promise<Json> => {
      const r = await e.send('POST', '/customers', { body: { email: 'ada@example.com', name: 'Ada Lovelace' } });
      expect(r.status, r.text).toBe(201);
      return r.json;
    };
    const chargeCalls = (e: Env): number => e.fake.calls.filter((c) => c.op === 'charge').length;
    const unknownEvent = (e: Env): SignedDelivery =>
      e.fake.eventFor('charge.dispute.created', { id: `dp_${Math.random().toString(36).slice(2)}` });

    const tests: Record<string, () => Promise<void>> = {
      // -----------------------------------------------------------------------------------------
      // Webhooks

      'POST /webhooks/:provider – the first delivery answers 200 { received, eventId, duplicate: false, status } and is applied':
        async () => {
          const e = await env('main');
          const payment = await e.payable.charge({
            amount: 700,
            currency: 'EUR',
            metadata: { fake_outcome: 'pending' },
          });
          const r = await e.deliver('/webhooks/fake', e.fake.completePayment(payment.providerId));
          expect(r.status, r.text).toBe(200);
          expectJson(r);
          expect(r.json).toMatchObject({ received: true, duplicate: false });
          str(r.json.eventId, 'eventId');
          expect(['pending', 'processing', 'processed']).toContain(r.json.status);
          await waitFor(async () => (await e.send('GET', `/payments/${payment.id}`)).json.status === 'succeeded');
        },

      'POST /webhooks/:provider – a duplicate delivery answers 200 with the same eventId and duplicate: true':
        async () => {
          const e = await env('main');
          const payment = await e.payable.charge({
            amount: 800,
            currency: 'EUR',
            metadata: { fake_outcome: 'pending' },
          });
          const delivery = e.fake.completePayment(payment.providerId);
          const first = await e.deliver('/webhooks/fake', delivery);
          const second = await e.deliver('/webhooks/fake', delivery);
          expect(first.status, first.text).toBe(200);
          expect(second.status, second.text).toBe(200);
          expect(first.json.duplicate).toBe(false);
          expect(second.json).toMatchObject({ received: true, duplicate: true, eventId: first.json.eventId });
        },

      'POST /webhooks – with one provider registered, answers 200': async () => {
        const e = await env('main');
        const r = await e.deliver('/webhooks', unknownEvent(e));
        expect(r.status, r.text).toBe(200);
        expect(r.json).toMatchObject({ received: true, duplicate: false });
      },

      'POST /webhooks/:provider/:tenant – stores the event under the tenant, apart from the same event without one':
        async () => {
          const e = await env('main');
          const delivery = unknownEvent(e);
          const global = await e.deliver('/webhooks/fake', delivery);
          const tenant = await e.deliver('/webhooks/fake/acme', delivery);
          expect(global.status, global.text).toBe(200);
          expect(tenant.status, tenant.text).toBe(200);
          expect(tenant.json.duplicate).toBe(false);
          expect(tenant.json.eventId).not.toBe(global.json.eventId);
          const again = await e.deliver('/webhooks/fake/acme', delivery);
          expect(again.json).toMatchObject({ duplicate: true, eventId: tenant.json.eventId });
          const event = await e.send('GET', `/events/${str(tenant.json.eventId, 'eventId')}`);
          expect(event.status, event.text).toBe(200);
          expect(event.json).toMatchObject({ id: tenant.json.eventId, tenantId: 'acme', provider: 'fake' });
        },

      'POST /webhooks/:provider – a tampered body answers 400 INVALID_WEBHOOK_SIGNATURE': async () => {
        const e = await env('main');
        const payment = await e.payable.charge({ amount: 900, currency: 'EUR', metadata: { fake_outcome: 'pending' } });
        const delivery = e.fake.completePayment(payment.providerId);
        const tampered = { ...delivery, rawBody: delivery.rawBody.replace('"amount":900', '"amount":9') };
        expect(tampered.rawBody).not.toBe(delivery.rawBody);
        expectError(await e.deliver('/webhooks/fake', tampered), 400, 'INVALID_WEBHOOK_SIGNATURE');
        const reformatted = { ...delivery, rawBody: JSON.stringify(JSON.parse(delivery.rawBody), null, 2) };
        expectError(await e.deliver('/webhooks/fake', reformatted), 400, 'INVALID_WEBHOOK_SIGNATURE');
        expect((await e.send('GET', `/payments/${payment.id}`)).json.status).toBe('pending');
      },

      'POST /webhooks/:provider – a signature made with another secret answers 400 INVALID_WEBHOOK_SIGNATURE':
        async () => {
          const e = await env('main');
          const body = JSON.parse(unknownEvent(e).rawBody) as Json;
          const delivery = e.fake.signedDelivery(JSON.stringify(body), { secret: 'not-the-secret' });
          expectError(await e.deliver('/webhooks/fake', delivery), 400, 'INVALID_WEBHOOK_SIGNATURE');
          const unsigned = { rawBody: delivery.rawBody, headers: { 'content-type': 'application/json' } };
          expectError(await e.deliver('/webhooks/fake', unsigned), 400, 'INVALID_WEBHOOK_SIGNATURE');
        },

      'POST /webhooks/:provider – a signed body that is not JSON, or no body, answers 400 INVALID_WEBHOOK_PAYLOAD':
        async () => {
          const e = await env('main');
          expectError(
            await e.deliver('/webhooks/fake', e.fake.signedDelivery('this is not json')),
            400,
            'INVALID_WEBHOOK_PAYLOAD',
          );
          const empty = await e.send('POST', '/webhooks/fake', { auth: false, headers: e.fake.sign('') });
          expectError(empty, 400, 'INVALID_WEBHOOK_PAYLOAD');
        },

      'POST /webhooks/:provider – an unknown provider answers 404 WEBHOOK_PROVIDER_UNKNOWN': async () => {
        const e = await env('main');
        expectError(await e.deliver('/webhooks/nope', unknownEvent(e)), 404, 'WEBHOOK_PROVIDER_UNKNOWN');
      },

      'POST /webhooks – with two providers registered answers 400 WEBHOOK_PROVIDER_AMBIGUOUS': async () => {
        const e = await env('multi');
        expectError(await e.deliver('/webhooks', unknownEvent(e)), 400, 'WEBHOOK_PROVIDER_AMBIGUOUS');
      },

      'POST /webhooks/:provider – with two providers registered, naming one answers 200': async () => {
        const e = await env('multi');
        const r = await e.deliver('/webhooks/limited', unknownEvent(e));
        expect(r.status, r.text).toBe(200);
        expect(r.json).toMatchObject({ received: true, duplicate: false });
        const event = await e.send('GET', `/events/${str(r.json.eventId, 'eventId')}`);
        expect(event.json).toMatchObject({ provider: 'limited', tenantId: null });
      },

      'POST /webhooks/:provider – never calls authorize and needs no credentials': async () => {
        const e = await env('main');
        const before = e.authorized.length;
        const r = await e.deliver('/webhooks/fake', unknownEvent(e));
        expect(r.status, r.text).toBe(200);
        expect(e.authorized.length).toBe(before);
      },

      'POST /webhooks/:provider – without a storage driver answers 500 WEBHOOK_STORAGE_REQUIRED': async () => {
        const e = await env('open');
        expectError(await e.deliver('/webhooks/fake', unknownEvent(e)), 500, 'WEBHOOK_STORAGE_REQUIRED');
      },

      'POST /webhooks/:provider – storage down answers 503 STORAGE_UNAVAILABLE, never 200': async () => {
        const e = await env('down');
        expectError(await e.deliver('/webhooks/fake', unknownEvent(e)), 503, 'STORAGE_UNAVAILABLE');
      },

      'POST /webhooks/:provider – a body over bodyLimit answers 413 PAYLOAD_TOO_LARGE': async () => {
        const e = await env('small');
        const big = e.fake.eventFor('charge.dispute.created', { id: 'dp_big', note: 'x'.repeat(SMALL_LIMIT * 2) });
        expectError(await e.deliver('/webhooks/fake', big), 413, 'PAYLOAD_TOO_LARGE');
        const fits = await e.deliver('/webhooks/fake', unknownEvent(e));
        expect(fits.status, fits.text).toBe(200);
      },

      'webhookSignatureHeader – the signature is read from the configured header': async () => {
        const e = await env('prefixed');
        const delivery = unknownEvent(e);
        const signature = delivery.headers['x-fake-signature'];
        expect(signature).toBeDefined();
        const relayed = {
          rawBody: delivery.rawBody,
          headers: { 'content-type': 'application/json', [RELAY_SIGNATURE_HEADER]: signature as string },
        };
        const r = await e.deliver('/webhooks/fake', relayed);
        expect(r.status, r.text).toBe(200);
        expectError(await e.deliver('/webhooks/fake', unknownEvent(e)), 400, 'INVALID_WEBHOOK_SIGNATURE');
      },

      // -----------------------------------------------------------------------------------------
      // Authorization

      'management routes – answer 401 UNAUTHORIZED when authorize says no, and run nothing': async () => {
        const e = await env('main');
        const calls = e.fake.calls.length;
        for (const [method, path, body] of MANAGEMENT_ROUTES) {
          const none = await e.send(method, path, { auth: false, body });
          expectError(none, 401, 'UNAUTHORIZED');
          const wrong = await e.send(method, path, { auth: false, body, headers: { authorization: 'Bearer wrong' } });
          expectError(wrong, 401, 'UNAUTHORIZED');
        }
        expect(e.fake.calls.length).toBe(calls);
      },

      'management routes – answer 401 UNAUTHORIZED when no authorize option is configured': async () => {
        const e = await env('open');
        for (const [method, path, body] of MANAGEMENT_ROUTES) {
          expectError(await e.send(method, path, { body }), 401, 'UNAUTHORIZED');
        }
        expect(e.fake.calls).toEqual([]);
      },

      'management routes – answer 401 UNAUTHORIZED when authorize throws': async () => {
        const e = await env('main');
        const r = await e.send('GET', '/payments', { headers: { 'x-conformance-authorize': 'throw' } });
        expectError(r, 401, 'UNAUTHORIZED');
      },

      'authorize – receives the neutral request: method, path, lowercased headers, parsed query': async () => {
        const e = await env('main');
        const r = await e.send('GET', '/payments?limit=5&status=succeeded', {
          headers: { 'X-Conformance-Probe': 'Yes' },
        });
        expect(r.status, r.text).toBe(200);
        const req = e.authorized.at(-1);
        expect(req).toBeDefined();
        const seen = req as HttpRequest;
        expect(seen.method).toBe('GET');
        expect(seen.path.replace(/\/+$/, '')).toMatch(/\/payments$/);
        expect(seen.path).not.toContain('?');
        expect(seen.headers['x-conformance-probe']).toBe('Yes');
        expect(seen.headers.authorization).toBe(`Bearer ${TOKEN}`);
        for (const header of Object.keys(seen.headers)) expect(header).toBe(header.toLowerCase());
        expect(seen.query).toMatchObject({ limit: '5', status: 'succeeded' });
      },

      // -----------------------------------------------------------------------------------------
      // Payments

      'POST /payments – answers 201 with the stored payment: string ids, integer amount': async () => {
        const e = await env('main');
        const r = await e.send('POST', '/payments', {
          body: { amount: 1999, currency: 'usd', description: 'Order #1042', metadata: { order: '1042' } },
        });
        expect(r.status, r.text).toBe(201);
        expectJson(r);
        expectPaymentShape(r.json);
        expect(r.json).toMatchObject({
          provider: 'fake',
          amount: 1999,
          currency: 'USD',
          status: 'succeeded',
          amountRefunded: 0,
          description: 'Order #1042',
          metadata: { order: '1042' },
        });
        expect(r.headers.get('idempotency-replayed')).toBeNull();
      },

      'GET /payments/:id – answers 200 with the payment as created': async () => {
        const e = await env('main');
        const created = await createPayment(e, { amount: 1234 });
        const r = await e.send('GET', `/payments/${str(created.id, 'id')}`);
        expect(r.status, r.text).toBe(200);
        expectJson(r);
        expectPaymentShape(r.json);
        expect(r.json).toEqual(created);
      },

      'GET /payments/:id – an unknown id answers 404 NOT_FOUND without asking the provider': async () => {
        const e = await env('main');
        const before = e.fake.calls.length;
        expectError(await e.send('GET', '/payments/pay_does_not_exist'), 404, 'NOT_FOUND');
        expect(e.fake.calls.length).toBe(before);
      },

      'GET /payments – answers { data, hasMore, nextCursor }, newest first, and pages with cursor': async () => {
        const e = await env('main');
        const customer = await createCustomer(e);
        const ids: string[] = [];
        for (const amount of [101, 102, 103]) {
          ids.push(str((await createPayment(e, { amount, customerId: customer.id })).id, 'id'));
        }
        const first = await e.send('GET', `/payments?customerId=${customer.id}&limit=2`);
        const page1 = list(first);
        expect(page1.map((p) => p.id)).toEqual([ids[2], ids[1]]);
        for (const p of page1) expectPaymentShape(p);
        expect(first.json.hasMore).toBe(true);
        const cursor = str(first.json.nextCursor, 'nextCursor');
        const second = await e.send(
          'GET',
          `/payments?customerId=${customer.id}&limit=2&cursor=${encodeURIComponent(cursor)}`,
        );
        expect(list(second).map((p) => p.id)).toEqual([ids[0]]);
        expect(second.json).toMatchObject({ hasMore: false, nextCursor: null });
      },

      'GET /payments – filters by status and customerId': async () => {
        const e = await env('main');
        const customer = await createCustomer(e);
        await createPayment(e, { customerId: customer.id });
        const pending = await createPayment(e, { customerId: customer.id, metadata: { fake_outcome: 'pending' } });
        const r = await e.send('GET', `/payments?customerId=${customer.id}&status=pending`);
        expect(list(r).map((p) => p.id)).toEqual([pending.id]);
        const all = await e.send('GET', `/payments?customerId=${customer.id}`);
        expect(list(all)).toHaveLength(2);
      },

      'GET /payments – a limit that is not a positive integer answers 400 VALIDATION_ERROR naming limit': async () => {
        const e = await env('main');
        for (const limit of ['abc', '0', '-1', '1.5']) {
          expectError(await e.send('GET', `/payments?limit=${limit}`), 400, 'VALIDATION_ERROR', { field: 'limit' });
        }
      },

      'POST /payments – a fractional amount answers 400 VALIDATION_ERROR naming amount': async () => {
        const e = await env('main');
        const before = chargeCalls(e);
        expectError(
          await e.send('POST', '/payments', { body: { amount: 19.99, currency: 'USD' } }),
          400,
          'VALIDATION_ERROR',
          {
            field: 'amount',
          },
        );
        expectError(
          await e.send('POST', '/payments', { body: { amount: '1999', currency: 'USD' } }),
          400,
          'VALIDATION_ERROR',
          {
            field: 'amount',
          },
        );
        expect(chargeCalls(e)).toBe(before);
      },

      'POST /payments – an unknown currency answers 400 VALIDATION_ERROR naming currency': async () => {
        const e = await env('main');
        expectError(
          await e.send('POST', '/payments', { body: { amount: 100, currency: 'XYZW' } }),
          400,
          'VALIDATION_ERROR',
          {
            field: 'currency',
          },
        );
      },

      'POST /payments – a body that is not JSON, or not an object, answers 400 VALIDATION_ERROR naming body':
        async () => {
          const e = await env('main');
          const before = chargeCalls(e);
          for (const body of [
            '{"amount": 100, "currency": ',
            'amount=100&currency=USD',
            '[1,2,3]',
            '"text"',
            '42',
            'null',
          ]) {
            expectError(await e.send('POST', '/payments', { body }), 400, 'VALIDATION_ERROR', { field: 'body' });
          }
          expectError(await e.send('POST', '/payments'), 400, 'VALIDATION_ERROR', { field: 'body' });
          expect(chargeCalls(e)).toBe(before);
        },

      'POST /payments – the provider field picks the provider': async () => {
        const e = await env('multi');
        const r = await e.send('POST', '/payments', { body: { amount: 300, currency: 'USD', provider: 'limited' } });
        expect(r.status, r.text).toBe(201);
        expect(r.json).toMatchObject({ provider: 'limited', amount: 300 });
        const listed = await e.send('GET', '/payments?provider=limited');
        expect(list(listed).map((p) => p.id)).toContain(r.json.id);
        expect(list(await e.send('GET', '/payments?provider=fake')).map((p) => p.id)).not.toContain(r.json.id);
      },

      'POST /payments – with two providers and none named answers 400 VALIDATION_ERROR naming provider': async () => {
        const e = await env('multi');
        expectError(
          await e.send('POST', '/payments', { body: { amount: 300, currency: 'USD' } }),
          400,
          'VALIDATION_ERROR',
          {
            field: 'provider',
          },
        );
      },

      'POST /payments – a provider decline answers 502 PROVIDER_ERROR': async () => {
        const e = await env('main');
        const r = await e.send('POST', '/payments', {
          body: { amount: 100, currency: 'USD', metadata: { fake_outcome: 'declined' } },
        });
        expectError(r, 502, 'PROVIDER_ERROR', { declineCode: 'card_declined' });
      },

      'POST /payments – an unreachable provider answers 503 PROVIDER_UNAVAILABLE': async () => {
        const e = await env('main');
        const r = await e.send('POST', '/payments', {
          body: { amount: 100, currency: 'USD', metadata: { fake_outcome: 'unavailable' } },
        });
        expectError(r, 503, 'PROVIDER_UNAVAILABLE');
      },

      'POST /payments – a body over bodyLimit answers 413 PAYLOAD_TOO_LARGE, one under it is accepted': async () => {
        const e = await env('small');
        const before = chargeCalls(e);
        const big = { amount: 100, currency: 'USD', description: 'x'.repeat(SMALL_LIMIT * 2) };
        expectError(await e.send('POST', '/payments', { body: big }), 413, 'PAYLOAD_TOO_LARGE');
        expect(chargeCalls(e)).toBe(before);
        const ok = await e.send('POST', '/payments', {
          body: { amount: 100, currency: 'USD', description: 'x'.repeat(100) },
        });
        expect(ok.status, ok.text).toBe(201);
      },

      // -----------------------------------------------------------------------------------------
      // Refunds, customers, checkout, subscriptions, invoices

      'POST /refunds – a partial refund answers 201 and the payment becomes partially_refunded': async () => {
        const e = await env('main');
        const payment = await createPayment(e, { amount: 2000 });
        const r = await e.send('POST', '/refunds', {
          body: { paymentId: payment.id, amount: 500, reason: 'requested_by_customer' },
        });
        expect(r.status, r.text).toBe(201);
        expect(r.json).toMatchObject({ paymentId: payment.id, amount: 500, currency: 'USD', provider: 'fake' });
        str(r.json.id, 'id');
        str(r.json.providerId, 'providerId');
        const after = await e.send('GET', `/payments/${str(payment.id, 'id')}`);
        expect(after.json).toMatchObject({ status: 'partially_refunded', amountRefunded: 500 });
      },

      'POST /refunds – without amount refunds the rest and the payment becomes refunded': async () => {
        const e = await env('main');
        const payment = await createPayment(e, { amount: 2000 });
        const partial = await e.send('POST', '/refunds', { body: { paymentId: payment.id, amount: 300 } });
        expect(partial.status, partial.text).toBe(201);
        const rest = await e.send('POST', '/refunds', { body: { paymentId: payment.id } });
        expect(rest.status, rest.text).toBe(201);
        expect(rest.json).toMatchObject({ paymentId: payment.id, amount: 1700 });
        const after = await e.send('GET', `/payments/${str(payment.id, 'id')}`);
        expect(after.json).toMatchObject({ status: 'refunded', amountRefunded: 2000 });
      },

      'POST /refunds – an unknown payment answers 404 NOT_FOUND': async () => {
        const e = await env('main');
        expectError(await e.send('POST', '/refunds', { body: { paymentId: 'pay_does_not_exist' } }), 404, 'NOT_FOUND');
      },

      'POST /customers – answers 201, and GET /customers/:id answers 200 with the same customer': async () => {
        const e = await env('main');
        const created = await createCustomer(e);
        expect(created).toMatchObject({ provider: 'fake', email: 'ada@example.com', name: 'Ada Lovelace' });
        str(created.id, 'id');
        str(created.providerId, 'providerId');
        const r = await e.send('GET', `/customers/${str(created.id, 'id')}`);
        expect(r.status, r.text).toBe(200);
        expect(r.json).toEqual(created);
        const empty = await e.send('POST', '/customers');
        expect(empty.status, empty.text).toBe(201);
        expect(empty.json).toMatchObject({ email: null, name: null });
      },

      'GET /customers/:id – an unknown id answers 404 NOT_FOUND': async () => {
        const e = await env('main');
        expectError(await e.send('GET', '/customers/cus_does_not_exist'), 404, 'NOT_FOUND');
      },

      'POST /customers – an invalid email answers 400 VALIDATION_ERROR naming email': async () => {
        const e = await env('main');
        expectError(await e.send('POST', '/customers', { body: { email: 'not-an-email' } }), 400, 'VALIDATION_ERROR', {
          field: 'email',
        });
      },

      'POST /checkout – answers 201 with the hosted checkout url': async () => {
        const e = await env('main');
        const r = await e.send('POST', '/checkout', {
          body: {
            amount: 4900,
            currency: 'EUR',
            successUrl: 'https://shop.test/ok',
            cancelUrl: 'https://shop.test/cart',
          },
        });
        expect(r.status, r.text).toBe(201);
        expect(r.json).toMatchObject({
          provider: 'fake',
          mode: 'payment',
          status: 'open',
          amount: 4900,
          currency: 'EUR',
        });
        expect(str(r.json.url, 'url')).toMatch(/^https:\/\//);
        str(r.json.id, 'id');
        const bad = await e.send('POST', '/checkout', {
          body: { amount: 4900, currency: 'EUR', successUrl: 'not a url', cancelUrl: 'https://shop.test/cart' },
        });
        expectError(bad, 400, 'VALIDATION_ERROR', { field: 'successUrl' });
      },

      'POST /subscriptions – answers 201, and POST /subscriptions/:id/cancel answers 200 canceled': async () => {
        const e = await env('main');
        const customer = await createCustomer(e);
        const r = await e.send('POST', '/subscriptions', { body: { customerId: customer.id, priceId: 'price_basic' } });
        expect(r.status, r.text).toBe(201);
        expect(r.json).toMatchObject({
          provider: 'fake',
          customerId: customer.id,
          priceId: 'price_basic',
          status: 'active',
        });
        const cancel = await e.send('POST', `/subscriptions/${str(r.json.id, 'id')}/cancel`);
        expect(cancel.status, cancel.text).toBe(200);
        expect(cancel.json).toMatchObject({ id: r.json.id, status: 'canceled' });
        str(cancel.json.canceledAt, 'canceledAt');
      },

      'POST /subscriptions/:id/cancel – atPeriodEnd keeps the subscription until the period end': async () => {
        const e = await env('main');
        const customer = await createCustomer(e);
        const sub = await e.send('POST', '/subscriptions', {
          body: { customerId: customer.id, priceId: 'price_basic' },
        });
        expect(sub.status, sub.text).toBe(201);
        const cancel = await e.send('POST', `/subscriptions/${str(sub.json.id, 'id')}/cancel`, {
          body: { atPeriodEnd: true },
        });
        expect(cancel.status, cancel.text).toBe(200);
        expect(cancel.json).toMatchObject({ id: sub.json.id, status: 'active', cancelAtPeriodEnd: true });
      },

      'POST /subscriptions/:id/cancel – an unknown id answers 404 NOT_FOUND': async () => {
        const e = await env('main');
        expectError(await e.send('POST', '/subscriptions/sub_does_not_exist/cancel', { body: {} }), 404, 'NOT_FOUND');
      },

      'POST /subscriptions – a missing priceId answers 400 VALIDATION_ERROR naming priceId': async () => {
        const e = await env('main');
        const customer = await createCustomer(e);
        expectError(
          await e.send('POST', '/subscriptions', { body: { customerId: customer.id } }),
          400,
          'VALIDATION_ERROR',
          {
            field: 'priceId',
          },
        );
      },

      "GET /invoices – answers { data, hasMore, nextCursor } with the customer's invoices": async () => {
        const e = await env('main');
        const customer = await createCustomer(e);
        const sub = await e.send('POST', '/subscriptions', {
          body: { customerId: customer.id, priceId: 'price_basic' },
        });
        expect(sub.status, sub.text).toBe(201);
        const r = await e.send('GET', `/invoices?customerId=${str(customer.id, 'id')}&limit=10`);
        const invoices = list(r);
        expect(invoices.length).toBeGreaterThanOrEqual(1);
        for (const invoice of invoices) {
          str(invoice.id, 'id');
          str(invoice.providerId, 'providerId');
          expect(Number.isSafeInteger(invoice.amount)).toBe(true);
          expect(Number.isSafeInteger(invoice.amountPaid)).toBe(true);
          expect(invoice).toMatchObject({ provider: 'fake', customerId: customer.id });
        }
        const bySubscription = await e.send('GET', `/invoices?subscriptionId=${str(sub.json.id, 'id')}`);
        expect(list(bySubscription).length).toBeGreaterThanOrEqual(1);
      },

      'capabilities – an operation the provider lacks answers 422 PROVIDER_CAPABILITY_NOT_SUPPORTED with { provider, capability }':
        async () => {
          const e = await env('multi');
          const cases: Array<[method: string, path: string, body: Json | undefined, capability: string]> = [
            ['POST', '/refunds', { provider: 'limited', paymentId: 'pay_x' }, 'refunds'],
            ['POST', '/customers', { provider: 'limited', email: 'a@b.test' }, 'customers'],
            ['GET', '/customers/cus_x?provider=limited', undefined, 'customers'],
            [
              'POST',
              '/checkout',
              {
                provider: 'limited',
                amount: 1,
                currency: 'USD',
                successUrl: 'https://a.test',
                cancelUrl: 'https://a.test',
              },
              'checkout',
            ],
            ['POST', '/subscriptions', { provider: 'limited', customerId: 'cus_x', priceId: 'p' }, 'subscriptions'],
            ['POST', '/subscriptions/sub_x/cancel', { provider: 'limited' }, 'subscriptions'],
            ['GET', '/invoices?provider=limited', undefined, 'invoices'],
            // Capability is checked before input validation.
            ['POST', '/refunds', { provider: 'limited', paymentId: 42 }, 'refunds'],
          ];
          for (const [method, path, body, capability] of cases) {
            const r = await e.send(method, path, { body });
            expectError(r, 422, 'PROVIDER_CAPABILITY_NOT_SUPPORTED', { provider: 'limited', capability });
          }
        },

      // -----------------------------------------------------------------------------------------
      // Idempotency

      'Idempotency-Key – a repeat answers the same status and byte-identical body with Idempotency-Replayed: true, and no second provider call':
        async () => {
          const e = await env('main');
          const key = `order-${Math.random().toString(36).slice(2)}`;
          const body = { amount: 4321, currency: 'USD', description: 'idempotent' };
          const first = await e.send('POST', '/payments', { body, headers: { 'Idempotency-Key': key } });
          expect(first.status, first.text).toBe(201);
          expect(first.headers.get('idempotency-replayed')).toBeNull();
          const calls = chargeCalls(e);
          const second = await e.send('POST', '/payments', { body, headers: { 'Idempotency-Key': key } });
          expect(second.status).toBe(201);
          expect(second.text).toBe(first.text);
          expect(second.headers.get('idempotency-replayed')).toBe('true');
          expectJson(second);
          expect(chargeCalls(e)).toBe(calls);
          const listed = await e.send('GET', '/payments?limit=100');
          expect(list(listed).filter((p) => p.description === 'idempotent' && p.amount === 4321)).toHaveLength(1);
        },

      'Idempotency-Key – a quoted key is the same key as the unquoted one': async () => {
        const e = await env('main');
        const key = `quoted-${Math.random().toString(36).slice(2)}`;
        const body = { amount: 555, currency: 'USD' };
        const first = await e.send('POST', '/payments', { body, headers: { 'Idempotency-Key': `"${key}"` } });
        expect(first.status, first.text).toBe(201);
        const second = await e.send('POST', '/payments', { body, headers: { 'Idempotency-Key': ` ${key} ` } });
        expect(second.status).toBe(201);
        expect(second.text).toBe(first.text);
        expect(second.headers.get('idempotency-replayed')).toBe('true');
      },

      'Idempotency-Key – the same key with a different body answers 409 IDEMPOTENCY_CONFLICT with context.key':
        async () => {
          const e = await env('main');
          const key = `conflict-${Math.random().toString(36).slice(2)}`;
          const first = await e.send('POST', '/payments', {
            body: { amount: 100, currency: 'USD' },
            headers: { 'Idempotency-Key': key },
          });
          expect(first.status, first.text).toBe(201);
          const calls = chargeCalls(e);
          const other = await e.send('POST', '/payments', {
            body: { amount: 200, currency: 'USD' },
            headers: { 'Idempotency-Key': key },
          });
          expectError(other, 409, 'IDEMPOTENCY_CONFLICT', { key });
          expect(chargeCalls(e)).toBe(calls);
        },

      'Idempotency-Key – a repeat while the first request runs answers 409 IDEMPOTENCY_IN_PROGRESS': async () => {
        const e = await env('held');
        const held = e.fake as HeldFakeProvider;
        let release = (): void => {};
        held.hold = new Promise<void>((resolve) => {
          release = resolve;
        });
        const key = `held-${Math.random().toString(36).slice(2)}`;
        const body = { amount: 999, currency: 'USD' };
        try {
          const firstReply = e.send('POST', '/payments', { body, headers: { 'Idempotency-Key': key } });
          await waitFor(() => held.entered === 1);
          const concurrent = await e.send('POST', '/payments', { body, headers: { 'Idempotency-Key': key } });
          expectError(concurrent, 409, 'IDEMPOTENCY_IN_PROGRESS');
          release();
          const first = await firstReply;
          expect(first.status, first.text).toBe(201);
          const after = await e.send('POST', '/payments', { body, headers: { 'Idempotency-Key': key } });
          expect(after.status).toBe(201);
          expect(after.text).toBe(first.text);
          expect(after.headers.get('idempotency-replayed')).toBe('true');
          expect(held.entered).toBe(1);
        } finally {
          release();
          held.hold = null;
        }
      },

      'Idempotency-Key – a provider decline is replayed with the same status and body': async () => {
        const e = await env('main');
        const key = `declined-${Math.random().toString(36).slice(2)}`;
        const body = { amount: 100, currency: 'USD', metadata: { fake_outcome: 'declined' } };
        const first = await e.send('POST', '/payments', { body, headers: { 'Idempotency-Key': key } });
        expectError(first, 502, 'PROVIDER_ERROR');
        const calls = chargeCalls(e);
        const second = await e.send('POST', '/payments', { body, headers: { 'Idempotency-Key': key } });
        expect(second.status).toBe(502);
        expect(second.text).toBe(first.text);
        expect(second.headers.get('idempotency-replayed')).toBe('true');
        expect(chargeCalls(e)).toBe(calls);
      },

      // -----------------------------------------------------------------------------------------
      // Event admin, health

      'GET /events/:id – answers the stored event; POST /events/:id/replay processes it again': async () => {
        const e = await env('main');
        const received = await e.deliver('/webhooks/fake', unknownEvent(e));
        expect(received.status, received.text).toBe(200);
        const id = str(received.json.eventId, 'eventId');
        const event = await e.send('GET', `/events/${id}`);
        expect(event.status, event.text).toBe(200);
        expect(event.json).toMatchObject({
          id,
          provider: 'fake',
          type: 'unknown',
          providerType: 'charge.dispute.created',
        });
        expect(event.json).not.toHaveProperty('payload');
        const replay = await e.send('POST', `/events/${id}/replay`);
        expect(replay.status, replay.text).toBe(200);
        expect(replay.json).toMatchObject({ id, status: 'processed' });
        expect(Number(replay.json.attempts)).toBeGreaterThan(Number(event.json.attempts));
      },

      'GET /events/:id – an unknown id answers 404 NOT_FOUND, as does its replay': async () => {
        const e = await env('main');
        expectError(await e.send('GET', '/events/wh_does_not_exist'), 404, 'NOT_FOUND');
        expectError(await e.send('POST', '/events/wh_does_not_exist/replay'), 404, 'NOT_FOUND');
      },

      'GET /health – answers 200 with storage and queue reachable, without authorization': async () => {
        const e = await env('main');
        const before = e.authorized.length;
        const r = await e.send('GET', '/health', { auth: false });
        expect(r.status, r.text).toBe(200);
        expectJson(r);
        expect(r.json).toMatchObject({
          ok: true,
          storage: { ok: true, driver: 'memory' },
          queue: { ok: true, driver: 'sync' },
        });
        expect(r.json.providers).toMatchObject({ fake: { ok: true } });
        expect(e.authorized.length).toBe(before);
      },

      'GET /health – answers 503 with the report when storage is unreachable': async () => {
        const e = await env('down');
        const r = await e.send('GET', '/health', { auth: false });
        expect(r.status, r.text).toBe(503);
        expectJson(r);
        expect(r.json).toMatchObject({ ok: false, storage: { ok: false }, queue: { ok: true } });
      },

      // -----------------------------------------------------------------------------------------
      // Routing

      'routing – an unknown path answers 404 NOT_FOUND': async () => {
        const e = await env('main');
        for (const path of [
          '/nope',
          '/payments/pay_1/extra',
          '/webhooks/fake/acme/more',
          '/subscriptions/sub_1/pause',
        ]) {
          expectError(await e.send('GET', path), 404, 'NOT_FOUND');
          expectError(await e.send('POST', path, { body: {} }), 404, 'NOT_FOUND');
        }
      },

      'routing – a known path with another method answers 404 NOT_FOUND with an Allow header': async () => {
        const e = await env('main');
        const del = await e.send('DELETE', '/payments');
        expectError(del, 404, 'NOT_FOUND');
        expect((del.headers.get('allow') ?? '').split(/,\s*/).sort()).toEqual(['GET', 'POST']);
        const put = await e.send('PUT', '/health', { body: {} });
        expectError(put, 404, 'NOT_FOUND');
        expect(put.headers.get('allow')).toBe('GET');
        const getHook = await e.send('GET', '/webhooks/fake');
        expectError(getHook, 404, 'NOT_FOUND');
        expect(getHook.headers.get('allow')).toBe('POST');
      },

      'routing – a trailing slash and a query string do not change the route': async () => {
        const e = await env('main');
        const created = await createPayment(e);
        const r = await e.send('GET', `/payments/${str(created.id, 'id')}/?expand=nothing`);
        expect(r.status, r.text).toBe(200);
        expect(r.json.id).toBe(created.id);
        expect((await e.send('GET', '/health/', { auth: false })).status).toBe(200);
        const hook = await e.deliver('/webhooks/fake/', unknownEvent(e));
        expect(hook.status, hook.text).toBe(200);
      },

      'routing – no route answers 501, and every error is JSON { error, message, context }': async () => {
        const e = await env('main');
        for (const path of ALL_PATHS) {
          for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
            const r = await e.send(method, path, {
              auth: false,
              ...(method === 'GET' || method === 'DELETE' ? {} : { body: {} }),
            });
            expect(r.status, `${method} ${path}`).not.toBe(501);
            expectJson(r);
            if (r.status >= 400) {
              expect(Object.keys(r.json).sort(), `${method} ${path}`).toEqual(['context', 'error', 'message']);
            }
          }
        }
      },

      // -----------------------------------------------------------------------------------------
      // Rate limits

      'rate limits – every limited response carries X-RateLimit-Limit, -Remaining counting down and -Reset (unix seconds)':
        async () => {
          const e = await env('limited');
          const clock = e.clock as TestClock;
          clock.advance(WINDOW_MS); // every earlier window has ended
          const reset = String(Math.ceil((clock.now().getTime() + WINDOW_MS) / 1000));
          const seen: Array<ReturnType<typeof rateHeaders>> = [];
          for (let i = 0; i < LIMITS.payments; i++) {
            const r = await e.send('POST', '/payments', { body: { amount: 100 + i, currency: 'USD' } });
            expect(r.status, r.text).toBe(201);
            seen.push(rateHeaders(r));
          }
          expect(seen).toEqual([
            [String(LIMITS.payments), '2', reset],
            [String(LIMITS.payments), '1', reset],
            [String(LIMITS.payments), '0', reset],
          ]);
          // Errors of a limited route carry them too; reads count on their own.
          const invalid = await e.send('GET', '/payments?limit=abc');
          expectError(invalid, 400, 'VALIDATION_ERROR', { field: 'limit' });
          expect(rateHeaders(invalid)).toEqual([String(LIMITS.reads), String(LIMITS.reads - 1), reset]);
          const admin = await e.send('GET', '/events/wh_does_not_exist');
          expectError(admin, 404, 'NOT_FOUND');
          expect(rateHeaders(admin)).toEqual([String(LIMITS.admin), String(LIMITS.admin - 1), reset]);
        },

      'rate limits – past the limit answers 429 RATE_LIMITED with Retry-After and runs nothing; the next window allows again':
        async () => {
          const e = await env('limited');
          const clock = e.clock as TestClock;
          clock.advance(WINDOW_MS);
          for (let i = 0; i < LIMITS.payments; i++) {
            expect((await e.send('POST', '/customers', { body: {} })).status).toBe(201);
          }
          clock.advance(20_000);
          const calls = e.fake.calls.length;
          const refused = await e.send('POST', '/payments', { body: { amount: 100, currency: 'USD' } });
          expectError(refused, 429, 'RATE_LIMITED', {
            group: 'payments',
            limit: LIMITS.payments,
            retryAfterSeconds: 40,
          });
          expect(refused.headers.get('retry-after')).toBe('40');
          expect(rateHeaders(refused).slice(0, 2)).toEqual([String(LIMITS.payments), '0']);
          expect(e.fake.calls.length).toBe(calls);
          clock.advance(40_000);
          const again = await e.send('POST', '/payments', { body: { amount: 100, currency: 'USD' } });
          expect(again.status, again.text).toBe(201);
          expect(rateHeaders(again).slice(0, 2)).toEqual([String(LIMITS.payments), '2']);
        },

      'rate limits – callers are counted apart, and a request refused with 401 is neither counted nor limited':
        async () => {
          const e = await env('limited');
          const clock = e.clock as TestClock;
          clock.advance(WINDOW_MS);
          for (let i = 0; i <= LIMITS.reads; i++) await e.send('GET', '/payments');
          expectError(await e.send('GET', '/payments'), 429, 'RATE_LIMITED', { group: 'reads' });
          const other = await e.send('GET', '/payments', {
            auth: false,
            headers: { authorization: `Bearer ${OTHER_TOKEN}` },
          });
          expect(other.status, other.text).toBe(200);
          expect(rateHeaders(other).slice(0, 2)).toEqual([String(LIMITS.reads), String(LIMITS.reads - 1)]);
          for (let i = 0; i < LIMITS.reads * 3; i++) {
            const denied = await e.send('GET', '/payments', { auth: false });
            expectError(denied, 401, 'UNAUTHORIZED');
            expect(rateHeaders(denied)).toEqual([null, null, null]);
          }
          const otherAgain = await e.send('GET', '/payments', {
            auth: false,
            headers: { authorization: `Bearer ${OTHER_TOKEN}` },
          });
          expect(rateHeaders(otherAgain)[1]).toBe(String(LIMITS.reads - 2));
        },

      'rate limits – webhooks and /health are never limited': async () => {
        const e = await env('limited');
        for (let i = 0; i < LIMITS.payments * 4; i++) {
          const hook = await e.deliver('/webhooks/fake', unknownEvent(e));
          expect(hook.status, hook.text).toBe(200);
          expect(rateHeaders(hook)).toEqual([null, null, null]);
          const health = await e.send('GET', '/health', { auth: false });
          expect(health.status, health.text).toBe(200);
          expect(rateHeaders(health)).toEqual([null, null, null]);
        }
      },

      'rate limits – by default 60 payment-creating requests, 300 reads and 60 admin requests a minute per caller':
        async () => {
          const e = await env('defaults');
          const created = await e.send('POST', '/payments', { body: { amount: 100, currency: 'USD' } });
          expect(created.status, created.text).toBe(201);
          expect(rateHeaders(created).slice(0, 2)).toEqual(['60', '59']);
          expect(rateHeaders(await e.send('GET', '/payments')).slice(0, 2)).toEqual(['300', '299']);
          expect(rateHeaders(await e.send('GET', '/events/wh_does_not_exist')).slice(0, 2)).toEqual(['60', '59']);
        },

      // -----------------------------------------------------------------------------------------
      // Circuit breaker

      'circuit breaker – provider outages open it: 503 PROVIDER_UNAVAILABLE with Retry-After without calling the provider; after openMs a success closes it':
        async () => {
          const e = await env('breaker');
          const clock = e.clock as TestClock;
          const down = { amount: 100, currency: 'USD', metadata: { fake_outcome: 'unavailable' } };
          const ok = { amount: 100, currency: 'USD' };
          for (let i = 0; i < BREAKER.failureThreshold; i++) {
            const r = await e.send('POST', '/payments', { body: down });
            expectError(r, 503, 'PROVIDER_UNAVAILABLE');
            expect(r.json.context).not.toMatchObject({ reason: 'circuit_open' });
          }
          const calls = chargeCalls(e);
          const open = await e.send('POST', '/payments', { body: ok });
          expectError(open, 503, 'PROVIDER_UNAVAILABLE', {
            provider: 'fake',
            reason: 'circuit_open',
            retryAfterSeconds: BREAKER.openMs / 1000,
          });
          expect(open.headers.get('retry-after')).toBe(String(BREAKER.openMs / 1000));
          expect(chargeCalls(e)).toBe(calls);
          expect((await e.send('GET', '/health', { auth: false })).status).toBe(200);

          clock.advance(4_000);
          expect((await e.send('POST', '/payments', { body: ok })).headers.get('retry-after')).toBe('6');
          // Half-open: the trial fails, so it opens again for openMs.
          clock.advance(6_000);
          const trial = await e.send('POST', '/payments', { body: down });
          expectError(trial, 503, 'PROVIDER_UNAVAILABLE');
          expect(trial.json.context).not.toMatchObject({ reason: 'circuit_open' });
          const reopened = await e.send('POST', '/payments', { body: ok });
          expectError(reopened, 503, 'PROVIDER_UNAVAILABLE', { reason: 'circuit_open' });
          expect(reopened.headers.get('retry-after')).toBe(String(BREAKER.openMs / 1000));
          // After openMs a successful trial closes it.
          clock.advance(BREAKER.openMs);
          const closed = await e.send('POST', '/payments', { body: ok });
          expect(closed.status, closed.text).toBe(201);
          expect((await e.send('POST', '/payments', { body: ok })).status).toBe(201);
          expect(chargeCalls(e)).toBe(calls + 3);
        },

      // -----------------------------------------------------------------------------------------
      // Outbound webhook endpoints

      'POST /endpoints – answers 201 with the secret once; GET /endpoints and GET /endpoints/:id never show it':
        async () => {
          const e = await env('outbound');
          const receiver = await startReceiver();
          try {
            const r = await e.send('POST', '/endpoints', {
              body: { url: `${receiver.url}/hooks`, events: ['payment.*'], description: 'orders service' },
            });
            expect(r.status, r.text).toBe(201);
            expectJson(r);
            expect(r.json).toMatchObject({
              url: `${receiver.url}/hooks`,
              events: ['payment.*'],
              scheme: 'standard-webhooks',
              description: 'orders service',
              status: 'enabled',
              tenantId: null,
            });
            expect(str(r.json.secret, 'secret')).toMatch(/^whsec_/);
            expectIsoDate(r.json.createdAt, 'createdAt');
            expectIsoDate(r.json.updatedAt, 'updatedAt');
            const id = str(r.json.id, 'id');
            const { secret: _secret, ...view } = r.json;
            const got = await e.send('GET', `/endpoints/${id}`);
            expect(got.status, got.text).toBe(200);
            expect(got.json).toEqual(view);
            const listed = list(await e.send('GET', '/endpoints?limit=100'));
            expect(listed.map((ep) => ep.id)).toContain(id);
            for (const ep of listed) expect(ep).not.toHaveProperty('secret');
            expect(list(await e.send('GET', '/endpoints?status=disabled')).map((ep) => ep.id)).not.toContain(id);
          } finally {
            await receiver.close();
          }
        },

      'PATCH /endpoints/:id – changes the given fields; rotate-secret and disable answer 200': async () => {
        const e = await env('outbound');
        const created = await e.send('POST', '/endpoints', {
          body: { url: 'http://127.0.0.1:9/hooks', events: ['*'], scheme: 'payable-v1' },
        });
        expect(created.status, created.text).toBe(201);
        const id = str(created.json.id, 'id');
        const patched = await e.send('PATCH', `/endpoints/${id}`, {
          body: { events: ['payment.succeeded', 'refund.*'], description: 'patched' },
        });
        expect(patched.status, patched.text).toBe(200);
        expect(patched.json).toMatchObject({
          id,
          events: ['payment.succeeded', 'refund.*'],
          description: 'patched',
          scheme: 'payable-v1',
        });
        const rotated = await e.send('POST', `/endpoints/${id}/rotate-secret`, { body: { graceMs: 60_000 } });
        expect(rotated.status, rotated.text).toBe(200);
        expect(str(rotated.json.secret, 'secret')).not.toBe(created.json.secret);
        expectIsoDate(rotated.json.previousSecretExpiresAt, 'previousSecretExpiresAt');
        const disabled = await e.send('POST', `/endpoints/${id}/disable`);
        expect(disabled.status, disabled.text).toBe(200);
        expect(disabled.json).toMatchObject({ id, status: 'disabled' });
        expect((await e.send('GET', `/endpoints/${id}`)).json).toMatchObject({ status: 'disabled' });
        const enabled = await e.send('PATCH', `/endpoints/${id}`, { body: { enabled: true } });
        expect(enabled.json).toMatchObject({ id, status: 'enabled' });
      },

      'endpoint routes – an unknown field answers 400 VALIDATION_ERROR naming it; an unknown id answers 404 NOT_FOUND':
        async () => {
          const e = await env('outbound');
          const created = await e.send('POST', '/endpoints', { body: { url: 'http://127.0.0.1:9/x', events: ['*'] } });
          expect(created.status, created.text).toBe(201);
          const id = str(created.json.id, 'id');
          expectError(
            await e.send('POST', '/endpoints', { body: { url: 'http://127.0.0.1:9/x', events: ['*'], secret: 's' } }),
            400,
            'VALIDATION_ERROR',
            { field: 'secret' },
          );
          expectError(await e.send('PATCH', `/endpoints/${id}`, { body: { colour: 'red' } }), 400, 'VALIDATION_ERROR', {
            field: 'colour',
          });
          expectError(
            await e.send('POST', `/endpoints/${id}/rotate-secret`, { body: { grace: 5 } }),
            400,
            'VALIDATION_ERROR',
            { field: 'grace' },
          );
          expectError(await e.send('GET', '/endpoints?status=bogus'), 400, 'VALIDATION_ERROR', { field: 'status' });
          expectError(await e.send('GET', '/endpoints/ep_does_not_exist'), 404, 'NOT_FOUND');
          expectError(
            await e.send('PATCH', '/endpoints/ep_does_not_exist', { body: { description: 'x' } }),
            404,
            'NOT_FOUND',
          );
          expectError(await e.send('GET', '/deliveries/dlv_does_not_exist'), 404, 'NOT_FOUND');
          expectError(await e.send('POST', '/deliveries/dlv_does_not_exist/redeliver'), 404, 'NOT_FOUND');
        },

      'GET /endpoints/:id/deliveries, GET /deliveries/:id, POST /deliveries/:id/redeliver – the delivery log over HTTP':
        async () => {
          const e = await env('outbound');
          const receiver = await startReceiver();
          try {
            const created = await e.send('POST', '/endpoints', {
              body: { url: `${receiver.url}/hooks`, events: ['payment.succeeded'] },
            });
            expect(created.status, created.text).toBe(201);
            const id = str(created.json.id, 'id');
            const payment = await createPayment(e, { amount: 4200 });
            await e.payable.outbox().dispatchOnce();
            await waitFor(() => receiver.bodies.some((b) => b.includes(str(payment.id, 'id'))));
            const deliveries = list(await e.send('GET', `/endpoints/${id}/deliveries`));
            expect(deliveries.length).toBeGreaterThanOrEqual(1);
            const delivery = deliveries[0] as Json;
            expect(delivery).toMatchObject({ endpointId: id, eventType: 'payment.succeeded', status: 'delivered' });
            const detail = await e.send('GET', `/deliveries/${str(delivery.id, 'id')}`);
            expect(detail.status, detail.text).toBe(200);
            const log = detail.json.log as Json[];
            expect(Array.isArray(log) && log.length >= 1).toBe(true);
            expect(log[0]).toMatchObject({ attempt: 1, responseStatus: 200 });
            expectIsoDate((log[0] as Json).startedAt, 'startedAt');
            const filtered = list(await e.send('GET', `/endpoints/${id}/deliveries?status=failed`));
            expect(filtered.map((d) => d.id)).not.toContain(delivery.id);
            const again = await e.send('POST', `/deliveries/${str(delivery.id, 'id')}/redeliver`);
            expect(again.status, again.text).toBe(200);
            expect(again.json).toMatchObject({ id: delivery.id, status: 'pending' });
          } finally {
            await receiver.close();
          }
        },

      'prefix – routes live under the prefix, not at the root': async () => {
        const e = await env('prefixed');
        const health = await e.send('GET', '/health', { auth: false });
        expect(health.status, health.text).toBe(200);
        const root = new URL(e.base);
        root.pathname = '/health';
        const outside = await fetch(root);
        expect(outside.status).toBe(404);
        const created = await e.send('POST', '/payments', { body: { amount: 100, currency: 'USD' } });
        expect(created.status, created.text).toBe(201);
        const got = await e.send('GET', `/payments/${str(created.json.id, 'id')}`);
        expect(got.json).toEqual(created.json);
      },
    };

    for (const [title, test] of Object.entries(tests)) {
      if (title in disabled) continue;
      it(title, test);
    }

    if (Object.keys(disabled).length > 0) {
      it('conformance – every disabled test names a test of this suite and gives a reason', () => {
        for (const [title, reason] of Object.entries(disabled)) {
          expect(Object.keys(tests), `disabled title "${title}"`).toContain(title);
          expect(reason.trim(), `reason for "${title}"`).not.toBe('');
        }
      });
    }

    options.extra?.({ serve, token: TOKEN });
  });
}
