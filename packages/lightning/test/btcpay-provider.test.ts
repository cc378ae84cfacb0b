import { caught, chargeInputWith } from './support/provider-test.js';
import type { NormalizedEvent, ProviderChargeInput, ProviderContext } from '@payable/core';
import {
  BTCPAY_CAPABILITIES,
  BTCPAY_EVENT_TYPES,
  BtcpayProvider,
  type BtcpayProviderOptions,
  btcpayInvoiceStatus,
  decodeInvoice,
} from '@payable/lightning';
import { type ProviderSandbox, providerConformance, waitFor } from '@payable/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { BtcpaySimulator } from './simulators/btcpay-simulator.js';
import type { SimDelivery } from './simulators/sim-server.js';
import { hangingFetch, refusedUrl, startPayableApp } from './support/payable-app.js';

const SECRET = 'btcpay_webhook_secret';
const sim = await BtcpaySimulator.start();
afterAll(() => sim.close());

const ctx: ProviderContext = { idempotencyKey: null, tenantId: null };

function provider(options: Partial<BtcpayProviderOptions> = {}): BtcpayProvider {
  return new BtcpayProvider({
    url: sim.url,
    apiKey: sim.apiKey,
    storeId: sim.storeId,
    webhookSecret: SECRET,
    ...options,
  });
}

function chargeInput(overrides: Partial<ProviderChargeInput> = {}): ProviderChargeInput {
  return chargeInputWith({ amount: 5000, currency: 'BTC' }, overrides);
}

function verify(p: BtcpayProvider, delivery: SimDelivery, extra: { secret?: string } = {}): Promise<NormalizedEvent> {
  return p.verifyWebhook({
    payload: Buffer.from(delivery.rawBody, 'utf8'),
    headers: delivery.headers,
    now: new Date(),
    ...extra,
  });
}

function sandbox(currency: string, amount: number): ProviderSandbox {
  return {
    secret: SECRET,
    toleranceSeconds: null, // BTCPay signs no timestamp
    currency,
    amount,
    settle: async (id) => {
      await sim.pay(id);
    },
    signedEvent: (_type, id) => sim.delivery('InvoiceSettled', id, { secret: SECRET }),
    sign: (rawBody, options = {}) => sim.sign(rawBody, options.secret ?? SECRET),
  };
}

// ---- the shared provider conformance suite, against the BTCPay simulator ----------------------
providerConformance('btcpay', () => provider(), sandbox('BTC', 5000));
providerConformance('btcpay (USD invoices)', () => provider(), sandbox('USD', 2500));

