import { createPayable, MemoryStorageDriver, type Payable } from '@payable/core';
import { ADAPTERS, type AdapterServer, startAdapterServer } from '@payable/test-support';
import { waitFor } from '@payable/testing';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PaddleProvider } from '../src/index.js';
import { type PaddleDelivery, PaddleSimulator } from './simulator/paddle-simulator.js';

/**
 * End to end: a real HTTP server on each adapter, the real Paddle SDK pointed at the simulator,
 * notifications signed as Paddle signs them and POSTed by the simulator over HTTP,
 * MemoryStorageDriver and the inline queue.
 */

const sim = await PaddleSimulator.start();
afterAll(() => sim.close());

const TOKEN = 'e2e-admin-token';
const OLD_SECRET = sim.webhookSecrets[0] as string;

type Json = Record<string, unknown>;

async function send(
  server: AdapterServer,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Json };
}

/** Paddle POSTs the notification to the destination, over HTTP. */
async function notify(server: AdapterServer, delivery: PaddleDelivery): Promise<{ status: number; json: Json }> {
  const { status, body } = await sim.deliver(`${server.url}/webhooks/paddle`, delivery);
  return { status, json: JSON.parse(body) as Json };
}

describe.each(ADAPTERS)('Paddle end to end on %s', (adapter) => {
  let payable: Payable;
  let server: AdapterServer;

  beforeEach(async () => {
    sim.webhookSecrets = [OLD_SECRET];
    const paddle = new PaddleProvider({ paddle: sim.sdk(), webhookSecret: OLD_SECRET });
    payable = createPayable({ providers: { paddle }, storage: new MemoryStorageDriver() });
    server = await startAdapterServer(adapter, payable, {
      prefix: '/payable',
      authorize: (req) => req.headers.authorization === `Bearer ${TOKEN}`,
    });
  });

  afterEach(async () => {
    await server.close();
    await payable.close();
  });

  /** POST /checkout, then the buyer pays at Paddle Checkout: the notifications Paddle sends. */
  async function paidCheckout(amount: number): Promise<{ checkout: Json; deliveries: PaddleDelivery[] }> {
    const created = await send(server, 'POST', '/checkout', {
      amount,
      currency: 'EUR',
      successUrl: 'https://shop.test/thanks',
      cancelUrl: 'https://shop.test/cart',
      metadata: { order: 'B-7' },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      provider: 'paddle',
      mode: 'payment',
      status: 'open',
      amount,
      currency: 'EUR',
    });
    const providerId = created.json.providerId as string;
    expect(created.json.url).toBe(`https://shop.simulator.test/pay?_ptxn=${providerId}`);
    return {
      checkout: created.json,
      deliveries: sim.completeTransaction(providerId, { email: `buyer-${providerId}@example.test` }),
    };
  }

  const completedOf = (deliveries: PaddleDelivery[]) => {
    const found = deliveries.find((d) => (JSON.parse(d.rawBody) as Json).event_type === 'transaction.completed');
    if (!found) throw new Error('no transaction.completed');
    return found;
  };

  it('a signed transaction.completed is stored and processed; GET /payments/:id reads succeeded', async () => {
    const { checkout, deliveries } = await paidCheckout(4250);
    const completed = completedOf(deliveries);
    const received = await notify(server, completed);
    expect(received.status).toBe(200);
    expect(received.json).toMatchObject({ received: true, duplicate: false });
    const eventId = received.json.eventId as string;
    await waitFor(async () => (await payable.webhooks.get(eventId)).status === 'processed');
    expect(await payable.webhooks.get(eventId)).toMatchObject({
      provider: 'paddle',
      type: 'payment.succeeded',
      providerType: 'transaction.completed',
      providerEventId: (JSON.parse(completed.rawBody) as Json).event_id,
    });

    const list = await send(server, 'GET', '/payments');
    expect(list.status).toBe(200);
    const payments = list.json.data as Json[];
    const listed = payments.find((p) => p.providerId === checkout.providerId);
    expect(listed).toBeDefined();
    const read = await send(server, 'GET', `/payments/${listed?.id as string}`);
    expect(read.status).toBe(200);
    expect(read.json).toMatchObject({
      id: listed?.id,
      provider: 'paddle',
      providerId: checkout.providerId,
      status: 'succeeded',
      amount: 4250,
      currency: 'EUR',
      amountRefunded: 0,
      metadata: { order: 'B-7' },
    });

    // A redelivery of the same event is acknowledged and changes nothing.
    const again = await notify(server, { rawBody: completed.rawBody, headers: { ...completed.headers } });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ duplicate: true, eventId });
  });

  it('every notification of a checkout (customer, paid, completed) links the payment to its customer', async () => {
    const { checkout, deliveries } = await paidCheckout(1000);
    for (const delivery of deliveries) {
      const answer = await notify(server, delivery);
      expect(answer.status).toBe(200);
      await waitFor(async () => (await payable.webhooks.get(answer.json.eventId as string)).status === 'processed');
    }
    const payments = (await send(server, 'GET', '/payments')).json.data as Json[];
    const payment = payments.find((p) => p.providerId === checkout.providerId);
    expect(payment).toMatchObject({ status: 'succeeded', amount: 1000 });
    const customer = await send(server, 'GET', `/customers/${payment?.customerId as string}`);
    expect(customer.status).toBe(200);
    expect(customer.json).toMatchObject({
      provider: 'paddle',
      email: `buyer-${checkout.providerId as string}@example.test`,
    });
  });

  it('a refund through POST /refunds is pending until Paddle approves it by webhook', async () => {
    const { checkout, deliveries } = await paidCheckout(3000);
    const paid = await notify(server, completedOf(deliveries));
    await waitFor(async () => (await payable.webhooks.get(paid.json.eventId as string)).status === 'processed');
    const payment = ((await send(server, 'GET', '/payments')).json.data as Json[]).find(
      (p) => p.providerId === checkout.providerId,
    );
    const refund = await send(server, 'POST', '/refunds', { paymentId: payment?.id, amount: 1200, reason: 'damaged' });
    expect(refund.status).toBe(201);
    expect(refund.json).toMatchObject({ provider: 'paddle', status: 'pending', amount: 1200, paymentId: payment?.id });
    expect((await send(server, 'GET', `/payments/${payment?.id as string}`)).json).toMatchObject({
      status: 'partially_refunded',
      amountRefunded: 1200,
    });
    const approved = await notify(server, sim.reviewAdjustment(refund.json.providerId as string, 'approved'));
    expect(approved.status).toBe(200);
    await waitFor(async () => (await payable.webhooks.get(approved.json.eventId as string)).status === 'processed');
    expect(await payable.webhooks.get(approved.json.eventId as string)).toMatchObject({
      type: 'refund.succeeded',
      providerType: 'adjustment.updated',
    });
  });

  it('a tampered body is 400 INVALID_WEBHOOK_SIGNATURE and nothing is stored', async () => {
    const { deliveries } = await paidCheckout(5000);
    const completed = completedOf(deliveries);
    const tampered = completed.rawBody.replace('"grand_total":"5000"', '"grand_total":"5"');
    expect(tampered).not.toBe(completed.rawBody);
    const answer = await notify(server, { ...completed, rawBody: tampered });
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({
      error: 'INVALID_WEBHOOK_SIGNATURE',
      context: { provider: 'paddle', reason: 'signature_mismatch' },
    });
    expect((await payable.webhooks.list()).data).toHaveLength(0);
  });

  it('an event signed longer ago than the tolerance (or ahead of it) is 400 INVALID_WEBHOOK_SIGNATURE', async () => {
    const { deliveries } = await paidCheckout(700);
    const { rawBody } = completedOf(deliveries);
    const stale = sim.sign(rawBody, { at: new Date(Date.now() - 301_000) });
    const answer = await notify(server, stale);
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({
      error: 'INVALID_WEBHOOK_SIGNATURE',
      context: { reason: 'timestamp_outside_tolerance' },
    });
    const ahead = sim.sign(rawBody, { at: new Date(Date.now() + 301_000) });
    expect((await notify(server, ahead)).status).toBe(400);
    expect((await payable.webhooks.list()).data).toHaveLength(0);
    // The same body signed a minute ago is within the default 300 s.
    expect((await notify(server, sim.sign(rawBody, { at: new Date(Date.now() - 60_000) }))).status).toBe(200);
  });

  it('no direct charges (422); an Idempotency-Key on POST /checkout creates one Paddle transaction', async () => {
    const charge = await send(server, 'POST', '/payments', { amount: 100, currency: 'EUR' });
    expect(charge.status).toBe(422);
    expect(charge.json).toMatchObject({
      error: 'PROVIDER_CAPABILITY_NOT_SUPPORTED',
      context: { provider: 'paddle', capability: 'charges' },
    });
    const input = {
      amount: 990,
      currency: 'EUR',
      successUrl: 'https://shop.test/ok',
      cancelUrl: 'https://shop.test/no',
    };
    const key = { 'idempotency-key': `checkout-${Math.random()}` };
    const before = sim.requests.filter((r) => r.method === 'POST' && r.path === '/transactions').length;
    const first = await send(server, 'POST', '/checkout', input, key);
    const second = await send(server, 'POST', '/checkout', input, key);
    expect(first.status).toBe(201);
    expect(second).toEqual(first);
    expect(sim.requests.filter((r) => r.method === 'POST' && r.path === '/transactions').length).toBe(before + 1);
    const conflict = await send(server, 'POST', '/checkout', { ...input, amount: 991 }, key);
    expect(conflict.status).toBe(409);
    expect(conflict.json.error).toBe('IDEMPOTENCY_CONFLICT');
  });

  it('during a secret rotation Paddle signs with both secrets: the old configured one still verifies', async () => {
    sim.rotateSecret('pdl_ntfset_01rotated_secret');
    const { deliveries } = await paidCheckout(800);
    const completed = completedOf(deliveries);
    expect(completed.headers['paddle-signature']?.match(/h1=/g)).toHaveLength(2);
    expect((await notify(server, completed)).status).toBe(200);
    sim.finishRotation();
    const onlyNew = sim.sign(completed.rawBody);
    const refused = await notify(server, onlyNew);
    expect(refused.status).toBe(400);
  });
});
