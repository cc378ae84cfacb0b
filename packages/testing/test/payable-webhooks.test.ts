import {
  createPayable,
  type DomainEvent,
  type JsonValue,
  type LogFields,
  type Logger,
  MemoryStorageDriver,
  NodeEncryptionDriver,
  type ProviderPayment,
  type QueueDriver,
  SyncQueueDriver,
} from '@payable/core';
import { caught } from './support.js';
import { describe, expect, it } from 'vitest';
import { FakeProvider, TestClock } from '@payable/testing';

/** A queue whose backend is down: every dispatch fails (as BullMQ does when Redis is unreachable). */
class UnreachableQueue implements QueueDriver {
  readonly name = 'unreachable';
  async dispatch(): Promise<void> {
    throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
  }
  async process(): Promise<void> {}
  async ping(): Promise<void> {
    throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
  }
  async close(): Promise<void> {}
}

const ctx = { idempotencyKey: null, tenantId: null };

function setup(options: { queue?: QueueDriver; clock?: TestClock } = {}) {
  const clock = options.clock ?? new TestClock();
  const fake = new FakeProvider({ clock });
  const storage = new MemoryStorageDriver();
  const payable = createPayable({
    providers: { fake },
    storage,
    clock,
    ...(options.queue ? { queue: options.queue } : {}),
  });
  return { clock, fake, storage, payable };
}

async function pendingPayment(fake: FakeProvider): Promise<ProviderPayment> {
  return fake.charge(
    {
      amount: 1200,
      currency: 'USD',
      customerProviderId: null,
      description: null,
      metadata: { fake_outcome: 'pending' },
      expiresIn: null,
      capture: true,
    },
    ctx,
  );
}

