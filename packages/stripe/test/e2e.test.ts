import { createPayable, MemoryStorageDriver, type Payable } from '@payable/core';
import { StripeProvider } from '@payable/stripe';
import { ADAPTERS, type AdapterServer, startAdapterServer } from '@payable/test-support';
import { waitFor } from '@payable/testing';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type SimDelivery, StripeSimulator } from './simulator/index.js';

/**
 * End to end: a real HTTP server on each adapter, the real Stripe SDK pointed at the simulator,
 * signed Stripe webhooks, MemoryStorageDriver and the inline queue.
 */

const sim = await StripeSimulator.start();
afterAll(() => sim.close());

const TOKEN = 'e2e-admin-token';

async function send(
  server: AdapterServer,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

function postWebhook(server: AdapterServer, delivery: SimDelivery) {
  return send(server, 'POST', '/webhooks/stripe', delivery.rawBody, delivery.headers);
}

describe.each(ADAPTERS)('Stripe end to end on %s', (adapter) => {
  let payable: Payable;
  let server: AdapterServer;

  beforeEach(async () => {
    const stripe = new StripeProvider({
      secretKey: sim.apiKey,
      webhookSecret: sim.webhookSecret,
      config: sim.clientConfig(),
      maxNetworkRetries: 0,
    });
    payable = createPayable({ providers: { stripe }, storage: new MemoryStorageDriver() });
    server = await startAdapterServer(adapter, payable, {
      prefix: '/payable',
      authorize: (req) => req.headers.authorization === `Bearer ${TOKEN}`,
    });
  });

  afterEach(async () => {
    await server.close();
    await payable.close();
  });

  it('a signed payment_intent.succeeded is stored and processed; GET /payments/:id reads succeeded', async () => {
    const created = await send(
      server,
      'POST',
      '/payments',
      JSON.stringify({ amount: 2500, currency: 'USD', description: 'Order A-1', metadata: { order: 'A-1' } }),
      { 'idempotency-key': `order-A-1-${Math.random()}` },
    );
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ provider: 'stripe', status: 'pending', amount: 2500, currency: 'USD' });
    const id = created.json.id as string;
    const providerId = created.json.providerId as string;
    expect(providerId).toMatch(/^pi_/);
    expect(sim.requestsTo('/v1/payment_intents', 'POST').at(-1)?.params).toMatchObject({
      currency: 'usd',
      amount: '2500',
    });

    // The payer pays (Stripe.js confirms the PaymentIntent); Stripe sends the signed event.
    sim.confirmPaymentIntent(providerId);
    const delivery = sim.delivery('payment_intent.succeeded', providerId);
    const received = await postWebhook(server, delivery);
    expect(received.status).toBe(200);
    expect(received.json).toMatchObject({ received: true, duplicate: false });
    const eventId = received.json.eventId as string;
    await waitFor(async () => (await payable.webhooks.get(eventId)).status === 'processed');
    expect(await payable.webhooks.get(eventId)).toMatchObject({
      provider: 'stripe',
      type: 'payment.succeeded',
      providerType: 'payment_intent.succeeded',
    });
    // The provider asked for a re-fetch: the core read the PaymentIntent from Stripe.
    expect(sim.requestsTo(`/v1/payment_intents/${providerId}`, 'GET').length).toBeGreaterThan(0);

    const read = await send(server, 'GET', `/payments/${id}`);
    expect(read.status).toBe(200);
    expect(read.json).toMatchObject({ id, providerId, status: 'succeeded', amount: 2500, metadata: { order: 'A-1' } });

    // A redelivery of the same event is acknowledged and changes nothing.
    const again = await postWebhook(server, { rawBody: delivery.rawBody, headers: { ...delivery.headers } });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ duplicate: true, eventId });
  });

  it('a payment made outside Payable (in the Stripe dashboard) shows up from its webhook', async () => {
    const pi = await sim.client().paymentIntents.create({ amount: 990, currency: 'eur' });
    sim.confirmPaymentIntent(pi.id);
    const received = await postWebhook(server, sim.delivery('payment_intent.succeeded', pi.id));
    expect(received.status).toBe(200);
    await waitFor(async () => (await payable.webhooks.get(received.json.eventId as string)).status === 'processed');
    const list = await send(server, 'GET', '/payments');
    expect(list.json.data).toEqual([
      expect.objectContaining({ providerId: pi.id, status: 'succeeded', amount: 990, currency: 'EUR' }),
    ]);
  });

  it('a tampered body is 400 INVALID_WEBHOOK_SIGNATURE and nothing is stored', async () => {
    const pi = await sim.client().paymentIntents.create({ amount: 1200, currency: 'usd' });
    sim.confirmPaymentIntent(pi.id);
    const delivery = sim.delivery('payment_intent.succeeded', pi.id);
    const tampered = delivery.rawBody.replace('"amount": 1200', '"amount": 1');
    expect(tampered).not.toBe(delivery.rawBody);
    const answer = await postWebhook(server, { ...delivery, rawBody: tampered });
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({
      error: 'INVALID_WEBHOOK_SIGNATURE',
      context: { provider: 'stripe', reason: 'signature_mismatch' },
    });
    expect((await payable.webhooks.list()).data).toHaveLength(0);
  });

  it('an event signed longer ago than the tolerance is 400 INVALID_WEBHOOK_SIGNATURE', async () => {
    const pi = await sim.client().paymentIntents.create({ amount: 1300, currency: 'usd' });
    sim.confirmPaymentIntent(pi.id);
    const stale = sim.delivery('payment_intent.succeeded', pi.id, { timestamp: new Date(Date.now() - 360_000) });
    const answer = await postWebhook(server, stale);
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({
      error: 'INVALID_WEBHOOK_SIGNATURE',
      context: { reason: 'timestamp_outside_tolerance' },
    });
    const ahead = sim.delivery('payment_intent.succeeded', pi.id, { timestamp: new Date(Date.now() + 360_000) });
    expect((await postWebhook(server, ahead)).status).toBe(400);
    expect((await payable.webhooks.list()).data).toHaveLength(0);
  });
});
