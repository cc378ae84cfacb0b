import { caught, chargeInputWith } from './support/provider-test.js';
import { createHmac } from 'node:crypto';
import type { NormalizedEvent, ProviderChargeInput, ProviderContext } from '@payable/core';
import {
  OPENNODE_BASE_URLS,
  OPENNODE_CAPABILITIES,
  OPENNODE_CHARGE_STATUS,
  OPENNODE_EVENT_TYPES,
  OpenNodeProvider,
  type OpenNodeProviderOptions,
} from '@payable/lightning';
import { type ProviderSandbox, providerConformance, waitFor } from '@payable/testing';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { OpenNodeSimulator } from './simulators/opennode-simulator.js';
import type { SimDelivery } from './simulators/sim-server.js';
import { hangingFetch, refusedUrl, startPayableApp } from './support/payable-app.js';

const sim = await OpenNodeSimulator.start();
const refused = await refusedUrl();
afterAll(() => sim.close());

const ctx: ProviderContext = { idempotencyKey: null, tenantId: null };

function provider(options: Partial<OpenNodeProviderOptions> = {}): OpenNodeProvider {
  return new OpenNodeProvider({ apiKey: sim.apiKey, environment: 'development', baseUrl: sim.url, ...options });
}

function chargeInput(overrides: Partial<ProviderChargeInput> = {}): ProviderChargeInput {
  return chargeInputWith({ amount: 5000, currency: 'BTC' }, overrides);
}

function verify(p: OpenNodeProvider, delivery: SimDelivery, extra: { secret?: string } = {}): Promise<NormalizedEvent> {
  return p.verifyWebhook({
    payload: Buffer.from(delivery.rawBody, 'utf8'),
    headers: delivery.headers,
    now: new Date(),
    ...extra,
  });
}

function lastChargeRequest(): Record<string, unknown> {
  return JSON.parse(sim.server.requestsTo('/v1/charges', 'POST').at(-1)?.body ?? '{}') as Record<string, unknown>;
}

function sandbox(currency: string, amount: number): ProviderSandbox {
  return {
    secret: sim.apiKey, // hashed_order is keyed with the API key
    toleranceSeconds: null, // OpenNode signs no timestamp
    currency,
    amount,
    settle: async (id) => {
      await sim.pay(id);
    },
    signedEvent: (_type, id) => sim.callback(id, { status: 'paid' }),
    sign: (rawBody, options = {}) => sim.sign(rawBody, options.secret ?? sim.apiKey),
  };
}

const NO_HEADER = {
  'verifyWebhook – rejects a delivery without the signature header':
    'OpenNode signs in the body (hashed_order), not in a header; a body without hashed_order is refused (tested below)',
};

// ---- the shared provider conformance suite, against the OpenNode simulator ---------------------
providerConformance('opennode', () => provider(), sandbox('BTC', 5000), { disabled: NO_HEADER });
providerConformance('opennode (USD charges)', () => provider(), sandbox('USD', 1250), { disabled: NO_HEADER });

