import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPayableError, type PayableError, type ProviderChargeInput } from '@payable/core';
import { LndSimulator, providerConformance, TestClock } from '@payable/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeInvoice } from '../bolt11/decode-invoice.js';
import { encodeInvoice } from '../bolt11/encode-invoice.js';
import { LndProvider } from './lnd-provider.js';

const ctx = { idempotencyKey: null, tenantId: null };
const sha256 = (hex: string) => createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex');

const clock = new TestClock(new Date());
const sim = new LndSimulator({ encodeInvoice, clock });
const url = await sim.start();
const provider = (extra: Partial<ConstructorParameters<typeof LndProvider>[0]> = {}) =>
  new LndProvider({ url, macaroon: sim.macaroon, clock, ...extra });

afterAll(async () => {
  await sim.close();
});

function chargeInput(overrides: Partial<ProviderChargeInput> = {}): ProviderChargeInput {
  return {
    amount: 2500,
    currency: 'BTC',
    customerProviderId: null,
    description: 'Order #42',
    metadata: {},
    expiresIn: 900,
    capture: true,
    ...overrides,
  };
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

function lastRequest(path: string) {
  const found = [...sim.requests].reverse().find((r) => r.path.startsWith(path));
  if (!found) throw new Error(`no request to ${path}`);
  return found;
}

providerConformance('lnd', () => provider(), {
  secret: 'lnd-has-no-webhook-secret',
  toleranceSeconds: null,
  currency: 'BTC',
  amount: 5000,
  now: () => clock.now(),
  settle: (providerId) => {
    sim.pay(providerId);
  },
  signedEvent: () => {
    throw new Error('LND has no webhooks');
  },
  sign: () => {
    throw new Error('LND has no webhooks');
  },
});

describe('LndProvider – invoices', () => {
  it('charge – POSTs value_msat and expiry, and maps r_hash (base64) to the hex payment hash', async () => {
    const lnd = provider();
    const payment = await lnd.charge(chargeInput({ amount: 2500, expiresIn: 900 }), ctx);
    const body = lastRequest('/v1/invoices').body as Record<string, unknown>;
    expect(body).toMatchObject({ memo: 'Order #42', value_msat: '2500000', expiry: '900' });
    const pr = payment.lightning?.paymentRequest as string;
    const decoded = decodeInvoice(pr);
    expect(payment.providerId).toMatch(/^[0-9a-f]{64}$/);
    expect(payment.providerId).toBe(decoded.paymentHash);
    expect(payment.lightning?.paymentHash).toBe(decoded.paymentHash);
    expect(sha256(sim.preimageOf(pr) as string)).toBe(payment.providerId);
    expect(decoded.payee).toBe(sim.nodePubkey);
    expect(payment).toMatchObject({ status: 'pending', amount: 2500, currency: 'BTC' });
    expect(payment.lightning).toMatchObject({ amountMsat: '2500000', amountPaidMsat: null, preimage: null });
  });

  it("charge – the invoice's expiry is expiresIn exactly, and expiresAt is its timestamp plus it", async () => {
    const lnd = provider();
    for (const expiresIn of [60, 900, 86_400]) {
      const payment = await lnd.charge(chargeInput({ expiresIn }), ctx);
      const decoded = decodeInvoice(payment.lightning?.paymentRequest as string);
      expect(decoded.expiry).toBe(expiresIn);
      expect(payment.expiresAt?.getTime()).toBe((decoded.timestamp + expiresIn) * 1000);
    }
    const byDefault = await lnd.charge(chargeInput({ expiresIn: null }), ctx);
    expect(decodeInvoice(byDefault.lightning?.paymentRequest as string).expiry).toBe(3600);
  });

  it('charge – a description hash goes in the invoice instead of the description', async () => {
    const descriptionHash = sha256(Buffer.from('[["text/plain","LNURL-pay"]]').toString('hex'));
    const payment = await provider().charge(chargeInput({ descriptionHash }), ctx);
    const decoded = decodeInvoice(payment.lightning?.paymentRequest as string);
    expect(decoded.descriptionHash).toBe(descriptionHash);
    expect(decoded.description).toBeUndefined();
    const body = lastRequest('/v1/invoices').body as Record<string, unknown>;
    expect(body.description_hash).toBe(Buffer.from(descriptionHash, 'hex').toString('base64'));
  });

  it('charge – refuses a currency other than BTC and a description too long for an invoice', async () => {
    const lnd = provider();
    const before = sim.requests.length;
    expect((await caught(lnd.charge(chargeInput({ currency: 'USD' }), ctx))).context).toMatchObject({
      field: 'currency',
      reason: 'btc_only',
    });
    expect((await caught(lnd.charge(chargeInput({ description: 'x'.repeat(640) }), ctx))).code).toBe(
      'VALIDATION_ERROR',
    );
    expect(sim.requests.length).toBe(before);
  });

  it('getPayment – reports the preimage only once settled, with the amount paid in msat', async () => {
    const lnd = provider();
    const payment = await lnd.charge(chargeInput({ amount: 1000 }), ctx);
    const pr = payment.lightning?.paymentRequest as string;
    // LND shows the preimage of its own open invoices; it is no receipt until settled.
    expect(sim.invoice(pr)?.r_preimage).not.toBe('');
    expect((await lnd.getPayment(payment.providerId, ctx)).lightning?.preimage).toBeNull();
    sim.pay(pr, { amountMsat: 1_000_500 });
    const read = await lnd.getPayment(payment.providerId, ctx);
    expect(read.status).toBe('succeeded');
    expect(read.lightning).toMatchObject({
      preimage: sim.preimageOf(pr),
      amountMsat: '1000000',
      amountPaidMsat: '1000500',
    });
  });

  it('getPayment – an open invoice past its expiry reads expired, and the node refuses to be paid', async () => {
    const lnd = provider();
    const payment = await lnd.charge(chargeInput({ expiresIn: 60 }), ctx);
    clock.advance({ seconds: 59 });
    expect((await lnd.getPayment(payment.providerId, ctx)).status).toBe('pending');
    clock.advance({ seconds: 1 });
    expect((await lnd.getPayment(payment.providerId, ctx)).status).toBe('expired');
    expect(() => sim.pay(payment.lightning?.paymentRequest as string)).toThrow(/CANCELED|expired/);
  });
});

describe('LndProvider – hold invoices', () => {
  it('createHoldInvoice – held once paid, settled with the preimage', async () => {
    const lnd = provider();
    const preimage = randomBytes(32).toString('hex');
    const held = await lnd.createHoldInvoice({ paymentHash: sha256(preimage), amount: 777, expiresIn: 600 });
    expect(held).toMatchObject({ providerId: sha256(preimage), status: 'pending', amount: 777 });
    expect(decodeInvoice(held.lightning?.paymentRequest as string)).toMatchObject({
      paymentHash: sha256(preimage),
      amountMsat: 777_000n,
      expiry: 600,
    });
    expect(lastRequest('/v2/invoices/hodl').body).toMatchObject({
      hash: Buffer.from(sha256(preimage), 'hex').toString('base64'),
      value_msat: '777000',
      expiry: '600',
    });
    sim.pay(held.lightning?.paymentRequest as string);
    expect((await lnd.getPayment(held.providerId, ctx)).status).toBe('processing');
    await lnd.settleHoldInvoice(preimage);
    expect(lastRequest('/v2/invoices/settle').body).toEqual({
      preimage: Buffer.from(preimage, 'hex').toString('base64'),
    });
    const settled = await lnd.getPayment(held.providerId, ctx);
    expect(settled.status).toBe('succeeded');
    expect(settled.lightning?.preimage).toBe(preimage);
  });

  it('cancelInvoice – returns a held payment to the payer; a settled invoice cannot be canceled', async () => {
    const lnd = provider();
    const preimage = randomBytes(32).toString('hex');
    const held = await lnd.createHoldInvoice({ paymentHash: sha256(preimage), amount: 1000 });
    sim.pay(held.lightning?.paymentRequest as string);
    await lnd.cancelInvoice(held.providerId);
    expect((await lnd.getPayment(held.providerId, ctx)).status).toBe('canceled');
    const error = await caught(lnd.settleHoldInvoice(preimage));
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(error.context).toMatchObject({ reason: 'rejected', lndMessage: 'invoice already canceled' });

    const paid = await lnd.charge(chargeInput(), ctx);
    sim.pay(paid.lightning?.paymentRequest as string);
    expect((await caught(lnd.cancelInvoice(paid.providerId))).context).toMatchObject({ reason: 'rejected' });
  });

  it('createHoldInvoice – a payment hash already used is refused (4xx → PROVIDER_ERROR)', async () => {
    const lnd = provider();
    const hash = sha256(randomBytes(32).toString('hex'));
    await lnd.createHoldInvoice({ paymentHash: hash, amount: 10 });
    const error = await caught(lnd.createHoldInvoice({ paymentHash: hash, amount: 10 }));
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(error.context).toMatchObject({ status: 409, reason: 'rejected' });
  });
});

describe('LndProvider – errors and transport', () => {
  it('macaroon – every request carries it; a missing or wrong one is refused by the node', async () => {
    const missing = await fetch(`${url}/v1/getinfo`);
    expect(missing.status).toBe(500);
    expect(await missing.json()).toMatchObject({ message: 'expected 1 macaroon, got 0' });
    const wrong = provider({ macaroon: randomBytes(32).toString('hex') });
    const error = await caught(wrong.charge(chargeInput(), ctx));
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(error.context).toMatchObject({ reason: 'authentication' });
    expect(JSON.stringify(error.context)).not.toContain(sim.macaroon);
    // The bytes of the macaroon file work as well as its hex.
    const fromBytes = provider({ macaroon: Buffer.from(sim.macaroon, 'hex') });
    expect((await fromBytes.charge(chargeInput(), ctx)).status).toBe('pending');
    expect(() => provider({ macaroon: 'not hex!' })).toThrow(expect.objectContaining({ code: 'VALIDATION_ERROR' }));
  });

  it('errors – a 503 is PROVIDER_UNAVAILABLE with retry advice', async () => {
    sim.unavailable = true;
    try {
      const error = await caught(provider().charge(chargeInput(), ctx));
      expect(error.code).toBe('PROVIDER_UNAVAILABLE');
      expect(error.httpStatus).toBe(503);
      expect(error.context).toMatchObject({ reason: 'unavailable', retryAfter: 5, status: 503 });
    } finally {
      sim.unavailable = false;
    }
  });

  it('errors – a node that does not answer in time is PROVIDER_UNAVAILABLE (timeout)', async () => {
    sim.delayMs = 400;
    try {
      const error = await caught(provider({ timeoutMs: 50 }).getPayment('00'.repeat(32), ctx));
      expect(error.code).toBe('PROVIDER_UNAVAILABLE');
      expect(error.context).toMatchObject({ reason: 'timeout' });
    } finally {
      sim.delayMs = 0;
    }
  });

  it('errors – an unreachable node is PROVIDER_UNAVAILABLE; an unknown invoice NOT_FOUND', async () => {
    const closed = new LndSimulator({ encodeInvoice });
    const closedUrl = await closed.start();
    await closed.close();
    const error = await caught(new LndProvider({ url: closedUrl, macaroon: 'ab' }).getPayment('00'.repeat(32), ctx));
    expect(error.code).toBe('PROVIDER_UNAVAILABLE');
    expect(error.context).toMatchObject({ reason: 'unreachable' });
    expect((await caught(provider().getPayment('ab'.repeat(32), ctx))).code).toBe('NOT_FOUND');
  });

  it('verifyWebhook – refuses every delivery: LND settlements only come from the stream', async () => {
    const error = await caught(provider().verifyWebhook());
    expect(error.code).toBe('INVALID_WEBHOOK_SIGNATURE');
    expect(error.context).toMatchObject({ reason: 'no_webhooks' });
  });

  it('tlsCert – trusts the node’s self-signed certificate; without it the connection is refused as untrusted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'payable-lnd-tls-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-keyout',
          join(dir, 'tls.key'),
          '-out',
          join(dir, 'tls.cert'),
          '-days',
          '1',
          '-subj',
          '/O=lnd autogenerated cert/CN=localhost',
          '-addext',
          'subjectAltName=DNS:localhost,IP:127.0.0.1',
        ],
        { stdio: 'ignore' },
      );
      const tls = { key: readFileSync(join(dir, 'tls.key')), cert: readFileSync(join(dir, 'tls.cert')) };
      const secure = new LndSimulator({ encodeInvoice, clock, tls });
      const secureUrl = await secure.start();
      try {
        expect(secureUrl).toMatch(/^https:/);
        const trusted = new LndProvider({ url: secureUrl, macaroon: secure.macaroon, tlsCert: tls.cert, clock });
        const payment = await trusted.charge(chargeInput(), ctx);
        expect((await trusted.getPayment(payment.providerId, ctx)).providerId).toBe(payment.providerId);
        const untrusted = new LndProvider({ url: secureUrl, macaroon: secure.macaroon, clock });
        const error = await caught(untrusted.charge(chargeInput(), ctx));
        expect(error.code).toBe('PROVIDER_ERROR');
        expect(error.context).toMatchObject({ reason: 'tls' });
      } finally {
        await secure.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('LndProvider – health', () => {
  it('health – reports reachability and the inbound liquidity of active channels', async () => {
    sim.channels = [
      { active: true, localBalanceSat: 10, remoteBalanceSat: 200_000 },
      { active: true, localBalanceSat: 20, remoteBalanceSat: 50_000 },
      { active: false, localBalanceSat: 30, remoteBalanceSat: 9_000_000 },
    ];
    const health = await provider().health();
    expect(health.ok).toBe(true);
    expect(health.details).toMatchObject({
      reachable: true,
      identityPubkey: sim.nodePubkey,
      activeChannels: 2,
      inboundLiquiditySat: '250000',
      outboundLiquiditySat: '30',
    });
    expect(health.warnings).toEqual([]);
  });

  it('health – zero inbound liquidity warns that every payment would fail with NO_ROUTE', async () => {
    sim.channels = [{ active: true, localBalanceSat: 1_000_000, remoteBalanceSat: 0 }];
    const health = await provider().health();
    expect(health.details).toMatchObject({ inboundLiquiditySat: '0' });
    expect(health.warnings?.join(' ')).toMatch(/every payment would fail with NO_ROUTE/);
    sim.channels = [{ active: true, localBalanceSat: 0, remoteBalanceSat: 1_000_000 }];
  });

  it('health – an unreachable node is not ok', async () => {
    sim.unavailable = true;
    try {
      const health = await provider().health();
      expect(health.ok).toBe(false);
      expect(health.details).toMatchObject({ reachable: false, error: 'PROVIDER_UNAVAILABLE' });
    } finally {
      sim.unavailable = false;
    }
  });
});
