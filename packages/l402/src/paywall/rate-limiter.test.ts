import { MemoryRateLimiter as CoreMemoryRateLimiter } from '@payable/core';
import { describe, expect, it } from 'vitest';
import { MemoryRateLimiter, type RateLimiter } from '../index.js';

const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1) + seconds * 1000);

describe('MemoryRateLimiter (re-exported from @payable/core)', () => {
  it('export – @payable/l402 exports the same class as @payable/core', () => {
    expect(MemoryRateLimiter).toBe(CoreMemoryRateLimiter);
  });

  it('hit – allows `limit` hits per window per key, then refuses until the window ends', () => {
    const limiter: RateLimiter = new MemoryRateLimiter({ limit: 2 });
    expect(limiter.hit('a', at(0))).toMatchObject({ allowed: true, remaining: 1 });
    expect(limiter.hit('a', at(1))).toMatchObject({ allowed: true, remaining: 0 });
    expect(limiter.hit('a', at(2))).toEqual({
      allowed: false,
      limit: 2,
      remaining: 0,
      resetAt: at(60),
      retryAfterSeconds: 58,
    });
    expect(limiter.hit('a', at(60))).toMatchObject({ allowed: true, remaining: 1 });
  });
});
