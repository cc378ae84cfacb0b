import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisRateLimiter } from './redis-rate-limit-store.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('RedisRateLimiter (real Redis)', () => {
  let a: Redis;
  let b: Redis;
  let raw: Redis;
  const prefix = `payable-test:${randomUUID()}:`;

  beforeAll(() => {
    a = new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1 });
    b = new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1 });
    raw = new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1 });
  });

  afterAll(async () => {
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length > 0) await raw.del(...keys);
    await Promise.all([a.quit(), b.quit(), raw.quit()]);
  });

  it('hit – allows `limit` hits per window, then refuses with the time left', async () => {
    const limiter = new RedisRateLimiter({ client: a, limit: 3, windowMs: 60_000, prefix });
    const now = new Date();
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await limiter.hit('caller-1', now));
    expect(decisions.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    const refused = decisions[3];
    expect(refused?.limit).toBe(3);
    expect(refused?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(refused?.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(refused?.resetAt.getTime()).toBeGreaterThan(now.getTime());
    expect(refused?.resetAt.getTime()).toBeLessThanOrEqual(now.getTime() + 60_000);
    expect((await limiter.hit('caller-2', now)).allowed).toBe(true);
  });

  it('hit – the window is one key with an expiry of windowMs, set on its first hit', async () => {
    const limiter = new RedisRateLimiter({ client: a, limit: 5, windowMs: 30_000, prefix });
    await limiter.hit('ttl-check', new Date());
    await limiter.hit('ttl-check', new Date());
    expect(await raw.get(`${prefix}ttl-check`)).toBe('2');
    const ttl = await raw.pttl(`${prefix}ttl-check`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30_000);
  });

  it('hit – a key left without expiry gets one (the count never sticks forever)', async () => {
    await raw.set(`${prefix}stuck`, '7');
    const limiter = new RedisRateLimiter({ client: a, limit: 5, windowMs: 10_000, prefix });
    expect((await limiter.hit('stuck', new Date())).allowed).toBe(false);
    const ttl = await raw.pttl(`${prefix}stuck`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(10_000);
  });

  it('hit – two limiters on two connections share one count', async () => {
    const one = new RedisRateLimiter({ client: a, limit: 4, prefix });
    const two = new RedisRateLimiter({ client: b, limit: 4, prefix });
    const now = new Date();
    const results = await Promise.all([
      one.hit('shared', now),
      two.hit('shared', now),
      one.hit('shared', now),
      two.hit('shared', now),
      one.hit('shared', now),
      two.hit('shared', now),
    ]);
    expect(results.filter((r) => r.allowed)).toHaveLength(4);
    expect(results.map((r) => r.remaining).sort()).toEqual([0, 0, 0, 1, 2, 3]);
    expect(await raw.get(`${prefix}shared`)).toBe('6');
  });

  it('constructor – a client without eval, or a bad limit, is VALIDATION_ERROR', () => {
    expect(() => new RedisRateLimiter({ client: {} as never, limit: 1 })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_ERROR', context: expect.objectContaining({ field: 'client' }) }),
    );
    expect(() => new RedisRateLimiter({ client: a, limit: 0 })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_ERROR', context: expect.objectContaining({ field: 'limit' }) }),
    );
  });
});
