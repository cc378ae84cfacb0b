import { createServer } from 'node:net';
import {
  isPayableError,
  type NormalizedEvent,
  type PayableError,
  type ProviderChargeInput,
  type ProviderContext,
} from '@payable/core';
import { STRIPE_CAPABILITIES, STRIPE_METADATA_KEYS, StripeProvider, type StripeProviderOptions } from '@payable/stripe';
import { type ProviderSandbox, providerConformance } from '@payable/testing';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { type SimDelivery, StripeSimulator } from './simulator/index.js';

const sim = await StripeSimulator.start({ prices: { price_pro: { unit_amount: 2500, currency: 'eur' } } });
afterAll(() => sim.close());

const ctx: ProviderContext = { idempotencyKey: null, tenantId: null };

function provider(options: Partial<StripeProviderOptions> = {}): StripeProvider {
  return new StripeProvider({
    secretKey: sim.apiKey,
    webhookSecret: sim.webhookSecret,
    config: sim.clientConfig(),
    maxNetworkRetries: 0,
    ...options,
  });
}

function chargeInput(overrides: Partial<ProviderChargeInput> = {}): ProviderChargeInput {
  return {
    amount: 2000,
    currency: 'USD',
    customerProviderId: null,
    description: null,
    metadata: {},
    expiresIn: null,
    capture: true,
    ...overrides,
  };
}

async function caught(run: () => Promise<unknown>): Promise<PayableError> {
  try {
    await run();
  } catch (error) {
    if (isPayableError(error)) return error;
    throw new Error(`expected a PayableError, got ${String(error)}`);
  }
  throw new Error('expected the call to fail');
}

function lastRequest(path: string, method = 'POST') {
  const list = sim.requestsTo(path, method);
  const last = list[list.length - 1];
  if (!last) throw new Error(`no ${method} ${path} request`);
  return last;
}

function verify(p: StripeProvider, delivery: SimDelivery, now = new Date()): Promise<NormalizedEvent> {
  return p.verifyWebhook({ payload: Buffer.from(delivery.rawBody, 'utf8'), headers: delivery.headers, now });
}

function sandbox(secret: string, toleranceSeconds: number): ProviderSandbox {
  return {
    secret,
    toleranceSeconds,
    currency: 'USD',
    // The payer confirms with a test card, as Stripe.js would.
    settle: async (id) => {
      await sim.client().paymentIntents.confirm(id, {
        payment_method: 'pm_card_visa',
        return_url: 'https://shop.example.test/return',
      });
    },
    signedEvent: (_type, id) => sim.delivery('payment_intent.succeeded', id, { secret }),
    sign: (rawBody, options = {}) =>
      sim.signedDelivery(rawBody, {
        secret: options.secret ?? secret,
        ...(options.at === undefined ? {} : { timestamp: options.at }),
      }),
  };
}

// ---- the shared provider conformance suite, against the real SDK and the simulator ------------
providerConformance('stripe (simulator)', () => provider(), sandbox(sim.webhookSecret, 300));

providerConformance(
  'stripe (your own Stripe client, two rotating secrets, 60 s tolerance)',
  () =>
    new StripeProvider({
      stripe: sim.client(),
      webhookSecrets: ['whsec_next_secret', 'whsec_current_secret'],
      toleranceSeconds: 60,
    }),
  sandbox('whsec_current_secret', 60),
);

