import { newId, type StoredOutboxMessage } from '@payable/core';
import { expect } from 'vitest';
import { fixtureTime, makeOutboxMessage } from './fixtures.js';
import { concurrently, type DefineTest, must } from './harness.js';

function lease(owner: string, at: number, seconds = 30): { owner: string; now: Date; until: Date } {
  return { owner, now: fixtureTime(at), until: fixtureTime(at + seconds) };
}

function ids(messages: StoredOutboxMessage[]): string[] {
  return messages.map((message) => message.id);
}

/** Registers the outbox tests. */
export function outboxTests(test: DefineTest): void {
  test('appendOutbox – stores every message with all its fields, Dates as Date objects', async (storage) => {
    const plain = makeOutboxMessage({ availableAt: fixtureTime(0.5), createdAt: fixtureTime(0.25) });
    const full = makeOutboxMessage({
      tenantId: 'tenant-a',
      payload: JSON.stringify({ note: 'ünïcödé ☕ 🚀', amount: 2_100_000_000_000_000 }),
      status: 'delivered',
      attempts: 2,
      lockedBy: 'relay-1',
      lockedUntil: fixtureTime(30.5),
      lastError: 'subscriber timed out',
      deliveredAt: fixtureTime(12.75),
    });
    await storage.appendOutbox([plain, full]);
    const storedPlain = must(await storage.getOutboxMessage(plain.id), 'the plain message');
    expect(storedPlain).toEqual(plain);
    expect(storedPlain.availableAt).toBeInstanceOf(Date);
    expect(storedPlain.createdAt).toBeInstanceOf(Date);
    expect(storedPlain.lockedBy).toBeNull();
    expect(storedPlain.lockedUntil).toBeNull();
    expect(storedPlain.lastError).toBeNull();
    expect(storedPlain.deliveredAt).toBeNull();
    expect(storedPlain.tenantId).toBeNull();
    const storedFull = must(await storage.getOutboxMessage(full.id), 'the full message');
    expect(storedFull).toEqual(full);
    expect(storedFull.deliveredAt).toBeInstanceOf(Date);
    expect(storedFull.lockedUntil).toBeInstanceOf(Date);
  });

  test('appendOutbox – an empty list stores nothing and resolves', async (storage) => {
    await storage.appendOutbox([]);
    expect(await storage.claimOutbox(lease('relay-1', 0), 10)).toEqual([]);
  });

  test('getOutboxMessage – returns null for an unknown id', async (storage) => {
    await storage.appendOutbox([makeOutboxMessage()]);
    expect(await storage.getOutboxMessage(newId('msg'))).toBeNull();
  });

  test('claimOutbox – claims pending available messages: processing, lockedBy, lockedUntil, attempts unchanged', async (storage) => {
    const message = makeOutboxMessage({ attempts: 2 });
    await storage.appendOutbox([message]);
    const claimed = await storage.claimOutbox(lease('relay-1', 0, 30), 10);
    expect(claimed).toHaveLength(1);
    const expected = { ...message, status: 'processing', lockedBy: 'relay-1', lockedUntil: fixtureTime(30) };
    expect(claimed[0]).toEqual(expected);
    expect(await storage.getOutboxMessage(message.id)).toEqual(expected);
  });

  test('claimOutbox – returns [] when nothing is deliverable', async (storage) => {
    expect(await storage.claimOutbox(lease('relay-1', 0), 10)).toEqual([]);
    await storage.appendOutbox([
      makeOutboxMessage({ status: 'delivered', deliveredAt: fixtureTime(-1) }),
      makeOutboxMessage({ status: 'dead', attempts: 10, lastError: 'gave up' }),
      makeOutboxMessage({ availableAt: fixtureTime(60) }),
    ]);
    expect(await storage.claimOutbox(lease('relay-1', 0), 10)).toEqual([]);
  });

  test('claimOutbox – claims at most the earliest undelivered message of each aggregate', async (storage) => {
    const a1 = makeOutboxMessage({ aggregateKey: 'payment:A' });
    const a2 = makeOutboxMessage({ aggregateKey: 'payment:A' });
    const b1 = makeOutboxMessage({ aggregateKey: 'payment:B' });
    await storage.appendOutbox([a2, b1, a1]);
    const claimed = await storage.claimOutbox(lease('relay-1', 0), 10);
    expect(ids(claimed)).toEqual([a1.id, b1.id]);
    expect(await storage.getOutboxMessage(a2.id)).toEqual(a2);
    expect(await storage.claimOutbox(lease('relay-2', 1), 10)).toEqual([]);
  });

  test('claimOutbox – the next message of an aggregate becomes claimable once the earlier one is delivered', async (storage) => {
    const a1 = makeOutboxMessage({ aggregateKey: 'payment:A' });
    const a2 = makeOutboxMessage({ aggregateKey: 'payment:A' });
    const a3 = makeOutboxMessage({ aggregateKey: 'payment:A' });
    await storage.appendOutbox([a1, a2, a3]);
    expect(ids(await storage.claimOutbox(lease('relay-1', 0), 10))).toEqual([a1.id]);
    const delivered = { status: 'delivered' as const, deliveredAt: fixtureTime(1), lockedBy: null, lockedUntil: null };
    expect(await storage.updateOutbox(a1.id, delivered, { owner: 'relay-1' })).toBe(true);
    expect(ids(await storage.claimOutbox(lease('relay-1', 2), 10))).toEqual([a2.id]);
    expect(await storage.updateOutbox(a2.id, delivered, { owner: 'relay-1' })).toBe(true);
    expect(ids(await storage.claimOutbox(lease('relay-2', 3), 10))).toEqual([a3.id]);
  });

  test('claimOutbox – a dead message does not block its aggregate', async (storage) => {
    const a1 = makeOutboxMessage({ aggregateKey: 'payment:A' });
    const a2 = makeOutboxMessage({ aggregateKey: 'payment:A' });
    await storage.appendOutbox([a1, a2]);
    expect(ids(await storage.claimOutbox(lease('relay-1', 0), 10))).toEqual([a1.id]);
    expect(
      await storage.updateOutbox(
        a1.id,
        { status: 'dead', lastError: 'gave up', lockedBy: null, lockedUntil: null },
        { owner: 'relay-1' },
      ),
    ).toBe(true);
    expect(ids(await storage.claimOutbox(lease('relay-1', 1), 10))).toEqual([a2.id]);
    expect((await storage.getOutboxMessage(a1.id))?.status).toBe('dead');
  });

  test('claimOutbox – skips messages not yet available, which still hold back their aggregate', async (storage) => {
    const a1 = makeOutboxMessage({ aggregateKey: 'payment:A', availableAt: fixtureTime(60) });
    const a2 = makeOutboxMessage({ aggregateKey: 'payment:A' });
    const b1 = makeOutboxMessage({ aggregateKey: 'payment:B', availableAt: fixtureTime(-1) });
    await storage.appendOutbox([a1, a2, b1]);
    expect(ids(await storage.claimOutbox(lease('relay-1', 0, 300), 10))).toEqual([b1.id]);
    expect(ids(await storage.claimOutbox(lease('relay-1', 59), 10))).toEqual([]);
    expect(ids(await storage.claimOutbox(lease('relay-1', 60), 10))).toEqual([a1.id]);
  });

  test('claimOutbox – a message under an unexpired lease is skipped; after expiry another owner reclaims it', async (storage) => {
    const a1 = makeOutboxMessage({ aggregateKey: 'payment:A' });
    const a2 = makeOutboxMessage({ aggregateKey: 'payment:A' });
    await storage.appendOutbox([a1, a2]);
    expect(ids(await storage.claimOutbox(lease('relay-1', 0, 30), 10))).toEqual([a1.id]);
    expect(await storage.claimOutbox(lease('relay-2', 10), 10)).toEqual([]);
    expect(await storage.claimOutbox(lease('relay-2', 29), 10)).toEqual([]);
    const reclaimed = await storage.claimOutbox(lease('relay-2', 31, 30), 10);
    expect(ids(reclaimed)).toEqual([a1.id]);
    expect(reclaimed[0]).toMatchObject({ status: 'processing', lockedBy: 'relay-2', attempts: 0 });
    expect(reclaimed[0]?.lockedUntil).toEqual(fixtureTime(61));
    expect(
      await storage.updateOutbox(a1.id, { status: 'delivered', deliveredAt: fixtureTime(32) }, { owner: 'relay-1' }),
    ).toBe(false);
    expect((await storage.getOutboxMessage(a1.id))?.status).toBe('processing');
  });

  test('claimOutbox – claims in id order and at most limit messages', async (storage) => {
    const messages = Array.from({ length: 5 }, () => makeOutboxMessage());
    await storage.appendOutbox(
      [messages[3], messages[0], messages[4], messages[2], messages[1]].map((m) => must(m, 'a message')),
    );
    const first = await storage.claimOutbox(lease('relay-1', 0), 3);
    expect(ids(first)).toEqual(ids(messages.slice(0, 3)));
    const rest = await storage.claimOutbox(lease('relay-2', 0), 10);
    expect(ids(rest)).toEqual(ids(messages.slice(3)));
  });

  test('claimOutbox – concurrent claimers never receive the same message', async (storage) => {
    const heads: StoredOutboxMessage[] = [];
    const tails: StoredOutboxMessage[] = [];
    for (let i = 0; i < 20; i++) {
      const aggregateKey = `payment:${i}`;
      heads.push(makeOutboxMessage({ aggregateKey }));
      tails.push(makeOutboxMessage({ aggregateKey }));
    }
    await storage.appendOutbox([...heads, ...tails]);
    const batches = await concurrently(4, (i) => storage.claimOutbox(lease(`relay-${i}`, 0), 10));
    const claimed = batches.flat();
    expect(claimed.length).toBeGreaterThan(0);
    expect(new Set(ids(claimed)).size).toBe(claimed.length);
    const headIds = new Set(ids(heads));
    for (const message of claimed) expect(headIds.has(message.id)).toBe(true);
    for (const [i, batch] of batches.entries()) {
      for (const message of batch) {
        expect(message.lockedBy).toBe(`relay-${i}`);
        expect((await storage.getOutboxMessage(message.id))?.lockedBy).toBe(`relay-${i}`);
      }
    }
  });

  test('updateOutbox – applies the patch, leaves other fields alone and returns true', async (storage) => {
    const message = makeOutboxMessage();
    await storage.appendOutbox([message]);
    const patch = {
      status: 'pending' as const,
      attempts: 1,
      availableAt: fixtureTime(120.5),
      lastError: 'HTTP 500 from subscriber',
    };
    expect(await storage.updateOutbox(message.id, patch)).toBe(true);
    const stored = must(await storage.getOutboxMessage(message.id), 'the message');
    expect(stored).toEqual({ ...message, ...patch });
    expect(stored.availableAt).toBeInstanceOf(Date);
  });

  test('updateOutbox – with owner, changes the message only while that owner holds it', async (storage) => {
    const message = makeOutboxMessage();
    await storage.appendOutbox([message]);
    await storage.claimOutbox(lease('relay-1', 0), 10);
    expect(await storage.updateOutbox(message.id, { status: 'delivered' }, { owner: 'relay-2' })).toBe(false);
    expect((await storage.getOutboxMessage(message.id))?.status).toBe('processing');
    expect(
      await storage.updateOutbox(
        message.id,
        { status: 'delivered', deliveredAt: fixtureTime(1) },
        { owner: 'relay-1' },
      ),
    ).toBe(true);
    expect(await storage.getOutboxMessage(message.id)).toMatchObject({ status: 'delivered', lockedBy: 'relay-1' });
  });

  test('updateOutbox – returns false for an unknown id', async (storage) => {
    expect(await storage.updateOutbox(newId('msg'), { status: 'delivered' })).toBe(false);
    expect(await storage.getOutboxMessage(newId('msg'))).toBeNull();
  });

  test('updateOutbox – a rescheduled message is claimable again only from its availableAt', async (storage) => {
    const message = makeOutboxMessage();
    await storage.appendOutbox([message]);
    await storage.claimOutbox(lease('relay-1', 0, 30), 10);
    const retry = {
      status: 'pending' as const,
      attempts: 1,
      availableAt: fixtureTime(60),
      lockedBy: null,
      lockedUntil: null,
      lastError: 'timeout',
    };
    expect(await storage.updateOutbox(message.id, retry, { owner: 'relay-1' })).toBe(true);
    expect(await storage.claimOutbox(lease('relay-1', 30), 10)).toEqual([]);
    const again = await storage.claimOutbox(lease('relay-2', 60), 10);
    expect(again).toEqual([
      { ...message, ...retry, status: 'processing', lockedBy: 'relay-2', lockedUntil: fixtureTime(90) },
    ]);
  });
}