describe('BtcpayProvider', () => {
  describe('construction', () => {
    it('constructor – btcpay, no idempotency, btcpay-sig, charges + lightning + webhooks', () => {
      const p = provider();
      expect(p).toMatchObject({ name: 'btcpay', idempotency: 'none', signatureHeader: 'btcpay-sig' });
      expect([...p.capabilities]).toEqual([...BTCPAY_CAPABILITIES]);
      expect([...p.capabilities].sort()).toEqual(['charges', 'lightning', 'webhooks']);
    });

    it('constructor – a missing url, apiKey, storeId or webhookSecret is VALIDATION_ERROR naming it', async () => {
      for (const field of ['url', 'apiKey', 'storeId', 'webhookSecret'] as const) {
        const error = await caught(async () => provider({ [field]: ' ' }));
        expect(error.code).toBe('VALIDATION_ERROR');
        expect(error.context.field).toBe(field);
      }
    });
  });

  describe('charges', () => {
    it('charge – creates a Lightning-only invoice with the exact decimal amount and reads its BOLT-11', async () => {
      const payment = await provider().charge(
        chargeInput({ amount: 5000, description: 'Order 42', metadata: { order: '42' }, expiresIn: 900 }),
        ctx,
      );
      const sent = JSON.parse(sim.server.requestsTo('/invoices', 'POST').at(-1)?.body ?? '{}');
      expect(sent).toEqual({
        amount: '0.00005000',
        currency: 'BTC',
        metadata: { order: '42', itemDesc: 'Order 42' },
        checkout: { paymentMethods: ['BTC-LN'], expirationMinutes: 15 },
      });
      expect(sim.server.requestsTo('/invoices', 'POST').at(-1)?.headers.authorization).toBe(`token ${sim.apiKey}`);
      const secrets = sim.secretsOf(payment.providerId);
      expect(payment).toMatchObject({
        status: 'pending',
        amount: 5000,
        currency: 'BTC',
        description: 'Order 42',
        metadata: { order: '42' },
        lightning: {
          paymentRequest: secrets.paymentRequest,
          paymentHash: secrets.paymentHash,
          amountMsat: '5000000',
          amountPaidMsat: null,
          preimage: null,
          quote: null,
        },
      });
      const decoded = decodeInvoice(secrets.paymentRequest);
      expect(decoded.expiry).toBe(900);
      expect(payment.expiresAt?.getTime()).toBe((decoded.timestamp + 900) * 1000);
      expect(payment.nextActionUrl).toBe(`${sim.url}/i/${payment.providerId}`);
    });

    it('charge – fiat amounts travel as decimal strings and come back as the same minor units', async () => {
      const p = provider();
      const usd = await p.charge(chargeInput({ amount: 1999, currency: 'USD' }), ctx);
      expect(JSON.parse(sim.server.requestsTo('/invoices', 'POST').at(-1)?.body ?? '{}').amount).toBe('19.99');
      expect(usd).toMatchObject({ amount: 1999, currency: 'USD' });
      // 19.99 USD at 50,000 USD/BTC is 39,980 sats.
      expect(usd.lightning?.amountMsat).toBe('39980000');
      const jpyLike = await p.charge(chargeInput({ amount: 7, currency: 'EUR' }), ctx);
      expect(JSON.parse(sim.server.requestsTo('/invoices', 'POST').at(-1)?.body ?? '{}').amount).toBe('0.07');
      expect(jpyLike.amount).toBe(7);
    });

    it('charge – a store with lazy payment methods gets the Lightning method activated', async () => {
      const lazy = await BtcpaySimulator.start({ lazyPaymentMethods: true });
      try {
        const p = new BtcpayProvider({
          url: lazy.url,
          apiKey: lazy.apiKey,
          storeId: lazy.storeId,
          webhookSecret: SECRET,
        });
        const payment = await p.charge(chargeInput(), ctx);
        expect(lazy.server.requestsTo('/payment-methods/BTC-LN/activate', 'POST')).toHaveLength(1);
        expect(payment.lightning?.paymentHash).toBe(lazy.secretsOf(payment.providerId).paymentHash);
      } finally {
        await lazy.close();
      }
    });

    it('getPayment – paid in full reads succeeded with the amount paid in msat', async () => {
      const p = provider();
      const payment = await p.charge(chargeInput({ amount: 12_345 }), ctx);
      await sim.pay(payment.providerId);
      const read = await p.getPayment(payment.providerId, ctx);
      expect(read.status).toBe('succeeded');
      expect(read.lightning?.amountPaidMsat).toBe('12345000');
      // BTCPay 1.8+ reports the preimage: it is passed on as the receipt.
      expect(read.lightning?.preimage).toBe(sim.secretsOf(payment.providerId).preimage);
    });

    it('charge – a descriptionHash is refused with VALIDATION_ERROR before any request', async () => {
      const before = sim.server.requests.length;
      const error = await caught(() => provider().charge(chargeInput({ descriptionHash: 'ab'.repeat(32) }), ctx));
      expect(error.code).toBe('VALIDATION_ERROR');
      expect(error.context).toMatchObject({ field: 'descriptionHash', reason: 'not_supported' });
      expect(sim.server.requests.length).toBe(before);
    });

    it('settlementProof – none by default, preimage with requirePreimage', () => {
      expect(provider().settlementProof).toBe('none');
      expect(provider({ requirePreimage: true }).settlementProof).toBe('preimage');
    });

    it('getPayment – an overpayment is succeeded and records what arrived', async () => {
      const p = provider();
      const payment = await p.charge(chargeInput({ amount: 1000 }), ctx);
      await sim.pay(payment.providerId, { amountMsat: 1_500_123n });
      const read = await p.getPayment(payment.providerId, ctx);
      expect(read.status).toBe('succeeded');
      expect(read.lightning?.amountPaidMsat).toBe('1500123');
    });

    it('getPayment – partly paid then expired is underpaid; expired unpaid is expired; invalid is failed', async () => {
      const p = provider();
      const partly = await p.charge(chargeInput({ amount: 1000 }), ctx);
      await sim.pay(partly.providerId, { amountMsat: 400_000n });
      expect((await p.getPayment(partly.providerId, ctx)).status).toBe('pending');
      await sim.expire(partly.providerId);
      expect((await p.getPayment(partly.providerId, ctx)).status).toBe('underpaid');
      const unpaid = await p.charge(chargeInput(), ctx);
      await sim.expire(unpaid.providerId);
      expect((await p.getPayment(unpaid.providerId, ctx)).status).toBe('expired');
      const invalid = await p.charge(chargeInput(), ctx);
      await sim.invalidate(invalid.providerId);
      expect((await p.getPayment(invalid.providerId, ctx)).status).toBe('failed');
    });

    it('btcpayInvoiceStatus – maps every Greenfield status', () => {
      expect(btcpayInvoiceStatus('New', 'None')).toBe('pending');
      expect(btcpayInvoiceStatus('New', 'PaidPartial')).toBe('pending');
      expect(btcpayInvoiceStatus('Processing', 'None')).toBe('processing');
      expect(btcpayInvoiceStatus('Settled', 'PaidOver')).toBe('succeeded');
      expect(btcpayInvoiceStatus('Settled', 'Marked')).toBe('succeeded');
      expect(btcpayInvoiceStatus('Expired', 'PaidPartial')).toBe('underpaid');
      expect(btcpayInvoiceStatus('Expired', 'None')).toBe('expired');
      expect(btcpayInvoiceStatus('Invalid', 'Marked')).toBe('failed');
      expect(btcpayInvoiceStatus('SomethingNew', null)).toBe('pending');
    });
  });

  describe('webhooks', () => {
    it('verifyWebhook – maps each invoice event, always asking for a re-fetch', async () => {
      const p = provider();
      const payment = await p.charge(chargeInput(), ctx);
      const expected: Record<string, string> = {
        ...BTCPAY_EVENT_TYPES,
        InvoiceCreated: 'unknown',
        PayoutCreated: 'unknown',
      };
      expect(BTCPAY_EVENT_TYPES).toEqual({
        InvoiceSettled: 'payment.succeeded',
        InvoiceExpired: 'payment.expired',
        InvoiceInvalid: 'payment.failed',
        InvoiceReceivedPayment: 'payment.processing',
        InvoiceProcessing: 'payment.processing',
        InvoicePaymentSettled: 'payment.processing',
      });
      for (const [btcpayType, type] of Object.entries(expected)) {
        const event = await verify(p, sim.delivery(btcpayType, payment.providerId, { secret: SECRET }));
        expect(event.type, btcpayType).toBe(type);
        expect(event.providerType).toBe(btcpayType);
        if (type === 'unknown') {
          expect(event.object).toBeNull();
        } else {
          expect(event.refetch).toBe(true);
          expect(event.object).toMatchObject({ kind: 'payment', providerId: payment.providerId });
        }
      }
    });

    it('verifyWebhook – InvoiceExpired with partiallyPaid is payment.underpaid', async () => {
      const body = JSON.parse(sim.delivery('InvoiceExpired', 'inv_x', { secret: SECRET }).rawBody);
      const event = await verify(provider(), sim.sign(JSON.stringify({ ...body, partiallyPaid: true }), SECRET));
      expect(event.type).toBe('payment.underpaid');
    });

    it('verifyWebhook – the event id is originalDeliveryId, so a redelivery dedupes; else deliveryId', async () => {
      const p = provider();
      const original = sim.delivery('InvoiceSettled', 'inv_1', { secret: SECRET });
      const redelivered = sim.redelivery(original, SECRET);
      expect(JSON.parse(redelivered.rawBody).deliveryId).not.toBe(JSON.parse(original.rawBody).deliveryId);
      const first = await verify(p, original);
      const again = await verify(p, redelivered);
      expect(first.id).toBe(JSON.parse(original.rawBody).originalDeliveryId);
      expect(again.id).toBe(first.id);
      const { originalDeliveryId: _o, ...rest } = JSON.parse(original.rawBody);
      const bare = await verify(p, sim.sign(JSON.stringify(rest), SECRET));
      expect(bare.id).toBe(rest.deliveryId);
      expect(bare.createdAt.getTime()).toBe(rest.timestamp * 1000);
    });

    it('verifyWebhook – tampered body, wrong secret, missing header or prefix are INVALID_WEBHOOK_SIGNATURE', async () => {
      const p = provider();
      const good = sim.delivery('InvoiceSettled', 'inv_2', { secret: SECRET });
      const tampered = { ...good, rawBody: good.rawBody.replace('InvoiceSettled', 'InvoiceExpired') };
      const bare = { ...good, headers: { 'btcpay-sig': (good.headers['btcpay-sig'] as string).slice(7) } };
      for (const delivery of [tampered, sim.sign(good.rawBody, 'another_secret'), { ...good, headers: {} }, bare]) {
        const error = await caught(() => verify(p, delivery));
        expect(error.code).toBe('INVALID_WEBHOOK_SIGNATURE');
        expect(error.context.provider).toBe('btcpay');
      }
      const upper = {
        ...good,
        headers: { 'btcpay-sig': `sha256=${(good.headers['btcpay-sig'] as string).slice(7).toUpperCase()}` },
      };
      expect((await verify(p, upper)).type).toBe('payment.succeeded');
    });

    it('verifyWebhook – an event of another store is unknown and touches no payment', async () => {
      const body = JSON.parse(sim.delivery('InvoiceSettled', 'inv_3', { secret: SECRET }).rawBody);
      const event = await verify(provider(), sim.sign(JSON.stringify({ ...body, storeId: 'OtherStore' }), SECRET));
      expect(event).toMatchObject({ type: 'unknown', object: null });
    });
  });

  describe('errors', () => {
    it('errors – a key without btcpay.store.cancreateinvoice is PROVIDER_ERROR naming the permission', async () => {
      const limited = await BtcpaySimulator.start({ apiKeys: { view_only: ['btcpay.store.canviewinvoices'] } });
      try {
        const p = new BtcpayProvider({
          url: limited.url,
          apiKey: 'view_only',
          storeId: limited.storeId,
          webhookSecret: SECRET,
        });
        const error = await caught(() => p.charge(chargeInput(), ctx));
        expect(error.code).toBe('PROVIDER_ERROR');
        expect(error.httpStatus).toBe(502);
        expect(error.context).toMatchObject({
          provider: 'btcpay',
          reason: 'missing_permission',
          missingPermission: 'btcpay.store.cancreateinvoice',
          statusCode: 403,
          storeId: limited.storeId,
        });
        expect(error.message).toContain('btcpay.store.cancreateinvoice');
        expect(error.message).toContain('btcpay.store.cancreatelightninginvoice');
        expect(error.message).toContain('API Keys');
      } finally {
        await limited.close();
      }
    });

    it('errors – a 403 without a body still names the permissions to give', async () => {
      sim.failNext({ status: 403, path: '/invoices' });
      const error = await caught(() => provider().charge(chargeInput(), ctx));
      expect(error.code).toBe('PROVIDER_ERROR');
      expect(error.message).toContain('btcpay.store.cancreateinvoice');
    });

    it('errors – an unknown invoice is NOT_FOUND; a wrong key is PROVIDER_ERROR (authentication)', async () => {
      expect((await caught(() => provider().getPayment('NoSuchInvoice123', ctx))).code).toBe('NOT_FOUND');
      const auth = await caught(() => provider({ apiKey: 'wrong' }).charge(chargeInput(), ctx));
      expect(auth.code).toBe('PROVIDER_ERROR');
      expect(auth.context.reason).toBe('authentication');
      expect(auth.message).not.toContain('wrong');
    });

    it('errors – a 422 carries the validation messages', async () => {
      const error = await caught(() => provider().charge(chargeInput({ currency: 'XAU', amount: 100 }), ctx));
      expect(error.code).toBe('PROVIDER_ERROR');
      expect(error.context.errors).toEqual([{ path: 'currency', message: 'Invalid currency' }]);
    });

    it('errors – 429 and 503 are PROVIDER_UNAVAILABLE with retry advice', async () => {
      sim.failNext({
        status: 429,
        headers: { 'retry-after': '30' },
        body: { code: 'rate-limited', message: 'slow down' },
      });
      const limited = await caught(() => provider().charge(chargeInput(), ctx));
      expect(limited.code).toBe('PROVIDER_UNAVAILABLE');
      expect(limited.httpStatus).toBe(503);
      expect(limited.context).toMatchObject({ reason: 'rate_limited', retryAfter: 30 });
      sim.failNext({ status: 503, body: { code: 'service-unavailable', message: 'The node is syncing' } });
      const down = await caught(() => provider().charge(chargeInput(), ctx));
      expect(down.code).toBe('PROVIDER_UNAVAILABLE');
      expect(down.message).toMatch(/retry later/);
    });

    it('errors – a refused connection and a timeout are PROVIDER_UNAVAILABLE', async () => {
      const refused = await caught(() => provider({ url: refusedUrl_ }).charge(chargeInput(), ctx));
      expect(refused.code).toBe('PROVIDER_UNAVAILABLE');
      expect(refused.context.reason).toBe('connection');
      const slow = await caught(() => provider({ fetch: hangingFetch, timeoutMs: 30 }).getPayment('x', ctx));
      expect(slow.code).toBe('PROVIDER_UNAVAILABLE');
      expect(slow.context.reason).toBe('timeout');
    });
  });
});

