import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@payable/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type ExpressStripeApp } from '../src/app.js';

describe('express-stripe example (against the Stripe simulator)', () => {
  let dir: string;
  let example: ExpressStripeApp;
  let server: Server;
  let base: string;
  const auth = { authorization: 'Bearer example-token' };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'payable-express-stripe-'));
    example = await createApp({ PAYABLE_SQLITE_FILE: join(dir, 'payable.sqlite'), PAYABLE_API_TOKEN: 'example-token' });
    server = example.app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await example.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs against the in-process simulator when STRIPE_SECRET_KEY is unset', () => {
    expect(example.mode).toBe('simulator');
    expect(example.simulator).not.toBeNull();
  });

  it('an order payment, the payer paying, the signed Stripe webhook: the payment reads succeeded', async () => {
    const created = await fetch(`${base}/orders/42/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 1999, currency: 'EUR' }),
    });
    expect(created.status).toBe(201);
    const payment = (await created.json()) as { id: string; providerId: string; status: string };
    expect(payment.status).toBe('pending');
    expect(payment.providerId).toMatch(/^pi_/);

    const paid = await fetch(`${base}/dev/stripe/pay/${payment.providerId}`, { method: 'POST' });
    expect(paid.status).toBe(200);
    const answer = (await paid.json()) as { sent: string; webhook: { eventId: string } };
    expect(answer.sent).toBe('payment_intent.succeeded');
    await waitFor(async () => (await example.payable.webhooks.get(answer.webhook.eventId)).status === 'processed');

    const read = await fetch(`${base}/payable/payments/${payment.id}`, { headers: auth });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({
      id: payment.id,
      provider: 'stripe',
      status: 'succeeded',
      amount: 1999,
      currency: 'EUR',
      metadata: { orderId: '42' },
    });
    // Retrying the order payment is idempotent: the same payment, no second PaymentIntent.
    const retried = await fetch(`${base}/orders/42/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 1999, currency: 'EUR' }),
    });
    expect(((await retried.json()) as { id: string }).id).toBe(payment.id);
  });

  it('a card declined at once answers 502 PROVIDER_ERROR with the decline code', async () => {
    const declined = await fetch(`${base}/orders/43/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 1999, currency: 'EUR', paymentMethod: 'pm_card_chargeDeclinedInsufficientFunds' }),
    });
    expect(declined.status).toBe(502);
    expect(await declined.json()).toMatchObject({
      error: 'PROVIDER_ERROR',
      context: { provider: 'stripe', declineCode: 'insufficient_funds' },
    });
  });

  it('a webhook with a forged signature is refused with 400 INVALID_WEBHOOK_SIGNATURE', async () => {
    const sim = example.simulator;
    if (!sim) throw new Error('expected the simulator');
    const pi = await sim.client().paymentIntents.create({ amount: 500, currency: 'eur' });
    const delivery = sim.delivery('payment_intent.succeeded', pi.id, { secret: 'whsec_forged' });
    const hook = await fetch(`${base}/payable/webhooks/stripe`, {
      method: 'POST',
      headers: delivery.headers,
      body: delivery.rawBody,
    });
    expect(hook.status).toBe(400);
    expect(((await hook.json()) as { error: string }).error).toBe('INVALID_WEBHOOK_SIGNATURE');
  });
});
