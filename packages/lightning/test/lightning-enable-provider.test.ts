import { caught, chargeInputWith } from './support/provider-test.js';
import { createHmac } from 'node:crypto';
import type { NormalizedEvent, ProviderChargeInput, ProviderContext } from '@payable/core';
import {
  LIGHTNING_ENABLE_CAPABILITIES,
  LIGHTNING_ENABLE_EVENT_TYPES,
  LIGHTNING_ENABLE_PAYMENT_STATUS,
  LightningEnableProvider,
  type LightningEnableProviderOptions,
} from '@payable/lightning';
import { type ProviderSandbox, providerConformance, waitFor } from '@payable/testing';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { LightningEnableSimulator } from './simulators/lightning-enable-simulator.js';
import type { SimDelivery } from './simulators/sim-server.js';
import { hangingFetch, refusedUrl, startPayableApp } from './support/payable-app.js';

const sim = await LightningEnableSimulator.start();
const refused = await refusedUrl();
afterAll(() => sim.close());

const ctx: ProviderContext = { idempotencyKey: null, tenantId: null };

function provider(options: Partial<LightningEnableProviderOptions> = {}): LightningEnableProvider {
  return new LightningEnableProvider({
    apiKey: sim.apiKey,
    webhookSecret: sim.webhookSecret,
    baseUrl: sim.url,
    ...options,
  });
}

function chargeInput(overrides: Partial<ProviderChargeInput> = {}): ProviderChargeInput {
  return chargeInputWith({ amount: 4999, currency: 'USD' }, overrides);
}

function verify(
  p: LightningEnableProvider,
  delivery: SimDelivery,
  extra: { secret?: string; now?: Date } = {},
): Promise<NormalizedEvent> {
  return p.verifyWebhook({
    payload: Buffer.from(delivery.rawBody, 'utf8'),
    headers: delivery.headers,
    now: extra.now ?? new Date(),
    ...(extra.secret === undefined ? {} : { secret: extra.secret }),
  });
}

function sandbox(currency: string, amount: number, toleranceSeconds = 300): ProviderSandbox {
  return {
    secret: sim.webhookSecret,
    toleranceSeconds,
    currency,
    amount,
    settle: async (id) => {
      await sim.pay(id);
    },
    signedEvent: (_type, id) => sim.delivery(id, { status: 'paid' }),
    sign: (rawBody, options = {}) => sim.sign(rawBody, options),
  };
}

// ---- the shared provider conformance suite, against the Lightning Enable simulator -------------
providerConformance('lightning-enable', () => provider(), sandbox('USD', 4999));
providerConformance(
  'lightning-enable (BTC, 60 s tolerance)',
  () => provider({ toleranceSeconds: 60 }),
  sandbox('BTC', 2100, 60),
);