describe('receive', () => {
  it('receive – stores, processes, and the payment reads succeeded', async () => {
    const { payable, fake } = setup();
    const payment = await payable.charge({ amount: 1200, currency: 'USD', metadata: { fake_outcome: 'pending' } });
    expect(payment.status).toBe('pending');
    const result = await payable.webhooks.receive({ provider: 'fake', ...fake.completePayment(payment.providerId) });
    expect(result).toMatchObject({ duplicate: false, status: 'processed' });
    expect(result.eventId).toMatch(/^wh_/);
    expect((await payable.getPayment(payment.id)).status).toBe('succeeded');
    const stored = await payable.webhooks.get(result.eventId);
    expect(stored).toMatchObject({ status: 'processed', attempts: 1, type: 'payment.succeeded', lastError: null });
    expect(stored.providerType).toBe('payment.succeeded');
  });

  it('receive – a duplicate delivery inserts nothing and answers the same event', async () => {
    const { payable, fake } = setup();
    const p = await pendingPayment(fake);
    const delivery = fake.completePayment(p.providerId);
    const handled: string[] = [];
    payable.on('payment.succeeded', (e) => {
      handled.push(e.eventId);
    });
    const first = await payable.webhooks.receive({ provider: 'fake', ...delivery });
    const again = await payable.webhooks.receive({ provider: 'fake', ...delivery });
    expect(again).toEqual({ eventId: first.eventId, duplicate: true, status: 'processed' });
    expect((await payable.webhooks.list()).data).toHaveLength(1);
    expect(handled).toEqual([first.eventId]);
  });

  it('receive – with one provider, the provider may be left out', async () => {
    const { payable, fake } = setup();
    const p = await pendingPayment(fake);
    const result = await payable.webhooks.receive(fake.completePayment(p.providerId));
    expect(result.status).toBe('processed');
  });

  it('receive – several providers and none named is WEBHOOK_PROVIDER_AMBIGUOUS; an unknown one WEBHOOK_PROVIDER_UNKNOWN', async () => {
    const a = new FakeProvider();
    const payable = createPayable({ providers: { a, b: new FakeProvider() }, storage: new MemoryStorageDriver() });
    const delivery = a.eventFor('customer.created', { providerId: 'c1', email: null, name: null });
    const ambiguous = await caught(payable.webhooks.receive(delivery));
    expect([ambiguous.code, ambiguous.httpStatus]).toEqual(['WEBHOOK_PROVIDER_AMBIGUOUS', 400]);
    const unknown = await caught(payable.webhooks.receive({ provider: 'stripe', ...delivery }));
    expect([unknown.code, unknown.httpStatus]).toEqual(['WEBHOOK_PROVIDER_UNKNOWN', 404]);
    expect((await payable.webhooks.receive({ provider: 'a', ...delivery })).duplicate).toBe(false);
  });

  it('receive – a tampered body, a wrong secret or a stale signature is INVALID_WEBHOOK_SIGNATURE and nothing is stored', async () => {
    const { payable, fake, clock } = setup();
    const p = await pendingPayment(fake);
    const good = fake.completePayment(p.providerId);
    const tampered = { rawBody: good.rawBody.replace('1200', '1'), headers: good.headers };
    expect((await caught(payable.webhooks.receive({ provider: 'fake', ...tampered }))).code).toBe(
      'INVALID_WEBHOOK_SIGNATURE',
    );
    const wrongSecret = fake.eventFor('payment.succeeded', p.providerId, { secret: 'whsec_other' });
    expect((await caught(payable.webhooks.receive({ provider: 'fake', ...wrongSecret }))).code).toBe(
      'INVALID_WEBHOOK_SIGNATURE',
    );
    const stale = fake.eventFor('payment.succeeded', p.providerId, {
      timestamp: new Date(clock.now().getTime() - 301_000),
    });
    expect((await caught(payable.webhooks.receive({ provider: 'fake', ...stale }))).code).toBe(
      'INVALID_WEBHOOK_SIGNATURE',
    );
    expect((await payable.webhooks.list()).data).toHaveLength(0);
    expect(fake.lastVerifyInput?.payload.toString()).toBe(stale.rawBody);
  });

  it('receive – a parsed or empty body is INVALID_WEBHOOK_PAYLOAD', async () => {
    const { payable, fake } = setup();
    const p = await pendingPayment(fake);
    const d = fake.completePayment(p.providerId);
    const parsed = await caught(
      payable.webhooks.receive({ provider: 'fake', rawBody: JSON.parse(d.rawBody), headers: d.headers }),
    );
    expect([parsed.code, parsed.httpStatus]).toEqual(['INVALID_WEBHOOK_PAYLOAD', 400]);
    expect(parsed.message).toMatch(/before any JSON body parser/);
    const empty = await caught(payable.webhooks.receive({ provider: 'fake', rawBody: '', headers: d.headers }));
    expect(empty.code).toBe('INVALID_WEBHOOK_PAYLOAD');
  });

  it('receive – storage down is STORAGE_UNAVAILABLE (503), never a success', async () => {
    const { payable, fake, storage } = setup();
    const p = await pendingPayment(fake);
    await storage.close();
    const error = await caught(payable.webhooks.receive({ provider: 'fake', ...fake.completePayment(p.providerId) }));
    expect([error.code, error.httpStatus]).toEqual(['STORAGE_UNAVAILABLE', 503]);
  });

  it('receive – a payment made outside Payable shows up from its webhook', async () => {
    const { payable, fake } = setup();
    const p = await pendingPayment(fake);
    await payable.webhooks.receive({ provider: 'fake', ...fake.completePayment(p.providerId) });
    const page = await payable.listPayments();
    expect(page.data).toHaveLength(1);
    expect(page.data[0]).toMatchObject({
      providerId: p.providerId,
      status: 'succeeded',
      amount: 1200,
      provider: 'fake',
    });
  });

  it('receive – an event outside the vocabulary is stored as unknown with its provider type', async () => {
    const { payable, fake } = setup();
    const result = await payable.webhooks.receive({
      provider: 'fake',
      ...fake.eventFor('charge.dispute.created', { id: 'dp_1' }),
    });
    const stored = await payable.webhooks.get(result.eventId);
    expect(stored).toMatchObject({ type: 'unknown', providerType: 'charge.dispute.created', status: 'processed' });
  });

  it('receive – the raw payload is encrypted at rest when encryption is configured', async () => {
    const clock = new TestClock();
    const fake = new FakeProvider({ clock });
    const storage = new MemoryStorageDriver();
    const payable = createPayable({
      providers: { fake },
      storage,
      clock,
      encryption: new NodeEncryptionDriver({ key: 'test-key-with-plenty-of-entropy-42' }),
    });
    const seen: JsonValue[] = [];
    payable.on('customer.created', (e) => {
      seen.push(e.payload);
    });
    const d = fake.eventFor('customer.created', {
      providerId: 'fake_cus_1',
      email: 'grace@example.test',
      name: 'Grace',
    });
    const { eventId } = await payable.webhooks.receive({ provider: 'fake', ...d });
    const raw = await storage.getWebhookEvent(eventId);
    expect(JSON.stringify(raw)).not.toContain('grace@example.test');
    expect(JSON.stringify(seen)).toContain('grace@example.test');
  });
});

