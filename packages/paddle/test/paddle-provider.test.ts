import { PaddleProvider } from '../src/index.js';
import { isPayableError, type PayableError, type ProviderContext } from '@payable/core';
import { providerConformance } from '@payable/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { paddleSandbox } from './simulator/paddle-sandbox.js';
import { PaddleSimulator, SIMULATOR_MONTHLY_PRICE, SIMULATOR_ONE_TIME_PRICE } from './simulator/paddle-simulator.js';

const sim = await PaddleSimulator.start({
  prices: { price_conformance: { amount: 2500, currency: 'USD', interval: 'month', name: 'Conformance' } },
});
afterAll(() => sim.close());

const ctx: ProviderContext = { idempotencyKey: null, tenantId: null };
const secret = sim.webhookSecrets[0] as string;
const makeProvider = (extra: Partial<ConstructorParameters<typeof PaddleProvider>[0]> = {}) =>
  new PaddleProvider({ paddle: sim.sdk(), webhookSecret: secret, defaultCountryCode: 'US', ...extra });

async function caught(run: () => Promise<unknown>): Promise<PayableError> {
  try {
    await run();
  } catch (error) {
    if (isPayableError(error)) return error;
    throw new Error(`expected a PayableError, got ${String(error)}`);
  }
  throw new Error('expected a rejection');
}

providerConformance('paddle', () => makeProvider(), paddleSandbox(sim));

