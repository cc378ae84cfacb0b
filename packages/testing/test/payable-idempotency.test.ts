import {
  createPayable,
  isPayableError,
  MemoryStorageDriver,
  type PayableError,
  type PaymentProvider,
  type ProviderChargeInput,
  type ProviderContext,
  type ProviderPayment,
} from '@payable/core';
import { caught } from './support.js';
import { describe, expect, it } from 'vitest';
import { FakeProvider, TestClock } from '@payable/testing';

/** A provider whose charges wait until released: a request "in flight" for as long as a test wants. */
function gatedFake(clock: TestClock) {
  const fake = new FakeProvider({ clock });
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let started = 0;
  const provider: PaymentProvider<'charges' | 'webhooks'> = {
    name: 'gated',
    capabilities: ['charges', 'webhooks'],
    idempotency: 'none',
    signatureHeader: fake.signatureHeader,
    verifyWebhook: (input) => fake.verifyWebhook(input),
    charge: async (input: ProviderChargeInput, ctx: ProviderContext): Promise<ProviderPayment> => {
      started++;
      await gate;
      return fake.charge(input, { ...ctx, idempotencyKey: null });
    },
  };
  return { provider, started: () => started, open: () => release() };
}

function setup() {
  const clock = new TestClock();
  const fake = new FakeProvider({ clock });
  const storage = new MemoryStorageDriver();
  const payable = createPayable({ providers: { fake }, storage, clock });
  return { clock, fake, storage, payable };
}