describe('processing', () => {
  it('transitions are monotonic – a late payment.failed never undoes succeeded', async () => {
    const { payable, fake } = setup();
    const payment = await payable.charge({ amount: 1200, currency: 'USD', metadata: { fake_outcome: 'pending' } });
    const failedFirst = fake.eventFor('payment.failed', {
      ...(await fake.getPayment(payment.providerId, ctx)),
      status: 'failed',
    });
    await payable.webhooks.receive({ provider: 'fake', ...fake.completePayment(payment.providerId) });
    const late = await payable.webhooks.receive({ provider: 'fake', ...failedFirst });
    expect(late.status).toBe('processed');
    expect((await payable.getPayment(payment.id)).status).toBe('succeeded');
  });

  it('a failing handler is retried with backoff, then marked failed and onFailed is called once', async () => {
    const clock = new TestClock();
    const fake = new FakeProvider({ clock });
    const queue = new SyncQueueDriver({ attempts: 3, backoff: { type: 'fixed', delayMs: 1 } });
    const failures: string[] = [];
    const payable = createPayable({
      providers: { fake },
      storage: new MemoryStorageDriver(),
      clock,
      queue,
      webhooks: { onFailed: (event, error) => void failures.push(`${event.id}:${error.message}`) },
    });
    let calls = 0;
    let broken = true;
    payable.on('payment.succeeded', () => {
      calls++;
      if (broken) throw new Error('handler exploded');
    });
    const p = await pendingPayment(fake);
    const { eventId } = await payable.webhooks.receive({ provider: 'fake', ...fake.completePayment(p.providerId) });
    await queue.drain();
    const failed = await payable.webhooks.get(eventId);
    expect(failed).toMatchObject({ status: 'failed', attempts: 3 });
    expect(failed.lastError).toContain('handler exploded');
    expect(calls).toBe(3);
    expect(failures).toEqual([`${eventId}:handler exploded`]);

    broken = false;
    await payable.webhooks.replay(eventId);
    await queue.drain();
    expect((await payable.webhooks.get(eventId)).status).toBe('processed');
    expect(calls).toBe(4);
  });

  it('the sweeper dispatches events left pending while the queue was down', async () => {
    const clock = new TestClock();
    const storage = new MemoryStorageDriver();
    const fake = new FakeProvider({ clock });
    const web = createPayable({ providers: { fake }, storage, clock, queue: new UnreachableQueue() });
    const worker = createPayable({ providers: { fake }, storage, clock });
    const p = await pendingPayment(fake);
    const received = await web.webhooks.receive({ provider: 'fake', ...fake.completePayment(p.providerId) });
    expect(received.status).toBe('pending');
    expect(await worker.webhooks.sweep()).toBe(0); // not stale yet
    clock.advance({ seconds: 61 });
    expect(await worker.webhooks.sweep()).toBe(1);
    expect((await worker.webhooks.get(received.eventId)).status).toBe('processed');
    const payment = (await worker.listPayments()).data[0];
    expect(payment?.status).toBe('succeeded');
  });

  it('events for one object never apply concurrently', async () => {
    const { payable, fake } = setup();
    const a = await pendingPayment(fake);
    let active = 0;
    let maxActive = 0;
    payable.on('*', async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
    });
    const deliveries = Array.from({ length: 8 }, (_, i) =>
      fake.eventFor(i % 2 ? 'payment.processing' : 'payment.succeeded', a.providerId, { id: `evt_same_${i}` }),
    );
    const results = await Promise.all(deliveries.map((d) => payable.webhooks.receive({ provider: 'fake', ...d })));
    expect(results.every((r) => r.status === 'processed')).toBe(true);
    expect(maxActive).toBe(1);
  });

  it('chaos – duplicated and reordered deliveries leave every payment succeeded, each event handled once', async () => {
    const { payable, fake } = setup();
    const payments = [];
    for (let i = 0; i < 15; i++) {
      payments.push(await payable.charge({ amount: 100 + i, currency: 'USD', metadata: { fake_outcome: 'pending' } }));
    }
    const handled = new Map<string, number>();
    payable.on('payment.succeeded', (e) => {
      handled.set(e.providerEventId, (handled.get(e.providerEventId) ?? 0) + 1);
    });
    const deliveries = payments.map((p) => fake.completePayment(p.providerId));
    const report = await fake.deliver((d) => payable.webhooks.receive({ provider: 'fake', ...d }), deliveries, {
      duplicate: 0.5,
      reorder: true,
      seed: 42,
    });
    expect(report.attempts.length).toBeGreaterThan(15);
    for (const p of payments) expect((await payable.getPayment(p.id)).status).toBe('succeeded');
    expect(handled.size).toBe(15);
    expect([...handled.values()].every((n) => n === 1)).toBe(true);
  });
});

