import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createPayable, type DomainEvent, newId, type Payable, type StoredOutboxMessage } from '@payable/core';
import { FakeProvider, startWebhookReceiver, type WebhookReceiver } from '@payable/testing';
import type { Knex } from 'knex';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KnexStorageDriver, migrate } from '../src/index.js';
import { dropPrefixedTables, ensureDatabases, PG_URL, pgTarget, uniquePrefix } from './support/targets.js';

// Outbound webhooks with several relays on one PostgreSQL: at-least-once delivery, and exactly once
// for a receiver that deduplicates by event id (`webhook-id`).
const relayScript = fileURLToPath(new URL('./fixtures/outbound-relay.ts', import.meta.url));
const packageDir = fileURLToPath(new URL('..', import.meta.url));

interface Run {
  prefix: string;
  pools: Knex[];
  children: ChildProcess[];
  receiver: WebhookReceiver | null;
}
let run: Run | null = null;

beforeAll(ensureDatabases);
afterEach(async () => {
  if (!run) return;
  for (const c of run.children) if (c.exitCode === null) c.kill('SIGKILL');
  await run.receiver?.close();
  const [first, ...rest] = run.pools;
  for (const p of rest) await p.destroy();
  if (first) {
    await dropPrefixedTables(first, run.prefix);
    await first.destroy();
  }
  run = null;
});

function relayPayable(r: Run, leaseMs = 30_000): Payable {
  const pool = pgTarget().connect();
  r.pools.push(pool);
  return createPayable({
    providers: { fake: new FakeProvider() },
    storage: new KnexStorageDriver(pool, undefined, { tablePrefix: r.prefix, destroyOnClose: false }),
    worker: false,
    outbound: { allowPrivateNetworks: true, leaseMs },
    outbox: { leaseMs },
  });
}

/** `count` domain events in the outbox, as the facade writes them (each its own aggregate). */
async function fillOutbox(payable: Payable, count: number): Promise<void> {
  const storage = payable.storage;
  if (!storage) throw new Error('no storage');
  const now = new Date();
  for (let start = 0; start < count; start += 1000) {
    const batch: StoredOutboxMessage[] = [];
    for (let i = start; i < Math.min(count, start + 1000); i++) {
      const id = newId('evt', now.getTime());
      const event: DomainEvent = {
        id,
        type: 'payment.succeeded',
        createdAt: now.toISOString(),
        tenantId: null,
        data: { id: `pay_${i}`, amount: 100 + i, currency: 'EUR' },
      };
      batch.push({
        id,
        tenantId: null,
        aggregateKey: `payment:pay_${i}`,
        type: event.type,
        payload: JSON.stringify(event),
        status: 'pending',
        attempts: 0,
        availableAt: now,
        lockedBy: null,
        lockedUntil: null,
        lastError: null,
        createdAt: now,
        deliveredAt: null,
      });
    }
    await storage.appendOutbox(batch);
  }
}

async function newRun(): Promise<Run> {
  const r: Run = { prefix: uniquePrefix('obw'), pools: [], children: [], receiver: null };
  const admin = pgTarget().connect();
  r.pools.push(admin);
  await migrate(admin, { tablePrefix: r.prefix });
  run = r;
  return r;
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function statusCounts(r: Run): Promise<Record<string, number>> {
  const [pool] = r.pools;
  if (!pool) throw new Error('no pool');
  const rows = (await pool(`${r.prefix}webhook_deliveries`).select('status').count({ n: '*' }).groupBy('status')) as {
    status: string;
    n: string | number;
  }[];
  return Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]));
}

describe('outbound webhooks with several relays on PostgreSQL', () => {
  it('four relays over 10,000 events deliver each exactly once to a deduplicating receiver', {
    timeout: 180_000,
  }, async () => {
    const r = await newRun();
    const receiver = await startWebhookReceiver();
    r.receiver = receiver;
    const relays = [relayPayable(r), relayPayable(r), relayPayable(r), relayPayable(r)];
    const [first] = relays;
    if (!first) throw new Error('no relay');
    const ep = await first.endpoints.create({ url: receiver.url('/hooks'), events: ['payment.*'] });
    await fillOutbox(first, 10_000);

    let done = false;
    const loops = relays.map(async (payable) => {
      const relay = payable.outbox();
      while (!done) {
        const sent = await relay.dispatchOnce({ limit: 200 });
        if (sent === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      }
    });
    await until(() => receiver.uniqueIds.size >= 10_000, 150_000, '10,000 distinct deliveries');
    await until(async () => (await statusCounts(r)).delivered === 10_000, 30_000, 'all deliveries marked');
    done = true;
    await Promise.all(loops);

    expect(receiver.uniqueIds.size).toBe(10_000);
    expect(receiver.requests).toHaveLength(10_000); // no crash: not even a redelivery
    expect(await statusCounts(r)).toEqual({ delivered: 10_000 });
    const page = await first.endpoints.deliveries(ep.id, { limit: 1 });
    expect(page.data[0]?.status).toBe('delivered');
    for (const p of relays) await p.close();
  });

  it('a relay killed mid-delivery: the in-flight events are sent again, the deduplicating receiver processes each once, none is lost', {
    timeout: 120_000,
  }, async () => {
    const r = await newRun();
    let holding = true;
    // While the first relay runs, the receiver keeps its answers back: deliveries are in flight when it dies.
    const receiver = await startWebhookReceiver({
      reply: () => (holding ? { status: 200, delayMs: 30_000 } : { status: 200 }),
    });
    r.receiver = receiver;
    const payable = relayPayable(r, 2_000);
    await payable.endpoints.create({ url: receiver.url('/hooks'), events: ['*'] });
    await fillOutbox(payable, 200);

    const child = spawn(process.execPath, ['--import', 'tsx', relayScript], {
      cwd: packageDir,
      env: { ...process.env, PG_URL, TABLE_PREFIX: r.prefix, LEASE_MS: '2000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    r.children.push(child);
    await receiver.waitForRequests(1, 60_000);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const inFlight = receiver.requests.length;
    holding = false;

    // The survivor takes over once the dead relay's leases expire.
    const relay = payable.outbox();
    await until(
      async () => {
        await relay.dispatchOnce({ limit: 500 });
        return (await statusCounts(r)).delivered === 200;
      },
      60_000,
      'all 200 delivered',
    );
    expect(receiver.uniqueIds.size).toBe(200);
    const duplicates = receiver.requests.filter((q) => !q.firstTime);
    // Every request the dead relay had in flight was sent again; the receiver dropped those by id.
    expect(duplicates.length).toBeGreaterThanOrEqual(inFlight);
    expect(receiver.requests.filter((q) => q.firstTime)).toHaveLength(200);
    await payable.close();
  });
});
