import { isPayableError } from '@payable/core';
import fc from 'fast-check';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { checkStripeTimestamp, parseStripeSignatureHeader } from './signature.js';

function reason(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return isPayableError(error) ? error.context.reason : error;
  }
  return 'accepted';
}

describe('parseStripeSignatureHeader', () => {
  it('reads what the Stripe SDK generates', () => {
    const header = Stripe.webhooks.generateTestHeaderString({
      payload: '{}',
      secret: 'whsec_x',
      timestamp: 1767225600,
    });
    const parts = parseStripeSignatureHeader(header, 5);
    expect(parts.timestamp).toBe(1767225600);
    expect(parts.signatures).toHaveLength(1);
    expect(parts.signatures[0]).toMatch(/^[0-9a-f]{64}$/);
  });

  it('property: keeps every v1 in order up to the bound, ignores other schemes, refuses past it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 999_999_999_999 }),
        fc.array(fc.stringMatching(/^[0-9a-f]{1,64}$/), { minLength: 1, maxLength: 9 }),
        fc.array(fc.stringMatching(/^[0-9a-f]{1,8}$/), { maxLength: 3 }),
        fc.integer({ min: 1, max: 8 }),
        (t, v1s, v0s, max) => {
          const header = [`t=${t}`, ...v0s.map((v) => `v0=${v}`), ...v1s.map((v) => `v1=${v}`)].join(',');
          if (v1s.length > max) {
            expect(reason(() => parseStripeSignatureHeader(header, max))).toBe('too_many_signatures');
          } else {
            expect(parseStripeSignatureHeader(header, max)).toEqual({ timestamp: t, signatures: v1s });
          }
        },
      ),
    );
  });

  it('property: arbitrary text never throws anything but INVALID_WEBHOOK_SIGNATURE', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (header) => {
        try {
          parseStripeSignatureHeader(header, 5);
        } catch (error) {
          expect(isPayableError(error) && error.code).toBe('INVALID_WEBHOOK_SIGNATURE');
        }
      }),
    );
  });

  it.each(['', 'v1=aa', 't=,v1=aa', 't=12a,v1=aa', 't=1,t=1,v1=aa', 't=1', 't=1,v1'])(
    'refuses %j as malformed',
    (header) => {
      expect(reason(() => parseStripeSignatureHeader(header, 5))).toBe('malformed_header');
    },
  );
});

describe('checkStripeTimestamp', () => {
  it('property: accepts exactly the timestamps within the tolerance, in both directions', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -10_000, max: 10_000 }),
        fc.integer({ min: 1, max: 3_600 }),
        (offset, tolerance) => {
          const now = new Date(1_767_225_600_000);
          const result = reason(() => checkStripeTimestamp(1_767_225_600 + offset, now, tolerance));
          expect(result).toBe(Math.abs(offset) <= tolerance ? 'accepted' : 'timestamp_outside_tolerance');
        },
      ),
    );
  });
});
