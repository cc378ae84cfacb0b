import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { MemoryStorageDriver } from '@payable/core';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryReplayStore } from './memory-replay-store.js';
import { RedisReplayStore, type RedisSetClient } from './redis-replay-store.js';
import { StorageReplayStore } from './storage-replay-store.js';
import type { ReplayStore, ReplayToken } from './types.js';

const now = new Date('2026-01-01T00:00:00Z');
const hash = (seed = randomBytes(8).toString('hex')) => createHash('sha256').update(seed).digest('hex');
const token = (overrides: Partial<ReplayToken> = {}): ReplayToken => ({
  tenantId: null,
  paymentHash: hash(),
  expiresAt: new Date(now.getTime() + 3600_000),
  now,
  ...overrides,
});

// ioredis is an optional peer of @payable/l402: loaded from the workspace package that installs it.
type Redis = RedisSetClient & {
  quit(): Promise<unknown>;
  pttl(key: string): Promise<number>;
  on(event: 'error', listener: () => void): unknown;
};
const { Redis: RedisClient } = createRequire(new URL('../../../queue-bullmq/package.json', import.meta.url))(
  'ioredis',
) as { Redis: new (url: string, options: object) => Redis };
const redis = new RedisClient('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
afterAll(async () => {
  await redis.quit();
});
const prefix = `payable-test:replay:${randomBytes(6).toString('hex')}:`;

const stores: [string, () => ReplayStore][] = [
  ['MemoryReplayStore', () => new MemoryReplayStore()],
  ['StorageReplayStore', () => new StorageReplayStore(new MemoryStorageDriver())],
  ['RedisReplayStore', () => new RedisReplayStore({ redis, prefix: `${prefix}${randomBytes(4).toString('hex')}:` })],
];

describe.each(stores)('%s', (_name, make) => {
  it('consume – the first use of a payment hash wins, every later one is refused', async () => {
    const store = make();
    const t = token();
    expect(await store.consume(t)).toBe(true);
    expect(await store.consume(t)).toBe(false);
    expect(await store.consume({ ...t, now: new Date(now.getTime() + 1000) })).toBe(false);
    expect(await store.consume(token())).toBe(true);
  });

  it('consume – the same hash under another tenant is separate', async () => {
    const store = make();
    const paymentHash = hash('shared');
    for (const tenantId of [null, '-', 'acme', 'globex'])
      expect(await store.consume(token({ tenantId, paymentHash }))).toBe(true);
    for (const tenantId of [null, '-', 'acme', 'globex'])
      expect(await store.consume(token({ tenantId, paymentHash }))).toBe(false);
  });

  it('consume – 20 concurrent uses of one token: exactly one wins', async () => {
    const store = make();
    const t = token();
    const results = await Promise.all(Array.from({ length: 20 }, () => store.consume(t)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});

describe('MemoryReplayStore', () => {
  it('forgets a hash once its token has expired, and evicts past maxEntries', async () => {
    const store = new MemoryReplayStore({ maxEntries: 2 });
    const t = token({ expiresAt: new Date(now.getTime() + 10_000) });
    await store.consume(t);
    expect(await store.consume({ ...t, now: new Date(now.getTime() + 5_000) })).toBe(false);
    expect(await store.consume({ ...t, now: new Date(now.getTime() + 12_000) })).toBe(true);
    await store.consume(token());
    await store.consume(token());
    expect(store.size).toBe(2);
  });
});

describe('RedisReplayStore', () => {
  it('keys expire when the token does; an unreachable Redis is STORAGE_UNAVAILABLE', async () => {
    const keyPrefix = `${prefix}ttl:`;
    const store = new RedisReplayStore({ redis, prefix: keyPrefix });
    const t = token({ tenantId: 'acme', expiresAt: new Date(now.getTime() + 120_000) });
    await store.consume(t);
    const ttl = await redis.pttl(`${keyPrefix}t"acme":${t.paymentHash}`);
    expect(ttl).toBeGreaterThan(115_000);
    expect(ttl).toBeLessThanOrEqual(121_000);
    // A real client pointed at a port nothing listens on.
    const unreachable = new RedisClient('redis://127.0.0.1:1', {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    unreachable.on('error', () => undefined);
    const down = new RedisReplayStore({ redis: unreachable });
    await expect(down.consume(token())).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', httpStatus: 503 });
    await unreachable.quit().catch(() => undefined);
  });
});
