import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@payable/testing';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ReceivedRequest } from '../src/orders.js';
import { createServices, type Services } from '../src/services.js';

const exampleDir = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'example-test-token';

interface DeliveryJson {
  id: string;
  eventId: string;
  eventType: string;
  status: string;
  attempts: number;
  log?: { attempt: number; responseStatus: number | null }[];
}

async function createPayment(base: string, key: string): Promise<{ id: string; status: string }> {
  const res = await fetch(`${base}/payments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({ amount: 1999, currency: 'EUR' }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; status: string };
}

/** The headers a receiver reads: the three signature headers and the content type. */
function headersOf(request: ReceivedRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature', 'content-type']) {
    const value = request.headers[name];
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}

describe('examples/outbound-webhooks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'payable-example-outbound-'));
  const running: Services[] = [];
  const start = async (...args: Parameters<typeof createServices>): Promise<Services> => {
    const services = await createServices(...args);
    running.push(services);
    return services;
  };

  afterEach(async () => {
    for (const services of running.splice(0)) await services.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a payment reaches the orders service signed; a tampered request is refused; a redelivery is a duplicate', async () => {
    const lines: string[] = [];
    const requests: ReceivedRequest[] = [];
    const services = await start(
      { PAYABLE_DATA_DIR: join(dir, 'in-process'), PAYMENTS_PORT: '0', ORDERS_PORT: '0', PAYABLE_API_TOKEN: TOKEN },
      { log: (line) => lines.push(line), onOrdersRequest: (request) => requests.push(request) },
    );
    const { payments, orders, endpoint } = services;
    const admin = { authorization: `Bearer ${TOKEN}` };
    expect(endpoint.url).toBe(`${orders.url}/hooks/payable`);
    expect(endpoint.events).toEqual(['payment.*', 'refund.*']);

    // Without the token the management routes refuse.
    expect((await fetch(`${payments.url}/endpoints/${endpoint.id}/deliveries`)).status).toBe(401);

    const payment = await createPayment(payments.url, 'order-1');
    expect(payment.status).toBe('succeeded');

    // The relay sends payment.created and payment.succeeded; the orders service verifies both.
    await waitFor(() => orders.inbox.handled.length >= 2, 10_000, 20);
    expect(orders.inbox.handled.map((e) => e.type).sort()).toEqual(['payment.created', 'payment.succeeded']);
    expect(orders.inbox.handled.every((e) => e.dataId === payment.id)).toBe(true);
    expect(orders.inbox).toMatchObject({ verified: 2, duplicates: 0, rejected: 0 });
    expect(lines).toContain(`orders: payment.succeeded for ${payment.id}`);
    expect(lines).toContain(`orders: payment.created for ${payment.id}`);

    // What was sent is a Standard Webhooks message: the official library verifies it too.
    const captured = requests.find((r) => JSON.parse(r.body.toString('utf8')).type === 'payment.succeeded');
    if (!captured) throw new Error('no captured payment.succeeded request');
    const verified = new Webhook(endpoint.secret).verify(captured.body, headersOf(captured)) as { id: string };
    expect(verified.id).toBe(captured.headers['webhook-id']);

    // The captured request with one byte of its body changed: refused with 400, nothing handled.
    const tampered = Buffer.from(captured.body.toString('utf8').replace('"amount":1999', '"amount":1'));
    expect(tampered.equals(captured.body)).toBe(false);
    const refused = await fetch(`${orders.url}/hooks/payable`, {
      method: 'POST',
      headers: headersOf(captured),
      body: tampered,
    });
    expect(refused.status).toBe(400);
    expect(orders.inbox).toMatchObject({ verified: 2, rejected: 1 });

    // The same request replayed unchanged verifies, but is recognised as a duplicate.
    const replayed = await fetch(`${orders.url}/hooks/payable`, {
      method: 'POST',
      headers: headersOf(captured),
      body: captured.body,
    });
    expect(replayed.status).toBe(200);
    expect(await replayed.json()).toEqual({ received: true, duplicate: true });
    expect(orders.inbox).toMatchObject({ verified: 3, duplicates: 1 });

    // The deliveries as Payable logged them.
    const listed = await fetch(`${payments.url}/endpoints/${endpoint.id}/deliveries`, { headers: admin });
    expect(listed.status).toBe(200);
    const deliveries = ((await listed.json()) as { data: DeliveryJson[] }).data;
    expect(deliveries.map((d) => d.eventType).sort()).toEqual(['payment.created', 'payment.succeeded']);
    const succeeded = deliveries.find((d) => d.eventType === 'payment.succeeded') as DeliveryJson;
    expect(succeeded).toMatchObject({ status: 'delivered', attempts: 1, eventId: captured.headers['webhook-id'] });

    // Redeliver it over HTTP: it reaches the orders service again, which skips it as a duplicate.
    const redeliver = await fetch(`${payments.url}/deliveries/${succeeded.id}/redeliver`, {
      method: 'POST',
      headers: admin,
    });
    expect(redeliver.status).toBe(200);
    await waitFor(() => orders.inbox.duplicates === 2, 10_000, 20);
    expect(orders.inbox).toMatchObject({ verified: 4, rejected: 1 });
    expect(orders.inbox.handled).toHaveLength(2);
    expect(lines).toContain(`orders: payment.succeeded ${succeeded.eventId} already handled, skipped`);

    // Its log shows both attempts, each answered 200.
    const detail = async (): Promise<DeliveryJson> => {
      const res = await fetch(`${payments.url}/deliveries/${succeeded.id}`, { headers: admin });
      expect(res.status).toBe(200);
      return (await res.json()) as DeliveryJson;
    };
    await waitFor(async () => (await detail()).attempts === 2, 10_000, 20);
    const final = await detail();
    expect(final.status).toBe('delivered');
    expect(final.log?.map((a) => a.responseStatus)).toEqual([200, 200]);
  });

  it('a restart on the same SQLite file reuses the endpoint with a rotated secret', async () => {
    const env = { PAYABLE_DATA_DIR: join(dir, 'restart'), PAYMENTS_PORT: '0', PAYABLE_API_TOKEN: TOKEN };
    const ordersPort = await freePort();
    const first = await start({ ...env, ORDERS_PORT: String(ordersPort) }, { log: () => {} });
    const { id, secret } = first.endpoint;
    expect(first.endpoint.reused).toBe(false);
    await running.splice(running.indexOf(first), 1)[0]?.close();

    const lines: string[] = [];
    const services = await start({ ...env, ORDERS_PORT: String(ordersPort) }, { log: (line) => lines.push(line) });
    expect(services.endpoint).toMatchObject({ id, reused: true });
    expect(services.endpoint.secret).not.toBe(secret);

    // Deliveries are signed with the new secret only (grace 0), which the orders service verifies.
    const payment = await createPayment(services.payments.url, 'order-after-restart');
    await waitFor(() => lines.includes(`orders: payment.succeeded for ${payment.id}`), 10_000, 20);
    expect(services.orders.inbox.rejected).toBe(0);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

describe('pnpm start', () => {
  let child: ChildProcess | undefined;
  let dir: string | undefined;

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('starts both services; a payment created over HTTP is logged by the orders service', async () => {
    dir = mkdtempSync(join(tmpdir(), 'payable-example-outbound-start-'));
    const [paymentsPort, ordersPort] = [await freePort(), await freePort()];
    child = spawn(process.execPath, ['--import', 'tsx', join(exampleDir, 'src/main.ts')], {
      cwd: exampleDir,
      env: {
        ...process.env,
        NODE_ENV: 'development',
        PAYMENTS_PORT: String(paymentsPort),
        ORDERS_PORT: String(ordersPort),
        PAYABLE_DATA_DIR: join(dir, 'data'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<never>((_, reject) => {
      child?.once('exit', (code) => reject(new Error(`main.ts exited ${code}: ${output}`)));
    });
    const ready = waitFor(() => output.includes('Create a payment'), 30_000, 20);
    await Promise.race([ready, exited]);

    const base = `http://127.0.0.1:${paymentsPort}`;
    expect(output).toContain(`payments: listening on ${base}`);
    expect(output).toContain(`-> http://127.0.0.1:${ordersPort}/hooks/payable`);
    expect(output).toContain("-H 'authorization: Bearer dev-token'");

    const created = await fetch(`${base}/payments`, {
      method: 'POST',
      headers: { authorization: 'Bearer dev-token', 'content-type': 'application/json', 'idempotency-key': 'order-1' },
      body: JSON.stringify({ amount: 1999, currency: 'EUR' }),
    });
    expect(created.status).toBe(201);
    const payment = (await created.json()) as { id: string };
    await Promise.race([
      waitFor(() => output.includes(`orders: payment.succeeded for ${payment.id}`), 15_000, 20),
      exited,
    ]);
    expect(output).toContain(`orders: payment.created for ${payment.id}`);
    // The endpoint secret never reaches the output.
    expect(output).not.toContain('whsec_');
  }, 60_000);
});
