import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '@payable/cli';
import { createPayable, NodeEncryptionDriver, SyncQueueDriver, verifyWebhook } from '@payable/core';
import { KnexStorageDriver, SCHEMA_VERSION } from '@payable/storage-knex';
import { FakeProvider, startWebhookReceiver } from '@payable/testing';
import knex from 'knex';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) }, out, err };
}

describe('payable CLI', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'payable-cli-'));
    env = { DATABASE_URL: `sqlite:${join(dir, 'cli.sqlite')}` };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** An app process sharing the CLI's database: receives a webhook whose handler fails. */
  async function appWithEvents(failingAtFirst: boolean) {
    let failing = failingAtFirst;
    const db = knex({
      client: 'better-sqlite3',
      connection: { filename: join(dir, 'cli.sqlite') },
      useNullAsDefault: true,
    });
    const fake = new FakeProvider();
    const queue = new SyncQueueDriver({ attempts: 1 });
    const payable = createPayable({
      providers: { fake },
      storage: new KnexStorageDriver(db),
      queue,
      webhooks: { sweepIntervalMs: 0 },
    });
    payable.on('customer.created', () => {
      if (failing) throw new Error('downstream is down');
    });
    const { eventId } = await payable.webhooks.receive({
      provider: 'fake',
      ...fake.eventFor('customer.created', { providerId: 'fake_cus_1', email: null, name: null }),
    });
    await queue.drain();
    return { payable, eventId, db, fix: () => (failing = false) };
  }

  it('migrate – creates the tables and reports the schema version; safe to re-run', async () => {
    const a = capture();
    expect(await runCli(['migrate'], env, a.io)).toBe(0);
    expect(a.out.join('')).toContain(`schema version ${SCHEMA_VERSION}`);
    const b = capture();
    expect(await runCli(['migrate'], env, b.io)).toBe(0);
  });

  it('doctor – fails before migrate, passes after, warns about failed events', async () => {
    const before = capture();
    expect(await runCli(['doctor'], env, before.io)).toBe(1);
    expect(before.out.join('')).toMatch(/schema version 0, expected \d+: run `payable migrate`/);
    await runCli(['migrate'], env, capture().io);
    const ok = capture();
    expect(await runCli(['doctor'], env, ok.io)).toBe(0);
    expect(ok.out.join('')).toContain('database reachable');
    const { payable, db } = await appWithEvents(true);
    const warn = capture();
    expect(await runCli(['doctor'], env, warn.io)).toBe(0);
    expect(warn.out.join('')).toMatch(/warn {2}webhook events: .*failed=1/);
    await payable.close();
    await db.destroy();
  });

  it('events list | show | replay – inspect a failed event and hand it back to the workers', async () => {
    await runCli(['migrate'], env, capture().io);
    const { payable, eventId, db, fix } = await appWithEvents(true);
    const list = capture();
    expect(await runCli(['events', 'list', '--status', 'failed'], env, list.io)).toBe(0);
    expect(list.out.join('')).toContain(eventId);
    expect(list.out.join('')).toContain('downstream is down');

    const show = capture();
    expect(await runCli(['events', 'show', eventId], env, show.io)).toBe(0);
    const shown = JSON.parse(show.out.join('')) as Record<string, unknown>;
    expect(shown).toMatchObject({ id: eventId, status: 'failed', type: 'customer.created', provider: 'fake' });
    expect(shown).not.toHaveProperty('payload');

    const replay = capture();
    expect(await runCli(['events', 'replay', eventId], env, replay.io)).toBe(0);
    expect((await payable.webhooks.get(eventId)).status).toBe('pending');
    // Once the cause is fixed, a worker's sweep picks it up (the CLI dated it back so it is stale at once).
    fix();
    expect(await payable.webhooks.sweep()).toBe(1);
    expect((await payable.webhooks.get(eventId)).status).toBe('processed');
    await payable.close();
    await db.destroy();
  });

  it('bad usage – exit code 2 and the usage text; unknown event id – exit code 1', async () => {
    const unknown = capture();
    expect(await runCli(['frobnicate'], env, unknown.io)).toBe(2);
    expect(unknown.err.join('')).toContain('Usage: payable');
    await runCli(['migrate'], env, capture().io);
    const missing = capture();
    expect(await runCli(['events', 'show', 'wh_nope'], env, missing.io)).toBe(1);
    expect(await runCli(['events', 'list', '--status', 'weird'], env, capture().io)).toBe(2);
  });
  it('endpoints and deliveries – register an endpoint, inspect its deliveries, redeliver, rotate, disable', async () => {
    const key = 'a-long-high-entropy-test-key-for-the-cli-0123';
    const cliEnv = { ...env, PAYABLE_ENCRYPTION_KEY: key, PAYABLE_ALLOW_PRIVATE_NETWORKS: '1' };
    await runCli(['migrate'], env, capture().io);
    const receiver = await startWebhookReceiver();
    const forbidden = capture();
    expect(
      await runCli(['endpoints', 'create', '--url', receiver.url('/hooks'), '--events', '*'], env, forbidden.io),
    ).toBe(1);
    expect(forbidden.err.join('')).toContain('ENDPOINT_URL_FORBIDDEN');

    const created = capture();
    expect(
      await runCli(
        ['endpoints', 'create', '--url', receiver.url('/hooks'), '--events', 'customer.*,payment.succeeded'],
        cliEnv,
        created.io,
      ),
    ).toBe(0);
    const endpoint = JSON.parse(created.out[0] ?? '{}') as { id: string; secret: string; events: string[] };
    expect(endpoint.secret).toMatch(/^whsec_/);
    expect(endpoint.events).toEqual(['customer.*', 'payment.succeeded']);

    // The app, on the same database and key, relays a customer.created event to it.
    const db = knex({
      client: 'better-sqlite3',
      connection: { filename: join(dir, 'cli.sqlite') },
      useNullAsDefault: true,
    });
    const payable = createPayable({
      providers: { fake: new FakeProvider() },
      storage: new KnexStorageDriver(db),
      encryption: new NodeEncryptionDriver({ key }),
      outbound: { allowPrivateNetworks: true },
      webhooks: { sweepIntervalMs: 0 },
    });
    receiver.replyNext({ status: 500, body: 'not yet' });
    await payable.createCustomer({});
    await payable.outbox().dispatchOnce();
    const [first] = await receiver.waitForRequests(1);
    expect(
      verifyWebhook({ payload: first?.body ?? '', headers: first?.headers ?? {}, secret: endpoint.secret }),
    ).toMatchObject({
      type: 'customer.created',
    });

    const listed = capture();
    expect(await runCli(['endpoints', 'list'], cliEnv, listed.io)).toBe(0);
    expect(listed.out.join('')).toContain(endpoint.id);
    const deliveries = capture();
    expect(await runCli(['endpoints', 'deliveries', endpoint.id], cliEnv, deliveries.io)).toBe(0);
    const deliveryId = /(dlv_\w+)\s+pending/.exec(deliveries.out.join(''))?.[1] ?? '';
    expect(deliveryId).not.toBe('');
    const shown = capture();
    expect(await runCli(['deliveries', 'show', deliveryId], cliEnv, shown.io)).toBe(0);
    expect(JSON.parse(shown.out.join(''))).toMatchObject({
      status: 'pending',
      log: [{ attempt: 1, responseStatus: 500, responseBody: 'not yet' }],
    });
    expect(await runCli(['deliveries', 'redeliver', deliveryId], cliEnv, capture().io)).toBe(0);
    await payable.outbox().dispatchOnce();
    expect(receiver.requests).toHaveLength(2);
    expect((await payable.endpoints.delivery(deliveryId)).status).toBe('delivered');

    const rotated = capture();
    expect(await runCli(['endpoints', 'rotate-secret', endpoint.id, '--grace-hours', '1'], cliEnv, rotated.io)).toBe(0);
    const { secret } = JSON.parse(rotated.out.join('')) as { secret: string };
    expect(secret).not.toBe(endpoint.secret);
    expect(await runCli(['endpoints', 'disable', endpoint.id], cliEnv, capture().io)).toBe(0);
    expect((await payable.endpoints.get(endpoint.id)).status).toBe('disabled');
    // Without the app's key the CLI cannot read the secrets it would need to rotate.
    expect(
      await runCli(
        ['endpoints', 'rotate-secret', endpoint.id],
        { ...cliEnv, PAYABLE_ENCRYPTION_KEY: undefined },
        capture().io,
      ),
    ).toBe(1);
    await payable.close();
    await db.destroy();
    await receiver.close();
  });
});