describe('PaddleProvider against the simulator', () => {
  const provider = makeProvider();
  const verify = (delivery: { rawBody: string; headers: Record<string, string> }) =>
    provider.verifyWebhook({ payload: Buffer.from(delivery.rawBody), headers: delivery.headers, now: sim.now() });
  const checkoutInput = {
    mode: 'payment' as const,
    amount: 1999,
    currency: 'usd',
    priceId: null,
    successUrl: 'https://shop.test/ok',
    cancelUrl: 'https://shop.test/cancel',
    customerProviderId: null,
    metadata: { order: 'A-1' },
  };

  it('identity – is paddle, without charges, with idempotency none and the paddle-signature header', () => {
    expect(provider.name).toBe('paddle');
    expect(provider.capabilities).not.toContain('charges');
    expect(provider.idempotency).toBe('none');
    expect(provider.signatureHeader).toBe('paddle-signature');
    expect('charge' in provider).toBe(false);
    expect('getPayment' in provider).toBe(false);
  });

  it('createCheckout – by amount sends a non-catalog price and returns the checkout url with _ptxn', async () => {
    const checkout = await provider.createCheckout(checkoutInput, ctx);
    expect(checkout.providerId).toMatch(/^txn_[0-9a-z]{26}$/);
    expect(checkout.url).toBe(`https://shop.simulator.test/pay?_ptxn=${checkout.providerId}`);
    expect(checkout).toMatchObject({
      mode: 'payment',
      status: 'open',
      amount: 1999,
      currency: 'USD',
      metadata: { order: 'A-1' },
    });
    const sent = sim.requests.filter((r) => r.method === 'POST' && r.path === '/transactions').at(-1)?.body;
    expect(sent).toMatchObject({
      collection_mode: 'automatic',
      currency_code: 'USD',
      custom_data: { order: 'A-1' },
      items: [
        {
          quantity: 1,
          price: { unit_price: { amount: '1999', currency_code: 'USD' }, product: { tax_category: 'standard' } },
        },
      ],
    });
  });

  it('createCheckout – honours checkoutUrl and checkoutProductId', async () => {
    const productId = (await sim.sdk().prices.get(SIMULATOR_ONE_TIME_PRICE)).productId;
    const own = makeProvider({ checkoutUrl: 'https://mine.test/buy', checkoutProductId: productId });
    const checkout = await own.createCheckout(checkoutInput, ctx);
    expect(checkout.url).toBe(`https://mine.test/buy?_ptxn=${checkout.providerId}`);
    const sent = sim.requests.filter((r) => r.method === 'POST' && r.path === '/transactions').at(-1)?.body;
    expect(sent).toMatchObject({
      checkout: { url: 'https://mine.test/buy' },
      items: [{ price: { product_id: productId } }],
    });
    const items = (sent?.items ?? []) as { price: Record<string, unknown> }[];
    expect(items[0]?.price).not.toHaveProperty('product');
    const unknown = makeProvider({ checkoutProductId: 'pro_01unknown000000000000000000' });
    const error = await caught(() => unknown.createCheckout(checkoutInput, ctx));
    expect(error).toMatchObject({ code: 'PROVIDER_ERROR', context: { providerCode: 'bad_request' } });
  });

  it('createCheckout – by priceId is subscription mode with the catalog price and its amount', async () => {
    const checkout = await provider.createCheckout(
      { ...checkoutInput, mode: 'subscription', amount: null, currency: null, priceId: SIMULATOR_MONTHLY_PRICE },
      ctx,
    );
    expect(checkout).toMatchObject({ mode: 'subscription', amount: 1500, currency: 'USD', status: 'open' });
    const sent = sim.requests.filter((r) => r.method === 'POST' && r.path === '/transactions').at(-1)?.body;
    expect(sent?.items).toEqual([{ price_id: SIMULATOR_MONTHLY_PRICE, quantity: 1 }]);
  });

  it('createCheckout – without a payment link is PROVIDER_ERROR checkout_url_missing', async () => {
    const bare = await PaddleSimulator.start({ defaultPaymentLink: null });
    try {
      const p = new PaddleProvider({ paddle: bare.sdk(), webhookSecret: 'whsec' });
      const error = await caught(() => p.createCheckout(checkoutInput, ctx));
      expect(error.code).toBe('PROVIDER_ERROR');
      expect(error.context.providerCode).toBe('checkout_url_missing');
    } finally {
      await bare.close();
    }
  });

  it('createCheckout – a currency Paddle does not take is PROVIDER_ERROR with the field', async () => {
    const error = await caught(() => provider.createCheckout({ ...checkoutInput, currency: 'XXX' }, ctx));
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(error.context.providerCode).toBe('bad_request');
    expect(error.context.errors).toEqual([{ field: 'currency_code', message: 'unsupported currency' }]);
  });

  it('checkout paid – the transaction.completed notification verifies as payment.succeeded with the exact amount', async () => {
    const checkout = await provider.createCheckout(checkoutInput, ctx);
    const deliveries = sim.completeTransaction(checkout.providerId, { email: 'payer@example.test' });
    const events = await Promise.all(deliveries.map(verify));
    expect(events.map((e) => [e.providerType, e.type])).toEqual([
      ['customer.created', 'customer.created'],
      ['transaction.paid', 'payment.succeeded'],
      ['transaction.completed', 'payment.succeeded'],
    ]);
    const completed = events[2];
    expect(completed?.object).toMatchObject({
      kind: 'payment',
      providerId: checkout.providerId,
      status: 'succeeded',
      amount: 1999,
      currency: 'USD',
      metadata: { order: 'A-1' },
    });
    expect((await provider.getTransaction(checkout.providerId)).status).toBe('succeeded');
  });

  it('checkout paid – a subscription checkout also brings subscription.created', async () => {
    const checkout = await provider.createCheckout(
      { ...checkoutInput, mode: 'subscription', amount: null, currency: null, priceId: SIMULATOR_MONTHLY_PRICE },
      ctx,
    );
    const events = await Promise.all(sim.completeTransaction(checkout.providerId).map(verify));
    const created = events.find((e) => e.type === 'subscription.created');
    expect(created?.object).toMatchObject({ kind: 'subscription', status: 'active', priceId: SIMULATOR_MONTHLY_PRICE });
  });

  it('payment failed – transaction.payment_failed verifies as payment.failed with the decline code', async () => {
    const checkout = await provider.createCheckout(checkoutInput, ctx);
    const event = await verify(sim.failTransactionPayment(checkout.providerId, 'declined'));
    expect(event.type).toBe('payment.failed');
    expect(event.object).toMatchObject({ kind: 'payment', status: 'failed', failureCode: 'declined' });
  });

  describe('refunds', () => {
    async function paidTransaction(priceIds: string[] | null = null): Promise<string> {
      if (priceIds === null) {
        const checkout = await provider.createCheckout({ ...checkoutInput, amount: 5000 }, ctx);
        sim.completeTransaction(checkout.providerId);
        return checkout.providerId;
      }
      const txn = await sim.sdk().transactions.create({ items: priceIds.map((priceId) => ({ priceId, quantity: 1 })) });
      sim.completeTransaction(txn.id);
      return txn.id;
    }
    const refundInput = (paymentProviderId: string, amount: number) => ({
      paymentProviderId,
      amount,
      currency: 'USD',
      reason: null,
      metadata: {},
    });

    it('refund – the whole transaction is a full adjustment, pending until Paddle approves it', async () => {
      const txn = await paidTransaction();
      const refund = await provider.refund(refundInput(txn, 5000), ctx);
      expect(refund).toMatchObject({ paymentProviderId: txn, amount: 5000, currency: 'USD', status: 'pending' });
      expect(refund.providerId).toMatch(/^adj_/);
      expect(sim.adjustment(refund.providerId)).toMatchObject({
        type: 'full',
        action: 'refund',
        reason: 'Refund requested',
      });
      const event = await verify(sim.reviewAdjustment(refund.providerId, 'approved'));
      expect(event.type).toBe('refund.succeeded');
      expect(event.object).toMatchObject({
        kind: 'refund',
        providerId: refund.providerId,
        status: 'succeeded',
        amount: 5000,
      });
    });

    it('refund – parts are partial adjustments; more than is left is PROVIDER_ERROR amount_exceeds_refundable', async () => {
      const txn = await paidTransaction();
      const first = await provider.refund({ ...refundInput(txn, 1200), reason: 'damaged' }, ctx);
      expect(first.amount).toBe(1200);
      expect(sim.adjustment(first.providerId)).toMatchObject({ type: 'partial', reason: 'damaged' });
      await provider.refund(refundInput(txn, 3800), ctx);
      const error = await caught(() => provider.refund(refundInput(txn, 1), ctx));
      expect(error.code).toBe('PROVIDER_ERROR');
      expect(error.context).toMatchObject({ providerCode: 'amount_exceeds_refundable', refundable: 0 });
    });

    it('refund – a partial refund spreads over line items by what is left on each; a rejected refund frees its amount', async () => {
      // Two items: 1500 (USD monthly) + 1500 (a second monthly-like price in USD).
      const local = await PaddleSimulator.start({
        prices: {
          pri_a: { amount: 1500, currency: 'USD', interval: null },
          pri_b: { amount: 700, currency: 'USD', interval: null },
        },
      });
      try {
        const p = new PaddleProvider({ paddle: local.sdk(), webhookSecret: 'whsec' });
        const txn = await local.sdk().transactions.create({
          items: [
            { priceId: 'pri_a', quantity: 1 },
            { priceId: 'pri_b', quantity: 1 },
          ],
        });
        local.completeTransaction(txn.id);
        const a = await p.refund(refundInput(txn.id, 1000), ctx);
        const b = await p.refund(refundInput(txn.id, 1000), ctx);
        expect((local.adjustment(a.providerId).items as { amount: string }[]).map((i) => i.amount)).toEqual(['1000']);
        expect((local.adjustment(b.providerId).items as { amount: string }[]).map((i) => i.amount)).toEqual([
          '500',
          '500',
        ]);
        local.reviewAdjustment(b.providerId, 'rejected');
        const c = await p.refund(refundInput(txn.id, 1200), ctx);
        expect(c.amount).toBe(1200);
        const error = await caught(() => p.refund(refundInput(txn.id, 1), ctx));
        expect(error.context.providerCode).toBe('amount_exceeds_refundable');
      } finally {
        await local.close();
      }
    });

    it('refund – an unpaid transaction is refused by Paddle with a PROVIDER_ERROR; an unknown one is NOT_FOUND', async () => {
      const checkout = await provider.createCheckout(checkoutInput, ctx);
      const error = await caught(() => provider.refund(refundInput(checkout.providerId, 100), ctx));
      expect(error.code).toBe('PROVIDER_ERROR');
      expect(error.context.providerCode).toBe('adjustment_transaction_invalid_status_for_refund');
      expect((await caught(() => provider.refund(refundInput('txn_01missing00000000000000000', 100), ctx))).code).toBe(
        'NOT_FOUND',
      );
    });

    it('refund – a non-integer amount is VALIDATION_ERROR before any call', async () => {
      const before = sim.requests.length;
      expect((await caught(() => provider.refund(refundInput('txn_x', 10.5), ctx))).code).toBe('VALIDATION_ERROR');
      expect(sim.requests.length).toBe(before);
    });
  });

  describe('subscriptions', () => {
    async function customer(email: string) {
      return provider.createCustomer({ email, name: null, metadata: {} }, ctx);
    }

    it('subscribe – bills an invoice for the price and returns the subscription Paddle creates', async () => {
      const c = await customer('sub-a@example.test');
      const sub = await provider.subscribe(
        {
          customerProviderId: c.providerId,
          priceId: SIMULATOR_MONTHLY_PRICE,
          trialDays: null,
          metadata: { plan: 'pro' },
        },
        ctx,
      );
      expect(sub).toMatchObject({
        customerProviderId: c.providerId,
        priceId: SIMULATOR_MONTHLY_PRICE,
        status: 'active',
        cancelAtPeriodEnd: false,
        metadata: { plan: 'pro' },
      });
      expect(sub.providerId).toMatch(/^sub_/);
      expect(sub.currentPeriodEnd).toBeInstanceOf(Date);
      const billed = sim.requests.filter((r) => r.method === 'POST' && r.path === '/transactions').at(-1)?.body;
      expect(billed).toMatchObject({
        status: 'billed',
        collection_mode: 'manual',
        billing_details: { payment_terms: { interval: 'day', frequency: 14 } },
      });
    });

    it('subscribe – with trialDays keeps the catalog priceId and is trialing until the trial end', async () => {
      const c = await customer('sub-trial@example.test');
      const sub = await provider.subscribe(
        { customerProviderId: c.providerId, priceId: SIMULATOR_MONTHLY_PRICE, trialDays: 7, metadata: {} },
        ctx,
      );
      expect(sub.status).toBe('trialing');
      expect(sub.priceId).toBe(SIMULATOR_MONTHLY_PRICE);
      expect(Math.round(((sub.trialEnd?.getTime() ?? 0) - sim.now().getTime()) / 86_400_000)).toBe(7);
    });

    it('subscribe – a one-time price cannot have a trial; a customer without address needs defaultCountryCode', async () => {
      const c = await customer('sub-b@example.test');
      const oneTime = await caught(() =>
        provider.subscribe(
          { customerProviderId: c.providerId, priceId: SIMULATOR_ONE_TIME_PRICE, trialDays: 3, metadata: {} },
          ctx,
        ),
      );
      expect(oneTime.context.providerCode).toBe('price_not_recurring');
      const strict = makeProvider({ defaultCountryCode: undefined });
      const c2 = await customer('sub-c@example.test');
      const error = await caught(() =>
        strict.subscribe(
          { customerProviderId: c2.providerId, priceId: SIMULATOR_MONTHLY_PRICE, trialDays: null, metadata: {} },
          ctx,
        ),
      );
      expect(error).toMatchObject({ code: 'PROVIDER_ERROR', context: { providerCode: 'address_required' } });
    });

    it('pauseSubscription / resumeSubscription – pause now, resume now; the webhooks map to paused and resumed', async () => {
      const c = await customer('sub-pause@example.test');
      const sub = await provider.subscribe(
        { customerProviderId: c.providerId, priceId: SIMULATOR_MONTHLY_PRICE, trialDays: null, metadata: {} },
        ctx,
      );
      const paused = await provider.pauseSubscription(sub.providerId);
      expect(paused.status).toBe('paused');
      expect((await verify(sim.event('subscription.paused', sub.providerId))).type).toBe('subscription.paused');
      const again = await caught(() => provider.pauseSubscription(sub.providerId));
      expect(again.context.providerCode).toBe('subscription_invalid_status_for_pause');
      const resumed = await provider.resumeSubscription(sub.providerId);
      expect(resumed.status).toBe('active');
      const event = await verify(sim.event('subscription.resumed', sub.providerId));
      expect(event).toMatchObject({ type: 'subscription.resumed', object: { kind: 'subscription', status: 'active' } });
    });

    it('pauseSubscription – at period end with resumeAt schedules the pause; the status stays', async () => {
      const c = await customer('sub-later@example.test');
      const sub = await provider.subscribe(
        { customerProviderId: c.providerId, priceId: SIMULATOR_MONTHLY_PRICE, trialDays: null, metadata: {} },
        ctx,
      );
      const resumeAt = new Date(sim.now().getTime() + 90 * 86_400_000);
      const scheduled = await provider.pauseSubscription(sub.providerId, { atPeriodEnd: true, resumeAt });
      expect(scheduled.status).toBe('active');
      expect(sim.subscription(sub.providerId).scheduled_change).toMatchObject({
        action: 'pause',
        resume_at: resumeAt.toISOString(),
      });
    });

    it('cancelSubscription – the subscription.canceled webhook maps to subscription.canceled', async () => {
      const c = await customer('sub-cancel@example.test');
      const sub = await provider.subscribe(
        { customerProviderId: c.providerId, priceId: SIMULATOR_MONTHLY_PRICE, trialDays: null, metadata: {} },
        ctx,
      );
      const later = await provider.cancelSubscription(sub.providerId, { atPeriodEnd: true }, ctx);
      expect(later).toMatchObject({ status: 'active', cancelAtPeriodEnd: true });
      const now = await provider.cancelSubscription(sub.providerId, { atPeriodEnd: false }, ctx);
      expect(now.status).toBe('canceled');
      expect(now.canceledAt).toBeInstanceOf(Date);
      const event = await verify(sim.event('subscription.canceled', sub.providerId));
      expect(event).toMatchObject({ type: 'subscription.canceled', object: { status: 'canceled' } });
      const twice = await caught(() => provider.cancelSubscription(sub.providerId, { atPeriodEnd: false }, ctx));
      expect(twice.code).toBe('PROVIDER_ERROR');
    });

    it('listInvoices – lists billed transactions of a customer, newest first, paid ones as paid', async () => {
      const c = await customer('invoices@example.test');
      const first = await provider.subscribe(
        { customerProviderId: c.providerId, priceId: SIMULATOR_MONTHLY_PRICE, trialDays: null, metadata: {} },
        ctx,
      );
      const second = await provider.subscribe(
        { customerProviderId: c.providerId, priceId: 'price_conformance', trialDays: null, metadata: {} },
        ctx,
      );
      const invoices = await provider.listInvoices(
        { customerProviderId: c.providerId, subscriptionProviderId: null, limit: 10 },
        ctx,
      );
      expect(invoices.map((i) => i.subscriptionProviderId)).toEqual([second.providerId, first.providerId]);
      expect(invoices.map((i) => [i.amount, i.amountPaid, i.status])).toEqual([
        [2500, 0, 'open'],
        [1500, 0, 'open'],
      ]);
      sim.completeTransaction(invoices[1]?.providerId as string);
      const after = await provider.listInvoices(
        { customerProviderId: c.providerId, subscriptionProviderId: null, limit: 1 },
        ctx,
      );
      expect(after).toHaveLength(1);
      const paid = await provider.listInvoices(
        { customerProviderId: null, subscriptionProviderId: first.providerId, limit: 5 },
        ctx,
      );
      expect(paid.map((i) => [i.amount, i.amountPaid, i.status])).toEqual([[1500, 1500, 'paid']]);
      expect(paid[0]?.hostedUrl).toMatch(/_ptxn=txn_/);
    });
  });

  describe('customers', () => {
    it('createCustomer – without an email is VALIDATION_ERROR (Paddle needs one), before any call', async () => {
      const before = sim.requests.length;
      const error = await caught(() => provider.createCustomer({ email: null, name: 'No Mail', metadata: {} }, ctx));
      expect(error).toMatchObject({ code: 'VALIDATION_ERROR', context: { field: 'email' } });
      expect(sim.requests.length).toBe(before);
    });

    it('createCustomer – keeps metadata as custom data; an email Paddle knows gives back that customer', async () => {
      const c = await provider.createCustomer(
        { email: 'meta@example.test', name: 'Meta', metadata: { crm: '42' } },
        ctx,
      );
      expect(c.metadata).toEqual({ crm: '42' });
      expect(sim.customer(c.providerId).custom_data).toEqual({ crm: '42' });
      const again = await provider.createCustomer({ email: 'meta@example.test', name: 'Other', metadata: {} }, ctx);
      expect(again).toEqual(c);
    });

    it('createCustomer – an invalid email is PROVIDER_ERROR with the field Paddle names', async () => {
      const error = await caught(() =>
        provider.createCustomer({ email: 'not-an-email', name: null, metadata: {} }, ctx),
      );
      expect(error).toMatchObject({ code: 'PROVIDER_ERROR', context: { providerCode: 'bad_request' } });
      expect(error.context.errors).toEqual([{ field: 'email', message: 'must be a valid email' }]);
    });

    it('customer webhooks – customer.updated maps with the current email and name', async () => {
      const c = await provider.createCustomer({ email: 'hook@example.test', name: 'Hook', metadata: {} }, ctx);
      const event = await verify(sim.event('customer.updated', c.providerId));
      expect(event).toMatchObject({
        type: 'customer.updated',
        object: { kind: 'customer', providerId: c.providerId, email: 'hook@example.test', name: 'Hook' },
      });
    });
  });

  describe('configuration', () => {
    it('constructor – refuses a missing secret, an empty secret, a bad tolerance, a missing key or environment', () => {
      const codes = [
        () => new PaddleProvider({ paddle: sim.sdk() }),
        () => new PaddleProvider({ paddle: sim.sdk(), webhookSecret: ' ' }),
        () => new PaddleProvider({ paddle: sim.sdk(), webhookSecrets: ['ok', ''] }),
        () => new PaddleProvider({ paddle: sim.sdk(), webhookSecret: 's', toleranceSeconds: -1 }),
        () => new PaddleProvider({ environment: 'sandbox', webhookSecret: 's' }),
        () => new PaddleProvider({ apiKey: 'k', webhookSecret: 's' }),
        () => new PaddleProvider({ apiKey: 'k', environment: 'staging' as 'sandbox', webhookSecret: 's' }),
        () => new PaddleProvider({ apiKey: 'pdl_sdbx_apikey_x', environment: 'production', webhookSecret: 's' }),
      ].map((make) => {
        try {
          make();
          return 'constructed';
        } catch (error) {
          return isPayableError(error) ? error.code : String(error);
        }
      });
      expect(codes).toEqual(Array(8).fill('VALIDATION_ERROR'));
      const live = new PaddleProvider({ apiKey: 'pdl_live_apikey_x', environment: 'production', webhookSecret: 's' });
      expect(live.toleranceSeconds).toBe(300);
    });

    it('environment – the SDK it builds talks to the sandbox or live Paddle API', () => {
      const sandbox = new PaddleProvider({ apiKey: 'k', environment: 'sandbox', webhookSecret: 's' });
      const live = new PaddleProvider({ apiKey: 'k', environment: 'production', webhookSecret: 's' });
      const baseUrl = (p: PaddleProvider) => (p.client as unknown as { client: { baseUrl: string } }).client.baseUrl;
      expect(baseUrl(sandbox)).toBe('https://sandbox-api.paddle.com');
      expect(baseUrl(live)).toBe('https://api.paddle.com');
    });

    it('apiKey – a key the API refuses is PROVIDER_ERROR with Paddle code forbidden', async () => {
      const wrong = new PaddleProvider({ paddle: sim.sdk('pdl_sdbx_apikey_wrong'), webhookSecret: secret });
      const error = await caught(() => wrong.getCustomer('ctm_01whatever000000000000000000', ctx));
      expect(error).toMatchObject({ code: 'PROVIDER_ERROR', context: { providerCode: 'forbidden' } });
      expect(sim.requests.at(-1)?.authorization).toBe('bearer pdl_sdbx_apikey_wrong');
    });
  });
});
