import { describe, expect, it } from 'vitest';
import { ProviderError, ProviderUnavailableError } from '../errors/classes.js';
import { backoffDelay, withRetries } from './retry.js';

const outage = (context: Record<string, unknown> = {}) => new ProviderUnavailableError('down', { context });

/** Records the waits instead of waiting. */
function recorder() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

describe('backoffDelay', () => {
  it('delay – doubles from baseMs, capped at maxMs, with jitter over the upper half', () => {
    const policy = { baseMs: 200, maxMs: 2000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, policy, () => 0))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, policy, () => 1))).toEqual([200, 400, 800, 1600, 2000]);
    for (let n = 1; n < 8; n++) {
      const d = backoffDelay(n, policy);
      const ceiling = Math.min(2000, 200 * 2 ** (n - 1));
      expect(d).toBeGreaterThanOrEqual(ceiling / 2);
      expect(d).toBeLessThanOrEqual(ceiling);
    }
  });
});

describe('withRetries', () => {
  it('retries – a transient failure is retried up to `retries` times with growing waits, then thrown', async () => {
    const { waits, sleep } = recorder();
    let attempts = 0;
    const error = outage();
    await expect(
      withRetries(
        async () => {
          attempts++;
          throw error;
        },
        { retries: 2, baseMs: 200, maxMs: 2000, sleep, random: () => 1 },
      ),
    ).rejects.toBe(error);
    expect(attempts).toBe(3);
    expect(waits).toEqual([200, 400]);
  });

  it('retries – stops at the first success', async () => {
    const { waits, sleep } = recorder();
    let attempts = 0;
    const result = await withRetries(
      async (attempt) => {
        attempts++;
        if (attempt < 2) throw outage();
        return 'ok';
      },
      { retries: 5, sleep },
    );
    expect(result).toBe('ok');
    expect(attempts).toBe(2);
    expect(waits).toHaveLength(1);
  });

  it('retries – a decline, a validation error, a 429 and a plain 4xx are not retried', async () => {
    const { waits, sleep } = recorder();
    for (const error of [
      new ProviderError('declined', { context: { declineCode: 'card_declined' } }),
      new ProviderError('bad request', { context: { status: 400 } }),
      outage({ reason: 'rate_limited', retryAfter: 1 }),
      Object.assign(new Error('not found'), { statusCode: 404 }),
    ]) {
      let attempts = 0;
      await expect(
        withRetries(
          async () => {
            attempts++;
            throw error;
          },
          { sleep },
        ),
      ).rejects.toBe(error);
      expect(attempts).toBe(1);
    }
    expect(waits).toEqual([]);
  });

  it('retries – shouldRetry decides (false: not retried), and retries: 0 never retries', async () => {
    const { waits, sleep } = recorder();
    let attempts = 0;
    const failing = async () => {
      attempts++;
      throw outage();
    };
    await expect(withRetries(failing, { sleep, shouldRetry: () => false })).rejects.toBeDefined();
    await expect(withRetries(failing, { sleep, retries: 0 })).rejects.toBeDefined();
    expect(attempts).toBe(2);
    expect(waits).toEqual([]);
  });

  it('retryAfter – waits at least what the provider asked, and gives up when that is over maxMs', async () => {
    const { waits, sleep } = recorder();
    let attempts = 0;
    await expect(
      withRetries(
        async () => {
          attempts++;
          throw outage({ retryAfter: 1 });
        },
        { retries: 1, baseMs: 10, maxMs: 2000, sleep, random: () => 0 },
      ),
    ).rejects.toBeDefined();
    expect(waits).toEqual([1000]);
    expect(attempts).toBe(2);

    attempts = 0;
    await expect(
      withRetries(
        async () => {
          attempts++;
          throw outage({ retryAfter: 5 });
        },
        { retries: 3, maxMs: 2000, sleep },
      ),
    ).rejects.toBeDefined();
    expect(attempts).toBe(1);
  });

  it('options – retries, baseMs and maxMs are checked: VALIDATION_ERROR naming the field', async () => {
    for (const [options, field] of [
      [{ retries: -1 }, 'retries'],
      [{ retries: 11 }, 'retries'],
      [{ baseMs: -5 }, 'baseMs'],
      [{ baseMs: 500, maxMs: 100 }, 'maxMs'],
    ] as const) {
      await expect(withRetries(async () => 1, options)).rejects.toMatchObject({
        code: 'VALIDATION_ERROR',
        context: { field },
      });
    }
  });
});
