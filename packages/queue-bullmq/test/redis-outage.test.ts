import { createPayable, MemoryStorageDriver } from '@payable/core';
import { BullMQQueueDriver } from '@payable/queue-bullmq';
import { FakeProvider, waitFor } from '@payable/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, killOwnRedisServers, startRedis } from './support/own-redis.js';

afterAll(killOwnRedisServers);

describe('a webhook while Redis is down', () => {
  it('is stored and answered within a second; the sweeper dispatches it once Redis is back, and a worker processes it', async () => {
    const port = await freePort();
    let redis = await startRedis(port);
    const fake = new FakeProvider();
    const queue = new BullMQQueueDriver({ connection: `redis://127.0.0.1:${port}`, prefix: `outage${process.pid}` });
    const payable = createPayable({
      providers: { fake },
      storage: new MemoryStorageDriver(),
      queue,
      webhooks: { sweepIntervalMs: 0 },
    });
    try {
      // The worker is up and working before the outage.
      const before = await payable.webhooks.receive({
        provider: 'fake',
        ...fake.eventFor('customer.created', { providerId: 'c_before', email: null, name: null }),
      });
      await waitFor(async () => (await payable.webhooks.get(before.eventId)).status === 'processed', 15_000);

      await redis.stop();
      const started = Date.now();
      const during = await payable.webhooks.receive({
        provider: 'fake',
        ...fake.eventFor('customer.created', { providerId: 'c_during', email: null, name: null }),
      });
      const elapsed = Date.now() - started;
      expect(elapsed).toBeLessThan(1000);
      expect(during).toMatchObject({ duplicate: false, status: 'pending' });

      redis = await startRedis(port);
      // Nothing was queued for it: only the sweeper (the database is the source of truth) brings it back.
      await waitFor(
        async () => {
          await payable.webhooks.sweep({ olderThanMs: 0 });
          return (await payable.webhooks.get(during.eventId)).status === 'processed';
        },
        25_000,
        500,
      );
      expect((await payable.webhooks.get(during.eventId)).attempts).toBeGreaterThanOrEqual(1);
    } finally {
      await payable.close();
      await redis.stop();
    }
  }, 60_000);
});
