import { expect } from 'vitest';
import { fixtureTime, makePayment, makeWebhookEvent } from './fixtures.js';
import type { DefineTest } from './harness.js';

const UNAVAILABLE = { code: 'STORAGE_UNAVAILABLE', httpStatus: 503 };

/** Registers the driver lifecycle tests (name, ping, close). */
export function lifecycleTests(test: DefineTest): void {
  test('name – is a non-empty string', async (storage) => {
    expect(typeof storage.name).toBe('string');
    expect(storage.name.length).toBeGreaterThan(0);
  });

  test('ping – resolves while the store is reachable', async (storage) => {
    await expect(storage.ping()).resolves.toBeUndefined();
  });

  test('close – every later call rejects with STORAGE_UNAVAILABLE', async (storage) => {
    const payment = makePayment();
    await storage.insertRecord('payment', payment);
    await storage.close();
    await expect(storage.ping()).rejects.toMatchObject(UNAVAILABLE);
    await expect(storage.getRecord('payment', payment.id, null)).rejects.toMatchObject(UNAVAILABLE);
    await expect(storage.insertWebhookEvent(makeWebhookEvent())).rejects.toMatchObject(UNAVAILABLE);
    await expect(
      storage.claimOutbox({ owner: 'relay-1', now: fixtureTime(0), until: fixtureTime(30) }, 10),
    ).rejects.toMatchObject(UNAVAILABLE);
    await expect(storage.transaction(async () => 1)).rejects.toMatchObject(UNAVAILABLE);
  });

  test('close – a second close resolves', async (storage) => {
    await storage.close();
    await expect(storage.close()).resolves.toBeUndefined();
  });
}