describe('OpenNodeProvider', () => {
  describe('construction', () => {
    it('constructor – opennode, no idempotency, hashed_order, custodial settlement proof', () => {
      const p = provider();
      expect(p).toMatchObject({
        name: 'opennode',
        idempotency: 'none',
        signatureHeader: 'hashed_order',
        settlementProof: 'none',
        environment: 'development',
      });
      expect([...p.capabilities]).toEqual([...OPENNODE_CAPABILITIES]);
      expect([...p.capabilities].sort()).toEqual(['charges', 'lightning', 'webhooks']);
      expect(OPENNODE_BASE_URLS).toEqual({
        development: 'https://dev-api.opennode.com',
        live: 'https://api.opennode.com',
      });
    });

    it('constructor – a missing apiKey or an unknown environment is VALIDATION_ERROR', async () => {
      expect((await caught(async () => provider({ apiKey: '' }))).context.field).toBe('apiKey');
      const env = await caught(async () => provider({ environment: 'sandbox' as 'live' }));
      expect(env.context.field).toBe('environment');
    });
  });

  describe('charges', () => {
    it('charge – BTC in satoshis without a currency, with description, order_id, callback_url and ttl', async () => {
      const p = provider({ callbackUrl: 'https://shop.example.test/payable/webhooks/opennode' });
      const payment = await p.charge(
        chargeInput({ amount: 5000, description: 'Order 7', metadata: { order_id: 'A-7' }, expiresIn: 90 }),
        ctx,
      );
      expect(lastChargeRequest()).toEqual({
        amount: 5000,
        description: 'Order 7',
        metadata: { order_id: 'A-7' },
        order_id: 'A-7',
        callback_url: 'https://shop.example.test/payable/webhooks/opennode',
        ttl: 2,
      });
      expect(sim.server.requestsTo('/v1/charges', 'POST').at(-1)?.headers.authorization).toBe(sim.apiKey);
      expect(payment).toMatchObject({
        status: 'pending',
        amount: 5000,
        currency: 'BTC',
        description: 'Order 7',
        metadata: { order_id: 'A-7' },
        lightning: {
          paymentHash: sim.chargeOf(payment.providerId).paymentHash,
          amountMsat: '5000000',
          amountPaidMsat: null,
          preimage: null,
          quote: null,
        },
      });
      expect(payment.lightning?.paymentRequest).toMatch(/^lntb50u1/);
      expect(payment.nextActionUrl).toBe(`https://dev-checkout.opennode.com/${payment.providerId}`);
    });

    it('charge – fiat is sent as its exact decimal and read back from source_fiat_value', async () => {
      const payment = await provider().charge(chargeInput({ amount: 1999, currency: 'USD' }), ctx);
      const raw = sim.server.requestsTo('/v1/charges', 'POST').at(-1)?.body ?? '';
      expect(raw).toContain('"amount":19.99');
      expect(lastChargeRequest().currency).toBe('USD');
      expect(payment).toMatchObject({ amount: 1999, currency: 'USD' });
    });

    it('charge – a descriptionHash is refused with VALIDATION_ERROR', async () => {
      const error = await caught(() => provider().charge(chargeInput({ descriptionHash: 'cd'.repeat(32) }), ctx));
      expect(error.code).toBe('VALIDATION_ERROR');
      expect(error.context.field).toBe('descriptionHash');
    });

    it('getPayment – each OpenNode status maps to its Payable status', async () => {
      expect(OPENNODE_CHARGE_STATUS).toEqual({
        unpaid: 'pending',
        processing: 'processing',
        paid: 'succeeded',
        underpaid: 'underpaid',
        expired: 'expired',
        refunded: 'refunded',
      });
      const p = provider();
      for (const [status, expected] of Object.entries(OPENNODE_CHARGE_STATUS)) {
        const payment = await p.charge(chargeInput(), ctx);
        sim.setStatus(payment.providerId, status as keyof typeof OPENNODE_CHARGE_STATUS);
        expect((await p.getPayment(payment.providerId, ctx)).status, status).toBe(expected);
      }
    });

    it('getPayment – paid records the invoice amount paid; underpaid what arrived', async () => {
      const p = provider();
      const paid = await p.charge(chargeInput({ amount: 2000 }), ctx);
      await sim.pay(paid.providerId);
      expect((await p.getPayment(paid.providerId, ctx)).lightning?.amountPaidMsat).toBe('2000000');
      const short = await p.charge(chargeInput({ amount: 2000 }), ctx);
      await sim.pay(short.providerId, { status: 'underpaid', missingSats: 500 });
      const read = await p.getPayment(short.providerId, ctx);
      expect(read.status).toBe('underpaid');
      expect(read.lightning?.amountPaidMsat).toBe('1500000');
    });
  });

  describe('webhooks', () => {
    it('verifyWebhook – a form-encoded callback is verified by its hashed_order and takes the API status', async () => {
      const p = provider();
      const payment = await p.charge(chargeInput(), ctx);
      await sim.pay(payment.providerId);
      const delivery = sim.callback(payment.providerId);
      expect(delivery.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(new URLSearchParams(delivery.rawBody).get('hashed_order')).toBe(
        createHmac('sha256', sim.apiKey).update(payment.providerId).digest('hex'),
      );
      const event = await verify(p, delivery);
      expect(event).toMatchObject({
        id: `${payment.providerId}:paid`,
        type: 'payment.succeeded',
        providerType: 'charge.paid',
        refetch: true,
        object: { kind: 'payment', providerId: payment.providerId, status: 'succeeded', amount: 5000 },
      });
    });

    it('verifyWebhook – the event id is stable per (charge, status): a redelivery dedupes, a new status does not', async () => {
      const p = provider();
      const payment = await p.charge(chargeInput(), ctx);
      await sim.pay(payment.providerId, { status: 'processing' });
      const first = await verify(p, sim.callback(payment.providerId));
      const again = await verify(p, sim.callback(payment.providerId));
      expect(again.id).toBe(first.id);
      expect(first.type).toBe('payment.processing');
      await sim.pay(payment.providerId, { status: 'paid' });
      const paid = await verify(p, sim.callback(payment.providerId));
      expect(paid.id).not.toBe(first.id);
      expect(paid.type).toBe('payment.succeeded');
    });

    it('verifyWebhook – a callback claiming paid for an unpaid charge states the API status and credits nothing', async () => {
      const p = provider();
      const payment = await p.charge(chargeInput(), ctx);
      const event = await verify(p, sim.callback(payment.providerId, { status: 'paid' }));
      expect(event).toMatchObject({
        id: `${payment.providerId}:unpaid`,
        type: 'unknown',
        object: { status: 'pending' },
      });
    });

    it('verifyWebhook – maps each callback status', async () => {
      expect(OPENNODE_EVENT_TYPES).toEqual({
        paid: 'payment.succeeded',
        processing: 'payment.processing',
        underpaid: 'payment.underpaid',
        expired: 'payment.expired',
        refunded: 'refund.succeeded',
      });
      const p = provider();
      for (const [status, type] of Object.entries({ ...OPENNODE_EVENT_TYPES, unpaid: 'unknown' })) {
        const payment = await p.charge(chargeInput(), ctx);
        sim.setStatus(payment.providerId, status as keyof typeof OPENNODE_CHARGE_STATUS);
        expect((await verify(p, sim.callback(payment.providerId))).type, status).toBe(type);
      }
    });

    it('verifyWebhook – hashed_order of another charge id, another key, a tampered id or none is refused', async () => {
      const p = provider();
      const a = await p.charge(chargeInput(), ctx);
      const b = await p.charge(chargeInput(), ctx);
      const forA = new URLSearchParams(sim.callback(a.providerId).rawBody);
      const forB = new URLSearchParams(sim.callback(b.providerId).rawBody);
      // B's body carrying A's (genuine) hashed_order.
      forB.set('hashed_order', forA.get('hashed_order') ?? '');
      const swapped = { rawBody: forB.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
      const otherKey = sim.callback(a.providerId, { secret: 'another_api_key' });
      const none = new URLSearchParams(sim.callback(a.providerId).rawBody);
      none.delete('hashed_order');
      for (const delivery of [swapped, otherKey, { ...swapped, rawBody: none.toString() }]) {
        const error = await caught(() => verify(p, delivery));
        expect(error.code).toBe('INVALID_WEBHOOK_SIGNATURE');
      }
      const noId = new URLSearchParams(sim.callback(a.providerId).rawBody);
      noId.delete('id');
      expect((await caught(() => verify(p, { ...swapped, rawBody: noId.toString() }))).code).toBe(
        'INVALID_WEBHOOK_PAYLOAD',
      );
    });

    it('verifyWebhook – any change to the charge id breaks hashed_order (property)', async () => {
      const p = provider();
      const payment = await p.charge(chargeInput(), ctx);
      const genuine = new URLSearchParams(sim.callback(payment.providerId).rawBody);
      await fc.assert(
        fc.asyncProperty(fc.string({ minLength: 1, maxLength: 40 }), async (other) => {
          fc.pre(other !== payment.providerId);
          const forged = new URLSearchParams(genuine);
          forged.set('id', other);
          const error = await caught(() => verify(p, { rawBody: forged.toString(), headers: {} }));
          expect(error.code).toBe('INVALID_WEBHOOK_SIGNATURE');
        }),
        { numRuns: 60 },
      );
    });

    it('verifyWebhook – when the API is down at receipt, the callback status is kept and refetch decides', async () => {
      const p = provider();
      const payment = await p.charge(chargeInput(), ctx);
      sim.failNext({ status: 503, method: 'GET', path: '/v2/charge/' });
      const event = await verify(p, sim.callback(payment.providerId, { status: 'paid' }));
      expect(event).toMatchObject({
        id: `${payment.providerId}:paid:unconfirmed`,
        type: 'payment.succeeded',
        refetch: true,
        object: { kind: 'payment', providerId: payment.providerId },
      });
    });
  });

  describe('errors', () => {
    it('errors – an unknown charge is NOT_FOUND; a wrong key is PROVIDER_ERROR naming the environment', async () => {
      expect((await caught(() => provider().getPayment('no-such-charge', ctx))).code).toBe('NOT_FOUND');
      const auth = await caught(() => provider({ apiKey: 'live_key_on_dev' }).charge(chargeInput(), ctx));
      expect(auth.code).toBe('PROVIDER_ERROR');
      expect(auth.context.reason).toBe('authentication');
      expect(auth.message).toContain('dev-api.opennode.com');
      expect(auth.message).not.toContain('live_key_on_dev');
    });

    it('errors – 400 is PROVIDER_ERROR with the message; 403 names the Invoices permission', async () => {
      const bad = await caught(() => provider().charge(chargeInput({ currency: 'XAU', amount: 100 }), ctx));
      expect(bad.code).toBe('PROVIDER_ERROR');
      expect(bad.message).toContain('Currency XAU is not supported');
      sim.failNext({ status: 403, body: { success: false, message: 'Forbidden' } });
      const forbidden = await caught(() => provider().charge(chargeInput(), ctx));
      expect(forbidden.code).toBe('PROVIDER_ERROR');
      expect(forbidden.context.reason).toBe('permission');
      expect(forbidden.message).toContain('Invoices');
    });

    it('errors – 429, 503, a refused connection and a timeout are PROVIDER_UNAVAILABLE', async () => {
      sim.failNext({ status: 429, headers: { 'retry-after': '12' }, body: { message: 'Too many requests' } });
      const limited = await caught(() => provider().charge(chargeInput(), ctx));
      expect(limited).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', httpStatus: 503 });
      expect(limited.context).toMatchObject({ reason: 'rate_limited', retryAfter: 12 });
      sim.failNext({ status: 503, body: { message: 'Service unavailable' } });
      expect((await caught(() => provider().getPayment('x', ctx))).code).toBe('PROVIDER_UNAVAILABLE');
      const down = await caught(() => provider({ baseUrl: refused }).charge(chargeInput(), ctx));
      expect(down.code).toBe('PROVIDER_UNAVAILABLE');
      expect(down.context.reason).toBe('connection');
      const slow = await caught(() => provider({ fetch: hangingFetch, timeoutMs: 30 }).charge(chargeInput(), ctx));
      expect(slow.context.reason).toBe('timeout');
    });
  });
});

describe('OpenNode end to end: createPayable + createNodeListener + MemoryStorageDriver', () => {
  it('a paid charge calls back /webhooks/opennode and the payment reads succeeded', async () => {
    const node = await OpenNodeSimulator.start();
    const app = await startPayableApp((url) => ({
      opennode: new OpenNodeProvider({
        apiKey: node.apiKey,
        environment: 'development',
        baseUrl: node.url,
        callbackUrl: `${url}/webhooks/opennode`,
      }),
    }));
    try {
      const payment = await app.payable.charge({ amount: 8000, currency: 'BTC', description: 'Order 9' });
      expect(payment.status).toBe('pending');
      const result = await node.pay(payment.providerId);
      expect(result?.status).toBe(200);
      await waitFor(async () => (await app.payable.getPayment(payment.id)).status === 'succeeded');
      const paid = await app.payable.getPayment(payment.id);
      expect(paid.lightning?.paymentHash).toBe(node.chargeOf(payment.providerId).paymentHash);
      expect(paid.lightning?.amountPaidMsat).toBe('8000000');
    } finally {
      await app.close();
      await node.close();
    }
  });

  it('refetch: a genuine hashed_order claiming paid for an unpaid charge leaves the payment pending', async () => {
    const node = await OpenNodeSimulator.start();
    const opennode = new OpenNodeProvider({ apiKey: node.apiKey, environment: 'development', baseUrl: node.url });
    const app = await startPayableApp({ opennode });
    try {
      const payment = await app.payable.charge({ amount: 8000, currency: 'BTC' });
      // The API is down when the forged callback arrives: the event keeps the claimed status...
      node.failNext({ status: 503, method: 'GET', path: '/v2/charge/', times: 1 });
      const forged = node.callback(payment.providerId, { status: 'paid' });
      const res = await fetch(`${app.url}/webhooks/opennode`, {
        method: 'POST',
        headers: forged.headers,
        body: forged.rawBody,
      });
      expect(res.status).toBe(200);
      const events = (await app.payable.webhooks.list({ limit: 10 })).data;
      expect(events.map((e) => [e.providerEventId, e.type])).toEqual([
        [`${payment.providerId}:paid:unconfirmed`, 'payment.succeeded'],
      ]);
      await waitFor(async () =>
        (await app.payable.webhooks.list({ limit: 10 })).data.every((e) => e.status === 'processed'),
      );
      // ...and the re-fetch before applying reads unpaid: nothing is credited.
      expect(node.server.requestsTo(`/v2/charge/${payment.providerId}`, 'GET').length).toBeGreaterThanOrEqual(2);
      expect((await app.payable.getPayment(payment.id)).status).toBe('pending');

      // With the API up, the same forgery is recorded as what the API says (unpaid) at once.
      const again = await fetch(`${app.url}/webhooks/opennode`, {
        method: 'POST',
        headers: forged.headers,
        body: forged.rawBody,
      });
      expect(again.status).toBe(200);
      expect((await app.payable.getPayment(payment.id)).status).toBe('pending');

      // The genuine settlement later is a new event (the unconfirmed forgery did not take its id) and credits.
      await node.pay(payment.providerId);
      const genuine = node.callback(payment.providerId);
      await fetch(`${app.url}/webhooks/opennode`, { method: 'POST', headers: genuine.headers, body: genuine.rawBody });
      await waitFor(async () => (await app.payable.getPayment(payment.id)).status === 'succeeded');
    } finally {
      await app.close();
      await node.close();
    }
  });
});
