import { waitFor } from '@payable/testing';
import { describe, expect, it } from 'vitest';

describe('waitFor', () => {
  it('waitFor – resolves once the condition becomes true', async () => {
    let ready = false;
    setTimeout(() => {
      ready = true;
    }, 30);
    const started = Date.now();
    await waitFor(() => ready, 2000);
    expect(ready).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('waitFor – accepts an asynchronous condition', async () => {
    let calls = 0;
    await waitFor(async () => ++calls >= 3, 2000);
    expect(calls).toBe(3);
  });

  it('waitFor – rejects after the timeout when the condition stays false', async () => {
    const started = Date.now();
    await expect(waitFor(() => false, 50)).rejects.toThrow(/after 50 ms/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('waitFor – rejects at once with the error the condition throws', async () => {
    await expect(
      waitFor(() => {
        throw new Error('broken condition');
      }, 5000),
    ).rejects.toThrow('broken condition');
  });
});
