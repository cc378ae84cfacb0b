import { createHash } from 'node:crypto';
import {
  createPayable,
  isPayableError,
  MemoryStorageDriver,
  type PayableError,
  type ProviderChargeInput,
} from '@payable/core';
import { FakeProvider, TestClock } from '@payable/testing';
import { describe, expect, it } from 'vitest';

// @payable/lightning depends on this package, so it cannot be a dependency of it: the test loads
// the encoder and decoder through vitest's workspace alias.
const LIGHTNING = '@payable/lightning';
interface LightningKit {
  encodeInvoice(fields: object, privateKey: string): string;
  decodeInvoice(invoice: string): {
    network: string;
    amountMsat: bigint | null;
    paymentHash: string;
    expiry: number;
    timestamp: number;
    description?: string;
    payee: string;
  };
}
const { encodeInvoice, decodeInvoice } = (await import(/* @vite-ignore */ LIGHTNING)) as LightningKit;

const ctx = { idempotencyKey: null, tenantId: null };

/** A provider charge input in BTC. */
function btc(amount: number, extra: { description?: string; expiresIn?: number } = {}): ProviderChargeInput {
  return {
    amount,
    currency: 'BTC',
    customerProviderId: null,
    description: extra.description ?? null,
    metadata: {},
    expiresIn: extra.expiresIn ?? null,
    capture: true,
  };
}

async function caught(fn: () => unknown): Promise<PayableError> {
  try {
    await fn();
  } catch (error) {
    if (isPayableError(error)) return error;
    throw error;
  }
  throw new Error('expected a PayableError');
}

function lightningFake(clock = new TestClock('2026-01-01T00:00:00Z')) {
  return new FakeProvider({ capabilities: ['charges', 'webhooks', 'lightning'], encodeInvoice, clock });
}

describe('FakeProvider with the lightning capability', () => {
  it('constructor – lightning needs encodeInvoice (VALIDATION_ERROR naming capabilities)', async () => {
    const error = await caught(() => new FakeProvider({ capabilities: ['lightning'] as never }));
    expect(error.code).toBe('VALIDATION_ERROR');
    expect(error.context).toMatchObject({ field: 'capabilities', capability: 'lightning' });
    expect(lightningFake().has('lightning')).toBe(true);
  });

  it('charge – a real BOLT-11 invoice for the amount, pending until paid', async () => {
    const clock = new TestClock('2026-01-01T00:00:00Z');
    const fake = lightningFake(clock);
    const payment = await fake.charge(btc(2500, { description: 'Order 42', expiresIn: 900 }), ctx);
    expect(payment.status).toBe('pending');
    expect(payment.expiresAt).toEqual(new Date('2026-01-01T00:15:00Z'));
    const ln = payment.lightning;
    expect(ln).toMatchObject({ amountMsat: '2500000', amountPaidMsat: null, preimage: null });
    const decoded = decodeInvoice(ln?.paymentRequest as string);
    expect(decoded).toMatchObject({
      network: 'regtest',
      amountMsat: 2_500_000n,
      paymentHash: ln?.paymentHash,
      expiry: 900,
      description: 'Order 42',
      timestamp: Date.parse('2026-01-01T00:00:00Z') / 1000,
    });
    // Every invoice of one fake is signed by the same node key.
    const other = await fake.charge(btc(1), ctx);
    expect(decodeInvoice(other.lightning?.paymentRequest as string).payee).toBe(decoded.payee);
  });

  it('charge – an amount in another currency is a ProviderError (invalid_currency)', async () => {
    const error = await caught(() => lightningFake().charge({ ...btc(100), currency: 'USD' }, ctx));
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(error.context.providerCode).toBe('invalid_currency');
  });

  it('pay – settles the invoice and returns the preimage whose sha256 is the payment hash', async () => {
    const fake = lightningFake();
    const payment = await fake.charge(btc(10), ctx);
    const request = payment.lightning?.paymentRequest as string;
    const paid = fake.pay(request);
    expect(paid.preimage).toMatch(/^[0-9a-f]{64}$/);
    expect(createHash('sha256').update(Buffer.from(paid.preimage, 'hex')).digest('hex')).toBe(
      payment.lightning?.paymentHash,
    );
    expect(paid).toMatchObject({ paymentHash: payment.lightning?.paymentHash, providerId: payment.providerId });
    expect(fake.lookup('payment', payment.providerId)).toMatchObject({
      status: 'succeeded',
      lightning: { preimage: paid.preimage, amountPaidMsat: '10000' },
    });
    expect((await caught(() => fake.pay(request))).context.providerCode).toBe('invalid_state');
    expect((await caught(() => fake.pay('lnbcrt1unknown'))).code).toBe('NOT_FOUND');
  });

  it('pay – by payment hash works too; an expired invoice becomes expired and cannot be paid', async () => {
    const clock = new TestClock('2026-01-01T00:00:00Z');
    const fake = lightningFake(clock);
    const a = await fake.charge(btc(5, { expiresIn: 60 }), ctx);
    expect(fake.pay(a.lightning?.paymentHash as string).providerId).toBe(a.providerId);
    const b = await fake.charge(btc(5, { expiresIn: 60 }), ctx);
    clock.advance({ seconds: 60 });
    const error = await caught(() => fake.pay(b.lightning?.paymentRequest as string));
    expect(error.context.providerCode).toBe('invoice_expired');
    expect(fake.lookup('payment', b.providerId).status).toBe('expired');
  });

  it('through the facade – the payment.succeeded delivery of pay() settles the stored payment with its preimage', async () => {
    const clock = new TestClock(new Date());
    const fake = lightningFake(clock);
    const payable = createPayable({
      providers: { fake },
      storage: new MemoryStorageDriver(),
      clock,
      webhooks: { sweepIntervalMs: 0 },
    });
    try {
      const payment = await payable.charge({ amount: 21, currency: 'BTC' }, { provider: 'fake' });
      expect(payment).toMatchObject({ status: 'pending', currency: 'BTC', amount: 21 });
      const paid = fake.pay(payment.lightning?.paymentRequest as string);
      await payable.webhooks.receive({ provider: 'fake', ...paid.delivery });
      const stored = await payable.getPayment(payment.id);
      expect(stored.status).toBe('succeeded');
      expect(stored.lightning).toMatchObject({ preimage: paid.preimage, paymentHash: paid.paymentHash });
    } finally {
      await payable.close();
    }
  });
});