const refusedUrl_ = await refusedUrl();

describe('BTCPay end to end: createPayable + createNodeListener + MemoryStorageDriver', () => {
  it('a paid invoice reaches /webhooks/btcpay signed, and the payment reads succeeded once', async () => {
    const store = await BtcpaySimulator.start();
    const btcpay = new BtcpayProvider({
      url: store.url,
      apiKey: store.apiKey,
      storeId: store.storeId,
      webhookSecret: SECRET,
    });
    const app = await startPayableApp({ btcpay });
    try {
      store.addWebhook(`${app.url}/webhooks/btcpay`, SECRET);
      const res = await fetch(`${app.url}/payments`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${app.token}`,
          'content-type': 'application/json',
          'idempotency-key': 'order-1',
        },
        body: JSON.stringify({ amount: 21_000, currency: 'BTC', description: 'Order 1' }),
      });
      expect(res.status).toBe(201);
      const created = (await res.json()) as {
        id: string;
        providerId: string;
        status: string;
        lightning: { paymentHash: string };
      };
      expect(created.status).toBe('pending');
      expect(created.lightning.paymentHash).toBe(store.secretsOf(created.providerId).paymentHash);

      const sent = await store.pay(created.providerId);
      expect(sent.map((d) => JSON.parse(d.rawBody).type)).toEqual([
        'InvoiceReceivedPayment',
        'InvoicePaymentSettled',
        'InvoiceSettled',
      ]);
      expect(sent.every((d) => d.status === 200)).toBe(true);
      await waitFor(async () => (await app.payable.getPayment(created.id)).status === 'succeeded');
      const paid = await app.payable.getPayment(created.id);
      expect(paid.amount).toBe(21_000);
      expect(paid.lightning?.amountPaidMsat).toBe('21000000');
      expect(paid.lightning?.preimage).toBe(store.secretsOf(created.providerId).preimage);

      // A redelivery of the settlement is a duplicate.
      const redelivered = store.redelivery(sent[2] as SimDelivery, SECRET);
      const again = await fetch(`${app.url}/webhooks/btcpay`, {
        method: 'POST',
        headers: redelivered.headers,
        body: redelivered.rawBody,
      });
      expect(again.status).toBe(200);
      const events = await app.payable.webhooks.list({ limit: 100 });
      expect(events.data.filter((e) => e.providerType === 'InvoiceSettled')).toHaveLength(1);
    } finally {
      await app.close();
      await store.close();
    }
  });
});

describe('BTCPay end to end: settlements Payable refuses', () => {
  async function settleThrough(
    store: BtcpaySimulator,
    options: Partial<BtcpayProviderOptions>,
    before: (invoiceId: string) => void,
  ): Promise<{ status: string; lastErrors: (string | null)[] }> {
    const btcpay = new BtcpayProvider({
      url: store.url,
      apiKey: store.apiKey,
      storeId: store.storeId,
      webhookSecret: SECRET,
      ...options,
    });
    const app = await startPayableApp({ btcpay });
    try {
      store.addWebhook(`${app.url}/webhooks/btcpay`, SECRET);
      const payment = await app.payable.charge({ amount: 3000, currency: 'BTC' });
      before(payment.providerId);
      const sent = await store.pay(payment.providerId);
      expect(sent.every((d) => d.status === 200)).toBe(true);
      await waitFor(async () =>
        (await app.payable.webhooks.list({ limit: 10 })).data.every((e) => e.status !== 'pending'),
      );
      const events = (await app.payable.webhooks.list({ limit: 10 })).data;
      return {
        status: (await app.payable.getPayment(payment.id)).status,
        lastErrors: events.filter((e) => e.providerType === 'InvoiceSettled').map((e) => e.lastError),
      };
    } finally {
      await app.close();
    }
  }

  it('a preimage that does not hash to the payment hash is never credited', async () => {
    const store = await BtcpaySimulator.start();
    try {
      const result = await settleThrough(store, {}, (id) => store.forgePreimage(id, 'ab'.repeat(32)));
      expect(result.status).toBe('pending');
      expect(result.lastErrors[0]).toMatch(/preimage/);
    } finally {
      await store.close();
    }
  });

  it('requirePreimage: a store that reports no preimage is not credited', async () => {
    const store = await BtcpaySimulator.start({ reportPreimage: false });
    try {
      const result = await settleThrough(store, { requirePreimage: true }, () => undefined);
      expect(result.status).toBe('pending');
      expect(result.lastErrors[0]).toMatch(/no preimage/);
    } finally {
      await store.close();
    }
  });

  it('without requirePreimage, a store that reports no preimage is credited on its signed word', async () => {
    const store = await BtcpaySimulator.start({ reportPreimage: false });
    try {
      const result = await settleThrough(store, {}, () => undefined);
      expect(result.status).toBe('succeeded');
    } finally {
      await store.close();
    }
  });
});
