import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canTransition } from './transitions.js';
import type { PaymentStatus, SubscriptionStatus } from './types.js';

const PAYMENT: PaymentStatus[] = [
  'pending',
  'requires_action',
  'processing',
  'succeeded',
  'failed',
  'canceled',
  'expired',
  'underpaid',
  'partially_refunded',
  'refunded',
];
const PAID: PaymentStatus[] = ['succeeded', 'partially_refunded', 'refunded'];

/** Apply proposals in order, as the inbox does: a refused transition leaves the status as it was. */
function run<S extends string>(kind: 'payment' | 'subscription', start: S, proposals: S[]): S[] {
  const seen = [start];
  let current = start;
  for (const next of proposals) {
    if (canTransition(kind, current, next)) current = next;
    seen.push(current);
  }
  return seen;
}

describe('payment transitions', () => {
  it('canTransition – once paid, any sequence of events keeps it paid, and refunded is final', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...PAYMENT),
        fc.array(fc.constantFrom(...PAYMENT), { maxLength: 30 }),
        (start, proposals) => {
          const seen = run('payment', start, proposals);
          const firstPaid = seen.findIndex((s) => PAID.includes(s));
          if (firstPaid >= 0) for (const s of seen.slice(firstPaid)) expect(PAID).toContain(s);
          const firstRefunded = seen.indexOf('refunded');
          if (firstRefunded >= 0) for (const s of seen.slice(firstRefunded)) expect(s).toBe('refunded');
          // Nothing ever goes back to pending.
          const left = seen.findIndex((s) => s !== 'pending');
          if (left >= 0) expect(seen.slice(left)).not.toContain('pending');
        },
      ),
    );
  });

  it('canTransition – a late failure, cancellation or expiry never undoes a success', () => {
    for (const late of ['failed', 'canceled', 'expired', 'pending', 'processing', 'requires_action'] as const) {
      expect(canTransition('payment', 'succeeded', late)).toBe(false);
    }
    expect(canTransition('payment', 'succeeded', 'partially_refunded')).toBe(true);
    expect(canTransition('payment', 'partially_refunded', 'refunded')).toBe(true);
    expect(canTransition('payment', 'refunded', 'partially_refunded')).toBe(false);
  });

  it('canTransition – money that arrives after expiry or cancellation is recorded', () => {
    expect(canTransition('payment', 'expired', 'succeeded')).toBe(true);
    expect(canTransition('payment', 'canceled', 'succeeded')).toBe(true);
    expect(canTransition('payment', 'failed', 'succeeded')).toBe(true);
  });
});

describe('subscription transitions', () => {
  const SUBS: SubscriptionStatus[] = ['incomplete', 'trialing', 'active', 'past_due', 'paused', 'unpaid', 'canceled'];
  it('canTransition – canceled is final whatever arrives after it', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...SUBS), { maxLength: 30 }), (proposals) => {
        const seen = run('subscription', 'active', proposals);
        const canceled = seen.indexOf('canceled');
        if (canceled >= 0) for (const s of seen.slice(canceled)) expect(s).toBe('canceled');
      }),
    );
  });

  it('canTransition – records without a status (customers) always accept a change', () => {
    expect(canTransition('customer', 'x', 'y')).toBe(true);
  });
});
