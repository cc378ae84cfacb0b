import {
  createPayable,
  MemoryStorageDriver,
  type PayableHooks,
  type PayableOptions,
  type ProviderChargeInput,
  type ProviderContext,
  type ProviderInvoice,
  type ProviderInvoiceQuery,
  type ProviderPayment,
  ProviderUnavailableError,
  SyncQueueDriver,
} from '@payable/core';
import { FakeProvider, TestClock } from '@payable/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { caught } from './support.js';

/** A FakeProvider whose next `failures` charges and invoice listings fail with `failure()`. */
class FlakyFakeProvider extends FakeProvider {
  failures = 0;
  failure: () => unknown = () =>
    new ProviderUnavailableError('The provider answered 503.', { context: { status: 503 } });
  attempts = 0;

  #maybeFail(): void {
    this.attempts++;
    if (this.failures > 0) {
      this.failures--;
      throw this.failure();
    }
  }

  override async charge(input: ProviderChargeInput, ctx: ProviderContext): Promise<ProviderPayment> {
    this.#maybeFail();
    return super.charge(input, ctx);
  }

  override async listInvoices(query: ProviderInvoiceQuery, ctx: ProviderContext): Promise<ProviderInvoice[]> {
    this.#maybeFail();
    return super.listInvoices(query, ctx);
  }
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** No waiting between retries: the delays are 0 ms. */
const FAST = { retryBaseMs: 0, retryMaxMs: 0 } as const;

function setup(resilience: PayableOptions['resilience'] = FAST, hooks: PayableHooks = {}) {
  const clock = new TestClock();
  const fake = new FlakyFakeProvider({ clock });
  const other = new FlakyFakeProvider({ clock });
  const payable = createPayable({
    providers: { fake, other },
    defaultProvider: 'fake',
    storage: new MemoryStorageDriver(),
    queue: new SyncQueueDriver(),
    clock,
    hooks,
    ...(resilience === undefined ? {} : { resilience }),
  });
  closers.push(() => payable.close());
  return { clock, fake, other, payable };
}

const charge = { amount: 1000, currency: 'USD' };
const connectionReset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

