import { createPayable, MemoryStorageDriver, NodeEncryptionDriver, type ProviderContext } from '@payable/core';
import { caught } from './support.js';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { FakeProvider, TestClock } from '@payable/testing';

function setup() {
  const clock = new TestClock();
  const fake = new FakeProvider({ clock });
  const storage = new MemoryStorageDriver();
  const payable = createPayable({ providers: { fake }, storage, clock });
  return { clock, fake, storage, payable };
}

describe('charge', () => {
  it('charge – stores the payment with Payable id, provider name and provider id', async () => {
    const { payable, fake } = setup();
    const payment = await payable.charge({ amount: 1999, currency: 'eur', description: 'Order 42' });
    expect(payment.id).toMatch(/^pay_/);
    expect(payment.provider).toBe('fake');
    expect(payment.providerId).toMatch(/^fake_pay_/);
    expect(payment).toMatchObject({ amount: 1999, currency: 'EUR', status: 'succeeded', description: 'Order 42' });
    expect(await payable.getPayment(payment.id)).toEqual(payment);
    expect(fake.calls.map((c) => c.op)).toEqual(['charge']);
  });

  it.each([
    [{ amount: 10.5, currency: 'USD' }, 'amount'],
    [{ amount: -1, currency: 'USD' }, 'amount'],
    [{ amount: 0, currency: 'USD' }, 'amount'],
    [{ amount: '100', currency: 'USD' }, 'amount'],
    [{ amount: 100, currency: 'XYZ' }, 'currency'],
    [{ amount: 100 }, 'currency'],
    [{ amount: 100, currency: 'USD', surprise: true }, 'surprise'],
  ])('charge – bad input %j is VALIDATION_ERROR naming %s', async (input, field) => {
    const { payable, fake } = setup();
    const error = await caught(payable.charge(input as never));
    expect(error.code).toBe('VALIDATION_ERROR');
    expect(error.httpStatus).toBe(400);
    expect(error.context.field).toBe(field);
    expect(fake.calls).toHaveLength(0);
  });

  it('charge – a decline is PROVIDER_ERROR with the decline code', async () => {
    const { payable } = setup();
    const error = await caught(
      payable.charge({ amount: 100, currency: 'USD', metadata: { fake_outcome: 'declined' } }),
    );
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(error.context.declineCode).toBe('card_declined');
  });
});

describe('capabilities', () => {
  it('supports – answers per provider at run time', () => {
    const payable = createPayable({
      providers: { full: new FakeProvider(), cards: new FakeProvider({ capabilities: ['charges', 'webhooks'] }) },
      storage: new MemoryStorageDriver(),
      defaultProvider: 'full',
    });
    expect(payable.supports('subscriptions')).toBe(true);
    expect(payable.supports('subscriptions', 'cards')).toBe(false);
    expect(payable.supports('charges', 'cards')).toBe(true);
  });

  it('an operation the provider lacks – PROVIDER_CAPABILITY_NOT_SUPPORTED (422) before validation and lookups', async () => {
    const cards = new FakeProvider({ capabilities: ['charges', 'webhooks'] });
    const payable = createPayable({ providers: { cards }, storage: new MemoryStorageDriver() });
    // Invalid input and an unknown id: the capability is still what is reported.
    const error = await caught(payable.refund({ paymentId: '' } as never, { provider: 'cards' as never }));
    expect(error.code).toBe('PROVIDER_CAPABILITY_NOT_SUPPORTED');
    expect(error.httpStatus).toBe(422);
    expect(error.context).toEqual({ provider: 'cards', capability: 'refunds' });
    expect(cards.calls).toHaveLength(0);
  });

  it('types – an operation no registered provider supports takes no provider name', () => {
    const payable = createPayable({
      providers: { cards: new FakeProvider({ capabilities: ['charges', 'webhooks'] }) },
    });
    expectTypeOf(payable.charge)
      .parameter(1)
      .toEqualTypeOf<import('@payable/core').OperationOptions<'cards'> | undefined>();
    expectTypeOf(payable.subscribe)
      .parameter(1)
      .toEqualTypeOf<import('@payable/core').OperationOptions<never> | undefined>();
  });

  it('several providers and none named – VALIDATION_ERROR on provider', async () => {
    const payable = createPayable({
      providers: { a: new FakeProvider(), b: new FakeProvider() },
      storage: new MemoryStorageDriver(),
    });
    const error = await caught(payable.charge({ amount: 1, currency: 'USD' }));
    expect(error.code).toBe('VALIDATION_ERROR');
    expect(error.context.field).toBe('provider');
    const ok = await payable.charge({ amount: 1, currency: 'USD' }, { provider: 'b' });
    expect(ok.provider).toBe('b');
  });
});

