import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type PaymentRecord, verifyPreimage } from '@payable/core';
import { payableRouter } from '@payable/express';
import { KnexStorageDriver, migrate } from '@payable/storage-knex';
import { waitFor } from '@payable/testing';
import express from 'express';
import knex from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lndPayable, startLnd } from './test-harness.js';

const TOKEN = 'Bearer e2e-token';
let base = '';
let server: Server;
let node: Awaited<ReturnType<typeof startLnd>>;
let payable: ReturnType<typeof lndPayable>;
const db = knex({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });

beforeAll(async () => {
  node = await startLnd();
  await migrate(db);
  payable = lndPayable(node.lnd, node.clock, {
    storage: new KnexStorageDriver(db, node.clock, { destroyOnClose: false }),
  });
  await payable.lightning.listen({ backoff: { initialMs: 10, maxMs: 50 } }).ready;
  const app = express();
  app.use('/payable', payableRouter(payable, { authorize: (req) => req.headers.authorization === TOKEN }));
  server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/payable`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await payable.close();
  await node.sim.close();
  await db.destroy();
});

async function api(method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: TOKEN, 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('Lightning over HTTP (Express, SQLite, LND simulator)', () => {
  it('e2e – POST /payments makes an invoice; paid in the node, GET /payments/:id shows it succeeded with a verified preimage', async () => {
    const created = await api(
      'POST',
      '/payments',
      { provider: 'lnd', amount: 2100, currency: 'BTC', description: 'Coffee', expiresIn: 600 },
      { 'idempotency-key': 'order-coffee' },
    );
    expect(created.status).toBe(201);
    const payment = created.body as unknown as PaymentRecord & { expiresAt: string };
    expect(payment).toMatchObject({ provider: 'lnd', status: 'pending', amount: 2100, currency: 'BTC' });
    expect(payment.lightning?.paymentRequest).toMatch(/^lnbcrt21u1/);
    expect(new Date(payment.expiresAt).getTime()).toBeGreaterThan(node.clock.now().getTime());

    node.sim.pay(payment.lightning?.paymentRequest as string);
    let read: PaymentRecord | null = null;
    await waitFor(async () => {
      read = (await api('GET', `/payments/${payment.id}`)).body as unknown as PaymentRecord;
      return read.status === 'succeeded';
    });
    const paid = read as unknown as PaymentRecord;
    expect(paid.lightning?.preimage).toBe(node.sim.preimageOf(payment.providerId));
    expect(verifyPreimage(paid.lightning?.preimage as string, payment.lightning?.paymentHash as string)).toBe(true);
    expect(paid.lightning?.amountPaidMsat).toBe('2100000');

    const replay = await api(
      'POST',
      '/payments',
      { provider: 'lnd', amount: 2100, currency: 'BTC', description: 'Coffee', expiresIn: 600 },
      { 'idempotency-key': 'order-coffee' },
    );
    expect(replay.body.id).toBe(payment.id);
    expect(node.sim.requests.filter((r) => r.path === '/v1/invoices')).toHaveLength(1);
  });

  it('e2e – a forged settlement (wrong preimage) never credits; a forged POST /webhooks/lnd is refused', async () => {
    const created = await api('POST', '/payments', { provider: 'lnd', amount: 5000, currency: 'BTC' });
    const payment = created.body as unknown as PaymentRecord;
    node.sim.pay(payment.lightning?.paymentRequest as string, { preimage: randomBytes(32).toString('hex') });
    await waitFor(async () => (await payable.webhooks.list({ status: 'failed' })).data.length === 1);
    const read = (await api('GET', `/payments/${payment.id}`)).body as unknown as PaymentRecord;
    expect(read.status).toBe('pending');
    expect(read.lightning?.preimage).toBeNull();

    const forgedWebhook = await fetch(`${base}/webhooks/lnd`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        result: { r_hash: Buffer.from(payment.providerId, 'hex').toString('base64'), state: 'SETTLED' },
      }),
    });
    expect(forgedWebhook.status).toBe(400);
    expect(await forgedWebhook.json()).toMatchObject({ error: 'INVALID_WEBHOOK_SIGNATURE' });
    expect(((await api('GET', `/payments/${payment.id}`)).body as { status: string }).status).toBe('pending');
  });

  it('e2e – GET /health reports the node and warns when inbound liquidity is zero', async () => {
    node.sim.channels = [{ active: true, localBalanceSat: 100_000, remoteBalanceSat: 0 }];
    const response = await fetch(`${base}/health`);
    const report = (await response.json()) as { providers: Record<string, { warnings?: string[] }> };
    expect(response.status).toBe(200);
    expect(report.providers.lnd?.warnings?.join(' ')).toMatch(/NO_ROUTE/);
  });
});