describe('LightningEnableProvider', () => {
  describe('construction', () => {
    it('constructor – lightning-enable, no idempotency, its signature header, 300 s, custodial proof', () => {
      const p = provider();
      expect(p).toMatchObject({
        name: 'lightning-enable',
        idempotency: 'none',
        signatureHeader: 'x-lightningenable-signature',
        toleranceSeconds: 300,
        settlementProof: 'none',
      });
      expect([...p.capabilities]).toEqual([...LIGHTNING_ENABLE_CAPABILITIES]);
      expect([...p.capabilities].sort()).toEqual(['charges', 'lightning', 'webhooks']);
    });

    it('constructor – missing keys or a bad tolerance are VALIDATION_ERROR naming the field', async () => {
      expect((await caught(async () => provider({ apiKey: ' ' }))).context.field).toBe('apiKey');
      expect((await caught(async () => provider({ webhookSecret: '' }))).context.field).toBe('webhookSecret');
      expect((await caught(async () => provider({ toleranceSeconds: 0 }))).context.field).toBe('toleranceSeconds');
    });
  });

  describe('payments', () => {
    it('charge – posts orderId, the exact decimal amount, currency, description and metadata with X-API-Key', async () => {
      const payment = await provider().charge(
        chargeInput({ description: 'Premium', metadata: { orderId: 'ORDER-12345', userId: 'u_1' } }),
        ctx,
      );
      const request = sim.server.requestsTo('/api/payments', 'POST').at(-1);
      expect(request?.headers['x-api-key']).toBe(sim.apiKey);
      expect(request?.body).toContain('"amount":49.99');
      expect(JSON.parse(request?.body ?? '{}')).toEqual({
        orderId: 'ORDER-12345',
        amount: 49.99,
        currency: 'USD',
        description: 'Premium',
        metadata: { orderId: 'ORDER-12345', userId: 'u_1' },
      });
      expect(payment).toMatchObject({
        status: 'pending',
        amount: 4999,
        currency: 'USD',
        lightning: {
          paymentHash: sim.paymentOf(payment.providerId).paymentHash,
          amountPaidMsat: null,
          preimage: null,
          quote: null,
        },
      });
      // 49.99 USD at 40,000 USD/BTC: 124,975 sats.
      expect(payment.lightning?.amountMsat).toBe('124975000');
      expect(payment.providerId).toMatch(/^inv_/);
      expect(payment.expiresAt).toBeInstanceOf(Date);
    });

    it('charge – without metadata.orderId a unique orderId is generated; BTC is sent in BTC, read in sats', async () => {
      const p = provider();
      await p.charge(chargeInput(), ctx);
      await p.charge(chargeInput(), ctx);
      const [a, b] = sim.server
        .requestsTo('/api/payments', 'POST')
        .slice(-2)
        .map((r) => JSON.parse(r.body).orderId);
      expect(a).toMatch(/^payable-/);
      expect(a).not.toBe(b);
      const btc = await p.charge(chargeInput({ amount: 2100, currency: 'BTC' }), ctx);
      expect(sim.server.requestsTo('/api/payments', 'POST').at(-1)?.body).toContain('"amount":0.000021');
      expect(btc).toMatchObject({ amount: 2100, currency: 'BTC', lightning: { amountMsat: '2100000' } });
    });

    it('getPayment – reads the status; paid keeps the amount in minor units', async () => {
      const p = provider();
      const payment = await p.charge(chargeInput({ amount: 2500 }), ctx);
      await sim.pay(payment.providerId, 'paid');
      expect(await p.getPayment(payment.providerId, ctx)).toMatchObject({ status: 'succeeded', amount: 2500 });
      expect(LIGHTNING_ENABLE_PAYMENT_STATUS).toMatchObject({
        paid: 'succeeded',
        processing: 'processing',
        expired: 'expired',
        underpaid: 'underpaid',
        refunded: 'refunded',
        unpaid: 'pending',
      });
    });

    it('charge – a descriptionHash is refused with VALIDATION_ERROR', async () => {
      const error = await caught(() => provider().charge(chargeInput({ descriptionHash: 'ef'.repeat(32) }), ctx));
      expect(error).toMatchObject({ code: 'VALIDATION_ERROR', context: { field: 'descriptionHash' } });
    });
  });

  describe('webhooks', () => {
    it('verifyWebhook – maps the seed payload and statuses; the event id is <invoiceId>:<status>', async () => {
      const p = provider();
      const payment = await p.charge(chargeInput({ metadata: { orderId: 'ORDER-9', customerId: 'cust_123' } }), ctx);
      expect(LIGHTNING_ENABLE_EVENT_TYPES).toEqual({
        paid: 'payment.succeeded',
        processing: 'payment.processing',
        expired: 'payment.expired',
        underpaid: 'payment.underpaid',
        refunded: 'refund.succeeded',
      });
      const statuses = { ...LIGHTNING_ENABLE_EVENT_TYPES, pending: 'unknown' };
      for (const [status, type] of Object.entries(statuses)) {
        const event = await verify(p, sim.delivery(payment.providerId, { status }));
        expect(event.type, status).toBe(type);
        expect(event.id).toBe(`${payment.providerId}:${status}`);
        expect(event.providerType).toBe(`payment.${status}`);
        if (type === 'unknown') {
          expect(event.object).toBeNull();
        } else {
          expect(event.refetch).toBeUndefined();
          expect(event.object).toMatchObject({
            kind: 'payment',
            providerId: payment.providerId,
            amount: 4999,
            currency: 'USD',
            metadata: { orderId: 'ORDER-9', customerId: 'cust_123' },
          });
        }
      }
      const payload = JSON.parse(sim.delivery(payment.providerId, { status: 'paid' }).rawBody);
      expect(Object.keys(payload).sort()).toEqual(
        [
          'amount',
          'amountSats',
          'currency',
          'invoiceId',
          'metadata',
          'openNodeChargeId',
          'orderId',
          'paidAt',
          'status',
        ].sort(),
      );
    });

    it('verifyWebhook – an amount written with its scale (25.00) is read exactly', async () => {
      const body =
        '{"invoiceId":"inv_x","orderId":"O","status":"paid","amount":25.00,"currency":"USD","amountSats":62500}';
      const event = await verify(provider(), sim.sign(body));
      expect(event.object).toMatchObject({ amount: 2500, currency: 'USD' });
    });

    it('verifyWebhook – tampered body, wrong secret, missing or malformed header are refused', async () => {
      const p = provider();
      const payment = await p.charge(chargeInput(), ctx);
      const good = sim.delivery(payment.providerId, { status: 'paid' });
      const cases: SimDelivery[] = [
        { ...good, rawBody: good.rawBody.replace('"paid"', '"paid" ') },
        sim.sign(good.rawBody, { secret: 'whsec_wrong' }),
        { ...good, headers: {} },
        { ...good, headers: { 'x-webhook-signature': good.headers['x-lightningenable-signature'] as string } },
        { ...good, headers: { 'x-lightningenable-signature': 'v1=abc' } },
        { ...good, headers: { 'x-lightningenable-signature': `t=${Math.floor(Date.now() / 1000)}` } },
      ];
      for (const delivery of cases) {
        const error = await caught(() => verify(p, delivery));
        expect(error.code).toBe('INVALID_WEBHOOK_SIGNATURE');
        expect(error.context.provider).toBe('lightning-enable');
      }
    });

    it('verifyWebhook – any of several v1 signatures may match (secret rotation)', async () => {
      const p = provider();
      const payment = await p.charge(chargeInput(), ctx);
      const body = sim.delivery(payment.providerId, { status: 'paid' }).rawBody;
      const rotated = sim.sign(body, { secret: 'whsec_next', extraSecrets: [sim.webhookSecret] });
      expect((rotated.headers['x-lightningenable-signature'] as string).match(/v1=/g)).toHaveLength(2);
      expect((await verify(p, rotated)).type).toBe('payment.succeeded');
      const neither = sim.sign(body, { secret: 'whsec_a', extraSecrets: ['whsec_b'] });
      expect((await caught(() => verify(p, neither))).code).toBe('INVALID_WEBHOOK_SIGNATURE');
    });

    it('verifyWebhook – the five-minute tolerance holds in both directions', async () => {
      const p = provider();
      const now = new Date('2026-03-01T12:00:00Z');
      const body = '{"invoiceId":"inv_t","status":"paid","amount":1,"currency":"USD"}';
      const at = (seconds: number) => sim.sign(body, { at: new Date(now.getTime() + seconds * 1000) });
      for (const offset of [-300, -299, 0, 299, 300]) {
        expect((await verify(p, at(offset), { now })).type, String(offset)).toBe('payment.succeeded');
      }
      for (const offset of [-301, 301, -3600, 86_400]) {
        const error = await caught(() => verify(p, at(offset), { now }));
        expect(error.code, String(offset)).toBe('INVALID_WEBHOOK_SIGNATURE');
        expect(error.context.reason).toBe('timestamp_outside_tolerance');
      }
    });

    it('verifyWebhook – the signed time is the event time; the signature covers "<t>.<raw body>" (property)', async () => {
      const p = provider();
      const now = new Date();
      await fc.assert(
        fc.asyncProperty(
          fc.record({ invoiceId: fc.stringMatching(/^inv_[a-z0-9]{1,12}$/), note: fc.string() }),
          fc.integer({ min: -299, max: 299 }),
          async (fields, offset) => {
            const body = JSON.stringify({ ...fields, status: 'paid', amount: 1, currency: 'USD' });
            const t = Math.floor(now.getTime() / 1000) + offset;
            const v1 = createHmac('sha256', sim.webhookSecret).update(`${t}.${body}`).digest('hex');
            const event = await verify(
              p,
              { rawBody: body, headers: { 'x-lightningenable-signature': `t=${t},v1=${v1}` } },
              { now },
            );
            expect(event.createdAt.getTime()).toBe(t * 1000);
            const unsignedT = `t=${t + 1},v1=${v1}`;
            const error = await caught(() =>
              verify(p, { rawBody: body, headers: { 'x-lightningenable-signature': unsignedT } }, { now }),
            );
            expect(error.code).toBe('INVALID_WEBHOOK_SIGNATURE');
          },
        ),
        { numRuns: 50 },
      );
    });
  });

  describe('errors', () => {
    it('errors – 401 (API key required) is PROVIDER_ERROR; 404 is NOT_FOUND', async () => {
      const auth = await caught(() => provider({ apiKey: 'le_merchant_wrong' }).charge(chargeInput(), ctx));
      expect(auth).toMatchObject({ code: 'PROVIDER_ERROR', context: { reason: 'authentication', statusCode: 401 } });
      expect(auth.message).toContain('X-API-Key');
      expect(auth.message).not.toContain('le_merchant_wrong');
      expect((await caught(() => provider().getPayment('inv_missing', ctx))).code).toBe('NOT_FOUND');
    });

    it('errors – 403 account and subscription errors are PROVIDER_ERROR with the action required', async () => {
      sim.failNext({
        status: 403,
        body: {
          error: 'Subscription not active',
          message:
            'Your subscription payment is past due. Please update your payment method to continue using the service.',
          subscription_status: 'past_due',
          action_required: 'update_payment_method',
        },
      });
      const error = await caught(() => provider().charge(chargeInput(), ctx));
      expect(error.code).toBe('PROVIDER_ERROR');
      expect(error.context).toMatchObject({
        reason: 'forbidden',
        actionRequired: 'update_payment_method',
        subscription_status: 'past_due',
      });
      expect(error.message).toContain('Stripe customer portal');
    });

    it('errors – 429 (RATE_LIMIT_EXCEEDED) is PROVIDER_UNAVAILABLE with retryAfter from the header or body', async () => {
      const body = {
        error: 'Too Many Requests',
        message: 'Rate limit exceeded',
        code: 'RATE_LIMIT_EXCEEDED',
        details: { limit: 10, window: '1 minute', retryAfter: 45 },
      };
      sim.failNext({ status: 429, body, headers: { 'retry-after': '45', 'x-ratelimit-remaining': '0' } });
      const withHeader = await caught(() => provider().charge(chargeInput(), ctx));
      expect(withHeader).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', httpStatus: 503 });
      expect(withHeader.context).toMatchObject({
        reason: 'rate_limited',
        retryAfter: 45,
        providerCode: 'RATE_LIMIT_EXCEEDED',
      });
      sim.failNext({ status: 429, body: { ...body, details: { retryAfter: 7 } } });
      expect((await caught(() => provider().charge(chargeInput(), ctx))).context.retryAfter).toBe(7);
    });

    it('errors – 502 (OpenNode API error), 503 (circuit breaker), refused and timeout are PROVIDER_UNAVAILABLE', async () => {
      sim.failNext({ status: 502, body: { error: 'OpenNode API error', details: 'Invalid API key' } });
      expect((await caught(() => provider().charge(chargeInput(), ctx))).code).toBe('PROVIDER_UNAVAILABLE');
      sim.failNext({ status: 503, body: { error: 'Service Unavailable', message: 'Circuit breaker open' } });
      const breaker = await caught(() => provider().getPayment('inv_any', ctx));
      expect(breaker.code).toBe('PROVIDER_UNAVAILABLE');
      expect(breaker.message).toMatch(/retry later/);
      const down = await caught(() => provider({ baseUrl: refused }).charge(chargeInput(), ctx));
      expect(down.context.reason).toBe('connection');
      const slow = await caught(() => provider({ fetch: hangingFetch, timeoutMs: 30 }).charge(chargeInput(), ctx));
      expect(slow).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', context: { reason: 'timeout' } });
    });

    it('errors – 400 validation is PROVIDER_ERROR with the message', async () => {
      const error = await caught(() => provider().charge(chargeInput({ currency: 'JPY', amount: 500 }), ctx));
      expect(error.code).toBe('PROVIDER_ERROR');
      expect(error.message).toContain('Unsupported currency: JPY');
    });
  });
});

