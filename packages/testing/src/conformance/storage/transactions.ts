import type { PaymentRecord } from '@payable/core';
import { expect } from 'vitest';
import {
  fixtureTime,
  makeIdempotencyKey,
  makeOutboxMessage,
  makePayment,
  makeRefund,
  makeWebhookEvent,
} from './fixtures.js';
import { concurrently, type DefineTest, must } from './harness.js';

function lease(owner: string, at: number, seconds = 30): { owner: string; now: Date; until: Date } {
  return { owner, now: fixtureTime(at), until: fixtureTime(at + seconds) };
}

/** Registers the transaction tests (atomicity, isolation, row locks). */
export function transactionTests(test: DefineTest): void {
  test('transaction – commits every write when the callback resolves and returns its value', async (storage) => {
    const payment = makePayment();
    await storage.insertRecord('payment', payment);
    const message = makeOutboxMessage({ aggregateKey: `payment:${payment.id}` });
    const event = makeWebhookEvent();
    const succeeded: PaymentRecord = { ...payment, status: 'succeeded', updatedAt: fixtureTime(1) };
    const result = await storage.transaction(async (tx) => {
      expect(await tx.updateRecord('payment', succeeded)).toBe(true);
      await tx.appendOutbox([message]);
      expect((await tx.insertWebhookEvent(event)).inserted).toBe(true);
      return { done: true };
    });
    expect(result).toEqual({ done: true });
    expect(await storage.getRecord('payment', payment.id, null)).toEqual(succeeded);
    expect(await storage.getOutboxMessage(message.id)).toEqual(message);
    expect(await storage.getWebhookEvent(event.id)).toEqual(event);
  });

  test('transaction – a throw rolls back every write made through tx and rethrows the same error', async (storage) => {
    const payment = makePayment();
    const kept = makeIdempotencyKey();
    const event = makeWebhookEvent();
    await storage.insertRecord('payment', payment);
    await storage.insertIdempotencyKey(kept);
    await storage.insertWebhookEvent(event);
    const message = makeOutboxMessage({ aggregateKey: `payment:${payment.id}` });
    const refund = makeRefund({ paymentId: payment.id });
    const added = makeIdempotencyKey();
    const boom = new Error('boom');
    await expect(
      storage.transaction(async (tx) => {
        await tx.appendOutbox([message]);
        expect(
          await tx.updateRecord('payment', { ...payment, status: 'refunded', amountRefunded: payment.amount }),
        ).toBe(true);
        expect((await tx.insertRecord('refund', refund)).inserted).toBe(true);
        must(await tx.claimWebhookEvent(event.id, lease('worker-1', 0)), 'the claim');
        expect((await tx.insertIdempotencyKey(added)).inserted).toBe(true);
        expect(
          await tx.updateIdempotencyKey(null, kept.key, {
            status: 'completed',
            responseStatus: 200,
            responseBody: '{}',
          }),
        ).toBe(true);
        expect(await tx.acquireLock('payment:lock', lease('worker-1', 0))).toBe(true);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await storage.getOutboxMessage(message.id)).toBeNull();
    expect(await storage.getRecord('payment', payment.id, null)).toEqual(payment);
    expect(await storage.getRecord('refund', refund.id, null)).toBeNull();
    expect(await storage.getWebhookEvent(event.id)).toEqual(event);
    expect(await storage.insertIdempotencyKey({ ...kept, fingerprint: 'probe' })).toEqual({
      inserted: false,
      row: kept,
    });
    expect((await storage.insertIdempotencyKey(added)).inserted).toBe(true);
    expect(await storage.acquireLock('payment:lock', lease('worker-2', 1))).toBe(true);
    // The driver stays usable after a rollback.
    await storage.appendOutbox([message]);
    expect(await storage.getOutboxMessage(message.id)).toEqual(message);
  });

  test('transaction – a claim that marked the event processed is undone with the rest of the work', async (storage) => {
    const event = makeWebhookEvent();
    await storage.insertWebhookEvent(event);
    const boom = new Error('apply failed');
    await expect(
      storage.transaction(async (tx) => {
        must(await tx.claimWebhookEvent(event.id, lease('worker-1', 0), { processed: true }), 'the claim');
        await tx.appendOutbox([makeOutboxMessage()]);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await storage.getWebhookEvent(event.id)).toEqual(event);
    const claimed = await storage.transaction(async (tx) =>
      tx.claimWebhookEvent(event.id, lease('worker-2', 1), { processed: true }),
    );
    expect(claimed).toMatchObject({ status: 'processed', attempts: 1 });
    expect(await storage.getWebhookEvent(event.id)).toEqual(claimed);
  });

  test('transaction – a rollback also restores deleted rows', async (storage) => {
    const key = makeIdempotencyKey({ expiresAt: fixtureTime(-1) });
    const other = makeIdempotencyKey();
    await storage.insertIdempotencyKey(key);
    await storage.insertIdempotencyKey(other);
    await expect(
      storage.transaction(async (tx) => {
        expect(await tx.purgeIdempotencyKeys(fixtureTime(0))).toBe(1);
        await tx.deleteIdempotencyKey(null, other.key);
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    expect(await storage.insertIdempotencyKey({ ...key, fingerprint: 'probe' })).toEqual({ inserted: false, row: key });
    expect(await storage.insertIdempotencyKey({ ...other, fingerprint: 'probe' })).toEqual({
      inserted: false,
      row: other,
    });
  });

  test('transaction – reads through tx see the writes made earlier in the same transaction', async (storage) => {
    const payment = makePayment({ tenantId: 'tenant-a' });
    const message = makeOutboxMessage();
    await storage.transaction(async (tx) => {
      await tx.insertRecord('payment', payment);
      expect(await tx.getRecord('payment', payment.id, 'tenant-a')).toEqual(payment);
      const ref = { tenantId: 'tenant-a', provider: payment.provider, providerId: payment.providerId };
      expect(await tx.findRecord('payment', ref)).toEqual(payment);
      expect((await tx.listRecords('payment', { tenantId: 'tenant-a', limit: 10 })).data).toEqual([payment]);
      await tx.appendOutbox([message]);
      expect(await tx.getOutboxMessage(message.id)).toEqual(message);
      expect(
        (await tx.insertRecord('payment', makePayment({ tenantId: 'tenant-a', providerId: payment.providerId })))
          .inserted,
      ).toBe(false);
    });
  });

  test('transaction – uncommitted writes stay invisible to other callers and vanish on rollback', async (storage) => {
    const payment = makePayment();
    let outside: Promise<PaymentRecord | null> | undefined;
    await expect(
      storage.transaction(async (tx) => {
        await tx.insertRecord('payment', payment);
        // Not awaited: a driver that serializes transactions would otherwise wait for itself.
        outside = storage.getRecord('payment', payment.id, null);
        await tx.getRecord('payment', payment.id, null);
        await tx.listRecords('payment', { tenantId: null, limit: 1 });
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    expect(await must(outside, 'the outside read')).toBeNull();
    expect(await storage.getRecord('payment', payment.id, null)).toBeNull();
  });

  test('transaction – a duplicate insert inside a transaction returns the stored row and the transaction commits', async (storage) => {
    const event = makeWebhookEvent();
    const payment = makePayment();
    const key = makeIdempotencyKey();
    await storage.insertWebhookEvent(event);
    await storage.insertRecord('payment', payment);
    await storage.insertIdempotencyKey(key);
    const message = makeOutboxMessage();
    await storage.transaction(async (tx) => {
      const again = await tx.insertWebhookEvent(makeWebhookEvent({ providerEventId: event.providerEventId }));
      expect(again).toEqual({ inserted: false, event });
      const samePayment = await tx.insertRecord('payment', makePayment({ providerId: payment.providerId }));
      expect(samePayment).toEqual({ inserted: false, record: payment });
      expect(await tx.insertIdempotencyKey({ ...key, fingerprint: 'other' })).toEqual({ inserted: false, row: key });
      await tx.appendOutbox([message]);
    });
    expect(await storage.getOutboxMessage(message.id)).toEqual(message);
    expect(await storage.countWebhookEvents()).toEqual({ pending: 1, processing: 0, processed: 0, failed: 0 });
  });

  test('transaction – concurrent transactions each commit their own writes', async (storage) => {
    const payments = Array.from({ length: 10 }, (_, i) => makePayment({ createdAt: fixtureTime(i) }));
    const messages = payments.map((payment) => makeOutboxMessage({ aggregateKey: `payment:${payment.id}` }));
    await concurrently(10, (i) =>
      storage.transaction(async (tx) => {
        await tx.insertRecord('payment', must(payments[i], 'a payment'));
        await tx.appendOutbox([must(messages[i], 'a message')]);
      }),
    );
    const page = await storage.listRecords('payment', { tenantId: null, limit: 20 });
    expect(page.data.map((payment) => payment.id)).toEqual(payments.map((payment) => payment.id).reverse());
    for (const message of messages) expect(await storage.getOutboxMessage(message.id)).toEqual(message);
  });

  test('transaction – a rollback does not undo a concurrent transaction that commits', async (storage) => {
    const committed = makePayment();
    const rolledBack = makePayment();
    const [ok, failed] = await Promise.allSettled([
      storage.transaction(async (tx) => {
        await tx.insertRecord('payment', committed);
        await tx.appendOutbox([makeOutboxMessage({ aggregateKey: `payment:${committed.id}` })]);
      }),
      storage.transaction(async (tx) => {
        await tx.insertRecord('payment', rolledBack);
        await tx.getRecord('payment', rolledBack.id, null);
        throw new Error('second fails');
      }),
    ]);
    expect(ok?.status).toBe('fulfilled');
    expect(failed?.status).toBe('rejected');
    expect(await storage.getRecord('payment', committed.id, null)).toEqual(committed);
    expect(await storage.getRecord('payment', rolledBack.id, null)).toBeNull();
  });

  test('getRecord – forUpdate makes concurrent read-modify-write transactions lose no update', async (storage) => {
    const payment = makePayment({ amountRefunded: 0 });
    await storage.insertRecord('payment', payment);
    await concurrently(10, () =>
      storage.transaction(async (tx) => {
        const current = must(await tx.getRecord('payment', payment.id, null, { forUpdate: true }), 'the payment');
        await tx.updateRecord('payment', { ...current, amountRefunded: current.amountRefunded + 1 });
      }),
    );
    expect((await storage.getRecord('payment', payment.id, null))?.amountRefunded).toBe(10);
  });

  test('findRecord – forUpdate makes concurrent read-modify-write transactions lose no update', async (storage) => {
    const payment = makePayment({ tenantId: 'tenant-a', amountRefunded: 0 });
    await storage.insertRecord('payment', payment);
    const ref = { tenantId: 'tenant-a', provider: payment.provider, providerId: payment.providerId };
    await concurrently(5, () =>
      storage.transaction(async (tx) => {
        const current = must(await tx.findRecord('payment', ref, { forUpdate: true }), 'the payment');
        await tx.updateRecord('payment', { ...current, amountRefunded: current.amountRefunded + 10 });
      }),
    );
    expect((await storage.findRecord('payment', ref))?.amountRefunded).toBe(50);
  });
}