describe('refunds', () => {
  it('refund – partial then the rest; the payment follows', async () => {
    const { payable } = setup();
    const payment = await payable.charge({ amount: 1000, currency: 'USD' });
    const first = await payable.refund({ paymentId: payment.id, amount: 300, reason: 'damaged' });
    expect(first).toMatchObject({ amount: 300, currency: 'USD', status: 'succeeded', paymentId: payment.id });
    expect((await payable.getPayment(payment.id)).status).toBe('partially_refunded');
    const rest = await payable.refund({ paymentId: payment.id });
    expect(rest.amount).toBe(700);
    const after = await payable.getPayment(payment.id);
    expect(after).toMatchObject({ status: 'refunded', amountRefunded: 1000 });
  });

  it('refund – more than is left is VALIDATION_ERROR on amount; unknown payment is NOT_FOUND', async () => {
    const { payable, fake } = setup();
    const payment = await payable.charge({ amount: 500, currency: 'USD' });
    const over = await caught(payable.refund({ paymentId: payment.id, amount: 501 }));
    expect(over.code).toBe('VALIDATION_ERROR');
    expect(over.context.field).toBe('amount');
    const missing = await caught(payable.refund({ paymentId: 'pay_nope' }));
    expect(missing.code).toBe('NOT_FOUND');
    expect(fake.calls.filter((c) => c.op === 'refund')).toHaveLength(0);
  });
});

