import { describe, expect, it } from 'vitest';
import { MemoryRateLimiter, rateLimitHeaders } from './rate-limit.js';

const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1) + seconds * 1000);

describe('MemoryRateLimiter', () => {
  it('hit – allows `limit` hits per window per key, then refuses until the window ends', () => {
    const limiter = new MemoryRateLimiter({ limit: 3 });
    expect([1, 2, 3].map((i) => limiter.hit('a', at(i)).remaining)).toEqual([2, 1, 0]);
    const refused = limiter.hit('a', at(20));
    expect(refused).toEqual({ allowed: false, limit: 3, remaining: 0, resetAt: at(61), retryAfterSeconds: 41 });
    expect(limiter.hit('b', at(20)).allowed).toBe(true);
    expect(limiter.hit('a', at(61))).toMatchObject({ allowed: true, remaining: 2, resetAt: at(121) });
  });

  it('hit – refused hits do not extend the window or use up the next one', () => {
    const limiter = new MemoryRateLimiter({ limit: 1, windowMs: 10_000 });
    limiter.hit('a', at(0));
    for (let i = 1; i < 10; i++) expect(limiter.hit('a', at(i)).allowed).toBe(false);
    expect(limiter.hit('a', at(10))).toMatchObject({ allowed: true, remaining: 0, resetAt: at(20) });
  });

  it('hit – Retry-After is whole seconds, at least 1', () => {
    const limiter = new MemoryRateLimiter({ limit: 1, windowMs: 1000 });
    limiter.hit('a', at(0));
    expect(limiter.hit('a', new Date(at(0).getTime() + 999)).retryAfterSeconds).toBe(1);
  });

  it('hit – past maxKeys, finished windows are dropped first (a client mid-window keeps its count)', () => {
    const limiter = new MemoryRateLimiter({ limit: 1, maxKeys: 2 });
    limiter.hit('old', at(0));
    limiter.hit('busy', at(30));
    limiter.hit('new', at(70)); // 'old' has finished: dropped, 'busy' kept
    expect(limiter.hit('busy', at(71)).allowed).toBe(false);
  });

  it('constructor – a limit or window that is not a positive integer is VALIDATION_ERROR naming it', () => {
    for (const limit of [0, 1.5, -1, Number.NaN]) {
      expect(() => new MemoryRateLimiter({ limit })).toThrow(
        expect.objectContaining({ code: 'VALIDATION_ERROR', context: expect.objectContaining({ field: 'limit' }) }),
      );
    }
    expect(() => new MemoryRateLimiter({ limit: 1, windowMs: 0 })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_ERROR', context: expect.objectContaining({ field: 'windowMs' }) }),
    );
  });
});

describe('rateLimitHeaders', () => {
  it('headers – limit, remaining and the reset time in unix seconds (rounded up)', () => {
    const resetAt = new Date(Date.UTC(2026, 0, 1, 0, 1, 0, 500));
    expect(rateLimitHeaders({ allowed: true, limit: 60, remaining: 59, resetAt, retryAfterSeconds: 60 })).toEqual({
      'x-ratelimit-limit': '60',
      'x-ratelimit-remaining': '59',
      'x-ratelimit-reset': String(Math.ceil(resetAt.getTime() / 1000)),
    });
  });
});