describe('idempotency', () => {
  it('same key, same request – the stored result, one provider call', async () => {
    const { payable, fake } = setup();
    const a = await payable.charge({ amount: 1500, currency: 'USD' }, { idempotencyKey: 'order-1' });
    const b = await payable.charge({ amount: 1500, currency: 'USD' }, { idempotencyKey: 'order-1' });
    expect(b).toEqual(a);
    expect(fake.calls.filter((c) => c.op === 'charge')).toHaveLength(1);
    expect((await payable.listPayments()).data).toHaveLength(1);
  });

  it('execute – a replay answers the stored status and body byte for byte', async () => {
    const { payable } = setup();
    const first = await payable.execute('charge', { amount: 700, currency: 'GBP' }, { idempotencyKey: 'k' });
    const again = await payable.execute('charge', { currency: 'GBP', amount: 700 }, { idempotencyKey: 'k' });
    expect(first.replayed).toBe(false);
    expect(again).toEqual({ status: first.status, body: first.body, replayed: true });
    expect(first.status).toBe(201);
  });

  it('same key, different request – IDEMPOTENCY_CONFLICT (409) with context.key', async () => {
    const { payable } = setup();
    await payable.charge({ amount: 1500, currency: 'USD' }, { idempotencyKey: 'order-2' });
    const error = await caught(payable.charge({ amount: 1600, currency: 'USD' }, { idempotencyKey: 'order-2' }));
    expect(error.code).toBe('IDEMPOTENCY_CONFLICT');
    expect(error.httpStatus).toBe(409);
    expect(error.context.key).toBe('order-2');
  });

  it('same key while the first is running – IDEMPOTENCY_IN_PROGRESS (409)', async () => {
    const clock = new TestClock();
    const gated = gatedFake(clock);
    const payable = createPayable({ providers: { fake: gated.provider }, storage: new MemoryStorageDriver(), clock });
    const first = payable.charge({ amount: 100, currency: 'USD' }, { idempotencyKey: 'slow' });
    while (gated.started() === 0) await new Promise((r) => setTimeout(r, 1));
    const error = await caught(payable.charge({ amount: 100, currency: 'USD' }, { idempotencyKey: 'slow' }));
    expect(error.code).toBe('IDEMPOTENCY_IN_PROGRESS');
    expect(error.httpStatus).toBe(409);
    gated.open();
    const done = await first;
    expect(await payable.charge({ amount: 100, currency: 'USD' }, { idempotencyKey: 'slow' })).toEqual(done);
    expect(gated.started()).toBe(1);
  });

  it('a lock left by a crashed request expires after 90 s – a retry proceeds', async () => {
    const clock = new TestClock();
    const gated = gatedFake(clock);
    const payable = createPayable({ providers: { fake: gated.provider }, storage: new MemoryStorageDriver(), clock });
    void payable.charge({ amount: 100, currency: 'USD' }, { idempotencyKey: 'crash' }).catch(() => undefined);
    while (gated.started() === 0) await new Promise((r) => setTimeout(r, 1));
    clock.advance({ seconds: 89 });
    expect((await caught(payable.charge({ amount: 100, currency: 'USD' }, { idempotencyKey: 'crash' }))).code).toBe(
      'IDEMPOTENCY_IN_PROGRESS',
    );
    clock.advance({ seconds: 2 });
    const retry = payable.charge({ amount: 100, currency: 'USD' }, { idempotencyKey: 'crash' });
    while (gated.started() < 2) await new Promise((r) => setTimeout(r, 1));
    gated.open();
    expect((await retry).status).toBe('succeeded');
  });

  it('keys are kept 24 h then purged; an expired key is a new key', async () => {
    const { payable, fake, clock } = setup();
    await payable.charge({ amount: 100, currency: 'USD' }, { idempotencyKey: 'daily' });
    clock.advance({ hours: 23 });
    await payable.charge({ amount: 100, currency: 'USD' }, { idempotencyKey: 'daily' });
    expect(fake.calls.filter((c) => c.op === 'charge')).toHaveLength(1);
    clock.advance({ hours: 2 });
    expect(await payable.purgeIdempotencyKeys()).toBe(1);
    // Payable's key is gone: the request reaches the provider again (which dedupes it natively).
    await payable.charge({ amount: 100, currency: 'USD' }, { idempotencyKey: 'daily' });
    expect(fake.calls.filter((c) => c.op === 'charge')).toHaveLength(2);
  });

  it('retention is configurable', async () => {
    const clock = new TestClock();
    const fake = new FakeProvider({ clock });
    const payable = createPayable({
      providers: { fake },
      storage: new MemoryStorageDriver(),
      clock,
      idempotency: { retentionMs: 60_000 },
    });
    await payable.charge({ amount: 100, currency: 'USD' }, { idempotencyKey: 'short' });
    clock.advance({ seconds: 61 });
    await payable.charge({ amount: 100, currency: 'USD' }, { idempotencyKey: 'short' });
    expect(fake.calls.filter((c) => c.op === 'charge')).toHaveLength(2);
  });

  it('a provider decline is stored and replayed; a failure before the provider releases the key', async () => {
    const { payable, fake } = setup();
    const declined = { amount: 100, currency: 'USD', metadata: { fake_outcome: 'declined' } };
    const e1 = await caught(payable.charge(declined, { idempotencyKey: 'decline' }));
    const e2 = await caught(payable.charge(declined, { idempotencyKey: 'decline' }));
    expect([e1.code, e2.code]).toEqual(['PROVIDER_ERROR', 'PROVIDER_ERROR']);
    expect(e2.context).toEqual(e1.context);
    expect(fake.calls.filter((c) => c.op === 'charge')).toHaveLength(1);

    const bad = await caught(payable.refund({ paymentId: 'pay_missing' }, { idempotencyKey: 'refund-1' }));
    expect(bad.code).toBe('NOT_FOUND');
    const payment = await payable.charge({ amount: 100, currency: 'USD' });
    const refund = await payable.refund({ paymentId: payment.id }, { idempotencyKey: 'refund-1' }).catch((e) => e);
    // The key was released, so it may be used for a different request now.
    expect(isPayableError(refund) && refund.code === 'IDEMPOTENCY_CONFLICT').toBe(false);
  });

  it('the key is forwarded to providers that accept one', async () => {
    const { payable, fake } = setup();
    await payable.createCustomer({ email: 'x@example.test' }, { idempotencyKey: 'cust-1' });
    expect((fake.calls[0]?.options as ProviderContext | undefined)?.idempotencyKey).toBe('cust-1');
  });

  it('keys up to 255 characters; longer is VALIDATION_ERROR', async () => {
    const { payable } = setup();
    await payable.charge({ amount: 1, currency: 'USD' }, { idempotencyKey: 'k'.repeat(255) });
    const error = await caught(payable.charge({ amount: 1, currency: 'USD' }, { idempotencyKey: 'k'.repeat(256) }));
    expect(error.code).toBe('VALIDATION_ERROR');
  });

  it('20 concurrent requests with one key – one provider call; the rest replay or are in progress', async () => {
    const clock = new TestClock();
    const gated = gatedFake(clock);
    const payable = createPayable({ providers: { fake: gated.provider }, storage: new MemoryStorageDriver(), clock });
    const all = Array.from({ length: 20 }, () =>
      payable.charge({ amount: 100, currency: 'USD' }, { idempotencyKey: 'burst' }).then(
        (p) => ({ ok: true as const, id: p.id }),
        (e: PayableError) => ({ ok: false as const, code: e.code }),
      ),
    );
    while (gated.started() === 0) await new Promise((r) => setTimeout(r, 1));
    await new Promise((r) => setTimeout(r, 20));
    gated.open();
    const results = await Promise.all(all);
    expect(gated.started()).toBe(1);
    const ok = results.filter((r) => r.ok);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(new Set(ok.map((r) => (r.ok ? r.id : ''))).size).toBe(1);
    for (const r of results) if (!r.ok) expect(r.code).toBe('IDEMPOTENCY_IN_PROGRESS');
  });
});
