import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeProvider, waitFor } from '@payable/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createApp, type ExampleApp } from '../src/app.js';

const TOKEN = 'example-nest-token';
const SECRET = 'whsec_example_nest_secret';

interface Running {
  built: ExampleApp;
  base: string;
}

describe('examples/nestjs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'payable-example-nestjs-'));
  const sqliteFile = join(dir, 'payable.sqlite');
  const running: Running[] = [];

  async function boot(): Promise<Running> {
    const built = await createApp({ sqliteFile, apiToken: TOKEN, webhookSecret: SECRET }, { NODE_ENV: 'test' });
    await built.app.listen(0, '127.0.0.1');
    const { port } = built.app.getHttpServer().address() as AddressInfo;
    const run = { built, base: `http://127.0.0.1:${port}` };
    running.push(run);
    return run;
  }

  async function stop(run: Running): Promise<void> {
    running.splice(running.indexOf(run), 1);
    await run.built.close();
  }

  afterEach(async () => {
    for (const run of [...running]) await stop(run);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('drives a payment through real HTTP: create pending, signed webhook, read succeeded, event handler ran, kept in SQLite', async () => {
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
    const event = { providerId: payment.providerId, status: 'succeeded', amount: 1999, currency: 'EUR' };
    const delivery = provider.eventFor('payment.succeeded', event);
    const hook = await fetch(`${base}/payable/webhooks/fake`, {
      method: 'POST',
      headers: delivery.headers,
      body: delivery.rawBody,
    });
    expect(hook.status).toBe(200);
    expect(await hook.json()).toMatchObject({ received: true, duplicate: false });

    // Signed with another secret: refused.
    const forged = new FakeProvider({ secret: 'whsec_someone_else' }).eventFor('payment.succeeded', event);
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

    // The @OnPayableEvent('payment.succeeded') handler of the shop's provider ran.
    const paid = await fetch(`${base}/shop/paid`);
    expect(await paid.json()).toEqual({ paid: [payment.id] });

    // Stored in the SQLite file: an app booted again on the same file reads the same payment.
    await stop(first);
    const again = await boot();
    expect(await read(again.base)).toMatchObject({ status: 'succeeded', amount: 1999 });
  });

  it("the shop's own JSON route charges through the injected PayableService", async () => {
    const { base } = await boot();
    const res = await fetch(`${base}/shop/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orderId: 'A-17', amount: 700 }),
    });
    expect(res.status).toBe(201);
    const order = (await res.json()) as { orderId: string; paymentId: string; status: string };
    expect(order).toMatchObject({ orderId: 'A-17', status: 'succeeded' });
    const stored = await fetch(`${base}/payable/payments/${order.paymentId}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(await stored.json()).toMatchObject({ id: order.paymentId, amount: 700, metadata: { orderId: 'A-17' } });
  });
});
