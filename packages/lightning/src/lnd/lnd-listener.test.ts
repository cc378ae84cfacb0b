import { randomBytes } from 'node:crypto';
import { type DomainEvent, settleCursorName, type StorageDriver, type WebhookHandlerEvent } from '@payable/core';
import { KnexStorageDriver, migrate } from '@payable/storage-knex';
import { waitFor } from '@payable/testing';
import knex, { type Knex } from 'knex';
import { afterEach, describe, expect, it } from 'vitest';
import { lndPayable, startLnd } from './test-harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const backoff = { initialMs: 10, maxMs: 40 };

async function node() {
  const started = await startLnd();
  cleanups.push(() => started.sim.close());
  return started;
}

async function sqlite(): Promise<{ db: Knex; storage: () => StorageDriver }> {
  const db = knex({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
  await migrate(db);
  cleanups.push(() => db.destroy());
  return { db, storage: () => new KnexStorageDriver(db, undefined, { destroyOnClose: false }) };
}

describe('payable.lightning.listen()', () => {
  it('listen – a settlement enters the inbox under a stable id and reaches the handlers and the outbox', async () => {
    const { sim, lnd, clock } = await node();
    const payable = lndPayable(lnd, clock);
    cleanups.push(() => payable.close());
    const handled: WebhookHandlerEvent[] = [];
    payable.on('payment.succeeded', (event) => {
      handled.push(event);
    });
    const outbox: DomainEvent[] = [];
    payable.outbox().subscribe((event) => {
      outbox.push(event);
    });
    const listener = payable.lightning.listen({ backoff });
    await listener.ready;
    const payment = await payable.charge({ amount: 4200, currency: 'BTC' }, { provider: 'lnd' });
    sim.pay(payment.lightning?.paymentRequest as string);
    await waitFor(() => handled.length === 1);
    expect(handled[0]).toMatchObject({
      provider: 'lnd',
      type: 'payment.succeeded',
      providerType: 'invoice.SETTLED',
      providerEventId: `lnd:${payment.providerId}:settled`,
      record: { id: payment.id, status: 'succeeded' },
    });
    const events = (await payable.webhooks.list()).data;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ status: 'processed', providerEventId: `lnd:${payment.providerId}:settled` });
    await payable.outbox().dispatchOnce();
    expect(outbox.filter((e) => e.type === 'payment.succeeded')).toHaveLength(1);
    expect(await payable.storage?.getCursor(settleCursorName(null, 'lnd'))).toBe('1');
  });

  it('listen – the same settlement streamed twice is stored and applied once', async () => {
    const { sim, lnd, clock } = await node();
    const payable = lndPayable(lnd, clock);
    cleanups.push(() => payable.close());
    const handled: string[] = [];
    payable.on('payment.succeeded', (event) => {
      handled.push(event.eventId);
    });
    const listener = payable.lightning.listen({ backoff });
    await listener.ready;
    const payment = await payable.charge({ amount: 1000, currency: 'BTC' }, { provider: 'lnd' });
    const pr = payment.lightning?.paymentRequest as string;
    sim.pay(pr);
    await waitFor(() => listener.received === 1);
    sim.resend(pr);
    sim.resend(pr);
    await waitFor(() => listener.received === 3);
    expect((await payable.webhooks.list()).data).toHaveLength(1);
    expect(handled).toHaveLength(1);
    expect((await payable.getPayment(payment.id)).status).toBe('succeeded');
  });

  it('listen – invoice updates other than settlements: held is processing, canceled is canceled', async () => {
    const { sim, lnd, clock } = await node();
    const payable = lndPayable(lnd, clock);
    cleanups.push(() => payable.close());
    const listener = payable.lightning.listen({ backoff });
    await listener.ready;
    const open = await payable.charge({ amount: 500, currency: 'BTC' }, { provider: 'lnd' });
    await lnd.cancelInvoice(open.providerId);
    await waitFor(async () => (await payable.getPayment(open.id)).status === 'canceled');
    const preimage = randomBytes(32);
    const { createHash } = await import('node:crypto');
    const hash = createHash('sha256').update(preimage).digest('hex');
    const held = await lnd.createHoldInvoice({ paymentHash: hash, amount: 900 });
    sim.pay(held.lightning?.paymentRequest as string);
    // A hold invoice made outside payable.charge shows up as a payment too.
    await waitFor(async () => (await payable.listPayments({ status: 'processing' })).data.length === 1);
    await lnd.settleHoldInvoice(preimage.toString('hex'));
    await waitFor(async () => (await payable.listPayments({ status: 'succeeded' })).data.length === 1);
    const [settled] = (await payable.listPayments({ status: 'succeeded' })).data;
    expect(settled).toMatchObject({ providerId: hash, amount: 900, lightning: { preimage: preimage.toString('hex') } });
  });

  it('listen – reconnects with backoff after the stream drops, and misses nothing settled meanwhile', async () => {
    const { sim, lnd, clock } = await node();
    const payable = lndPayable(lnd, clock);
    cleanups.push(() => payable.close());
    const listener = payable.lightning.listen({ backoff });
    await listener.ready;
    const first = await payable.charge({ amount: 100, currency: 'BTC' }, { provider: 'lnd' });
    const second = await payable.charge({ amount: 200, currency: 'BTC' }, { provider: 'lnd' });
    sim.pay(first.lightning?.paymentRequest as string);
    await waitFor(async () => (await payable.getPayment(first.id)).status === 'succeeded');
    // The node goes away: the stream drops and reconnecting fails for a while.
    sim.unavailable = true;
    expect(sim.dropStreams()).toBe(1);
    sim.pay(second.lightning?.paymentRequest as string);
    const subscribes = () => sim.requests.filter((r) => r.path.startsWith('/v1/invoices/subscribe')).length;
    const before = subscribes();
    await waitFor(() => subscribes() >= before + 2);
    expect((await payable.getPayment(second.id)).status).toBe('pending');
    sim.unavailable = false;
    await waitFor(async () => (await payable.getPayment(second.id)).status === 'succeeded');
    expect(sim.requests.filter((r) => r.path.startsWith('/v1/invoices/subscribe')).at(-1)?.path).toContain(
      'settle_index=1',
    );
    expect(sim.subscribers).toBe(1);
    expect((await payable.webhooks.list()).data.map((e) => e.status)).toEqual(['processed', 'processed']);
  });

  it('listen – after a restart, catches up from the recorded settle index: none missed, none twice (SQLite)', async () => {
    const { sim, lnd, clock } = await node();
    const { db, storage } = await sqlite();
    const handled: string[] = [];
    const onSettled = (event: WebhookHandlerEvent) => {
      handled.push(event.providerEventId);
    };

    // First process: listens, records settle index 2.
    const before = lndPayable(lnd, clock, { storage: storage() });
    before.on('payment.succeeded', onSettled);
    const listener = before.lightning.listen({ backoff });
    await listener.ready;
    const a = await before.charge({ amount: 1, currency: 'BTC' }, { provider: 'lnd' });
    const b = await before.charge({ amount: 2, currency: 'BTC' }, { provider: 'lnd' });
    const c = await before.charge({ amount: 3, currency: 'BTC' }, { provider: 'lnd' });
    const d = await before.charge({ amount: 4, currency: 'BTC' }, { provider: 'lnd' });
    sim.pay(a.lightning?.paymentRequest as string);
    sim.pay(b.lightning?.paymentRequest as string);
    await waitFor(() => handled.length === 2);
    // The settle index is recorded after each settlement is processed (its handlers run first).
    const cursors = () => db('payable_cursors').select('name', 'value');
    await waitFor(async () => (await cursors()).some((row: { value: string }) => row.value === '2'));
    expect(await cursors()).toEqual([{ name: settleCursorName(null, 'lnd'), value: '2' }]);
    await before.close();
    await waitFor(() => sim.subscribers === 0);

    // While nothing listens, two more settle.
    sim.pay(c.lightning?.paymentRequest as string);
    sim.pay(d.lightning?.paymentRequest as string);

    // Second process on the same database.
    const after = lndPayable(lnd, clock, { storage: storage() });
    cleanups.push(() => after.close());
    after.on('payment.succeeded', onSettled);
    after.lightning.listen({ backoff });
    await waitFor(() => handled.length === 4);
    expect(sim.requests.filter((r) => r.path.startsWith('/v1/invoices/subscribe')).at(-1)?.path).toContain(
      'settle_index=2',
    );
    for (const p of [a, b, c, d]) expect((await after.getPayment(p.id)).status).toBe('succeeded');
    expect(handled.sort()).toEqual([a, b, c, d].map((p) => `lnd:${p.providerId}:settled`).sort());
    await waitFor(async () => (await after.storage?.getCursor(settleCursorName(null, 'lnd'))) === '4');
    expect((await after.webhooks.list()).data).toHaveLength(4);
  });

  it('listen – a crash between storing and recording the index replays the settlement, applied once', async () => {
    const { sim, lnd, clock } = await node();
    const payable = lndPayable(lnd, clock);
    cleanups.push(() => payable.close());
    const handled: string[] = [];
    payable.on('payment.succeeded', (event) => {
      handled.push(event.eventId);
    });
    const listener = payable.lightning.listen({ backoff });
    await listener.ready;
    const one = await payable.charge({ amount: 1, currency: 'BTC' }, { provider: 'lnd' });
    const two = await payable.charge({ amount: 2, currency: 'BTC' }, { provider: 'lnd' });
    sim.pay(one.lightning?.paymentRequest as string);
    sim.pay(two.lightning?.paymentRequest as string);
    await waitFor(() => handled.length === 2);
    await listener.stop();
    // As if the process died after storing settlement 2 but before recording its index.
    await payable.storage?.setCursor(settleCursorName(null, 'lnd'), '1');
    const again = payable.lightning.listen({ backoff });
    await waitFor(() => again.received === 1);
    expect(handled).toHaveLength(2);
    expect((await payable.webhooks.list()).data).toHaveLength(2);
    await waitFor(async () => (await payable.storage?.getCursor(settleCursorName(null, 'lnd'))) === '2');
  });

  it('listen – on a first run (no index recorded yet) it looks up pending payments settled before it started', async () => {
    const { sim, lnd, clock } = await node();
    const payable = lndPayable(lnd, clock);
    cleanups.push(() => payable.close());
    const early = await payable.charge({ amount: 5, currency: 'BTC' }, { provider: 'lnd' });
    const unpaid = await payable.charge({ amount: 6, currency: 'BTC' }, { provider: 'lnd' });
    sim.pay(early.lightning?.paymentRequest as string);
    const listener = payable.lightning.listen({ backoff });
    await listener.ready;
    expect((await payable.getPayment(early.id)).status).toBe('succeeded');
    expect((await payable.getPayment(early.id)).lightning?.preimage).toBe(sim.preimageOf(early.providerId));
    expect((await payable.getPayment(unpaid.id)).status).toBe('pending');
    const [event] = (await payable.webhooks.list()).data;
    expect(event?.providerEventId).toBe(`lnd:${early.providerId}:settled`);
  });

  it('listen – stop() and close() end the stream; no reconnection after', async () => {
    const { sim, lnd, clock } = await node();
    const payable = lndPayable(lnd, clock);
    const listener = payable.lightning.listen({ backoff });
    await listener.ready;
    expect(sim.subscribers).toBe(1);
    await payable.close();
    await waitFor(() => sim.subscribers === 0);
    const count = sim.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sim.requests.length).toBe(count);
    await listener.stop();
  });

  it('listen – needs storage and a provider with a settlement stream', async () => {
    const { lnd, clock } = await node();
    const { createPayable } = await import('@payable/core');
    const stateless = createPayable({ providers: { lnd }, clock });
    expect(() => stateless.lightning.listen()).toThrow(expect.objectContaining({ code: 'WEBHOOK_STORAGE_REQUIRED' }));
    const payable = lndPayable(lnd, clock);
    cleanups.push(() => payable.close());
    expect(() => payable.lightning.listen({ provider: 'stripe' })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_ERROR' }),
    );
  });
});
