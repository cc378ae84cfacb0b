import { isPayableError } from '@payable/core';
import { TestClock } from '@payable/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('TestClock', () => {
  it('constructor – starts at 2026-01-01T00:00:00Z by default', () => {
    expect(new TestClock().now().toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });

  it('constructor – accepts a Date, an ISO string or epoch milliseconds', () => {
    const iso = '2030-06-15T08:30:00.000Z';
    expect(new TestClock(new Date(iso)).now().toISOString()).toBe(iso);
    expect(new TestClock(iso).now().toISOString()).toBe(iso);
    expect(new TestClock(Date.parse(iso)).now().toISOString()).toBe(iso);
  });

  it('constructor – rejects an invalid date with VALIDATION_ERROR', () => {
    expect(() => new TestClock('not a date')).toThrow(expect.objectContaining({ code: 'VALIDATION_ERROR' }));
  });

  it('now – does not move on its own', async () => {
    const clock = new TestClock();
    const before = clock.now().getTime();
    await new Promise((resolve) => setTimeout(resolve, 15));
    expect(clock.now().getTime()).toBe(before);
  });

  it('now – returns a copy that cannot move the clock when mutated', () => {
    const clock = new TestClock();
    const first = clock.now();
    first.setFullYear(1999);
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(clock.now()).not.toBe(clock.now());
  });

  it('constructor – keeps no reference to the Date it was given', () => {
    const start = new Date('2026-05-05T00:00:00Z');
    const clock = new TestClock(start);
    start.setUTCFullYear(2000);
    expect(clock.now().toISOString()).toBe('2026-05-05T00:00:00.000Z');
  });

  it('advance – moves forward by milliseconds and returns the new time', () => {
    const clock = new TestClock();
    const returned = clock.advance(1500);
    expect(returned.toISOString()).toBe('2026-01-01T00:00:01.500Z');
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:01.500Z');
  });

  it('advance – adds up seconds, minutes, hours and days', () => {
    const clock = new TestClock();
    clock.advance({ days: 1, hours: 2, minutes: 3, seconds: 4 });
    expect(clock.now().toISOString()).toBe('2026-01-02T02:03:04.000Z');
    clock.advance({ minutes: 90 });
    expect(clock.now().toISOString()).toBe('2026-01-02T03:33:04.000Z');
  });

  it('advance – rejects negative and non-finite amounts and leaves the time unchanged', () => {
    const clock = new TestClock();
    for (const by of [-1, Number.NaN, Number.POSITIVE_INFINITY, { minutes: -5 }]) {
      let caught: unknown;
      try {
        clock.advance(by);
      } catch (error) {
        caught = error;
      }
      expect(isPayableError(caught) && caught.code === 'VALIDATION_ERROR').toBe(true);
    }
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });

  it('advance – successive steps add up to one step of their sum', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10 ** 9 }), { maxLength: 20 }), (steps) => {
        const stepped = new TestClock();
        for (const step of steps) stepped.advance(step);
        const once = new TestClock();
        once.advance(steps.reduce((sum, step) => sum + step, 0));
        expect(stepped.now().getTime()).toBe(once.now().getTime());
      }),
    );
  });

  it('set – jumps forwards or backwards and returns the new time', () => {
    const clock = new TestClock();
    expect(clock.set('2027-01-01T00:00:00Z').toISOString()).toBe('2027-01-01T00:00:00.000Z');
    clock.set(new Date('2025-01-01T00:00:00Z'));
    expect(clock.now().toISOString()).toBe('2025-01-01T00:00:00.000Z');
  });

  it('set – rejects an invalid date and keeps the current time', () => {
    const clock = new TestClock();
    expect(() => clock.set(Number.NaN)).toThrow(expect.objectContaining({ code: 'VALIDATION_ERROR' }));
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });
});