describe('re-fetched events', () => {
  /** A provider whose webhooks only prove an id (like OpenNode's): the core re-fetches before acting. */
  class RefetchingFake extends FakeProvider {
    override async verifyWebhook(input: Parameters<FakeProvider['verifyWebhook']>[0]) {
      return { ...(await super.verifyWebhook(input)), refetch: true };
    }
  }

  it('handlers run for the state the provider reports, never for what the delivery claims', async () => {
    const clock = new TestClock();
    const fake = new RefetchingFake({ clock });
    const payable = createPayable({ providers: { fake }, storage: new MemoryStorageDriver(), clock });
    const payment = await payable.charge({ amount: 1200, currency: 'USD', metadata: { fake_outcome: 'pending' } });
    const succeeded: string[] = [];
    const all: string[] = [];
    payable.on('payment.succeeded', (e) => void succeeded.push(e.eventId));
    payable.on('*', (e) => void all.push(e.type));

    // Claims `succeeded` while the provider still says pending.
    const claim = fake.eventFor('payment.succeeded', {
      ...(await fake.lookup('payment', payment.providerId)),
      status: 'succeeded',
    } as never);
    await payable.webhooks.receive({ provider: 'fake', ...claim });
    expect((await payable.getPayment(payment.id)).status).toBe('pending');
    expect(succeeded).toEqual([]);
    expect(all).toEqual(['unknown']);

    const { eventId } = await payable.webhooks.receive({
      provider: 'fake',
      ...fake.completePayment(payment.providerId),
    });
    expect((await payable.getPayment(payment.id)).status).toBe('succeeded');
    expect(succeeded).toEqual([eventId]);
  });
});

describe('outbox', () => {
  it('outbox – domain events are written with the state change and delivered in order per aggregate', async () => {
    const { payable, fake } = setup();
    const payment = await payable.charge({ amount: 900, currency: 'USD', metadata: { fake_outcome: 'pending' } });
    await payable.webhooks.receive({ provider: 'fake', ...fake.completePayment(payment.providerId) });
    const relay = payable.outbox();
    const got: DomainEvent[] = [];
    relay.subscribe((e) => {
      got.push(e);
    });
    let delivered = 0;
    for (let round = 0; round < 5; round++) delivered += await relay.dispatchOnce();
    const forPayment = got.filter((e) => (e.data as { id?: string }).id === payment.id).map((e) => e.type);
    expect(forPayment).toEqual(['payment.created', 'payment.succeeded']);
    expect(delivered).toBe(got.length);
    expect(await relay.dispatchOnce()).toBe(0);
  });

  it('outbox – a failing subscriber is retried after backoff (at least once), then dead after maxAttempts', async () => {
    const clock = new TestClock();
    const fake = new FakeProvider({ clock });
    const payable = createPayable({
      providers: { fake },
      storage: new MemoryStorageDriver(),
      clock,
      outbox: { maxAttempts: 2 },
    });
    await payable.createCustomer({ email: 'x@example.test' });
    const relay = payable.outbox();
    let tries = 0;
    relay.subscribe(() => {
      tries++;
      throw new Error('receiver down');
    });
    expect(await relay.dispatchOnce()).toBe(0);
    expect(await relay.dispatchOnce()).toBe(0);
    expect(tries).toBe(1); // not yet due
    clock.advance({ hours: 1 });
    await relay.dispatchOnce();
    expect(tries).toBe(2);
    clock.advance({ hours: 2 });
    await relay.dispatchOnce();
    expect(tries).toBe(2); // dead: no more attempts
  });

  it('outbox – customer events carry no PII', async () => {
    const { payable } = setup();
    await payable.createCustomer({ email: 'pii@example.test', name: 'Private Person' });
    const got: DomainEvent[] = [];
    payable.outbox().subscribe((e) => {
      got.push(e);
    });
    await payable.outbox().dispatchOnce();
    expect(got.map((e) => e.type)).toEqual(['customer.created']);
    expect(JSON.stringify(got)).not.toMatch(/pii@example|Private Person/);
  });
});

describe('logging', () => {
  it('logs never carry secrets, signatures, raw bodies or PII', async () => {
    const lines: string[] = [];
    const capture = (fields: LogFields, msg?: string) => void lines.push(JSON.stringify({ fields, msg }));
    const logger: Logger = { debug: capture, info: capture, warn: capture, error: capture };
    const clock = new TestClock();
    const fake = new FakeProvider({ clock });
    const payable = createPayable({ providers: { fake }, storage: new MemoryStorageDriver(), clock, logger });
    const d = fake.eventFor('customer.created', { providerId: 'c9', email: 'secret-person@example.test', name: 'S' });
    await payable.webhooks.receive({ provider: 'fake', ...d });
    await caught(
      payable.webhooks.receive({ provider: 'fake', rawBody: d.rawBody, headers: { 'x-fake-signature': 't=1,v1=00' } }),
    );
    const all = lines.join('\n');
    expect(lines.length).toBeGreaterThan(0);
    expect(all).not.toContain('secret-person@example.test');
    expect(all).not.toContain(fake.secret);
    expect(all).not.toContain(d.headers['x-fake-signature'] as string);
  });
});
