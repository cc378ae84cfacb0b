import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNodeListener } from '@payable/core';
import { FakeProvider } from '@payable/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type QuickstartApp } from '../src/app.js';

const exampleDir = fileURLToPath(new URL('..', import.meta.url));

describe('quickstart', () => {
  let dir: string;
  let app: QuickstartApp;
  let server: Server;
  let base: string;
  const auth = { authorization: 'Bearer test-token' };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'payable-quickstart-'));
    app = await createApp({ PAYABLE_SQLITE_FILE: join(dir, 'payable.sqlite'), FAKE_WEBHOOK_SECRET: 'whsec_qs_test' });
    server = createServer(
      createNodeListener(app.payable, { authorize: (req) => req.headers.authorization === auth.authorization }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('payment + signed webhook over real HTTP – the payment reads succeeded, stored in SQLite', async () => {
    const created = await fetch(`${base}/payments`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': 'order-1' },
      body: JSON.stringify({ amount: 1999, currency: 'EUR', metadata: { fake_outcome: 'pending' } }),
    });
    expect(created.status).toBe(201);
    const payment = (await created.json()) as { id: string; providerId: string; status: string };
    expect(payment.status).toBe('pending');

    const signer = new FakeProvider({ secret: 'whsec_qs_test' });
    const delivery = signer.eventFor('payment.succeeded', {
      providerId: payment.providerId,
      status: 'succeeded',
      amount: 1999,
      currency: 'EUR',
    });
    const hook = await fetch(`${base}/webhooks/fake`, {
      method: 'POST',
      headers: delivery.headers,
      body: delivery.rawBody,
    });
    expect(hook.status).toBe(200);
    expect(await hook.json()).toMatchObject({ received: true, duplicate: false, status: 'processed' });

    const read = await fetch(`${base}/payments/${payment.id}`, { headers: auth });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ id: payment.id, status: 'succeeded', amount: 1999, currency: 'EUR' });
    const rows = await app.db('payable_payments').where('id', payment.id);
    expect(rows).toHaveLength(1);
  });

  it('the management routes refuse requests without the token', async () => {
    const res = await fetch(`${base}/payments`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'UNAUTHORIZED' });
  });
});

describe('pnpm start', () => {
  let child: ChildProcess | undefined;
  let dir: string;

  afterAll(() => {
    child?.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves the quickstart with GET /health answering 200 and prints instructions', async () => {
    dir = mkdtempSync(join(tmpdir(), 'payable-start-'));
    child = spawn(process.execPath, ['--import', 'tsx', join(exampleDir, 'src/server.ts')], {
      cwd: exampleDir,
      env: { ...process.env, PORT: '0', NODE_ENV: 'development', PAYABLE_SQLITE_FILE: join(dir, 'payable.sqlite') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no startup line: ${output}`)), 30_000);
      child?.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /listening on (http:\/\/\S+)/.exec(output);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child?.on('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
    });
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, storage: { ok: true, driver: 'knex:sqlite' } });
    expect(output).toContain('Create payment');
  }, 60_000);
});