describe('customers, checkout, subscriptions, invoices', () => {
  it('createCustomer / getCustomer – round trip; PII encrypted at rest', async () => {
    const storage = new MemoryStorageDriver();
    const payable = createPayable({
      providers: { fake: new FakeProvider() },
      storage,
      encryption: new NodeEncryptionDriver({ key: 'a-long-high-entropy-test-key-0123456789' }),
    });
    const customer = await payable.createCustomer({ email: 'ada@example.test', name: 'Ada Lovelace' });
    expect(await payable.getCustomer(customer.id)).toMatchObject({ email: 'ada@example.test', name: 'Ada Lovelace' });
    const raw = await storage.getRecord('customer', customer.id, null);
    expect(JSON.stringify(raw)).not.toContain('ada@example.test');
    expect(JSON.stringify(raw)).not.toContain('Lovelace');
    const missing = await caught(payable.getCustomer('cus_nope'));
    expect(missing.code).toBe('NOT_FOUND');
  });

  it('charge with a Payable customer id – the provider gets its own customer id', async () => {
    const { payable, fake } = setup();
    const customer = await payable.createCustomer({ email: 'b@example.test' });
    const payment = await payable.charge({ amount: 100, currency: 'USD', customerId: customer.id });
    expect(payment.customerId).toBe(customer.id);
    const call = fake.calls.find((c) => c.op === 'charge');
    expect((call?.input as { customerProviderId: string } | undefined)?.customerProviderId).toBe(customer.providerId);
  });

  it('createCheckout – payment and subscription mode', async () => {
    const { payable } = setup();
    const byAmount = await payable.createCheckout({
      amount: 2500,
      currency: 'USD',
      successUrl: 'https://shop.test/ok',
      cancelUrl: 'https://shop.test/cancel',
    });
    expect(byAmount).toMatchObject({ mode: 'payment', status: 'open', amount: 2500, currency: 'USD' });
    expect(byAmount.url).toMatch(/^https:\/\//);
    const byPrice = await payable.createCheckout({
      priceId: 'price_basic',
      successUrl: 'https://shop.test/ok',
      cancelUrl: 'https://shop.test/cancel',
    });
    expect(byPrice.mode).toBe('subscription');
    const bad = await caught(
      payable.createCheckout({ amount: 1, currency: 'USD', successUrl: 'not a url', cancelUrl: 'https://x.test' }),
    );
    expect(bad.context.field).toBe('successUrl');
  });

  it('subscribe / cancelSubscription – now and at period end', async () => {
    const { payable } = setup();
    const customer = await payable.createCustomer({ email: 'c@example.test' });
    const trial = await payable.subscribe({ customerId: customer.id, priceId: 'price_basic', trialDays: 14 });
    expect(trial).toMatchObject({ status: 'trialing', customerId: customer.id, priceId: 'price_basic' });
    const later = await payable.cancelSubscription(trial.id, { atPeriodEnd: true });
    expect(later).toMatchObject({ id: trial.id, cancelAtPeriodEnd: true, status: 'trialing' });
    const sub = await payable.subscribe({ customerId: customer.id, priceId: 'price_pro' });
    const now = await payable.cancelSubscription(sub.id);
    expect(now.status).toBe('canceled');
    expect((await caught(payable.cancelSubscription('sub_nope'))).code).toBe('NOT_FOUND');
  });

  it('listInvoices – lists the provider invoices as records', async () => {
    const { payable } = setup();
    const customer = await payable.createCustomer({ email: 'd@example.test' });
    await payable.subscribe({ customerId: customer.id, priceId: 'price_basic' });
    const page = await payable.listInvoices({ customerId: customer.id });
    expect(page.data.length).toBeGreaterThan(0);
    expect(page.data[0]).toMatchObject({ customerId: customer.id, provider: 'fake' });
    expect(Number.isInteger(page.data[0]?.amount)).toBe(true);
    expect(page).toMatchObject({ hasMore: false, nextCursor: null });
  });
});

describe('reads', () => {
  it('getPayment – unknown id is NOT_FOUND without asking the provider', async () => {
    const { payable, fake } = setup();
    const error = await caught(payable.getPayment('pay_unknown'));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.httpStatus).toBe(404);
    expect(fake.calls).toHaveLength(0);
  });

  it('listPayments – newest first, paginated, scoped by tenant', async () => {
    const { payable, clock } = setup();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await payable.charge({ amount: 100 + i, currency: 'USD' })).id);
      clock.advance({ seconds: 1 });
    }
    await payable.charge({ amount: 1, currency: 'USD' }, { tenantId: 'merchant-b' });
    const first = await payable.listPayments({ limit: 2 });
    expect(first.data.map((p) => p.id)).toEqual([ids[4], ids[3]]);
    expect(first.hasMore).toBe(true);
    const second = await payable.listPayments({ limit: 10, cursor: first.nextCursor });
    expect(second.data.map((p) => p.id)).toEqual([ids[2], ids[1], ids[0]]);
    expect(second.hasMore).toBe(false);
    const other = await payable.listPayments({ tenantId: 'merchant-b' });
    expect(other.data).toHaveLength(1);
  });

  it('tenants – a record of one tenant is not found from another', async () => {
    const { payable } = setup();
    const payment = await payable.charge({ amount: 100, currency: 'USD' }, { tenantId: 'merchant-a' });
    expect((await payable.getPayment(payment.id, { tenantId: 'merchant-a' })).id).toBe(payment.id);
    expect((await caught(payable.getPayment(payment.id, { tenantId: 'merchant-b' }))).code).toBe('NOT_FOUND');
    expect((await caught(payable.getPayment(payment.id))).code).toBe('NOT_FOUND');
  });
});

describe('without storage', () => {
  it('operations still work; webhooks and the outbox say what they need', async () => {
    const fake = new FakeProvider();
    const payable = createPayable({ providers: { fake } });
    const payment = await payable.charge({ amount: 100, currency: 'USD' });
    expect(payment.status).toBe('succeeded');
    const delivery = fake.eventFor('payment.succeeded', payment.providerId);
    expect((await caught(payable.webhooks.receive({ provider: 'fake', ...delivery }))).code).toBe(
      'WEBHOOK_STORAGE_REQUIRED',
    );
    expect(() => payable.outbox()).toThrowError(expect.objectContaining({ code: 'OUTBOX_STORAGE_REQUIRED' }));
  });

  it('a provider context carries the idempotency key for native providers', async () => {
    const fake = new FakeProvider();
    const payable = createPayable({ providers: { fake } });
    await payable.charge({ amount: 100, currency: 'USD' }, { idempotencyKey: 'k-1' });
    expect((fake.calls[0]?.options as ProviderContext | undefined)?.idempotencyKey).toBe('k-1');
  });
});
