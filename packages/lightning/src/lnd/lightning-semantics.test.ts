import { createHash, randomBytes } from 'node:crypto';
import { type DomainEvent, FixedRateSource, isPayableError, type PayableError, verifyPreimage } from '@payable/core';
import { waitFor } from '@payable/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeInvoice } from '../bolt11/decode-invoice.js';
import { lndPayable, recordingLogger, startLnd } from './test-harness.js';

const sha256 = (hex: string) => createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex');
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(options: Parameters<typeof lndPayable>[2] = {}) {
  const node = await startLnd();
  const logger = recordingLogger();
  const payable = lndPayable(node.lnd, node.clock, { logger, ...options });
  const listener = payable.lightning.listen({ backoff: { initialMs: 10, maxMs: 50 } });
  await listener.ready;
  const outbox: DomainEvent[] = [];
  payable.outbox().subscribe((event) => {
    outbox.push(event);
  });
  cleanups.push(async () => {
    await payable.close();
    await node.sim.close();
  });
  const settled = async (id: string, status = 'succeeded') => {
    await waitFor(async () => (await payable.getPayment(id)).status === status);
    return payable.getPayment(id);
  };
  const invoiceEvents = async () => (await payable.webhooks.list()).data;
  return { ...node, payable, listener, logger, outbox, settled, invoiceEvents };
}

async function caught(run: Promise<unknown>): Promise<PayableError> {
  try {
    await run;
  } catch (error) {
    if (isPayableError(error)) return error;
    throw error;
  }
  throw new Error('expected a PayableError');
}

describe('Lightning charges', () => {
  it('charge – returns the record with the payment request, the payment hash and expiresAt; sats and msat', async () => {
    const { payable } = await setup();
    const payment = await payable.charge({ amount: 2500, currency: 'BTC', expiresIn: 900 }, { provider: 'lnd' });
    const invoice = decodeInvoice(payment.lightning?.paymentRequest as string);
    expect(payment).toMatchObject({ provider: 'lnd', status: 'pending', amount: 2500, currency: 'BTC' });
    expect(payment.id).toMatch(/^pay_/);
    expect(payment.providerId).toBe(invoice.paymentHash);
    expect(payment.lightning).toMatchObject({
      paymentHash: invoice.paymentHash,
      amountMsat: '2500000',
      amountPaidMsat: null,
      preimage: null,
      quote: null,
    });
    expect(invoice.amountMsat).toBe(2_500_000n);
    expect(invoice.expiry).toBe(900);
    expect(payment.expiresAt?.getTime()).toBe((invoice.timestamp + 900) * 1000);
    expect(await payable.getPayment(payment.id)).toEqual(payment);
  });

  it('charge – without expiresIn the invoice and the payment expire after 3600 s, both', async () => {
    const { payable } = await setup();
    const payment = await payable.charge({ amount: 10, currency: 'BTC' }, { provider: 'lnd' });
    const invoice = decodeInvoice(payment.lightning?.paymentRequest as string);
    expect(invoice.expiry).toBe(3600);
    expect(payment.expiresAt?.getTime()).toBe((invoice.timestamp + 3600) * 1000);
  });

  it('charge – a fiat amount is priced through the rate source and the quote is locked on the record', async () => {
    const rate = { USD: '1052.63' };
    const rates = { quote: (currency: string) => new FixedRateSource(rate).quote(currency) };
    const { payable, sim, clock } = await setup({ lightning: { rates } });
    const payment = await payable.charge(
      { amount: 1999, currency: 'USD' },
      { provider: 'lnd', idempotencyKey: 'order-1999' },
    );
    // 19.99 USD × 1052.63 sats/USD = 21042.07… sats, rounded up.
    expect(payment).toMatchObject({ amount: 21043, currency: 'BTC' });
    expect(payment.lightning?.amountMsat).toBe('21043000');
    expect(decodeInvoice(payment.lightning?.paymentRequest as string).amountMsat).toBe(21_043_000n);
    expect(payment.lightning?.quote).toEqual({
      fiatAmount: 1999,
      fiatCurrency: 'USD',
      sats: 21043,
      rate: '1052.63',
      quotedAt: expect.any(Date),
    });
    // The rate moves: a retry of the same request replays the locked quote, no new invoice.
    rate.USD = '2000';
    clock.advance({ seconds: 5 });
    const invoicesBefore = sim.requests.filter((r) => r.path === '/v1/invoices').length;
    const replay = await payable.charge(
      { amount: 1999, currency: 'USD' },
      { provider: 'lnd', idempotencyKey: 'order-1999' },
    );
    expect(replay.lightning?.quote).toEqual(payment.lightning?.quote);
    expect(sim.requests.filter((r) => r.path === '/v1/invoices').length).toBe(invoicesBefore);
    // The quote survives settlement.
    sim.pay(payment.lightning?.paymentRequest as string);
    const paid = await setupSettled(payable, payment.id);
    expect(paid.lightning?.quote).toEqual(payment.lightning?.quote);
    const fresh = await payable.charge({ amount: 1999, currency: 'USD' }, { provider: 'lnd' });
    expect(fresh.amount).toBe(39_980);
  });

  it('charge – a fiat amount without a rate source is VALIDATION_ERROR and no invoice is made', async () => {
    const { payable, sim } = await setup();
    const before = sim.requests.length;
    const error = await caught(
      payable.charge({ amount: 500, currency: 'EUR' }, { provider: 'lnd', idempotencyKey: 'k' }),
    );
    expect(error.code).toBe('VALIDATION_ERROR');
    expect(error.context).toMatchObject({ field: 'currency', reason: 'no_rate_source' });
    expect(sim.requests.length).toBe(before);
  });

  it('charge – one idempotency key, one invoice (LND has no idempotency of its own)', async () => {
    const { payable, sim } = await setup();
    const input = { amount: 1500, currency: 'BTC', description: 'Order #7' };
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => payable.charge(input, { provider: 'lnd', idempotencyKey: 'order-7' })),
    );
    const again = await payable.charge(input, { provider: 'lnd', idempotencyKey: 'order-7' });
    const created = sim.requests.filter((r) => r.method === 'POST' && r.path === '/v1/invoices');
    expect(created).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'fulfilled')
        expect(result.value.lightning?.paymentRequest).toBe(again.lightning?.paymentRequest);
      else expect(result.reason).toMatchObject({ code: 'IDEMPOTENCY_IN_PROGRESS' });
    }
    expect((await payable.listPayments()).data).toHaveLength(1);
    const conflict = await caught(
      payable.charge({ ...input, amount: 1501 }, { provider: 'lnd', idempotencyKey: 'order-7' }),
    );
    expect(conflict.code).toBe('IDEMPOTENCY_CONFLICT');
    expect(created).toHaveLength(1);
  });

  it('charge – a description hash is for Lightning only and reaches the invoice', async () => {
    const { payable } = await setup();
    const descriptionHash = sha256(randomBytes(16).toString('hex'));
    const payment = await payable.charge({ amount: 100, currency: 'BTC', descriptionHash }, { provider: 'lnd' });
    expect(decodeInvoice(payment.lightning?.paymentRequest as string).descriptionHash).toBe(descriptionHash);
    const bad = await caught(
      payable.charge({ amount: 100, currency: 'BTC', descriptionHash: 'abc' }, { provider: 'lnd' }),
    );
    expect(bad.context).toMatchObject({ field: 'descriptionHash' });
  });
});