describe('StripeProvider', () => {
  describe('construction', () => {
    it('constructor – defaults: stripe, native idempotency, stripe-signature, 300 s, 5 signatures', () => {
      const p = provider();
      expect(p).toMatchObject({
        name: 'stripe',
        idempotency: 'native',
        signatureHeader: 'stripe-signature',
        toleranceSeconds: 300,
        maxSignatures: 5,
      });
      expect([...p.capabilities]).toEqual([...STRIPE_CAPABILITIES]);
      expect([...p.capabilities].sort()).toEqual(
        ['charges', 'checkout', 'customers', 'invoices', 'refunds', 'subscriptions', 'webhooks'].sort(),
      );
    });

    it('constructor – missing or empty secrets, a publishable key or bad limits are VALIDATION_ERROR', async () => {
      const field = async (options: StripeProviderOptions) =>
        (await caught(async () => new StripeProvider(options))).context.field;
      expect(await field({ secretKey: 'sk_test_x' })).toBe('webhookSecret');
      expect(await field({ secretKey: 'sk_test_x', webhookSecrets: ['whsec_a', ' '] })).toBe('webhookSecrets');
      expect(await field({ webhookSecret: 'whsec_a' })).toBe('secretKey');
      expect(await field({ secretKey: 'pk_test_123', webhookSecret: 'whsec_a' })).toBe('secretKey');
      expect(await field({ secretKey: 'sk_test_x', webhookSecret: 'whsec_a', toleranceSeconds: 0 })).toBe(
        'toleranceSeconds',
      );
      expect(await field({ secretKey: 'sk_test_x', webhookSecret: 'whsec_a', maxSignatures: 0 })).toBe('maxSignatures');
      expect(await field({ secretKey: 'sk_test_x', webhookSecret: 'whsec_a', maxNetworkRetries: -1 })).toBe(
        'maxNetworkRetries',
      );
    });

    it('health – reports the key mode and secret count without calling Stripe', async () => {
      const before = sim.requests.length;
      const health = await provider({ secretKey: sim.apiKey, webhookSecrets: ['whsec_b'] }).health();
      expect(health).toMatchObject({ ok: true, details: { provider: 'stripe', mode: 'test', webhookSecrets: 2 } });
      expect(sim.requests.length).toBe(before);
    });
  });

  describe('charges', () => {
    it('charge – creates a PaymentIntent with the lower-cased currency, metadata and automatic capture', async () => {
      const p = provider();
      const customer = await p.createCustomer({ email: 'c@example.test', name: null, metadata: {} }, ctx);
      const payment = await p.charge(
        chargeInput({ customerProviderId: customer.providerId, description: 'Order 42', metadata: { order: '42' } }),
        ctx,
      );
      expect(payment).toMatchObject({
        status: 'pending',
        amount: 2000,
        currency: 'USD',
        customerProviderId: customer.providerId,
        description: 'Order 42',
        metadata: { order: '42' },
      });
      expect(payment.providerId).toMatch(/^pi_/);
      expect(lastRequest('/v1/payment_intents').params).toEqual({
        amount: '2000',
        currency: 'usd',
        capture_method: 'automatic',
        customer: customer.providerId,
        description: 'Order 42',
        metadata: { order: '42' },
      });
    });

    it('charge – metadata.stripe_payment_method confirms at once and is not sent as metadata', async () => {
      const payment = await provider().charge(
        chargeInput({ metadata: { [STRIPE_METADATA_KEYS.paymentMethod]: 'pm_card_visa', order: '7' } }),
        ctx,
      );
      expect(payment.status).toBe('succeeded');
      expect(payment.metadata).toEqual({ order: '7' });
      expect(lastRequest('/v1/payment_intents').params).toMatchObject({
        payment_method: 'pm_card_visa',
        confirm: 'true',
        automatic_payment_methods: { enabled: 'true', allow_redirects: 'never' },
        metadata: { order: '7' },
      });
      expect(sim.get(payment.providerId).status).toBe('succeeded');
    });

    it('charge – 3-D Secure with stripe_return_url is requires_action with the redirect url', async () => {
      const payment = await provider().charge(
        chargeInput({
          metadata: {
            [STRIPE_METADATA_KEYS.paymentMethod]: 'pm_card_threeDSecure2Required',
            [STRIPE_METADATA_KEYS.returnUrl]: 'https://shop.example.test/back',
          },
        }),
        ctx,
      );
      expect(payment.status).toBe('requires_action');
      expect(payment.nextActionUrl).toMatch(/^https:\/\/hooks\.stripe\.com\/3d_secure_2\//);
      expect(lastRequest('/v1/payment_intents').params.return_url).toBe('https://shop.example.test/back');
    });

    it('charge – capture: false authorizes only (capture_method manual) and reads pending', async () => {
      const p = provider();
      const payment = await p.charge(
        chargeInput({ capture: false, metadata: { [STRIPE_METADATA_KEYS.paymentMethod]: 'pm_card_visa' } }),
        ctx,
      );
      expect(lastRequest('/v1/payment_intents').params.capture_method).toBe('manual');
      expect(sim.get(payment.providerId).status).toBe('requires_capture');
      expect(payment.status).toBe('pending');
      await sim.client().paymentIntents.capture(payment.providerId);
      expect((await p.getPayment(payment.providerId, ctx)).status).toBe('succeeded');
    });

    it.each([
      ['pm_card_chargeDeclined', 'card_declined', 'card_declined', 'generic_decline'],
      ['pm_card_chargeDeclinedInsufficientFunds', 'insufficient_funds', 'card_declined', 'insufficient_funds'],
      ['pm_card_chargeDeclinedExpiredCard', 'expired_card', 'expired_card', undefined],
      ['pm_card_chargeDeclinedIncorrectCvc', 'incorrect_cvc', 'incorrect_cvc', undefined],
      ['pm_card_chargeDeclinedProcessingError', 'processing_error', 'processing_error', undefined],
      ['pm_card_chargeDeclinedLostCard', 'card_declined', 'card_declined', 'lost_card'],
    ])('charge – %s is PROVIDER_ERROR with declineCode %s', async (card, declineCode, providerCode, stripeCode) => {
      const p = provider();
      const error = await caught(() =>
        p.charge(chargeInput({ metadata: { [STRIPE_METADATA_KEYS.paymentMethod]: card } }), ctx),
      );
      expect(error.code).toBe('PROVIDER_ERROR');
      expect(error.httpStatus).toBe(502);
      expect(error.context).toMatchObject({
        provider: 'stripe',
        op: 'charge',
        declineCode,
        providerCode,
        statusCode: 402,
      });
      expect(error.context.stripeDeclineCode).toBe(stripeCode);
      expect(error.context.requestId).toMatch(/^req_/);
      expect(error.context.paymentIntentId).toMatch(/^pi_/);
      // The declined PaymentIntent reads failed, with Stripe's code.
      const read = await p.getPayment(error.context.paymentIntentId as string, ctx);
      expect(read.status).toBe('failed');
      expect(read.failureCode).toBe(stripeCode ?? providerCode);
    });

    it('charge – an amount Stripe refuses is PROVIDER_ERROR with its code and param', async () => {
      const error = await caught(() => provider().charge(chargeInput({ amount: 10 }), ctx));
      expect(error.code).toBe('PROVIDER_ERROR');
      expect(error.context).toMatchObject({ providerCode: 'amount_too_small', param: 'amount', statusCode: 400 });
    });

    it('getPayment – reads the refunded amount from the latest charge', async () => {
      const p = provider();
      const payment = await p.charge(
        chargeInput({ metadata: { [STRIPE_METADATA_KEYS.paymentMethod]: 'pm_card_visa' } }),
        ctx,
      );
      await p.refund(
        { paymentProviderId: payment.providerId, amount: 500, currency: 'USD', reason: null, metadata: {} },
        ctx,
      );
      const read = await p.getPayment(payment.providerId, ctx);
      expect(read).toMatchObject({ status: 'partially_refunded', amountRefunded: 500, amount: 2000 });
      expect(lastRequest(`/v1/payment_intents/${payment.providerId}`, 'GET').params).toEqual({
        expand: ['latest_charge'],
      });
    });
  });

  describe('idempotency', () => {
    it('charge – forwards the idempotency key to Stripe', async () => {
      await provider().charge(chargeInput(), { idempotencyKey: 'order-1001', tenantId: null });
      expect(lastRequest('/v1/payment_intents').idempotencyKey).toBe('order-1001');
    });

    it('charge – the same key and input is answered by Stripe from its idempotency store', async () => {
      const p = provider();
      const keyed = { idempotencyKey: 'order-1002', tenantId: null };
      const first = await p.charge(chargeInput(), keyed);
      const second = await p.charge(chargeInput(), keyed);
      expect(second.providerId).toBe(first.providerId);
      expect(lastRequest('/v1/payment_intents').replayed).toBe(true);
      expect(sim.list('payment_intent').filter((pi) => pi.id === first.providerId)).toHaveLength(1);
    });

    it('charge – the same key with other parameters is IDEMPOTENCY_CONFLICT naming the key', async () => {
      const p = provider();
      const keyed = { idempotencyKey: 'order-1003', tenantId: null };
      await p.charge(chargeInput(), keyed);
      const error = await caught(() => p.charge(chargeInput({ amount: 2100 }), keyed));
      expect(error.code).toBe('IDEMPOTENCY_CONFLICT');
      expect(error.context).toMatchObject({ provider: 'stripe', key: 'order-1003' });
    });

    it('charge – keys are namespaced by tenant, so two tenants on one account never collide', async () => {
      const p = provider();
      const a = await p.charge(chargeInput(), { idempotencyKey: 'order-1', tenantId: 'merchant-a' });
      expect(lastRequest('/v1/payment_intents').idempotencyKey).toBe('merchant-a:order-1');
      const b = await p.charge(chargeInput({ amount: 3000 }), { idempotencyKey: 'order-1', tenantId: 'merchant-b' });
      expect(b.providerId).not.toBe(a.providerId);
    });

    it('refund, customers, checkout, subscribe and cancel forward the key too', async () => {
      const p = provider();
      const payment = await p.charge(
        chargeInput({ metadata: { [STRIPE_METADATA_KEYS.paymentMethod]: 'pm_card_visa' } }),
        ctx,
      );
      await p.refund(
        { paymentProviderId: payment.providerId, amount: 100, currency: 'USD', reason: null, metadata: {} },
        { idempotencyKey: 'refund-1', tenantId: null },
      );
      expect(lastRequest('/v1/refunds').idempotencyKey).toBe('refund-1');
      const customer = await p.createCustomer(
        { email: null, name: 'K', metadata: {} },
        { idempotencyKey: 'cus-1', tenantId: null },
      );
      expect(lastRequest('/v1/customers').idempotencyKey).toBe('cus-1');
      await p.createCheckout(
        {
          mode: 'payment',
          amount: 900,
          currency: 'USD',
          priceId: null,
          successUrl: 'https://a.test/ok',
          cancelUrl: 'https://a.test/no',
          customerProviderId: null,
          metadata: {},
        },
        { idempotencyKey: 'cs-1', tenantId: null },
      );
      expect(lastRequest('/v1/checkout/sessions').idempotencyKey).toBe('cs-1');
      const sub = await p.subscribe(
        { customerProviderId: customer.providerId, priceId: 'price_pro', trialDays: null, metadata: {} },
        { idempotencyKey: 'sub-1', tenantId: null },
      );
      expect(lastRequest('/v1/subscriptions').idempotencyKey).toBe('sub-1');
      await p.cancelSubscription(
        sub.providerId,
        { atPeriodEnd: false },
        { idempotencyKey: 'cancel-1', tenantId: null },
      );
      expect(lastRequest(`/v1/subscriptions/${sub.providerId}`, 'DELETE').idempotencyKey).toBe('cancel-1');
    });
  });

  describe('refunds', () => {
    it('refund – a Stripe reason is sent as reason, free text travels in metadata and comes back', async () => {
      const p = provider();
      const payment = await p.charge(
        chargeInput({ metadata: { [STRIPE_METADATA_KEYS.paymentMethod]: 'pm_card_visa' } }),
        ctx,
      );
      const base = { paymentProviderId: payment.providerId, currency: 'USD', metadata: { ticket: 'T-1' } };
      const dup = await p.refund({ ...base, amount: 300, reason: 'duplicate' }, ctx);
      expect(dup).toMatchObject({ status: 'succeeded', amount: 300, currency: 'USD', reason: 'duplicate' });
      expect(dup.providerId).toMatch(/^re_/);
      expect(dup.paymentProviderId).toBe(payment.providerId);
      expect(lastRequest('/v1/refunds').params).toEqual({
        payment_intent: payment.providerId,
        amount: '300',
        reason: 'duplicate',
        metadata: { ticket: 'T-1' },
      });
      const text = await p.refund({ ...base, amount: 200, reason: 'damaged in transit' }, ctx);
      expect(text.reason).toBe('damaged in transit');
      expect(text.metadata).toEqual({ ticket: 'T-1' });
      expect(lastRequest('/v1/refunds').params).toEqual({
        payment_intent: payment.providerId,
        amount: '200',
        metadata: { ticket: 'T-1', payable_reason: 'damaged in transit' },
      });
    });

    it('refund – more than remains is PROVIDER_ERROR amount_too_large; an unknown payment resource_missing', async () => {
      const p = provider();
      const payment = await p.charge(
        chargeInput({ metadata: { [STRIPE_METADATA_KEYS.paymentMethod]: 'pm_card_visa' } }),
        ctx,
      );
      const tooMuch = await caught(() =>
        p.refund(
          { paymentProviderId: payment.providerId, amount: 2001, currency: 'USD', reason: null, metadata: {} },
          ctx,
        ),
      );
      expect(tooMuch.context).toMatchObject({ providerCode: 'amount_too_large', param: 'amount' });
      const unknown = await caught(() =>
        p.refund({ paymentProviderId: 'pi_missing', amount: 1, currency: 'USD', reason: null, metadata: {} }, ctx),
      );
      expect(unknown.code).toBe('PROVIDER_ERROR');
      expect(unknown.context).toMatchObject({ providerCode: 'resource_missing', param: 'payment_intent' });
    });
  });

  describe('customers', () => {
    it('getCustomer – a deleted customer is NOT_FOUND', async () => {
      const p = provider();
      const customer = await p.createCustomer({ email: 'gone@example.test', name: null, metadata: { a: '1' } }, ctx);
      expect(await p.getCustomer(customer.providerId, ctx)).toMatchObject({
        email: 'gone@example.test',
        metadata: { a: '1' },
      });
      await sim.client().customers.del(customer.providerId);
      expect((await caught(() => p.getCustomer(customer.providerId, ctx))).code).toBe('NOT_FOUND');
    });
  });

  describe('checkout', () => {
    it('createCheckout – payment mode sends one price_data line item and maps the session', async () => {
      const checkout = await provider().createCheckout(
        {
          mode: 'payment',
          amount: 4200,
          currency: 'EUR',
          priceId: null,
          successUrl: 'https://shop.example.test/ok',
          cancelUrl: 'https://shop.example.test/cancel',
          customerProviderId: null,
          metadata: { order: '9', [STRIPE_METADATA_KEYS.productName]: 'T-shirt' },
        },
        ctx,
      );
      expect(checkout).toMatchObject({
        mode: 'payment',
        status: 'open',
        amount: 4200,
        currency: 'EUR',
        metadata: { order: '9' },
      });
      expect(checkout.providerId).toMatch(/^cs_test_/);
      expect(checkout.url).toMatch(/^https:\/\/checkout\.stripe\.com\//);
      expect(checkout.expiresAt).toBeInstanceOf(Date);
      expect(lastRequest('/v1/checkout/sessions').params).toMatchObject({
        mode: 'payment',
        success_url: 'https://shop.example.test/ok',
        cancel_url: 'https://shop.example.test/cancel',
        line_items: [
          { quantity: '1', price_data: { currency: 'eur', unit_amount: '4200', product_data: { name: 'T-shirt' } } },
        ],
        payment_intent_data: { metadata: { order: '9' } },
      });
    });

    it('createCheckout – subscription mode sends the price; completion maps to checkout.completed', async () => {
      const p = provider();
      const checkout = await p.createCheckout(
        {
          mode: 'subscription',
          amount: null,
          currency: null,
          priceId: 'price_pro',
          successUrl: 'https://shop.example.test/ok',
          cancelUrl: 'https://shop.example.test/cancel',
          customerProviderId: null,
          metadata: { plan: 'pro' },
        },
        ctx,
      );
      expect(checkout).toMatchObject({ mode: 'subscription', amount: 2500, currency: 'EUR' });
      expect(lastRequest('/v1/checkout/sessions').params.line_items).toEqual([{ price: 'price_pro', quantity: '1' }]);
      const done = sim.completeCheckout(checkout.providerId);
      const event = await verify(p, sim.delivery('checkout.session.completed', done.id));
      expect(event).toMatchObject({
        type: 'checkout.completed',
        providerType: 'checkout.session.completed',
        object: { kind: 'checkout', status: 'complete', subscriptionProviderId: done.subscription },
      });
      expect(event.refetch).toBeUndefined();
    });
  });

  describe('subscriptions and invoices', () => {
    it('subscribe – sends trial_period_days and maps the trial, price and period from the item', async () => {
      const p = provider();
      const customer = await p.createCustomer({ email: 's@example.test', name: null, metadata: {} }, ctx);
      const sub = await p.subscribe(
        { customerProviderId: customer.providerId, priceId: 'price_pro', trialDays: 14, metadata: { seat: '3' } },
        ctx,
      );
      expect(lastRequest('/v1/subscriptions').params).toEqual({
        customer: customer.providerId,
        items: [{ price: 'price_pro' }],
        metadata: { seat: '3' },
        trial_period_days: '14',
      });
      expect(sub).toMatchObject({
        status: 'trialing',
        priceId: 'price_pro',
        customerProviderId: customer.providerId,
        cancelAtPeriodEnd: false,
        metadata: { seat: '3' },
      });
      const days = ((sub.trialEnd?.getTime() ?? 0) - Date.now()) / 86_400_000;
      expect(days).toBeGreaterThan(13.9);
      expect(days).toBeLessThan(14.1);
      expect(sub.currentPeriodEnd?.getTime()).toBe(sub.trialEnd?.getTime());
    });

    it('cancelSubscription – at period end updates cancel_at_period_end; now deletes', async () => {
      const p = provider();
      const customer = await p.createCustomer({ email: null, name: null, metadata: {} }, ctx);
      const sub = await p.subscribe(
        { customerProviderId: customer.providerId, priceId: 'price_pro', trialDays: null, metadata: {} },
        ctx,
      );
      const later = await p.cancelSubscription(sub.providerId, { atPeriodEnd: true }, ctx);
      expect(lastRequest(`/v1/subscriptions/${sub.providerId}`).params).toEqual({ cancel_at_period_end: 'true' });
      expect(later).toMatchObject({ status: 'active', cancelAtPeriodEnd: true });
      const now = await p.cancelSubscription(sub.providerId, { atPeriodEnd: false }, ctx);
      expect(sim.requestsTo(`/v1/subscriptions/${sub.providerId}`, 'DELETE')).toHaveLength(1);
      expect(now.status).toBe('canceled');
      expect(now.canceledAt).toBeInstanceOf(Date);
      // A retry of the cancel (its first answer lost) returns the canceled subscription.
      const again = await p.cancelSubscription(sub.providerId, { atPeriodEnd: false }, ctx);
      expect(again).toMatchObject({ providerId: sub.providerId, status: 'canceled' });
      expect(sim.requestsTo(`/v1/subscriptions/${sub.providerId}`, 'DELETE')).toHaveLength(2);
      const missing = await caught(() => p.cancelSubscription('sub_missing', { atPeriodEnd: false }, ctx));
      expect(missing.code).toBe('NOT_FOUND');
    });

    it("listInvoices – filters by customer and subscription and reads the invoice's subscription", async () => {
      const p = provider();
      const customer = await p.createCustomer({ email: null, name: null, metadata: {} }, ctx);
      const one = await p.subscribe(
        { customerProviderId: customer.providerId, priceId: 'price_pro', trialDays: null, metadata: {} },
        ctx,
      );
      await p.subscribe(
        { customerProviderId: customer.providerId, priceId: 'price_basic', trialDays: null, metadata: {} },
        ctx,
      );
      const all = await p.listInvoices(
        { customerProviderId: customer.providerId, subscriptionProviderId: null, limit: 10 },
        ctx,
      );
      expect(all).toHaveLength(2);
      const mine = await p.listInvoices(
        { customerProviderId: customer.providerId, subscriptionProviderId: one.providerId, limit: 10 },
        ctx,
      );
      expect(lastRequest('/v1/invoices', 'GET').params).toEqual({
        limit: '10',
        customer: customer.providerId,
        subscription: one.providerId,
      });
      expect(mine).toEqual([
        expect.objectContaining({
          subscriptionProviderId: one.providerId,
          customerProviderId: customer.providerId,
          amount: 2500,
          amountPaid: 2500,
          currency: 'EUR',
          status: 'paid',
        }),
      ]);
      expect(mine[0]?.hostedUrl).toMatch(/^https:\/\/invoice\.stripe\.com\//);
    });
  });

  describe('errors and availability', () => {
    it('a 429 rate limit is PROVIDER_UNAVAILABLE (503)', async () => {
      sim.fail({ status: 429, path: '/v1/payment_intents' });
      const error = await caught(() => provider().charge(chargeInput(), ctx));
      expect(error.code).toBe('PROVIDER_UNAVAILABLE');
      expect(error.httpStatus).toBe(503);
      expect(error.context).toMatchObject({ provider: 'stripe', reason: 'rate_limited', providerCode: 'rate_limit' });
    });

    it('a 500 is retried by the SDK, then PROVIDER_UNAVAILABLE when it persists', async () => {
      const p = provider({ maxNetworkRetries: 1 });
      const before = sim.requestsTo('/v1/customers', 'POST').length;
      sim.fail({ status: 500, path: '/v1/customers', times: 2 });
      const error = await caught(() => p.createCustomer({ email: null, name: null, metadata: {} }, ctx));
      expect(error.code).toBe('PROVIDER_UNAVAILABLE');
      expect(error.context.reason).toBe('stripe_error');
      expect(sim.requestsTo('/v1/customers', 'POST').length - before).toBe(2);
      // One failure only: the SDK's retry succeeds and the caller never sees it.
      sim.fail({ status: 500, path: '/v1/customers', times: 1 });
      const customer = await p.createCustomer({ email: 'r@example.test', name: null, metadata: {} }, ctx);
      expect(customer.email).toBe('r@example.test');
    });

    it('connection refused is PROVIDER_UNAVAILABLE', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
      const port = (closed.address() as { port: number }).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const p = provider({ config: { host: '127.0.0.1', port, protocol: 'http' } });
      const error = await caught(() => p.getPayment('pi_any', ctx));
      expect(error.code).toBe('PROVIDER_UNAVAILABLE');
      expect(error.context.reason).toBe('connection');
    });

    it('a wrong API key is PROVIDER_ERROR naming secretKey', async () => {
      const error = await caught(() => provider({ secretKey: 'sk_test_wrong_key_000000' }).getPayment('pi_any', ctx));
      expect(error.code).toBe('PROVIDER_ERROR');
      expect(error.context.reason).toBe('authentication');
      expect(error.message).toContain('secretKey');
      expect(error.message).not.toContain('sk_test_wrong_key_000000');
    });

    it('a restricted key without permission is PROVIDER_ERROR with reason permission', async () => {
      sim.fail({
        status: 403,
        error: { type: 'invalid_request_error', message: 'The provided key does not have the required permissions.' },
      });
      const error = await caught(() => provider().getCustomer('cus_any', ctx));
      expect(error.context).toMatchObject({ reason: 'permission', statusCode: 403 });
    });
  });

  describe('webhooks', () => {
    const paidIntent = async () => {
      const created = await sim.client().paymentIntents.create({ amount: 1500, currency: 'usd' });
      return sim.confirmPaymentIntent(created.id);
    };
    const body = async () => sim.event('payment_intent.succeeded', await paidIntent());

    it('verifyWebhook – rotation: a delivery signed with any configured secret verifies', async () => {
      const p = provider({ webhookSecret: undefined, webhookSecrets: ['whsec_new_one', 'whsec_old_one'] });
      const raw = await body();
      for (const secrets of [['whsec_old_one'], ['whsec_new_one'], ['whsec_new_one', 'whsec_old_one']]) {
        const event = await verify(p, sim.signedDelivery(raw, { secrets }));
        expect(event.type).toBe('payment.succeeded');
      }
      const error = await caught(() => verify(p, sim.signedDelivery(raw, { secret: 'whsec_someone_else' })));
      expect(error.code).toBe('INVALID_WEBHOOK_SIGNATURE');
      expect(error.context).toMatchObject({ reason: 'signature_mismatch', secrets: 2 });
    });

    it('verifyWebhook – any of several v1 signatures in one header may match', async () => {
      const p = provider();
      const raw = await body();
      const good = sim.sign(raw);
      const [t, v1] = good.split(',');
      const header = `${t},v1=${'0'.repeat(64)},v0=${'1'.repeat(64)},${v1}`;
      const event = await verify(p, { rawBody: raw, headers: { 'stripe-signature': header } });
      expect(event.type).toBe('payment.succeeded');
    });

    it('verifyWebhook – a timestamp ahead of the tolerance is refused, one inside it accepted', async () => {
      const p = provider({ toleranceSeconds: 120 });
      const raw = await body();
      const now = new Date();
      const ahead = sim.signedDelivery(raw, { timestamp: new Date(now.getTime() + 121_000) });
      const error = await caught(() => verify(p, ahead, now));
      expect(error.context).toMatchObject({ reason: 'timestamp_outside_tolerance', toleranceSeconds: 120 });
      const slightlyAhead = sim.signedDelivery(raw, { timestamp: new Date(now.getTime() + 60_000) });
      expect((await verify(p, slightlyAhead, now)).type).toBe('payment.succeeded');
    });

    it('verifyWebhook – a timestamp older than the tolerance is refused', async () => {
      const p = provider();
      const now = new Date();
      const stale = sim.signedDelivery(await body(), { timestamp: new Date(now.getTime() - 301_000) });
      const error = await caught(() => verify(p, stale, now));
      expect(error.code).toBe('INVALID_WEBHOOK_SIGNATURE');
      expect(error.context.reason).toBe('timestamp_outside_tolerance');
    });

    it('verifyWebhook – more v1 signatures than maxSignatures are refused before any is checked', async () => {
      const raw = await body();
      const good = sim.sign(raw);
      const [t, v1] = good.split(',');
      const padding = (n: number) => Array.from({ length: n }, (_, i) => `v1=${String(i).repeat(64).slice(0, 64)}`);
      const five = [t, ...padding(4), v1].join(',');
      const six = [t, ...padding(5), v1].join(',');
      const p = provider();
      expect((await verify(p, { rawBody: raw, headers: { 'stripe-signature': five } })).type).toBe('payment.succeeded');
      const error = await caught(() => verify(p, { rawBody: raw, headers: { 'stripe-signature': six } }));
      expect(error.code).toBe('INVALID_WEBHOOK_SIGNATURE');
      expect(error.context).toMatchObject({ reason: 'too_many_signatures', maxSignatures: 5 });
      const strict = provider({ maxSignatures: 1 });
      const two = await caught(() =>
        verify(strict, { rawBody: raw, headers: { 'stripe-signature': [t, ...padding(1), v1].join(',') } }),
      );
      expect(two.context.reason).toBe('too_many_signatures');
      const huge = await caught(() =>
        verify(p, { rawBody: raw, headers: { 'stripe-signature': `${t},v0=${'a'.repeat(5000)},${v1}` } }),
      );
      expect(huge.context.reason).toBe('too_many_signatures');
    });

    it('verifyWebhook – a tampered body is refused; a malformed header too', async () => {
      const p = provider();
      const delivery = sim.signedDelivery(await body());
      const tampered = delivery.rawBody.replace('"succeeded"', '"canceled"');
      const error = await caught(() => verify(p, { ...delivery, rawBody: tampered }));
      expect(error.context.reason).toBe('signature_mismatch');
      for (const header of ['v1=abc', 't=abc,v1=abc', 't=1,t=2,v1=abc', 't=1']) {
        const malformed = await caught(() =>
          verify(p, { rawBody: delivery.rawBody, headers: { 'stripe-signature': header } }),
        );
        expect(malformed.context.reason).toBe('malformed_header');
      }
    });

    it('verifyWebhook – a genuine signature over a body that is not JSON is INVALID_WEBHOOK_PAYLOAD', async () => {
      const error = await caught(() => verify(provider(), sim.signedDelivery('{"id": "evt_1", ')));
      expect(error.code).toBe('INVALID_WEBHOOK_PAYLOAD');
      const notEvent = await caught(() => verify(provider(), sim.signedDelivery('{"hello":"world"}')));
      expect(notEvent.code).toBe('INVALID_WEBHOOK_PAYLOAD');
    });

    it('verifyWebhook – property: genuine deliveries verify within the tolerance, never outside it or altered', async () => {
      const p = provider({ toleranceSeconds: 300 });
      const pi = await paidIntent();
      const now = new Date();
      await fc.assert(
        fc.asyncProperty(
          fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), fc.string({ maxLength: 30 }), { maxKeys: 4 }),
          fc.integer({ min: -900, max: 900 }),
          fc.nat(),
          async (metadata, offset, flip) => {
            const raw = sim.event('payment_intent.succeeded', { ...pi, metadata });
            const delivery = sim.signedDelivery(raw, { timestamp: Math.floor(now.getTime() / 1000) + offset });
            const inside = Math.abs(offset) <= 299;
            const result = await verify(p, delivery, now).then(
              (e) => e.type,
              (e: PayableError) => e.code,
            );
            if (inside) expect(result).toBe('payment.succeeded');
            else if (Math.abs(offset) > 301) expect(result).toBe('INVALID_WEBHOOK_SIGNATURE');
            const bytes = Buffer.from(raw, 'utf8');
            const at = flip % bytes.length;
            bytes[at] = (bytes[at] ?? 0) ^ 0x01;
            const altered = await p.verifyWebhook({ payload: bytes, headers: delivery.headers, now }).then(
              () => 'verified',
              (e: PayableError) => e.code,
            );
            expect(altered).not.toBe('verified');
          },
        ),
        { numRuns: 60 },
      );
    });

    describe('event mapping', () => {
      it('payment_intent.* events map to payment.* and ask the core to re-fetch', async () => {
        const p = provider();
        const payment = await p.charge(chargeInput(), ctx);
        const cases: [string, string][] = [
          ['payment_intent.processing', 'payment.processing'],
          ['payment_intent.requires_action', 'payment.requires_action'],
          ['payment_intent.payment_failed', 'payment.failed'],
          ['payment_intent.canceled', 'payment.canceled'],
          ['payment_intent.succeeded', 'payment.succeeded'],
        ];
        for (const [stripeType, payableType] of cases) {
          const event = await verify(p, sim.delivery(stripeType, payment.providerId));
          expect(event).toMatchObject({
            type: payableType,
            providerType: stripeType,
            refetch: true,
            object: { kind: 'payment', providerId: payment.providerId },
          });
          expect(event.id).toMatch(/^evt_/);
        }
      });

      it('charge.refunded is refund.succeeded carrying the payment with the refunded amount', async () => {
        const p = provider();
        const payment = await p.charge(
          chargeInput({ metadata: { [STRIPE_METADATA_KEYS.paymentMethod]: 'pm_card_visa' } }),
          ctx,
        );
        await p.refund(
          { paymentProviderId: payment.providerId, amount: 2000, currency: 'USD', reason: null, metadata: {} },
          ctx,
        );
        const charge = sim.get(String(sim.get(payment.providerId).latest_charge));
        const event = await verify(p, sim.delivery('charge.refunded', charge.id));
        expect(event).toMatchObject({
          type: 'refund.succeeded',
          providerType: 'charge.refunded',
          refetch: true,
          object: { kind: 'payment', providerId: payment.providerId, amountRefunded: 2000, status: 'refunded' },
        });
      });

      it('refund.created / refund.updated follow the refund status; refund.failed is refund.failed', async () => {
        const p = provider();
        const payment = await p.charge(
          chargeInput({ metadata: { [STRIPE_METADATA_KEYS.paymentMethod]: 'pm_card_visa' } }),
          ctx,
        );
        const refund = await p.refund(
          { paymentProviderId: payment.providerId, amount: 700, currency: 'USD', reason: null, metadata: {} },
          ctx,
        );
        const created = await verify(p, sim.delivery('refund.created', refund.providerId));
        expect(created).toMatchObject({
          type: 'refund.succeeded',
          object: { kind: 'refund', providerId: refund.providerId, paymentProviderId: payment.providerId, amount: 700 },
        });
        sim.patch(refund.providerId, { status: 'pending' });
        expect((await verify(p, sim.delivery('refund.updated', refund.providerId))).type).toBe('refund.updated');
        sim.patch(refund.providerId, { status: 'failed' });
        expect((await verify(p, sim.delivery('refund.updated', refund.providerId))).type).toBe('refund.failed');
        const failed = await verify(p, sim.delivery('refund.failed', refund.providerId));
        expect(failed).toMatchObject({ type: 'refund.failed', object: { kind: 'refund', status: 'failed' } });
      });

      it('checkout.session.expired is checkout.expired', async () => {
        const p = provider();
        const checkout = await p.createCheckout(
          {
            mode: 'payment',
            amount: 800,
            currency: 'USD',
            priceId: null,
            successUrl: 'https://a.test/ok',
            cancelUrl: 'https://a.test/no',
            customerProviderId: null,
            metadata: {},
          },
          ctx,
        );
        await sim.client().checkout.sessions.expire(checkout.providerId);
        const event = await verify(p, sim.delivery('checkout.session.expired', checkout.providerId));
        expect(event).toMatchObject({ type: 'checkout.expired', object: { kind: 'checkout', status: 'expired' } });
      });

      it('customer.subscription.* map to subscription.created|updated|canceled|paused|resumed', async () => {
        const p = provider();
        const customer = await p.createCustomer({ email: null, name: null, metadata: {} }, ctx);
        const sub = await p.subscribe(
          { customerProviderId: customer.providerId, priceId: 'price_pro', trialDays: null, metadata: {} },
          ctx,
        );
        const type = async (stripeType: string) => verify(p, sim.delivery(stripeType, sub.providerId));
        expect(await type('customer.subscription.created')).toMatchObject({
          type: 'subscription.created',
          object: { kind: 'subscription', providerId: sub.providerId, status: 'active', priceId: 'price_pro' },
        });
        expect((await type('customer.subscription.updated')).type).toBe('subscription.updated');
        sim.patch(sub.providerId, { status: 'paused' });
        expect(await type('customer.subscription.paused')).toMatchObject({
          type: 'subscription.paused',
          object: { status: 'paused' },
        });
        sim.patch(sub.providerId, { status: 'active' });
        expect((await type('customer.subscription.resumed')).type).toBe('subscription.resumed');
        await p.cancelSubscription(sub.providerId, { atPeriodEnd: false }, ctx);
        expect(await type('customer.subscription.deleted')).toMatchObject({
          type: 'subscription.canceled',
          object: { status: 'canceled' },
        });
      });

      it('invoice.paid / invoice.payment_failed and customer.created / customer.updated', async () => {
        const p = provider();
        const customer = await p.createCustomer({ email: 'i@example.test', name: 'Ida', metadata: {} }, ctx);
        const sub = await p.subscribe(
          { customerProviderId: customer.providerId, priceId: 'price_pro', trialDays: null, metadata: {} },
          ctx,
        );
        const invoiceId = String(sim.get(sub.providerId).latest_invoice);
        expect(await verify(p, sim.delivery('invoice.paid', invoiceId))).toMatchObject({
          type: 'invoice.paid',
          object: { kind: 'invoice', providerId: invoiceId, subscriptionProviderId: sub.providerId, status: 'paid' },
        });
        sim.patch(invoiceId, { status: 'open', amount_paid: 0 });
        expect(await verify(p, sim.delivery('invoice.payment_failed', invoiceId))).toMatchObject({
          type: 'invoice.payment_failed',
          object: { kind: 'invoice', status: 'open', amountPaid: 0 },
        });
        expect(await verify(p, sim.delivery('customer.created', customer.providerId))).toMatchObject({
          type: 'customer.created',
          object: { kind: 'customer', email: 'i@example.test', name: 'Ida' },
        });
        expect((await verify(p, sim.delivery('customer.updated', customer.providerId))).type).toBe('customer.updated');
      });

      it('any other Stripe event is unknown, with its Stripe type kept and no object', async () => {
        const event = await verify(
          provider(),
          sim.delivery('charge.dispute.created', { id: 'dp_1', object: 'dispute' }),
        );
        expect(event).toMatchObject({ type: 'unknown', providerType: 'charge.dispute.created', object: null });
        expect(event.refetch).toBeUndefined();
      });
    });
  });
});
