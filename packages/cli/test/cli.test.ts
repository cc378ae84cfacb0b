import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '@payable/cli';
import { createPayable, SyncQueueDriver } from '@payable/core';
import { KnexStorageDriver, SCHEMA_VERSION } from '@payable/storage-knex';
import { FakeProvider } from '@payable/testing';
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
});