async function setupSettled(payable: Awaited<ReturnType<typeof setup>>['payable'], id: string) {
  await waitFor(async () => (await payable.getPayment(id)).status === 'succeeded');
  return payable.getPayment(id);
}

describe('Lightning settlement', () => {
  it('settlement – credited with the preimage as receipt once sha256(preimage) is the payment hash', async () => {
    const { payable, sim, settled, outbox } = await setup();
    const payment = await payable.charge({ amount: 2500, currency: 'BTC' }, { provider: 'lnd' });
    const pr = payment.lightning?.paymentRequest as string;
    sim.pay(pr);
    const paid = await settled(payment.id);
    expect(paid.lightning?.preimage).toBe(sim.preimageOf(pr));
    expect(verifyPreimage(paid.lightning?.preimage as string, payment.lightning?.paymentHash as string)).toBe(true);
    expect(paid.lightning?.amountPaidMsat).toBe('2500000');
    await payable.outbox().dispatchOnce();
    expect(outbox.map((e) => e.type)).toContain('payment.succeeded');
  });

  it('settlement – a forged preimage is refused, logged without secrets, never credited', async () => {
    const { payable, sim, logger, outbox, invoiceEvents } = await setup();
    const payment = await payable.charge({ amount: 2500, currency: 'BTC' }, { provider: 'lnd' });
    const forged = randomBytes(32).toString('hex');
    sim.pay(payment.lightning?.paymentRequest as string, { preimage: forged });
    await waitFor(async () => (await invoiceEvents()).some((e) => e.status === 'failed'));
    const [event] = await invoiceEvents();
    expect(event).toMatchObject({
      providerEventId: `lnd:${payment.providerId}:settled`,
      status: 'failed',
      attempts: 1,
    });
    expect(event?.lastError).toMatch(
      /PROVIDER_ERROR: Lightning settlement refused: the preimage's SHA-256 is not the payment hash/,
    );
    const after = await payable.getPayment(payment.id);
    expect(after.status).toBe('pending');
    expect(after.lightning?.preimage).toBeNull();
    await payable.outbox().dispatchOnce();
    expect(outbox.map((e) => e.type)).not.toContain('payment.succeeded');
    const refused = logger.entries.find((e) => e.message === 'Lightning settlement refused: not credited');
    expect(refused?.level).toBe('error');
    expect(refused?.fields).toMatchObject({ reason: 'preimage_mismatch', paymentHash: payment.providerId });
    expect(JSON.stringify(logger.entries)).not.toContain(forged);
    // Replaying the event cannot credit it either.
    await payable.webhooks.replay(event?.id as string);
    expect((await payable.getPayment(payment.id)).status).toBe('pending');
  });

  it('settlement – an overpayment is accepted and the amount paid recorded', async () => {
    const { payable, sim, settled } = await setup();
    const payment = await payable.charge({ amount: 1000, currency: 'BTC' }, { provider: 'lnd' });
    sim.pay(payment.lightning?.paymentRequest as string, { amountMsat: 1_234_567n });
    const paid = await settled(payment.id);
    expect(paid).toMatchObject({ status: 'succeeded', amount: 1000 });
    expect(paid.lightning).toMatchObject({ amountMsat: '1000000', amountPaidMsat: '1234567' });
  });

  it('settlement – an underpayment within 0.1 % counts as paid; below that the payment is underpaid', async () => {
    const { payable, sim, settled } = await setup();
    const within = await payable.charge({ amount: 1000, currency: 'BTC' }, { provider: 'lnd' });
    const below = await payable.charge({ amount: 1000, currency: 'BTC' }, { provider: 'lnd' });
    sim.pay(within.lightning?.paymentRequest as string, { amountMsat: 999_000n });
    sim.pay(below.lightning?.paymentRequest as string, { amountMsat: 998_999n });
    expect((await settled(within.id)).lightning?.amountPaidMsat).toBe('999000');
    const short = await settled(below.id, 'underpaid');
    expect(short.lightning).toMatchObject({ amountPaidMsat: '998999', preimage: sim.preimageOf(below.providerId) });
  });
});

