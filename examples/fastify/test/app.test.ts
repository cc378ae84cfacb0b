import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeProvider, waitFor } from '@payable/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { buildApp, type ExampleApp } from '../src/app.js';

const TOKEN = 'example-test-token';
const SECRET = 'whsec_example_test_secret';

interface Running {
  built: ExampleApp;
  base: string;
  stop(): Promise<void>;
}

describe('examples/fastify', () => {
  const dir = mkdtempSync(join(tmpdir(), 'payable-example-fastify-'));
  const sqliteFile = join(dir, 'payable.sqlite');
  const running: Running[] = [];

  async function boot(): Promise<Running> {
    const built = await buildApp({ sqliteFile, apiToken: TOKEN, webhookSecret: SECRET }, {});
    const base = await built.app.listen({ port: 0, host: '127.0.0.1' });
    const run: Running = { built, base, stop: () => built.close() };
    running.push(run);
    return run;
  }

  afterEach(async () => {
    for (const run of running.splice(0)) await run.stop();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('drives a payment through real HTTP: create pending, signed webhook, read succeeded, kept in SQLite', async () => {
    const first = await boot();
    const { base } = first;
    const admin = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

    const health = await fetch(`${base}/payable/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, storage: { ok: true } });

    const denied = await fetch(`${base}/payable/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 1999, currency: 'EUR' }),
    });
    expect(denied.status).toBe(401);
    expect(await denied.json()).toMatchObject({ error: 'UNAUTHORIZED' });

    const created = await fetch(`${base}/payable/payments`, {
      method: 'POST',
      headers: { ...admin, 'idempotency-key': 'order-1' },
      body: JSON.stringify({ amount: 1999, currency: 'EUR', metadata: { fake_outcome: 'pending' } }),
    });
    expect(created.status).toBe(201);
    const payment = (await created.json()) as { id: string; providerId: string; status: string };
    expect(payment.status).toBe('pending');

    // The provider (same signing secret) tells the app the payment succeeded.
    const provider = new FakeProvider({ secret: SECRET });
    const delivery = provider.eventFor('payment.succeeded', {
      providerId: payment.providerId,
      status: 'succeeded',
      amount: 1999,
      currency: 'EUR',
    });
    const hook = await fetch(`${base}/payable/webhooks/fake`, {
      method: 'POST',
      headers: delivery.headers,
      body: delivery.rawBody,
    });
    expect(hook.status).toBe(200);
    expect(await hook.json()).toMatchObject({ received: true, duplicate: false });

    // A webhook signed with another secret is refused.
    const forged = new FakeProvider({ secret: 'whsec_someone_else' }).eventFor('payment.succeeded', {
      providerId: payment.providerId,
      status: 'succeeded',
      amount: 1999,
      currency: 'EUR',
    });
    const refused = await fetch(`${base}/payable/webhooks/fake`, {
      method: 'POST',
      headers: forged.headers,
      body: forged.rawBody,
    });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'INVALID_WEBHOOK_SIGNATURE' });

    const read = async (at: string): Promise<{ status: string; amount: number }> => {
      const res = await fetch(`${at}/payable/payments/${payment.id}`, { headers: admin });
      expect(res.status).toBe(200);
      return (await res.json()) as { status: string; amount: number };
    };
    await waitFor(async () => (await read(base)).status === 'succeeded');

    // Stored in the SQLite file: a fresh process on the same file reads the same payment.
    running.splice(running.indexOf(first), 1);
    await first.stop();
    const again = await boot();
    expect(await read(again.base)).toMatchObject({ status: 'succeeded', amount: 1999 });
  });

  it("the shop's own JSON route works beside Payable's routes", async () => {
    const { base, built } = await boot();
    const res = await fetch(`${base}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orderId: 'A-17', amount: 700 }),
    });
    expect(res.status).toBe(201);
    const order = (await res.json()) as { orderId: string; paymentId: string; status: string };
    expect(order).toMatchObject({ orderId: 'A-17', status: 'succeeded' });
    expect((await built.payable.getPayment(order.paymentId)).amount).toBe(700);

    const invalid = await fetch(`${base}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orderId: 'A-18', amount: 7.5 }),
    });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ error: 'VALIDATION_ERROR', context: { field: 'amount' } });
  });
});
