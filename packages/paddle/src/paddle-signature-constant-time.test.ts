import { createHmac } from 'node:crypto';
import { timingSafeEqualString } from '@payable/core';
import { describe, expect, it, vi } from 'vitest';
import { verifyPaddleSignature } from './paddle-signature.js';

// A spy around the real comparison (it still compares): the test sees which comparison runs.
vi.mock('@payable/core', async (importOriginal) => {
  const core = await importOriginal<typeof import('@payable/core')>();
  return { ...core, timingSafeEqualString: vi.fn(core.timingSafeEqualString) };
});

const spy = vi.mocked(timingSafeEqualString);

describe('Paddle-Signature comparison', () => {
  it('compares every h1 against every secret with timingSafeEqualString, without stopping at a match', () => {
    const body = Buffer.from('{"event_id":"evt_1"}');
    const ts = 1_767_225_600;
    const sign = (secret: string) => createHmac('sha256', secret).update(`${ts}:`).update(body).digest('hex');
    const genuine = sign('new');
    spy.mockClear();
    verifyPaddleSignature({
      payload: body,
      header: `ts=${ts};h1=${genuine};h1=${'0'.repeat(64)};h1=${sign('unrelated')}`,
      headerName: 'paddle-signature',
      secrets: ['new', 'old'],
      now: new Date(ts * 1000),
      toleranceSeconds: 300,
    });
    // 3 signatures × 2 secrets, the first of which matched at once.
    expect(spy).toHaveBeenCalledTimes(6);
    expect(spy.mock.calls).toContainEqual([genuine, genuine]);
    expect(spy.mock.results[0]).toEqual({ type: 'return', value: true });
  });

  it('a mismatch is also decided by timingSafeEqualString, never by ===', () => {
    spy.mockClear();
    expect(() =>
      verifyPaddleSignature({
        payload: Buffer.from('{}'),
        header: `ts=1;h1=${'a'.repeat(64)}`,
        headerName: 'paddle-signature',
        secrets: ['s'],
        now: new Date(1000),
        toleranceSeconds: 300,
      }),
    ).toThrow();
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy.mock.results[0]).toEqual({ type: 'return', value: false });
  });
});
