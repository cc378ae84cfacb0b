import {
  type CapabilitiesOf,
  isPayableError,
  type NormalizedEvent,
  type PayableError,
  type ProviderChargeInput,
  type ProviderContext,
  type ProviderNamesWith,
} from '@payable/core';
import {
  FAKE_WEBHOOK_SECRET,
  FakeProvider,
  fakeSandbox,
  providerConformance,
  type SignedDelivery,
  TestClock,
} from '@payable/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';

const ctx: ProviderContext = { idempotencyKey: null, tenantId: null };

function chargeInput(overrides: Partial<ProviderChargeInput> = {}): ProviderChargeInput {
  return {
    amount: 1000,
    currency: 'USD',
    customerProviderId: null,
    description: null,
    metadata: {},
    expiresIn: null,
    capture: true,
    ...overrides,
  };
}

async function caught(run: () => Promise<unknown> | unknown): Promise<PayableError> {
  try {
    await run();
  } catch (error) {
    if (isPayableError(error)) return error;
    throw error;
  }
  throw new Error('expected a PayableError');
}

function verifier(fake: FakeProvider, now: () => Date = () => fake.now()) {
  return (delivery: SignedDelivery, extra: { secret?: string; signatureHeader?: string } = {}) =>
    fake.verifyWebhook({ payload: Buffer.from(delivery.rawBody), headers: delivery.headers, now: now(), ...extra });
}

// ---- the shared provider conformance suite --------------------------------------------------
providerConformance(
  'fake',
  () => new FakeProvider(),
  (fake) => fakeSandbox(fake),
);

providerConformance(
  'fake with charges and webhooks only',
  () => new FakeProvider({ capabilities: ['charges', 'webhooks'] }),
  (fake) => fakeSandbox(fake),
);

const suiteClock = new TestClock('2026-05-01T00:00:00Z');
providerConformance(
  'fake on a test clock, 60 s tolerance',
  () => new FakeProvider({ clock: suiteClock, toleranceSeconds: 60, secret: 'whsec_other' }),
  (fake) => fakeSandbox(fake),
);

