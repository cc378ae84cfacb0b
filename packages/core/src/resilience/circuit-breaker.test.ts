import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProviderError, ProviderUnavailableError } from '../errors/classes.js';
import { isPayableError, type PayableError } from '../errors/payable-error.js';
import { CircuitBreaker, type CircuitTransition } from './circuit-breaker.js';

/** A clock tests move by hand. */
function manualClock(start = Date.UTC(2026, 0, 1)) {
  let t = start;
  return { now: () => new Date(t), advance: (ms: number) => void (t += ms) };
}

const outage = () => new ProviderUnavailableError('down', { context: { provider: 'p' } });
const decline = () => new ProviderError('declined', { context: { declineCode: 'card_declined' } });

async function refusal(promise: Promise<unknown>): Promise<PayableError> {
  try {
    await promise;
  } catch (error) {
    if (isPayableError(error)) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('CircuitBreaker', () => {
  it('run – opens after failureThreshold consecutive transient failures and refuses without calling', async () => {
    const clock = manualClock();
    const breaker = new CircuitBreaker('stripe', clock, { failureThreshold: 3, openMs: 10_000 });
    let calls = 0;
    const failing = async () => {
      calls++;
      throw outage();
    };
    for (let i = 0; i < 3; i++)
      await expect(breaker.run(failing)).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
    expect(breaker.state).toBe('open');
    expect(calls).toBe(3);
    clock.advance(2_500);
    const refused = await refusal(breaker.run(failing));
    expect(refused.code).toBe('PROVIDER_UNAVAILABLE');
    expect(refused.httpStatus).toBe(503);
    expect(refused.context).toEqual({ provider: 'stripe', retryAfterSeconds: 8, reason: 'circuit_open' });
    expect(calls).toBe(3);
  });

  it('run – a success or a non-transient failure (a decline) resets the consecutive count', async () => {
    const breaker = new CircuitBreaker('p', manualClock(), { failureThreshold: 2 });
    await expect(breaker.run(async () => Promise.reject(outage()))).rejects.toBeDefined();
    await breaker.run(async () => 'ok');
    await expect(breaker.run(async () => Promise.reject(outage()))).rejects.toBeDefined();
    await expect(breaker.run(async () => Promise.reject(decline()))).rejects.toMatchObject({ code: 'PROVIDER_ERROR' });
    await expect(breaker.run(async () => Promise.reject(outage()))).rejects.toBeDefined();
    expect(breaker.state).toBe('closed');
    expect(breaker.failures).toBe(1);
  });

  it('run – declines and other 4xx never open it', async () => {
    const breaker = new CircuitBreaker('p', manualClock(), { failureThreshold: 2 });
    for (let i = 0; i < 5; i++) await expect(breaker.run(async () => Promise.reject(decline()))).rejects.toBeDefined();
    expect(breaker.state).toBe('closed');
  });

  it('half-open – after openMs one trial goes through, others are refused while it runs; success closes', async () => {
    const clock = manualClock();
    const breaker = new CircuitBreaker('p', clock, { failureThreshold: 1, openMs: 30_000 });
    await expect(breaker.run(async () => Promise.reject(outage()))).rejects.toBeDefined();
    clock.advance(29_999);
    expect(breaker.state).toBe('open');
    clock.advance(1);
    expect(breaker.state).toBe('half-open');
    let release = (): void => {};
    const trial = breaker.run(() => new Promise<string>((resolve) => (release = () => resolve('ok'))));
    const other = await refusal(breaker.run(async () => 'never'));
    expect(other.context).toMatchObject({ reason: 'circuit_open', retryAfterSeconds: 1 });
    release();
    await expect(trial).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
    await expect(breaker.run(async () => 'again')).resolves.toBe('again');
  });

  it('half-open – a failed trial opens it again for another openMs', async () => {
    const clock = manualClock();
    const breaker = new CircuitBreaker('p', clock, { failureThreshold: 2, openMs: 5_000 });
    for (let i = 0; i < 2; i++) await expect(breaker.run(async () => Promise.reject(outage()))).rejects.toBeDefined();
    clock.advance(5_000);
    await expect(breaker.run(async () => Promise.reject(outage()))).rejects.toMatchObject({
      context: { provider: 'p' },
    });
    expect(breaker.state).toBe('open');
    clock.advance(4_000);
    expect((await refusal(breaker.run(async () => 'x'))).context).toMatchObject({ retryAfterSeconds: 1 });
    clock.advance(1_000);
    await expect(breaker.run(async () => 'x')).resolves.toBe('x');
    expect(breaker.state).toBe('closed');
  });

  it('half-open – a released trial (provider never reached) lets the next call be the trial', () => {
    const clock = manualClock();
    const breaker = new CircuitBreaker('p', clock, { failureThreshold: 1, openMs: 1_000 });
    breaker.acquire().fail();
    clock.advance(1_000);
    breaker.acquire().release();
    const trial = breaker.acquire();
    expect(() => breaker.acquire()).toThrow(expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE' }));
    trial.succeed();
    expect(breaker.state).toBe('closed');
  });

  it('half-open – a trial that never settles stops blocking after openMs', () => {
    const clock = manualClock();
    const breaker = new CircuitBreaker('p', clock, { failureThreshold: 1, openMs: 1_000 });
    breaker.acquire().fail();
    clock.advance(1_000);
    breaker.acquire(); // hangs forever
    clock.advance(999);
    expect(() => breaker.acquire()).toThrow(expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE' }));
    clock.advance(1);
    breaker.acquire().succeed();
    expect(breaker.state).toBe('closed');
  });

  it('onTransition – tells closed → open → half-open → closed, and an observer that throws changes nothing', async () => {
    const clock = manualClock();
    const seen: Array<Pick<CircuitTransition, 'from' | 'to'>> = [];
    const breaker = new CircuitBreaker('p', clock, {
      failureThreshold: 1,
      openMs: 1_000,
      onTransition: (t) => {
        seen.push({ from: t.from, to: t.to });
        throw new Error('observer bug');
      },
    });
    await expect(breaker.run(async () => Promise.reject(outage()))).rejects.toMatchObject({ message: 'down' });
    clock.advance(1_000);
    await breaker.run(async () => 'ok');
    expect(seen).toEqual([
      { from: 'closed', to: 'open' },
      { from: 'open', to: 'half-open' },
      { from: 'half-open', to: 'closed' },
    ]);
  });

  it('constructor – a threshold or openMs that is not a positive integer is VALIDATION_ERROR', () => {
    expect(() => new CircuitBreaker('p', manualClock(), { failureThreshold: 0 })).toThrow(
      expect.objectContaining({
        code: 'VALIDATION_ERROR',
        context: expect.objectContaining({ field: 'failureThreshold' }),
      }),
    );
    expect(() => new CircuitBreaker('p', manualClock(), { openMs: 1.5 })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_ERROR', context: expect.objectContaining({ field: 'openMs' }) }),
    );
  });

  it('state machine – sequential calls behave like the model (property)', () => {
    type Step = { kind: 'ok' } | { kind: 'fail' } | { kind: 'decline' } | { kind: 'wait'; ms: number };
    const step = fc.oneof(
      fc.constant<Step>({ kind: 'ok' }),
      fc.constant<Step>({ kind: 'fail' }),
      fc.constant<Step>({ kind: 'decline' }),
      fc.integer({ min: 0, max: 3_000 }).map<Step>((ms) => ({ kind: 'wait', ms })),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(step, { maxLength: 60 }), (threshold, steps) => {
        const openMs = 1_000;
        const clock = manualClock();
        const breaker = new CircuitBreaker('p', clock, { failureThreshold: threshold, openMs });
        // The model: closed with a count, or open since a time.
        let model: { state: 'closed'; failures: number } | { state: 'open'; since: number } = {
          state: 'closed',
          failures: 0,
        };
        let now = 0;
        for (const s of steps) {
          if (s.kind === 'wait') {
            now += s.ms;
            clock.advance(s.ms);
            continue;
          }
          const admitted = model.state === 'closed' || now - model.since >= openMs;
          let permit: ReturnType<CircuitBreaker['acquire']> | null = null;
          try {
            permit = breaker.acquire();
          } catch {
            permit = null;
          }
          expect(permit !== null).toBe(admitted);
          if (permit === null) continue;
          const trial = model.state === 'open';
          if (s.kind === 'fail') {
            permit.fail();
            if (trial) model = { state: 'open', since: now };
            else if (model.state === 'closed') {
              const failures: number = model.failures + 1;
              model = failures >= threshold ? { state: 'open', since: now } : { state: 'closed', failures };
            }
          } else {
            permit.succeed();
            model = { state: 'closed', failures: 0 };
          }
          expect(breaker.state === 'closed').toBe(model.state === 'closed');
        }
      }),
    );
  });
});