describe('Lightning expiry', () => {
  it('expiry – a read at expiresAt shows expired, not a millisecond before; payment.expired is emitted once', async () => {
    const { payable, clock, outbox, sim } = await setup();
    const payment = await payable.charge({ amount: 100, currency: 'BTC', expiresIn: 120 }, { provider: 'lnd' });
    const expiresAt = payment.expiresAt as Date;
    clock.set(new Date(expiresAt.getTime() - 1));
    expect((await payable.getPayment(payment.id)).status).toBe('pending');
    clock.set(expiresAt);
    expect((await payable.getPayment(payment.id)).status).toBe('expired');
    expect((await payable.listPayments({ status: 'pending' })).data).toEqual([]);
    expect((await payable.listPayments()).data[0]?.status).toBe('expired');
    await payable.outbox().dispatchOnce();
    expect(outbox.filter((e) => e.type === 'payment.expired')).toHaveLength(1);
    // The invoice is not extended: the node will not take the payment any more.
    expect(() => sim.pay(payment.lightning?.paymentRequest as string)).toThrow();
    expect((await payable.getPayment(payment.id)).expiresAt).toEqual(expiresAt);
  });

  it('expiry – payable.lightning.expire() marks due invoices without a read, and only those', async () => {
    const { payable, clock } = await setup();
    const short = await payable.charge({ amount: 100, currency: 'BTC', expiresIn: 60 }, { provider: 'lnd' });
    const long = await payable.charge({ amount: 100, currency: 'BTC', expiresIn: 600 }, { provider: 'lnd' });
    clock.advance({ seconds: 60 });
    expect(await payable.lightning.expire()).toBe(1);
    expect(await payable.lightning.expire()).toBe(0);
    const stored = await payable.storage?.getRecord('payment', short.id, null);
    expect(stored?.status).toBe('expired');
    expect((await payable.getPayment(long.id)).status).toBe('pending');
  });
});

describe('Lightning health', () => {
  it('health – zero inbound liquidity warns (NO_ROUTE) in payable.health()', async () => {
    const { payable, sim } = await setup();
    sim.channels = [{ active: true, localBalanceSat: 2_000_000, remoteBalanceSat: 0 }];
    const report = await payable.health();
    expect(report.providers.lnd?.ok).toBe(true);
    expect(report.providers.lnd?.details).toMatchObject({ reachable: true, inboundLiquiditySat: '0' });
    expect(report.providers.lnd?.warnings?.join(' ')).toMatch(/every payment would fail with NO_ROUTE/);
  });
});