// ---- fake-specific behaviour ----------------------------------------------------------------
describe('FakeProvider', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  describe('construction', () => {
    it('constructor – refuses NODE_ENV=production with INTERNAL_ERROR unless allowInProduction', async () => {
      vi.stubEnv('NODE_ENV', 'production');
      const error = await caught(() => new FakeProvider());
      expect(error.code).toBe('INTERNAL_ERROR');
      expect(error.context).toMatchObject({ provider: 'fake', reason: 'fake_provider_in_production' });
      expect(new FakeProvider({ allowInProduction: true }).name).toBe('fake');
    });

    it('constructor – defaults: every capability but lightning ones, native idempotency, x-fake-signature', () => {
      const fake = new FakeProvider();
      expect([...fake.capabilities].sort()).toEqual(
        ['charges', 'checkout', 'customers', 'invoices', 'refunds', 'subscriptions', 'webhooks'].sort(),
      );
      expect(fake).toMatchObject({ name: 'fake', idempotency: 'native', signatureHeader: 'x-fake-signature' });
      expect(fake.secret).toBe(FAKE_WEBHOOK_SECRET);
      expect(fake.toleranceSeconds).toBe(300);
    });

    it('constructor – an unsupported capability, an empty secret or a negative tolerance is VALIDATION_ERROR', async () => {
      expect((await caught(() => new FakeProvider({ capabilities: ['lightning' as never] }))).context.field).toBe(
        'capabilities',
      );
      expect((await caught(() => new FakeProvider({ secret: '  ' }))).context.field).toBe('secret');
      expect((await caught(() => new FakeProvider({ toleranceSeconds: -1 }))).context.field).toBe('toleranceSeconds');
    });

    it('capabilities – the list is a const type parameter the facade narrows by', () => {
      const cards = new FakeProvider({ capabilities: ['charges', 'webhooks'] });
      expectTypeOf(cards.capabilities).toEqualTypeOf<readonly ('charges' | 'webhooks')[]>();
      expectTypeOf<CapabilitiesOf<typeof cards>>().toEqualTypeOf<'charges' | 'webhooks'>();
      const full = new FakeProvider();
      expectTypeOf<CapabilitiesOf<typeof full>>().toEqualTypeOf<
        'charges' | 'checkout' | 'refunds' | 'customers' | 'subscriptions' | 'invoices' | 'webhooks'
      >();
      expectTypeOf<ProviderNamesWith<{ cards: typeof cards; full: typeof full }, 'refunds'>>().toEqualTypeOf<'full'>();
      // @ts-expect-error Lightning capabilities come with the Lightning fake, not this one.
      expect(() => new FakeProvider({ capabilities: ['lightning'] })).toThrow();
      expect(cards.capabilities).toEqual(['charges', 'webhooks']);
    });

    it('capabilities – an operation outside the list is PROVIDER_CAPABILITY_NOT_SUPPORTED with provider and capability', async () => {
      const cards = new FakeProvider({ capabilities: ['charges', 'webhooks'] });
      const error = await caught(() => cards.createCustomer({ email: null, name: null, metadata: {} }, ctx));
      expect(error.code).toBe('PROVIDER_CAPABILITY_NOT_SUPPORTED');
      expect(error.context).toEqual({ provider: 'fake', capability: 'customers' });
      const noHooks = new FakeProvider({ capabilities: ['charges'] });
      const hookError = await caught(() =>
        noHooks.verifyWebhook({ payload: Buffer.from('{}'), headers: {}, now: new Date() }),
      );
      expect(hookError.context).toEqual({ provider: 'fake', capability: 'webhooks' });
    });
  });

  describe('calls', () => {
    it('calls – records op, provider input and context of every operation, in order', async () => {
      const fake = new FakeProvider();
      const keyed: ProviderContext = { idempotencyKey: 'k-1', tenantId: 'merchant-a' };
      const customer = await fake.createCustomer({ email: 'a@example.test', name: 'A', metadata: {} }, keyed);
      await fake.getCustomer(customer.providerId, ctx);
      const input = chargeInput({ customerProviderId: customer.providerId });
      const payment = await fake.charge(input, ctx);
      await fake.getPayment(payment.providerId, ctx);
      await fake.refund(
        { paymentProviderId: payment.providerId, amount: 100, currency: 'USD', reason: null, metadata: {} },
        ctx,
      );
      await fake.createCheckout(
        {
          mode: 'payment',
          amount: 500,
          currency: 'USD',
          priceId: null,
          successUrl: 'https://a.test/ok',
          cancelUrl: 'https://a.test/no',
          customerProviderId: null,
          metadata: {},
        },
        ctx,
      );
      const sub = await fake.subscribe(
        { customerProviderId: customer.providerId, priceId: 'price_1', trialDays: null, metadata: {} },
        ctx,
      );
      await fake.cancelSubscription(sub.providerId, { atPeriodEnd: true }, ctx);
      await fake.listInvoices({ customerProviderId: customer.providerId, subscriptionProviderId: null, limit: 5 }, ctx);

      expect(fake.calls.map((c) => c.op)).toEqual([
        'createCustomer',
        'getCustomer',
        'charge',
        'getPayment',
        'refund',
        'createCheckout',
        'subscribe',
        'cancelSubscription',
        'listInvoices',
      ]);
      expect(fake.calls[0]).toEqual({
        op: 'createCustomer',
        input: { email: 'a@example.test', name: 'A', metadata: {} },
        options: keyed,
      });
      expect(fake.calls[1]).toEqual({ op: 'getCustomer', input: customer.providerId, options: ctx });
      expect(fake.calls[2]).toEqual({ op: 'charge', input, options: ctx });
      expect(fake.calls[7]).toEqual({
        op: 'cancelSubscription',
        input: { providerId: sub.providerId, atPeriodEnd: true },
        options: ctx,
      });
      // The log holds copies: changing the caller's objects afterwards does not rewrite history.
      input.amount = 1;
      expect(fake.calls[2]).toMatchObject({ input: { amount: 1000 } });
    });

    it('calls – a call refused for a missing capability is still recorded', async () => {
      const cards = new FakeProvider({ capabilities: ['charges', 'webhooks'] });
      await caught(() => cards.listInvoices({ customerProviderId: null, subscriptionProviderId: null, limit: 1 }, ctx));
      expect(cards.calls.map((c) => c.op)).toEqual(['listInvoices']);
    });
  });

  describe('charges', () => {
    it('charge – succeeds at once with a fake_pay_ id, keeping description and metadata', async () => {
      const fake = new FakeProvider();
      const payment = await fake.charge(chargeInput({ description: 'Order 7', metadata: { order: '7' } }), ctx);
      expect(payment).toMatchObject({
        status: 'succeeded',
        amount: 1000,
        currency: 'USD',
        amountRefunded: 0,
        description: 'Order 7',
        metadata: { order: '7' },
      });
      expect(payment.providerId).toMatch(/^fake_pay_[0-9A-Z]{26}$/);
      expect(await fake.getPayment(payment.providerId, ctx)).toEqual(payment);
    });

    it('charge – fake_outcome pending stays pending until completePayment, whose delivery says succeeded', async () => {
      const fake = new FakeProvider();
      const payment = await fake.charge(chargeInput({ metadata: { fake_outcome: 'pending' } }), ctx);
      expect(payment.status).toBe('pending');
      expect((await fake.getPayment(payment.providerId, ctx)).status).toBe('pending');
      const event = await verifier(fake)(fake.completePayment(payment.providerId));
      expect(event.type).toBe('payment.succeeded');
      expect(event.object).toMatchObject({
        kind: 'payment',
        providerId: payment.providerId,
        status: 'succeeded',
        amount: 1000,
      });
      expect((await fake.getPayment(payment.providerId, ctx)).status).toBe('succeeded');
    });

    it('charge – fake_outcome declined is PROVIDER_ERROR with the card_declined codes', async () => {
      const fake = new FakeProvider();
      const error = await caught(() => fake.charge(chargeInput({ metadata: { fake_outcome: 'declined' } }), ctx));
      expect(error.code).toBe('PROVIDER_ERROR');
      expect(error.httpStatus).toBe(502);
      expect(error.context).toMatchObject({ declineCode: 'card_declined', providerCode: 'card_declined' });
    });

    it('charge – fake_outcome unavailable is PROVIDER_UNAVAILABLE', async () => {
      const fake = new FakeProvider();
      const error = await caught(() => fake.charge(chargeInput({ metadata: { fake_outcome: 'unavailable' } }), ctx));
      expect(error.code).toBe('PROVIDER_UNAVAILABLE');
      expect(error.httpStatus).toBe(503);
    });

    it('charge – fake_outcome requires_action gives a next action url; an unknown outcome is PROVIDER_ERROR', async () => {
      const fake = new FakeProvider();
      const payment = await fake.charge(chargeInput({ metadata: { fake_outcome: 'requires_action' } }), ctx);
      expect(payment.status).toBe('requires_action');
      expect(payment.nextActionUrl).toMatch(/^https:\/\/fake\.payable\.test\//);
      const error = await caught(() => fake.charge(chargeInput({ metadata: { fake_outcome: 'explode' } }), ctx));
      expect(error.code).toBe('PROVIDER_ERROR');
    });

    it('charge – expiresIn sets expiresAt from the clock; capture false leaves it pending', async () => {
      const clock = new TestClock('2026-02-01T00:00:00Z');
      const fake = new FakeProvider({ clock });
      const payment = await fake.charge(chargeInput({ expiresIn: 600, capture: false }), ctx);
      expect(payment.status).toBe('pending');
      expect(payment.expiresAt).toEqual(new Date('2026-02-01T00:10:00Z'));
    });

    it('charge – an unknown customer is NOT_FOUND; a non-integer amount is PROVIDER_ERROR', async () => {
      const fake = new FakeProvider();
      expect((await caught(() => fake.charge(chargeInput({ customerProviderId: 'fake_cus_nope' }), ctx))).code).toBe(
        'NOT_FOUND',
      );
      const error = await caught(() => fake.charge(chargeInput({ amount: 10.5 }), ctx));
      expect(error.code).toBe('PROVIDER_ERROR');
      expect(error.context.providerCode).toBe('invalid_amount');
    });

    it('failPayment / expirePayment – move a payment in flight and sign the matching event', async () => {
      const fake = new FakeProvider();
      const verify = verifier(fake);
      const a = await fake.charge(chargeInput({ metadata: { fake_outcome: 'pending' } }), ctx);
      const failed = await verify(fake.failPayment(a.providerId, { code: 'insufficient_funds' }));
      expect(failed.type).toBe('payment.failed');
      expect(failed.object).toMatchObject({ status: 'failed', failureCode: 'insufficient_funds' });
      const b = await fake.charge(chargeInput({ metadata: { fake_outcome: 'pending' } }), ctx);
      const expired = await verify(fake.expirePayment(b.providerId));
      expect(expired.type).toBe('payment.expired');
      expect(fake.lookup('payment', b.providerId).status).toBe('expired');
    });

    it('completePayment – a payment not in flight is PROVIDER_ERROR invalid_state; an unknown one NOT_FOUND', async () => {
      const fake = new FakeProvider();
      const payment = await fake.charge(chargeInput(), ctx);
      const error = await caught(() => fake.completePayment(payment.providerId));
      expect(error.code).toBe('PROVIDER_ERROR');
      expect(error.context.providerCode).toBe('invalid_state');
      expect((await caught(() => fake.failPayment(payment.providerId))).context.providerCode).toBe('invalid_state');
      expect((await caught(() => fake.completePayment('fake_pay_nope'))).code).toBe('NOT_FOUND');
    });
  });

  describe('idempotency', () => {
    it('idempotency – the same key and input returns the first object and creates no second', async () => {
      const fake = new FakeProvider();
      const keyed = { idempotencyKey: 'sub-1', tenantId: null };
      const customer = await fake.createCustomer({ email: null, name: null, metadata: {} }, ctx);
      const input = { customerProviderId: customer.providerId, priceId: 'price_1', trialDays: null, metadata: {} };
      const first = await fake.subscribe(input, keyed);
      const second = await fake.subscribe({ ...input }, keyed);
      expect(second).toEqual(first);
      const invoices = await fake.listInvoices(
        { customerProviderId: customer.providerId, subscriptionProviderId: null, limit: 10 },
        ctx,
      );
      expect(invoices).toHaveLength(1);
    });

    it('idempotency – the same key with another input is PROVIDER_ERROR naming the key', async () => {
      const fake = new FakeProvider();
      const keyed = { idempotencyKey: 'pay-1', tenantId: null };
      await fake.charge(chargeInput(), keyed);
      const error = await caught(() => fake.charge(chargeInput({ amount: 2000 }), keyed));
      expect(error.code).toBe('PROVIDER_ERROR');
      expect(error.context).toMatchObject({ providerCode: 'idempotency_key_reused', idempotencyKey: 'pay-1' });
    });

    it('idempotency – keys are per tenant, and a failed call does not bind its key', async () => {
      const fake = new FakeProvider();
      const a = await fake.charge(chargeInput(), { idempotencyKey: 'k', tenantId: 'a' });
      const b = await fake.charge(chargeInput(), { idempotencyKey: 'k', tenantId: 'b' });
      expect(b.providerId).not.toBe(a.providerId);
      const payment = await fake.charge(chargeInput(), ctx);
      const refund = {
        paymentProviderId: payment.providerId,
        amount: 5000,
        currency: 'USD',
        reason: null,
        metadata: {},
      };
      await caught(() => fake.refund(refund, { idempotencyKey: 'r', tenantId: null }));
      const ok = await fake.refund({ ...refund, amount: 100 }, { idempotencyKey: 'r', tenantId: null });
      expect(ok.amount).toBe(100);
    });
  });

  describe('refunds', () => {
    it('refund – refuses another currency and a payment that has not succeeded', async () => {
      const fake = new FakeProvider();
      const payment = await fake.charge(chargeInput(), ctx);
      const base = { paymentProviderId: payment.providerId, amount: 100, reason: null, metadata: {} };
      expect((await caught(() => fake.refund({ ...base, currency: 'EUR' }, ctx))).context.providerCode).toBe(
        'currency_mismatch',
      );
      const pending = await fake.charge(chargeInput({ metadata: { fake_outcome: 'pending' } }), ctx);
      const error = await caught(() =>
        fake.refund({ ...base, paymentProviderId: pending.providerId, currency: 'USD' }, ctx),
      );
      expect(error.context).toMatchObject({ providerCode: 'payment_not_refundable', status: 'pending' });
    });

    it('refund – over-refund says what remains', async () => {
      const fake = new FakeProvider();
      const payment = await fake.charge(chargeInput(), ctx);
      await fake.refund(
        { paymentProviderId: payment.providerId, amount: 400, currency: 'USD', reason: null, metadata: {} },
        ctx,
      );
      const error = await caught(() =>
        fake.refund(
          { paymentProviderId: payment.providerId, amount: 601, currency: 'USD', reason: null, metadata: {} },
          ctx,
        ),
      );
      expect(error.context).toMatchObject({ providerCode: 'amount_too_large', remaining: 600, amount: 601 });
    });
  });

  describe('checkout, subscriptions, invoices', () => {
    it('createCheckout – url is https://fake.payable.test/checkout/<id>, valid 24 hours', async () => {
      const clock = new TestClock('2026-03-01T00:00:00Z');
      const fake = new FakeProvider({ clock });
      const checkout = await fake.createCheckout(
        {
          mode: 'payment',
          amount: 2500,
          currency: 'USD',
          priceId: null,
          successUrl: 'https://a.test/ok',
          cancelUrl: 'https://a.test/no',
          customerProviderId: null,
          metadata: {},
        },
        ctx,
      );
      expect(checkout.url).toBe(`https://fake.payable.test/checkout/${checkout.providerId}`);
      expect(checkout.providerId).toMatch(/^fake_cs_/);
      expect(checkout.expiresAt).toEqual(new Date('2026-03-02T00:00:00Z'));
    });

    it('completeCheckout – payment mode creates a succeeded payment and signs checkout.completed then payment.succeeded', async () => {
      const fake = new FakeProvider();
      const checkout = await fake.createCheckout(
        {
          mode: 'payment',
          amount: 2500,
          currency: 'USD',
          priceId: null,
          successUrl: 'https://a.test/ok',
          cancelUrl: 'https://a.test/no',
          customerProviderId: null,
          metadata: {},
        },
        ctx,
      );
      const events = await Promise.all(fake.completeCheckout(checkout.providerId).map((d) => verifier(fake)(d)));
      expect(events.map((e) => e.type)).toEqual(['checkout.completed', 'payment.succeeded']);
      const paymentId = String((events[1]?.object as { providerId?: string } | null | undefined)?.providerId);
      expect(events[0]?.object).toMatchObject({ kind: 'checkout', status: 'complete', paymentProviderId: paymentId });
      expect(await fake.getPayment(paymentId, ctx)).toMatchObject({ amount: 2500, status: 'succeeded' });
      expect((await caught(() => fake.completeCheckout(checkout.providerId))).context.providerCode).toBe(
        'invalid_state',
      );
    });

    it('completeCheckout – subscription mode creates the subscription at the price', async () => {
      const fake = new FakeProvider({ prices: { price_pro: { amount: 4900, currency: 'EUR' } } });
      const checkout = await fake.createCheckout(
        {
          mode: 'subscription',
          amount: null,
          currency: null,
          priceId: 'price_pro',
          successUrl: 'https://a.test/ok',
          cancelUrl: 'https://a.test/no',
          customerProviderId: null,
          metadata: {},
        },
        ctx,
      );
      expect(checkout).toMatchObject({ amount: 4900, currency: 'EUR' });
      const events = await Promise.all(fake.completeCheckout(checkout.providerId).map((d) => verifier(fake)(d)));
      expect(events.map((e) => e.type)).toEqual(['checkout.completed', 'subscription.created']);
      expect(events[1]?.object).toMatchObject({ kind: 'subscription', priceId: 'price_pro', status: 'active' });
    });

    it('subscribe – trial dates follow the clock; cancel now stamps canceledAt', async () => {
      const clock = new TestClock('2026-04-01T00:00:00Z');
      const fake = new FakeProvider({ clock });
      const customer = await fake.createCustomer({ email: null, name: null, metadata: {} }, ctx);
      const sub = await fake.subscribe(
        { customerProviderId: customer.providerId, priceId: 'p', trialDays: 14, metadata: {} },
        ctx,
      );
      expect(sub).toMatchObject({
        status: 'trialing',
        trialEnd: new Date('2026-04-15T00:00:00Z'),
        cancelAtPeriodEnd: false,
        canceledAt: null,
      });
      clock.advance({ days: 2 });
      const canceled = await fake.cancelSubscription(sub.providerId, { atPeriodEnd: false }, ctx);
      expect(canceled).toMatchObject({ status: 'canceled', canceledAt: new Date('2026-04-03T00:00:00Z') });
      expect(
        (
          await caught(() =>
            fake.subscribe({ customerProviderId: 'fake_cus_nope', priceId: 'p', trialDays: null, metadata: {} }, ctx),
          )
        ).code,
      ).toBe('NOT_FOUND');
    });

    it('listInvoices – one paid invoice per subscription at its price (0 in a trial), newest first, filtered', async () => {
      const fake = new FakeProvider({ prices: { price_pro: { amount: 4900, currency: 'EUR' } } });
      const a = await fake.createCustomer({ email: null, name: null, metadata: {} }, ctx);
      const b = await fake.createCustomer({ email: null, name: null, metadata: {} }, ctx);
      const first = await fake.subscribe(
        { customerProviderId: a.providerId, priceId: 'price_pro', trialDays: null, metadata: {} },
        ctx,
      );
      const second = await fake.subscribe(
        { customerProviderId: a.providerId, priceId: 'price_other', trialDays: 7, metadata: {} },
        ctx,
      );
      await fake.subscribe(
        { customerProviderId: b.providerId, priceId: 'price_pro', trialDays: null, metadata: {} },
        ctx,
      );
      const invoices = await fake.listInvoices(
        { customerProviderId: a.providerId, subscriptionProviderId: null, limit: 10 },
        ctx,
      );
      expect(invoices.map((i) => i.subscriptionProviderId)).toEqual([second.providerId, first.providerId]);
      expect(invoices[1]).toMatchObject({ amount: 4900, amountPaid: 4900, currency: 'EUR', status: 'paid' });
      expect(invoices[0]).toMatchObject({ amount: 0, status: 'paid' });
      const limited = await fake.listInvoices(
        { customerProviderId: null, subscriptionProviderId: null, limit: 2 },
        ctx,
      );
      expect(limited).toHaveLength(2);
    });
  });

  describe('webhooks', () => {
    it('eventFor – the body is { id, type, created, data } with the documented data of each kind', async () => {
      const clock = new TestClock('2026-01-02T03:04:05Z');
      const fake = new FakeProvider({ clock });
      const customer = await fake.createCustomer({ email: 'a@example.test', name: 'A', metadata: {} }, ctx);
      const payment = await fake.charge(chargeInput({ customerProviderId: customer.providerId }), ctx);
      const refund = await fake.refund(
        { paymentProviderId: payment.providerId, amount: 300, currency: 'USD', reason: null, metadata: {} },
        ctx,
      );
      const sub = await fake.subscribe(
        { customerProviderId: customer.providerId, priceId: 'p', trialDays: null, metadata: {} },
        ctx,
      );
      const body = (d: SignedDelivery) =>
        JSON.parse(d.rawBody) as Record<string, unknown> & { data: Record<string, unknown> };

      const paid = body(fake.eventFor('payment.succeeded', payment.providerId));
      expect(Object.keys(paid).sort()).toEqual(['created', 'data', 'id', 'type']);
      expect(paid).toMatchObject({ type: 'payment.succeeded', created: Date.parse('2026-01-02T03:04:05Z') / 1000 });
      expect(paid.id).toMatch(/^fake_evt_/);
      expect(paid.data).toMatchObject({
        id: payment.providerId,
        amount: 1000,
        currency: 'USD',
        status: 'partially_refunded',
      });
      expect(body(fake.eventFor('refund.succeeded', refund.providerId)).data).toMatchObject({
        id: refund.providerId,
        paymentId: payment.providerId,
        amount: 300,
        currency: 'USD',
        status: 'succeeded',
      });
      expect(body(fake.eventFor('customer.updated', customer.providerId)).data).toMatchObject({
        id: customer.providerId,
        email: 'a@example.test',
        name: 'A',
      });
      expect(body(fake.eventFor('subscription.created', sub.providerId)).data).toMatchObject({
        id: sub.providerId,
        customerId: customer.providerId,
        priceId: 'p',
        status: 'active',
      });
      // A provider object can be sent as it was, and an event id reused to simulate a redelivery.
      const old = body(fake.eventFor('payment.succeeded', payment, { id: 'evt_same' }));
      expect(old).toMatchObject({ id: 'evt_same', data: { status: 'succeeded' } });
    });

    it('sign – lower-case x-fake-signature t=<clock seconds>,v1=<hmac-sha256 hex of "t.body">', async () => {
      const clock = new TestClock('2026-01-01T00:00:10.900Z');
      const fake = new FakeProvider({ clock, secret: 'whsec_known' });
      const headers = fake.sign('{"a":1}');
      expect(Object.keys(headers)).toEqual(['x-fake-signature']);
      const { createHmac } = await import('node:crypto');
      const t = Date.parse('2026-01-01T00:00:10Z') / 1000;
      const hex = createHmac('sha256', 'whsec_known').update(`${t}.{"a":1}`).digest('hex');
      expect(headers['x-fake-signature']).toBe(`t=${t},v1=${hex}`);
      expect(fake.sign('{"a":1}', { timestamp: 1700000000 })['x-fake-signature']).toMatch(
        /^t=1700000000,v1=[0-9a-f]{64}$/,
      );
    });

    it('verifyWebhook – accepts any matching v1 among several (secret rotation)', async () => {
      const fake = new FakeProvider();
      const payment = await fake.charge(chargeInput(), ctx);
      const delivery = fake.eventFor('payment.succeeded', payment.providerId);
      const [t, v1] = (delivery.headers['x-fake-signature'] ?? '').split(',');
      const rotated = { ...delivery.headers, 'x-fake-signature': `${t},v1=${'0'.repeat(64)},${v1}` };
      expect((await verifier(fake)({ ...delivery, headers: rotated })).type).toBe('payment.succeeded');
      const onlyWrong = { ...delivery.headers, 'x-fake-signature': `${t},v1=${'0'.repeat(64)}` };
      expect((await caught(() => verifier(fake)({ ...delivery, headers: onlyWrong }))).context.reason).toBe(
        'signature_mismatch',
      );
      const malformed = { ...delivery.headers, 'x-fake-signature': 'v1=abc' };
      expect((await caught(() => verifier(fake)({ ...delivery, headers: malformed }))).context.reason).toBe(
        'malformed_header',
      );
    });

    it('verifyWebhook – the tolerance is inclusive at 300 s both ways and checks the signature time, not created', async () => {
      const clock = new TestClock('2026-06-01T12:00:00Z');
      const fake = new FakeProvider({ clock });
      const verify = verifier(fake);
      const payment = await fake.charge(chargeInput(), ctx);
      const nowS = clock.now().getTime() / 1000;
      const at = (seconds: number) => fake.eventFor('payment.succeeded', payment.providerId, { timestamp: seconds });
      expect((await verify(at(nowS - 300))).type).toBe('payment.succeeded');
      expect((await verify(at(nowS + 300))).type).toBe('payment.succeeded');
      expect((await caught(() => verify(at(nowS - 301)))).context.reason).toBe('timestamp_outside_tolerance');
      expect((await caught(() => verify(at(nowS + 301)))).code).toBe('INVALID_WEBHOOK_SIGNATURE');
      // An event created a day ago but signed now is fresh; one created now but signed long ago is not.
      const oldEvent = fake.eventFor('payment.succeeded', payment.providerId, {
        created: new Date(clock.now().getTime() - 86_400_000),
      });
      expect((await verify(oldEvent)).createdAt).toEqual(new Date(clock.now().getTime() - 86_400_000));
      const delivery = fake.eventFor('payment.succeeded', payment.providerId);
      clock.advance({ minutes: 6 });
      expect((await caught(() => verify(delivery))).code).toBe('INVALID_WEBHOOK_SIGNATURE');
    });

    it('verifyWebhook – honours secret and signatureHeader overrides, and lastVerifyInput records them', async () => {
      const fake = new FakeProvider();
      const payment = await fake.charge(chargeInput(), ctx);
      const delivery = fake.eventFor('payment.succeeded', payment.providerId, { secret: 'whsec_tenant_b' });
      const moved = { 'x-tenant-sig': delivery.headers['x-fake-signature'] ?? '' };
      const event = await verifier(fake)(
        { ...delivery, headers: moved },
        { secret: 'whsec_tenant_b', signatureHeader: 'X-Tenant-Sig' },
      );
      expect(event.type).toBe('payment.succeeded');
      expect(fake.lastVerifyInput).toMatchObject({
        headers: moved,
        secret: 'whsec_tenant_b',
        signatureHeader: 'x-tenant-sig',
      });
      expect(fake.lastVerifyInput?.payload.toString()).toBe(delivery.rawBody);

      const error = await caught(() => verifier(fake)({ rawBody: 'tampered', headers: delivery.headers }));
      expect(error.code).toBe('INVALID_WEBHOOK_SIGNATURE');
      expect(fake.lastVerifyInput).toMatchObject({ secret: FAKE_WEBHOOK_SECRET, signatureHeader: 'x-fake-signature' });
      expect(fake.lastVerifyInput?.payload.toString()).toBe('tampered');
    });

    it('verifyWebhook – unknown types normalize to unknown, keeping providerType', async () => {
      const fake = new FakeProvider();
      const event = await verifier(fake)(fake.eventFor('charge.dispute.created', { id: 'dp_1', amount: 100 }));
      expect(event).toMatchObject({ type: 'unknown', providerType: 'charge.dispute.created', object: null });
      expect((await caught(() => fake.eventFor('charge.dispute.created', 'dp_1'))).code).toBe('VALIDATION_ERROR');
    });

    it('verifyWebhook – a genuinely signed body that is not JSON or not the shape is INVALID_WEBHOOK_PAYLOAD', async () => {
      const fake = new FakeProvider();
      const verify = verifier(fake);
      const cases: [string, string | undefined][] = [
        ['not json {', undefined],
        ['[1,2]', 'body'],
        ['{"type":"payment.succeeded","created":1,"data":{}}', 'body.id'],
        ['{"id":"e","type":"payment.succeeded","created":"yesterday","data":{}}', 'body.created'],
        ['{"id":"e","type":"payment.succeeded","created":1}', 'body.data'],
        [
          '{"id":"e","type":"payment.succeeded","created":1,"data":{"id":"p","amount":1.5,"currency":"USD","status":"succeeded"}}',
          'data.amount',
        ],
        [
          '{"id":"e","type":"payment.succeeded","created":1,"data":{"id":"p","amount":1,"currency":"USD","status":"paid"}}',
          'data.status',
        ],
      ];
      for (const [rawBody, field] of cases) {
        const error = await caught(() => verify(fake.signedDelivery(rawBody, {})));
        expect(error.code, rawBody).toBe('INVALID_WEBHOOK_PAYLOAD');
        if (field !== undefined) expect(error.context.field, rawBody).toBe(field);
      }
      const parsed = await caught(() =>
        fake.verifyWebhook({ payload: { id: 'e' } as unknown as Buffer, headers: {}, now: new Date() }),
      );
      expect(parsed.code).toBe('INVALID_WEBHOOK_PAYLOAD');
    });

    it('verifyWebhook – signature first: an unsigned non-JSON body is INVALID_WEBHOOK_SIGNATURE', async () => {
      const fake = new FakeProvider();
      const error = await caught(() => verifier(fake)({ rawBody: 'not json {', headers: {} }));
      expect(error.code).toBe('INVALID_WEBHOOK_SIGNATURE');
      expect(error.context.reason).toBe('missing_header');
    });

    it('verifyWebhook – property: any body signed with any secret verifies; any changed byte does not', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.string({ minLength: 1, maxLength: 40 }),
          fc.uint8Array({ minLength: 1, maxLength: 200 }),
          fc.nat(),
          async (secret, bytes, position) => {
            fc.pre(secret.trim() !== '');
            const fake = new FakeProvider({ secret });
            const payload = Buffer.from(bytes);
            const headers = fake.sign(payload);
            const now = fake.now();
            // The signature holds (then the body may or may not parse: never a signature error).
            const ok = await fake.verifyWebhook({ payload, headers, now }).then(
              () => 'ok',
              (e: PayableError) => e.code,
            );
            expect(ok).not.toBe('INVALID_WEBHOOK_SIGNATURE');
            const tampered = Buffer.from(payload);
            const i = position % tampered.length;
            tampered[i] = (tampered[i] ?? 0) ^ 0x01;
            const error = await caught(() => fake.verifyWebhook({ payload: tampered, headers, now }));
            expect(error.code).toBe('INVALID_WEBHOOK_SIGNATURE');
          },
        ),
        { numRuns: 150 },
      );
    });
  });

  describe('deliver', () => {
    async function setupDeliveries(count: number) {
      const fake = new FakeProvider();
      const deliveries: SignedDelivery[] = [];
      for (let i = 0; i < count; i++) {
        const payment = await fake.charge(chargeInput({ amount: 100 + i }), ctx);
        deliveries.push(fake.eventFor('payment.succeeded', payment.providerId, { id: `evt_${i}` }));
      }
      const received: NormalizedEvent[] = [];
      const target = async (d: SignedDelivery) => {
        const event = await fake.verifyWebhook({
          payload: Buffer.from(d.rawBody),
          headers: d.headers,
          now: fake.now(),
        });
        received.push(event);
        return event.id;
      };
      return { fake, deliveries, received, target };
    }

    it('deliver – without chaos sends each delivery once, in order, and reports the results', async () => {
      const { fake, deliveries, received, target } = await setupDeliveries(3);
      const report = await fake.deliver(target, deliveries);
      expect(received.map((e) => e.id)).toEqual(['evt_0', 'evt_1', 'evt_2']);
      expect(report.attempts.map((a) => [a.index, a.duplicate, a.ok, a.result])).toEqual([
        [0, false, true, 'evt_0'],
        [1, false, true, 'evt_1'],
        [2, false, true, 'evt_2'],
      ]);
      expect(report.dropped).toEqual([]);
      await fake.deliver(target, deliveries[0] as SignedDelivery);
      expect(received).toHaveLength(4);
    });

    it('deliver – duplicate as a count sends exactly that many deliveries twice, the copy right after', async () => {
      const { fake, deliveries, received, target } = await setupDeliveries(5);
      const report = await fake.deliver(target, deliveries, { duplicate: 2, seed: 42 });
      expect(received).toHaveLength(7);
      const doubled = report.attempts.filter((a) => a.duplicate).map((a) => a.index);
      expect(new Set(doubled).size).toBe(2);
      for (const index of doubled) {
        const at = report.attempts.findIndex((a) => a.index === index);
        expect(report.attempts[at + 1]).toMatchObject({ index, duplicate: true });
      }
      expect(report.attempts.filter((a) => !a.duplicate).map((a) => a.index)).toEqual([0, 1, 2, 3, 4]);
    });

    it('deliver – drop as a count never sends those deliveries and lists them', async () => {
      const { fake, deliveries, received, target } = await setupDeliveries(6);
      const report = await fake.deliver(target, deliveries, { drop: 2, seed: 3 });
      expect(report.dropped).toHaveLength(2);
      expect(received).toHaveLength(4);
      const droppedIds = report.dropped.map((d) => (JSON.parse(d.rawBody) as { id: string }).id);
      for (const id of droppedIds) expect(received.map((e) => e.id)).not.toContain(id);
    });

    it('deliver – reorder sends every delivery once in another order', async () => {
      const { fake, deliveries, received, target } = await setupDeliveries(4);
      const report = await fake.deliver(target, deliveries, { reorder: true, seed: 1 });
      const order = report.attempts.map((a) => a.index);
      expect([...order].sort()).toEqual([0, 1, 2, 3]);
      expect(order).not.toEqual([0, 1, 2, 3]);
      expect(received.map((e) => e.id)).toEqual(order.map((i) => `evt_${i}`));
      // Two deliveries: the only other order.
      const two = await fake.deliver(target, deliveries.slice(0, 2), { reorder: true, seed: 5 });
      expect(two.attempts.map((a) => a.index)).toEqual([1, 0]);
    });

    it('deliver – the same seed gives the same run; the report gives the seed back', async () => {
      const { fake, deliveries, target } = await setupDeliveries(8);
      const chaos = { duplicate: 0.5, drop: 0.25, reorder: true, seed: 2026 };
      const shape = (r: Awaited<ReturnType<typeof fake.deliver>>) => ({
        sent: r.attempts.map((a) => [a.index, a.duplicate]),
        dropped: r.dropped.map((d) => d.rawBody),
      });
      const first = await fake.deliver(target, deliveries, chaos);
      const second = await fake.deliver(target, deliveries, chaos);
      expect(shape(second)).toEqual(shape(first));
      expect(first.seed).toBe(2026);
      const unseeded = await fake.deliver(target, deliveries, { duplicate: 0.5, reorder: true });
      const replay = await fake.deliver(target, deliveries, { duplicate: 0.5, reorder: true, seed: unseeded.seed });
      expect(shape(replay)).toEqual(shape(unseeded));
      // Some seed gives a different run (the chaos is not fixed).
      const runs = new Set<string>();
      for (let seed = 0; seed < 5; seed++)
        runs.add(JSON.stringify(shape(await fake.deliver(target, deliveries, { ...chaos, seed }))));
      expect(runs.size).toBeGreaterThan(1);
    });

    it('deliver – a target that throws is recorded and the run goes on; delayMs waits before each send', async () => {
      const { fake, deliveries } = await setupDeliveries(3);
      let calls = 0;
      const started = Date.now();
      const report = await fake.deliver(
        async () => {
          calls++;
          if (calls === 1) throw new Error('receiver down');
          return 'ok';
        },
        deliveries,
        { delayMs: 20 },
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(55);
      expect(report.attempts.map((a) => a.ok)).toEqual([false, true, true]);
      expect(report.attempts[0]?.error).toEqual(new Error('receiver down'));
    });

    it('deliver – a drop or duplicate that is neither a probability nor a count is VALIDATION_ERROR', async () => {
      const { fake, deliveries, target } = await setupDeliveries(1);
      expect((await caught(() => fake.deliver(target, deliveries, { drop: 1.5 }))).context.field).toBe('chaos.drop');
      expect((await caught(() => fake.deliver(target, deliveries, { duplicate: -1 }))).context.field).toBe(
        'chaos.duplicate',
      );
    });
  });
});