describe('Lightning Enable end to end: createPayable + createNodeListener + MemoryStorageDriver', () => {
  it('a paid invoice reaches /webhooks/lightning-enable signed, the payment reads succeeded, redelivery dedupes', async () => {
    const le = await LightningEnableSimulator.start();
    const app = await startPayableApp({
      'lightning-enable': new LightningEnableProvider({
        apiKey: le.apiKey,
        webhookSecret: le.webhookSecret,
        baseUrl: le.url,
      }),
    });
    try {
      // Configure the merchant's webhook URL through the API, as the docs show.
      const put = await fetch(`${le.url}/api/merchant/webhook-url`, {
        method: 'PUT',
        headers: { 'x-api-key': le.apiKey, 'content-type': 'application/json' },
        body: JSON.stringify({ webhookUrl: `${app.url}/webhooks/lightning-enable` }),
      });
      expect(put.status).toBe(200);
      const payment = await app.payable.charge({ amount: 3000, currency: 'BTC', metadata: { orderId: 'ORDER-E2E' } });
      expect(payment.lightning?.paymentHash).toBe(le.paymentOf(payment.providerId).paymentHash);
      const delivered = await le.pay(payment.providerId, 'paid');
      expect(delivered?.status).toBe(200);
      await waitFor(async () => (await app.payable.getPayment(payment.id)).status === 'succeeded');
      // The same event again (Lightning Enable retries), freshly signed: a duplicate.
      const retry = le.delivery(payment.providerId);
      const res = await fetch(`${app.url}/webhooks/lightning-enable`, {
        method: 'POST',
        headers: retry.headers,
        body: retry.rawBody,
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { duplicate: boolean }).duplicate).toBe(true);
      // A stale signature is refused with 400.
      const stale = le.sign(retry.rawBody, { at: new Date(Date.now() - 600_000) });
      const refusedRes = await fetch(`${app.url}/webhooks/lightning-enable`, {
        method: 'POST',
        headers: stale.headers,
        body: stale.rawBody,
      });
      expect(refusedRes.status).toBe(400);
      expect(((await refusedRes.json()) as { error: string }).error).toBe('INVALID_WEBHOOK_SIGNATURE');
    } finally {
      await app.close();
      await le.close();
    }
  });
});
