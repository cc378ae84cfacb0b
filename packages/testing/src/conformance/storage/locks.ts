import { expect } from 'vitest';
import { fixtureTime } from './fixtures.js';
import { concurrently, type DefineTest } from './harness.js';

function lease(owner: string, at: number, seconds = 30): { owner: string; now: Date; until: Date } {
  return { owner, now: fixtureTime(at), until: fixtureTime(at + seconds) };
}

/** Registers the named-lock tests. */
export function lockTests(test: DefineTest): void {
  test('acquireLock – takes a free lock', async (storage) => {
    expect(await storage.acquireLock('payment:pay_1', lease('worker-1', 0))).toBe(true);
  });

  test('acquireLock – refuses a lock another owner holds until it expires', async (storage) => {
    expect(await storage.acquireLock('payment:pay_1', lease('worker-1', 0, 30))).toBe(true);
    expect(await storage.acquireLock('payment:pay_1', lease('worker-2', 1))).toBe(false);
    expect(await storage.acquireLock('payment:pay_1', lease('worker-2', 29))).toBe(false);
    expect(await storage.acquireLock('payment:pay_1', lease('worker-2', 31))).toBe(true);
    expect(await storage.acquireLock('payment:pay_1', lease('worker-1', 32))).toBe(false);
  });

  test('acquireLock – the owner renews its own lock, extending it', async (storage) => {
    expect(await storage.acquireLock('job', lease('worker-1', 0, 30))).toBe(true);
    expect(await storage.acquireLock('job', lease('worker-1', 20, 30))).toBe(true);
    expect(await storage.acquireLock('job', lease('worker-2', 40))).toBe(false);
    expect(await storage.acquireLock('job', lease('worker-2', 51))).toBe(true);
  });

  test('acquireLock – locks with different names are independent', async (storage) => {
    expect(await storage.acquireLock('payment:pay_1', lease('worker-1', 0))).toBe(true);
    expect(await storage.acquireLock('payment:pay_2', lease('worker-2', 0))).toBe(true);
    expect(await storage.acquireLock('payment:pay_1', lease('worker-2', 1))).toBe(false);
    expect(await storage.acquireLock('payment:pay_2', lease('worker-1', 1))).toBe(false);
  });

  test('acquireLock – of 50 concurrent owners exactly one gets the lock', async (storage) => {
    const results = await concurrently(50, (i) => storage.acquireLock('payment:pay_hot', lease(`worker-${i}`, 0)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = `worker-${results.indexOf(true)}`;
    expect(await storage.acquireLock('payment:pay_hot', lease(winner, 1))).toBe(true);
    expect(await storage.acquireLock('payment:pay_hot', lease('someone-else', 1))).toBe(false);
  });

  test('releaseLock – frees the lock for another owner at once', async (storage) => {
    expect(await storage.acquireLock('job', lease('worker-1', 0, 30))).toBe(true);
    await storage.releaseLock('job', 'worker-1');
    expect(await storage.acquireLock('job', lease('worker-2', 1))).toBe(true);
  });

  test('releaseLock – by someone who is not the owner leaves the lock held', async (storage) => {
    expect(await storage.acquireLock('job', lease('worker-1', 0, 30))).toBe(true);
    await storage.releaseLock('job', 'worker-2');
    expect(await storage.acquireLock('job', lease('worker-2', 1))).toBe(false);
    await storage.releaseLock('unknown-lock', 'worker-1');
    expect(await storage.acquireLock('unknown-lock', lease('worker-3', 1))).toBe(true);
  });
}
