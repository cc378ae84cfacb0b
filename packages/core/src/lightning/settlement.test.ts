import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PaymentRecord } from '../records/types.js';
import { lightningEventId, lightningSettlementStatus, settleLightningPayment, verifyPreimage } from './settlement.js';

const sha256 = (hex: string) => createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex');
const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));

function payment(overrides: Partial<PaymentRecord> = {}, preimage = randomBytes(32).toString('hex')): PaymentRecord {
  const at = new Date('2026-01-01T00:00:00Z');
  return {
    id: 'pay_1',
    tenantId: null,
    provider: 'lnd',
    providerId: sha256(preimage),
    metadata: {},
    createdAt: at,
    updatedAt: at,
    amount: 1000,
    currency: 'BTC',
    status: 'pending',
    amountRefunded: 0,
    customerId: null,
    description: null,
    expiresAt: new Date(at.getTime() + 3_600_000),
    failureCode: null,
    failureMessage: null,
    nextActionUrl: null,
    lightning: {
      paymentRequest: 'lnbcrt10u1...',
      paymentHash: sha256(preimage),
      amountMsat: '1000000',
      amountPaidMsat: null,
      preimage: null,
      quote: null,
    },
    ...overrides,
  };
}

describe('lightningSettlementStatus', () => {
  it('lightningSettlementStatus – exactly 0.1 % short is paid, one msat more short is underpaid', () => {
    expect(lightningSettlementStatus('1000000', '999000')).toBe('succeeded');
    expect(lightningSettlementStatus('1000000', '998999')).toBe('underpaid');
    expect(lightningSettlementStatus(1_000_000n, 1_000_000n)).toBe('succeeded');
  });

  it('lightningSettlementStatus – an overpayment is paid; an invoice without an amount takes any amount', () => {
    expect(lightningSettlementStatus('1000000', '5000000')).toBe('succeeded');
    expect(lightningSettlementStatus(null, '1')).toBe('succeeded');
  });

  it('lightningSettlementStatus – agrees with the 0.1 % rule on any amounts (exact, beyond 2^53)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 2n ** 70n }), fc.bigInt({ min: 0n, max: 2n ** 71n }), (amount, paid) => {
        const expected = (amount - paid) * 1000n <= amount ? 'succeeded' : 'underpaid';
        expect(lightningSettlementStatus(amount.toString(), paid.toString())).toBe(expected);
      }),
    );
  });
});

describe('verifyPreimage', () => {
  it('verifyPreimage – true exactly when sha256(preimage) is the payment hash (any case)', () => {
    fc.assert(
      fc.property(hex32, hex32, (preimage, other) => {
        expect(verifyPreimage(preimage, sha256(preimage))).toBe(true);
        expect(verifyPreimage(preimage.toUpperCase(), sha256(preimage).toUpperCase())).toBe(true);
        expect(verifyPreimage(other, sha256(preimage))).toBe(other === preimage);
      }),
    );
  });

  it('verifyPreimage – malformed input is false, never a throw', () => {
    const preimage = randomBytes(32).toString('hex');
    expect(verifyPreimage(preimage.slice(2), sha256(preimage))).toBe(false);
    expect(verifyPreimage(`${preimage}00`, sha256(preimage))).toBe(false);
    expect(verifyPreimage('zz'.repeat(32), sha256(preimage))).toBe(false);
    expect(verifyPreimage(preimage, 'not-a-hash')).toBe(false);
  });
});

describe('settleLightningPayment', () => {
  it('settleLightningPayment – a genuine settlement is credited with the preimage as receipt', () => {
    const preimage = randomBytes(32).toString('hex');
    const existing = payment({}, preimage);
    const incoming = payment(
      {
        status: 'succeeded',
        lightning: {
          ...(existing.lightning as NonNullable<PaymentRecord['lightning']>),
          amountPaidMsat: '1000000',
          preimage: preimage.toUpperCase(),
        },
      },
      preimage,
    );
    const settled = settleLightningPayment(existing, incoming, 'preimage');
    expect(settled.status).toBe('succeeded');
    expect(settled.lightning?.preimage).toBe(preimage);
  });

  it('settleLightningPayment – checks against the stored payment hash, not the one the update claims', () => {
    const preimage = randomBytes(32).toString('hex');
    const forged = randomBytes(32).toString('hex');
    const existing = payment({}, preimage);
    const incoming = payment({
      status: 'succeeded',
      lightning: {
        ...(existing.lightning as NonNullable<PaymentRecord['lightning']>),
        paymentHash: sha256(forged),
        amountPaidMsat: '1000000',
        preimage: forged,
      },
    });
    expect(() => settleLightningPayment(existing, incoming, 'preimage')).toThrow(/preimage/);
    try {
      settleLightningPayment(existing, incoming, 'none');
      expect.unreachable('a mismatched preimage is refused whatever the proof mode');
    } catch (error) {
      expect(error).toMatchObject({ code: 'PROVIDER_ERROR', context: { reason: 'preimage_mismatch' } });
      expect(String((error as Error).message)).not.toContain(forged);
    }
  });

  it("settleLightningPayment – no preimage is refused under 'preimage' proof, credited under 'none'", () => {
    const existing = payment();
    const incoming = { ...existing, status: 'succeeded' as const };
    expect(() => settleLightningPayment(existing, incoming, 'preimage')).toThrow(/no preimage/);
    expect(settleLightningPayment(existing, incoming, 'none').status).toBe('succeeded');
  });

  it('settleLightningPayment – a preimage reported before settlement is not stored; the expiry never moves', () => {
    const preimage = randomBytes(32).toString('hex');
    const existing = payment({}, preimage);
    const later = new Date((existing.expiresAt as Date).getTime() + 86_400_000);
    const incoming = payment(
      {
        status: 'pending',
        expiresAt: later,
        lightning: { ...(existing.lightning as NonNullable<PaymentRecord['lightning']>), preimage },
      },
      preimage,
    );
    const result = settleLightningPayment(existing, incoming, 'preimage');
    expect(result.lightning?.preimage).toBeNull();
    expect(result.expiresAt).toEqual(existing.expiresAt);
  });

  it('lightningEventId – is stable and lower-cases the hash', () => {
    expect(lightningEventId('lnd', 'AB'.repeat(32), 'settled')).toBe(`lnd:${'ab'.repeat(32)}:settled`);
  });
});