describe('retries', () => {
  it('retries – a charge with an idempotency key is retried on a transient failure and succeeds', async () => {
    const { payable, fake } = setup();
    fake.failures = 2;
    const payment = await payable.charge(charge, { idempotencyKey: 'order-1' });
    expect(payment.status).toBe('succeeded');
    expect(fake.attempts).toBe(3);
    const keys = fake.calls.filter((c) => c.op === 'charge').map((c) => c.options.idempotencyKey);
    expect(keys).toEqual(['order-1']); // the two failures threw before the fake recorded them
  });

  it('retries – gives up after `retries` and answers the last failure', async () => {
    const { payable, fake } = setup({ ...FAST, retries: 1 });
    fake.failures = 5;
    const error = await caught(payable.charge(charge, { idempotencyKey: 'order-2' }));
    expect(error.code).toBe('PROVIDER_UNAVAILABLE');
    expect(fake.attempts).toBe(2);
  });

  it('retries – a charge without an idempotency key is never retried (it could charge twice)', async () => {
    const { payable, fake } = setup();
    fake.failures = 1;
    expect((await caught(payable.charge(charge))).code).toBe('PROVIDER_UNAVAILABLE');
    expect(fake.attempts).toBe(1);
  });

  it('retries – a provider without native idempotency is not retried even with a key', async () => {
    const { payable, fake } = setup();
    Object.defineProperty(fake, 'idempotency', { value: 'none' });
    fake.failures = 1;
    expect((await caught(payable.charge(charge, { idempotencyKey: 'order-3' }))).code).toBe('PROVIDER_UNAVAILABLE');
    expect(fake.attempts).toBe(1);
  });

  it('retries – reads (listInvoices) are retried without a key', async () => {
    const { payable, fake } = setup();
    fake.failures = 2;
    const page = await payable.listInvoices();
    expect(page.data).toEqual([]);
    expect(fake.attempts).toBe(3);
  });

  it('retries – a decline is never retried', async () => {
    const { payable, fake } = setup();
    const error = await caught(
      payable.charge({ ...charge, metadata: { fake_outcome: 'declined' } }, { idempotencyKey: 'order-4' }),
    );
    expect(error).toMatchObject({ code: 'PROVIDER_ERROR', context: { declineCode: 'card_declined' } });
    expect(fake.attempts).toBe(1);
  });

  it('retries – a raw connection error is retried and, if it lasts, answers PROVIDER_UNAVAILABLE', async () => {
    const { payable, fake } = setup();
    fake.failure = connectionReset;
    fake.failures = 1;
    expect((await payable.charge(charge, { idempotencyKey: 'order-5' })).status).toBe('succeeded');
    fake.failures = 3;
    const error = await caught(payable.charge(charge, { idempotencyKey: 'order-6' }));
    expect(error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', context: { provider: 'fake', reason: 'transient' } });
    // Not stored under the key: the same request may be tried again once the provider is back.
    const again = await payable.charge(charge, { idempotencyKey: 'order-6' });
    expect(again.status).toBe('succeeded');
  });

  it('retries – retries: 0 turns them off', async () => {
    const { payable, fake } = setup({ ...FAST, retries: 0 });
    fake.failures = 1;
    await caught(payable.listInvoices());
    expect(fake.attempts).toBe(1);
  });
});

describe('circuit breaker', () => {
  it('breaker – opens after failureThreshold transient failures: PROVIDER_UNAVAILABLE with retryAfterSeconds, provider not called', async () => {
    const { payable, fake, clock } = setup({ ...FAST, breaker: { failureThreshold: 3, openMs: 10_000 } });
    fake.failures = 3;
    for (let i = 0; i < 3; i++) expect((await caught(payable.charge(charge))).code).toBe('PROVIDER_UNAVAILABLE');
    expect(fake.attempts).toBe(3);
    clock.advance({ seconds: 4 });
    const refused = await caught(payable.charge(charge));
    expect(refused).toMatchObject({
      code: 'PROVIDER_UNAVAILABLE',
      httpStatus: 503,
      context: { provider: 'fake', retryAfterSeconds: 6, reason: 'circuit_open' },
    });
    expect(fake.attempts).toBe(3);
  });

  it('breaker – after openMs on the clock one trial goes through; its success closes the circuit', async () => {
    const { payable, fake, clock } = setup({ ...FAST, breaker: { failureThreshold: 2, openMs: 30_000 } });
    fake.failures = 2;
    await caught(payable.charge(charge));
    await caught(payable.charge(charge));
    expect((await caught(payable.charge(charge))).context).toMatchObject({ reason: 'circuit_open' });
    clock.advance({ seconds: 30 });
    expect((await payable.charge(charge)).status).toBe('succeeded');
    expect((await payable.charge(charge)).status).toBe('succeeded');
    expect(fake.attempts).toBe(4);
  });

  it('breaker – a failed trial opens it again for openMs', async () => {
    const { payable, fake, clock } = setup({ ...FAST, breaker: { failureThreshold: 1, openMs: 5_000 } });
    fake.failures = 2;
    await caught(payable.charge(charge));
    clock.advance(5_000);
    expect((await caught(payable.charge(charge))).context).not.toHaveProperty('reason', 'circuit_open');
    expect((await caught(payable.charge(charge))).context).toMatchObject({
      reason: 'circuit_open',
      retryAfterSeconds: 5,
    });
    expect(fake.attempts).toBe(2);
  });

  it('breaker – retries count toward it: one operation can open it', async () => {
    const { payable, fake } = setup({ ...FAST, retries: 2, breaker: { failureThreshold: 3 } });
    fake.failures = 10;
    await caught(payable.charge(charge, { idempotencyKey: 'order-7' }));
    expect(fake.attempts).toBe(3);
    expect((await caught(payable.charge(charge, { idempotencyKey: 'order-8' }))).context).toMatchObject({
      reason: 'circuit_open',
    });
    expect(fake.attempts).toBe(3);
  });

  it('breaker – declines never open it, and a decline resets the count', async () => {
    const { payable, fake } = setup({ ...FAST, breaker: { failureThreshold: 2 } });
    const declined = { ...charge, metadata: { fake_outcome: 'declined' } };
    for (let i = 0; i < 5; i++) expect((await caught(payable.charge(declined))).code).toBe('PROVIDER_ERROR');
    fake.failures = 1;
    await caught(payable.charge(charge));
    await caught(payable.charge(declined));
    fake.failures = 1;
    await caught(payable.charge(charge));
    expect((await payable.charge(charge)).status).toBe('succeeded');
  });

  it('breaker – one per provider: another provider keeps working', async () => {
    const { payable, fake, other } = setup({ ...FAST, breaker: { failureThreshold: 1 } });
    fake.failures = 1;
    await caught(payable.charge(charge));
    expect((await caught(payable.charge(charge))).context).toMatchObject({ reason: 'circuit_open', provider: 'fake' });
    expect((await payable.charge(charge, { provider: 'other' })).provider).toBe('other');
    expect(other.attempts).toBe(1);
  });

  it('breaker – raw SDK errors (ECONNRESET) count; breaker: false never opens', async () => {
    const on = setup({ ...FAST, breaker: { failureThreshold: 2 } });
    on.fake.failure = connectionReset;
    on.fake.failures = 2;
    await caught(on.payable.charge(charge));
    await caught(on.payable.charge(charge));
    expect((await caught(on.payable.charge(charge))).context).toMatchObject({ reason: 'circuit_open' });

    const off = setup({ ...FAST, breaker: false });
    off.fake.failures = 20;
    for (let i = 0; i < 20; i++)
      expect((await caught(off.payable.charge(charge))).context).not.toMatchObject({ reason: 'circuit_open' });
    expect(off.fake.attempts).toBe(20);
  });

  it('breaker – hooks.onEvent tells its transitions and the retries', async () => {
    const events: Array<{ name: string; fields: Record<string, unknown> }> = [];
    const { payable, fake, clock } = setup(
      { ...FAST, retries: 1, breaker: { failureThreshold: 2, openMs: 1_000 } },
      { onEvent: (e) => events.push({ name: e.name, fields: e.fields }) },
    );
    fake.failures = 2;
    await caught(payable.listInvoices());
    clock.advance(1_000);
    await payable.listInvoices();
    expect(events).toEqual([
      { name: 'provider.retry', fields: expect.objectContaining({ provider: 'fake', op: 'listInvoices', retry: 1 }) },
      { name: 'provider.circuit', fields: { provider: 'fake', from: 'closed', to: 'open', failures: 2 } },
      { name: 'provider.circuit', fields: { provider: 'fake', from: 'open', to: 'half-open', failures: 2 } },
      { name: 'provider.circuit', fields: { provider: 'fake', from: 'half-open', to: 'closed', failures: 0 } },
    ]);
  });

  it('health – payable.health() is unchanged by an open circuit', async () => {
    const { payable, fake } = setup({ ...FAST, breaker: { failureThreshold: 1 } });
    fake.failures = 1;
    await caught(payable.charge(charge));
    expect(await payable.health()).toMatchObject({ ok: true, providers: { fake: { ok: true } } });
  });
});

describe('options', () => {
  it.each([
    [{ retries: -1 }, 'resilience.retries'],
    [{ retries: 1.5 }, 'resilience.retries'],
    [{ retryBaseMs: -1 }, 'resilience.retryBaseMs'],
    [{ retryBaseMs: 500, retryMaxMs: 100 }, 'resilience.retryMaxMs'],
    [{ breaker: { failureThreshold: 0 } }, 'resilience.breaker.failureThreshold'],
    [{ breaker: { openMs: -1 } }, 'resilience.breaker.openMs'],
  ])('options – %j is VALIDATION_ERROR naming %s', (resilience, field) => {
    expect(() => createPayable({ providers: { fake: new FakeProvider() }, resilience })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_ERROR', context: expect.objectContaining({ field }) }),
    );
  });
});
