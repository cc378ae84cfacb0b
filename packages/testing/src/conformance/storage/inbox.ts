import { newId } from '@payable/core';
import { expect } from 'vitest';
import { fixtureTime, makeWebhookEvent } from './fixtures.js';
import { collectPages, concurrently, type DefineTest, must } from './harness.js';

/** A lease for `owner` judged at `at` seconds, lasting `seconds`. */
function lease(owner: string, at: number, seconds = 30): { owner: string; now: Date; until: Date } {
  return { owner, now: fixtureTime(at), until: fixtureTime(at + seconds) };
}

/** Registers the webhook inbox tests. */
export function inboxTests(test: DefineTest): void {
  test('insertWebhookEvent – stores a new event and returns it with inserted true', async (storage) => {
    const event = makeWebhookEvent({
      tenantId: 'tenant-a',
      receivedAt: fixtureTime(0.123),
      updatedAt: fixtureTime(0.456),
    });
    const result = await storage.insertWebhookEvent(event);
    expect(result).toEqual({ inserted: true, event });
    const stored = must(await storage.getWebhookEvent(event.id), 'the stored event');
    expect(stored).toEqual(event);
    expect(stored.receivedAt).toBeInstanceOf(Date);
    expect(stored.updatedAt).toBeInstanceOf(Date);
  });

  test('insertWebhookEvent – every field round-trips, including Dates and nulls', async (storage) => {
    const processed = makeWebhookEvent({
      status: 'processed',
      attempts: 3,
      lastError: 'timeout talking to handler "x"',
      objectKey: null,
      processedAt: fixtureTime(12.345),
      lockedBy: 'worker-1',
      lockedUntil: fixtureTime(42.001),
      type: 'refund.succeeded',
      providerType: 'charge.refunded',
    });
    const pending = makeWebhookEvent();
    await storage.insertWebhookEvent(processed);
    await storage.insertWebhookEvent(pending);
    const storedProcessed = must(await storage.getWebhookEvent(processed.id), 'the processed event');
    expect(storedProcessed).toEqual(processed);
    expect(storedProcessed.processedAt).toBeInstanceOf(Date);
    expect(storedProcessed.lockedUntil).toBeInstanceOf(Date);
    const storedPending = must(await storage.getWebhookEvent(pending.id), 'the pending event');
    expect(storedPending.lastError).toBeNull();
    expect(storedPending.processedAt).toBeNull();
    expect(storedPending.lockedBy).toBeNull();
    expect(storedPending.lockedUntil).toBeNull();
    expect(storedPending.tenantId).toBeNull();
  });

  test('insertWebhookEvent – stores a large raw payload (256 KiB) and unicode unchanged', async (storage) => {
    const payload = JSON.stringify({
      note: 'ünïcödé ☕ 🚀 "quotes" \\ backslash\r\n\ttab',
      data: 'x'.repeat(256 * 1024),
    });
    const event = makeWebhookEvent({ payload, normalized: JSON.stringify({ emoji: '🚀', text: 'naïve' }) });
    await storage.insertWebhookEvent(event);
    const stored = must(await storage.getWebhookEvent(event.id), 'the stored event');
    expect(stored.payload).toBe(payload);
    expect(stored.normalized).toBe(event.normalized);
  });

  test('insertWebhookEvent – a duplicate (tenantId, provider, providerEventId) returns the stored event with inserted false', async (storage) => {
    const first = makeWebhookEvent();
    await storage.insertWebhookEvent(first);
    const redelivery = makeWebhookEvent({ providerEventId: first.providerEventId, payload: '{"redelivered":true}' });
    const result = await storage.insertWebhookEvent(redelivery);
    expect(result.inserted).toBe(false);
    expect(result.event).toEqual(first);
    expect(await storage.getWebhookEvent(redelivery.id)).toBeNull();
  });

  test('insertWebhookEvent – the same provider event id under another tenant or provider is a separate event', async (storage) => {
    const providerEventId = newId('shared_evt');
    const events = [
      makeWebhookEvent({ providerEventId, tenantId: null }),
      makeWebhookEvent({ providerEventId, tenantId: 'null' }),
      makeWebhookEvent({ providerEventId, tenantId: 'tenant-a' }),
      makeWebhookEvent({ providerEventId, tenantId: 'tenant-b' }),
      makeWebhookEvent({ providerEventId, tenantId: null, provider: 'other' }),
    ];
    for (const event of events) expect((await storage.insertWebhookEvent(event)).inserted).toBe(true);
    for (const event of events) expect(await storage.getWebhookEvent(event.id)).toEqual(event);
    expect((await storage.countWebhookEvents()).pending).toBe(events.length);
  });

  test('insertWebhookEvent – 50 concurrent deliveries of one event store exactly one row', async (storage) => {
    const providerEventId = newId('fake_evt');
    const results = await concurrently(50, () => storage.insertWebhookEvent(makeWebhookEvent({ providerEventId })));
    const winners = results.filter((result) => result.inserted);
    expect(winners).toHaveLength(1);
    const winnerId = must(winners[0], 'the winning insert').event.id;
    expect(new Set(results.map((result) => result.event.id))).toEqual(new Set([winnerId]));
    const page = await storage.listWebhookEvents({ limit: 100 });
    expect(page.data.map((event) => event.id)).toEqual([winnerId]);
  });

  test('insertWebhookEvent – 50 concurrent deliveries in a tenant store exactly one row', async (storage) => {
    const providerEventId = newId('fake_evt');
    const results = await concurrently(50, () =>
      storage.insertWebhookEvent(makeWebhookEvent({ providerEventId, tenantId: 'tenant-a' })),
    );
    expect(results.filter((result) => result.inserted)).toHaveLength(1);
    expect(await storage.countWebhookEvents()).toEqual({ pending: 1, processing: 0, processed: 0, failed: 0 });
  });

  test('getWebhookEvent – returns null for an unknown id', async (storage) => {
    await storage.insertWebhookEvent(makeWebhookEvent());
    expect(await storage.getWebhookEvent(newId('evt'))).toBeNull();
  });

  test('claimWebhookEvent – claims a pending event: processing, lockedBy, lockedUntil, attempts + 1', async (storage) => {
    const event = makeWebhookEvent({ attempts: 2 });
    await storage.insertWebhookEvent(event);
    const claimed = must(await storage.claimWebhookEvent(event.id, lease('worker-1', 0, 30)), 'the claimed event');
    expect(claimed).toMatchObject({ id: event.id, status: 'processing', attempts: 3, lockedBy: 'worker-1' });
    expect(claimed.lockedUntil).toEqual(fixtureTime(30));
    const stored = must(await storage.getWebhookEvent(event.id), 'the stored event');
    expect(stored).toMatchObject({ status: 'processing', attempts: 3, lockedBy: 'worker-1' });
    expect(stored.lockedUntil).toEqual(fixtureTime(30));
    expect(stored.payload).toBe(event.payload);
    expect(stored.providerEventId).toBe(event.providerEventId);
  });

  test('claimWebhookEvent – a claimed event cannot be claimed again before its lease expires', async (storage) => {
    const event = makeWebhookEvent();
    await storage.insertWebhookEvent(event);
    must(await storage.claimWebhookEvent(event.id, lease('worker-1', 0, 30)), 'the first claim');
    expect(await storage.claimWebhookEvent(event.id, lease('worker-2', 10))).toBeNull();
    expect(await storage.claimWebhookEvent(event.id, lease('worker-2', 29))).toBeNull();
    expect(await storage.claimWebhookEvent(event.id, lease('worker-1', 5))).toBeNull();
    const stored = must(await storage.getWebhookEvent(event.id), 'the stored event');
    expect(stored).toMatchObject({ status: 'processing', attempts: 1, lockedBy: 'worker-1' });
    expect(stored.lockedUntil).toEqual(fixtureTime(30));
  });

  test('claimWebhookEvent – after the lease expires another owner claims it and attempts increments again', async (storage) => {
    const event = makeWebhookEvent();
    await storage.insertWebhookEvent(event);
    must(await storage.claimWebhookEvent(event.id, lease('worker-1', 0, 30)), 'the first claim');
    const reclaimed = must(await storage.claimWebhookEvent(event.id, lease('worker-2', 31, 30)), 'the second claim');
    expect(reclaimed).toMatchObject({ status: 'processing', attempts: 2, lockedBy: 'worker-2' });
    expect(reclaimed.lockedUntil).toEqual(fixtureTime(61));
    expect(await storage.getWebhookEvent(event.id)).toMatchObject({ attempts: 2, lockedBy: 'worker-2' });
  });

  test('claimWebhookEvent – processed and failed events are not claimable', async (storage) => {
    const processed = makeWebhookEvent({ status: 'processed', processedAt: fixtureTime(1) });
    const failed = makeWebhookEvent({ status: 'failed', attempts: 5, lastError: 'boom' });
    await storage.insertWebhookEvent(processed);
    await storage.insertWebhookEvent(failed);
    expect(await storage.claimWebhookEvent(processed.id, lease('worker-1', 100))).toBeNull();
    expect(await storage.claimWebhookEvent(failed.id, lease('worker-1', 100))).toBeNull();
    expect(await storage.getWebhookEvent(processed.id)).toEqual(processed);
    expect(await storage.getWebhookEvent(failed.id)).toEqual(failed);
  });

  test('claimWebhookEvent { processed } – marks a pending event processed in the claim: attempts + 1, no lease, no error', async (storage) => {
    const event = makeWebhookEvent({ attempts: 1, lastError: 'earlier failure' });
    await storage.insertWebhookEvent(event);
    const claimed = must(
      await storage.claimWebhookEvent(event.id, lease('worker-1', 5, 30), { processed: true }),
      'the claimed event',
    );
    expect(claimed).toMatchObject({
      id: event.id,
      status: 'processed',
      attempts: 2,
      lastError: null,
      lockedBy: null,
      lockedUntil: null,
    });
    expect(claimed.processedAt).toEqual(fixtureTime(5));
    expect(claimed.updatedAt).toEqual(fixtureTime(5));
    expect(await storage.getWebhookEvent(event.id)).toEqual(claimed);
    expect(await storage.claimWebhookEvent(event.id, lease('worker-2', 100))).toBeNull();
    expect(await storage.claimWebhookEvent(event.id, lease('worker-2', 100), { processed: true })).toBeNull();
    expect(await storage.countWebhookEvents()).toEqual({ pending: 0, processing: 0, processed: 1, failed: 0 });
  });

  test('claimWebhookEvent { processed } – only a claimable event: not one under a live lease, yes once it expired', async (storage) => {
    const event = makeWebhookEvent();
    await storage.insertWebhookEvent(event);
    must(await storage.claimWebhookEvent(event.id, lease('worker-1', 0, 30)), 'the first claim');
    expect(await storage.claimWebhookEvent(event.id, lease('worker-2', 10), { processed: true })).toBeNull();
    expect(await storage.getWebhookEvent(event.id)).toMatchObject({ status: 'processing', lockedBy: 'worker-1' });
    const late = must(
      await storage.claimWebhookEvent(event.id, lease('worker-2', 31), { processed: true }),
      'the claim after the lease expired',
    );
    expect(late).toMatchObject({ status: 'processed', attempts: 2, lockedBy: null });
  });

  test('claimWebhookEvent { processed } – of 10 concurrent claimers exactly one wins', async (storage) => {
    const event = makeWebhookEvent();
    await storage.insertWebhookEvent(event);
    const results = await concurrently(10, (i) =>
      storage.claimWebhookEvent(event.id, lease(`worker-${i}`, 0), { processed: i % 2 === 0 }),
    );
    expect(results.filter((result) => result !== null)).toHaveLength(1);
    expect(must(await storage.getWebhookEvent(event.id), 'the stored event').attempts).toBe(1);
  });

  test('claimWebhookEvent { payload: false } – the claimed event without its raw payload, the rest as the store holds it', async (storage) => {
    const event = makeWebhookEvent({ tenantId: 'tenant-a', objectKey: 'payment:pi_1' });
    const other = makeWebhookEvent();
    await storage.insertWebhookEvent(event);
    await storage.insertWebhookEvent(other);
    const claimed = must(
      await storage.claimWebhookEvent(event.id, lease('worker-1', 5, 30), { processed: true, payload: false }),
      'the claimed event',
    );
    expect(claimed).not.toHaveProperty('payload');
    const stored = must(await storage.getWebhookEvent(event.id), 'the stored event');
    const { payload, ...rest } = stored;
    expect(claimed).toEqual(rest);
    expect(payload).toBe(event.payload);
    expect(claimed).toMatchObject({
      status: 'processed',
      attempts: 1,
      normalized: event.normalized,
      tenantId: 'tenant-a',
    });
    // Without `processed`: a lease, the payload still left out.
    const leased = must(
      await storage.claimWebhookEvent(other.id, lease('worker-2', 5, 30), { payload: false }),
      'the leased event',
    );
    expect(leased).not.toHaveProperty('payload');
    expect(leased).toMatchObject({ id: other.id, status: 'processing', lockedBy: 'worker-2', attempts: 1 });
    expect(leased.lockedUntil).toEqual(fixtureTime(35));
    expect(must(await storage.getWebhookEvent(other.id), 'the leased row').payload).toBe(other.payload);
  });

  test('claimWebhookEvent – returns null for an unknown id', async (storage) => {
    expect(await storage.claimWebhookEvent(newId('evt'), lease('worker-1', 0))).toBeNull();
  });

  test('claimWebhookEvent – of 10 concurrent claimers exactly one wins', async (storage) => {
    const event = makeWebhookEvent();
    await storage.insertWebhookEvent(event);
    const results = await concurrently(10, (i) => storage.claimWebhookEvent(event.id, lease(`worker-${i}`, 0)));
    const winners = results.filter((result) => result !== null);
    expect(winners).toHaveLength(1);
    const winner = must(winners[0], 'the winning claim');
    const stored = must(await storage.getWebhookEvent(event.id), 'the stored event');
    expect(stored.attempts).toBe(1);
    expect(stored.lockedBy).toBe(winner.lockedBy);
  });

  test('updateWebhookEvent – applies the patch, leaves other fields alone and returns true', async (storage) => {
    const event = makeWebhookEvent();
    await storage.insertWebhookEvent(event);
    const claimed = must(await storage.claimWebhookEvent(event.id, lease('worker-1', 0)), 'the claim');
    const patch = {
      status: 'processed' as const,
      processedAt: fixtureTime(5.5),
      updatedAt: fixtureTime(5.5),
      lockedBy: null,
      lockedUntil: null,
    };
    expect(await storage.updateWebhookEvent(event.id, patch)).toBe(true);
    const stored = must(await storage.getWebhookEvent(event.id), 'the stored event');
    expect(stored).toEqual({ ...claimed, ...patch });
    expect(stored.processedAt).toBeInstanceOf(Date);
    expect(await storage.updateWebhookEvent(event.id, { lastError: 'handler failed', attempts: 7 })).toBe(true);
    expect(await storage.getWebhookEvent(event.id)).toEqual({
      ...claimed,
      ...patch,
      lastError: 'handler failed',
      attempts: 7,
    });
  });

  test('updateWebhookEvent – with owner, changes the event only while that owner holds it', async (storage) => {
    const event = makeWebhookEvent();
    await storage.insertWebhookEvent(event);
    must(await storage.claimWebhookEvent(event.id, lease('worker-1', 0, 30)), 'the first claim');
    expect(await storage.updateWebhookEvent(event.id, { status: 'processed' }, { owner: 'worker-2' })).toBe(false);
    expect(await storage.getWebhookEvent(event.id)).toMatchObject({ status: 'processing', lockedBy: 'worker-1' });
    must(await storage.claimWebhookEvent(event.id, lease('worker-2', 31, 30)), 'the takeover');
    expect(
      await storage.updateWebhookEvent(event.id, { status: 'failed', lastError: 'late' }, { owner: 'worker-1' }),
    ).toBe(false);
    expect(await storage.getWebhookEvent(event.id)).toMatchObject({
      status: 'processing',
      lockedBy: 'worker-2',
      lastError: null,
    });
    expect(
      await storage.updateWebhookEvent(
        event.id,
        { status: 'processed', processedAt: fixtureTime(40), lockedBy: null, lockedUntil: null },
        { owner: 'worker-2' },
      ),
    ).toBe(true);
    expect(await storage.getWebhookEvent(event.id)).toMatchObject({
      status: 'processed',
      lockedBy: null,
      lockedUntil: null,
    });
  });

  test('updateWebhookEvent – returns false for an unknown id', async (storage) => {
    expect(await storage.updateWebhookEvent(newId('evt'), { status: 'processed' })).toBe(false);
    expect(await storage.countWebhookEvents()).toEqual({ pending: 0, processing: 0, processed: 0, failed: 0 });
  });

  test('listWebhookEvents – lists oldest first and pages with limit, hasMore and nextCursor', async (storage) => {
    const events = Array.from({ length: 5 }, (_, i) => makeWebhookEvent({ receivedAt: fixtureTime(i) }));
    for (const event of [...events].reverse()) await storage.insertWebhookEvent(event);
    const first = await storage.listWebhookEvents({ limit: 2 });
    expect(first.data.map((event) => event.id)).toEqual([events[0]?.id, events[1]?.id]);
    expect(first.data[0]).toEqual(events[0]);
    expect(first.hasMore).toBe(true);
    expect(typeof first.nextCursor).toBe('string');
    const pages = await collectPages((cursor) => storage.listWebhookEvents({ limit: 2, cursor }));
    expect(pages.map((page) => page.length)).toEqual([2, 2, 1]);
    expect(pages.flat().map((event) => event.id)).toEqual(events.map((event) => event.id));
    const exact = await storage.listWebhookEvents({ limit: 5 });
    expect(exact.hasMore).toBe(false);
    expect(exact.nextCursor).toBeNull();
  });

  test('listWebhookEvents – events received at the same time are ordered by id', async (storage) => {
    const first = makeWebhookEvent({ receivedAt: fixtureTime(0) });
    const second = makeWebhookEvent({ receivedAt: fixtureTime(0) });
    const earlier = makeWebhookEvent({ receivedAt: fixtureTime(-1) });
    expect(second.id > first.id).toBe(true);
    for (const event of [second, first, earlier]) await storage.insertWebhookEvent(event);
    const page = await storage.listWebhookEvents({ limit: 10 });
    expect(page.data.map((event) => event.id)).toEqual([earlier.id, first.id, second.id]);
    const paged = await collectPages((cursor) => storage.listWebhookEvents({ limit: 1, cursor }));
    expect(paged.flat().map((event) => event.id)).toEqual([earlier.id, first.id, second.id]);
  });

  test('listWebhookEvents – filters by status, provider and updatedBefore (strictly before)', async (storage) => {
    const e1 = makeWebhookEvent({ receivedAt: fixtureTime(0), updatedAt: fixtureTime(0) });
    const e2 = makeWebhookEvent({ receivedAt: fixtureTime(1), updatedAt: fixtureTime(10), status: 'processed' });
    const e3 = makeWebhookEvent({ receivedAt: fixtureTime(2), updatedAt: fixtureTime(20), provider: 'other' });
    for (const event of [e1, e2, e3]) await storage.insertWebhookEvent(event);
    const ids = async (query: {
      status?: 'pending' | 'processed' | 'failed';
      provider?: string;
      updatedBefore?: Date;
    }) => (await storage.listWebhookEvents({ limit: 10, ...query })).data.map((event) => event.id);
    expect(await ids({ status: 'pending' })).toEqual([e1.id, e3.id]);
    expect(await ids({ status: 'processed' })).toEqual([e2.id]);
    expect(await ids({ status: 'failed' })).toEqual([]);
    expect(await ids({ provider: 'other' })).toEqual([e3.id]);
    expect(await ids({ updatedBefore: fixtureTime(10) })).toEqual([e1.id]);
    expect(await ids({ updatedBefore: fixtureTime(10.001) })).toEqual([e1.id, e2.id]);
    expect(await ids({ status: 'pending', updatedBefore: fixtureTime(30) })).toEqual([e1.id, e3.id]);
    expect(await ids({ status: 'pending', provider: 'fake', updatedBefore: fixtureTime(30) })).toEqual([e1.id]);
  });

  test('listWebhookEvents – lists the events of every tenant', async (storage) => {
    const single = makeWebhookEvent({ receivedAt: fixtureTime(0) });
    const ofTenant = makeWebhookEvent({ receivedAt: fixtureTime(1), tenantId: 'tenant-a' });
    await storage.insertWebhookEvent(single);
    await storage.insertWebhookEvent(ofTenant);
    const page = await storage.listWebhookEvents({ limit: 10 });
    expect(page.data.map((event) => event.id)).toEqual([single.id, ofTenant.id]);
  });

  test('listWebhookEvents – an empty result is { data: [], hasMore: false, nextCursor: null }', async (storage) => {
    expect(await storage.listWebhookEvents({ limit: 10 })).toEqual({ data: [], hasMore: false, nextCursor: null });
    await storage.insertWebhookEvent(makeWebhookEvent());
    expect(await storage.listWebhookEvents({ limit: 10, status: 'failed' })).toEqual({
      data: [],
      hasMore: false,
      nextCursor: null,
    });
  });

  test('countWebhookEvents – counts events per status, with zero for statuses that have none', async (storage) => {
    expect(await storage.countWebhookEvents()).toEqual({ pending: 0, processing: 0, processed: 0, failed: 0 });
    const events = Array.from({ length: 4 }, () => makeWebhookEvent());
    for (const event of events) await storage.insertWebhookEvent(event);
    const [claim, fail] = events;
    must(await storage.claimWebhookEvent(must(claim, 'an event').id, lease('worker-1', 0)), 'the claim');
    await storage.updateWebhookEvent(must(fail, 'an event').id, { status: 'failed', lastError: 'gave up' });
    await storage.insertWebhookEvent(makeWebhookEvent({ status: 'processed', tenantId: 'tenant-a' }));
    expect(await storage.countWebhookEvents()).toEqual({ pending: 2, processing: 1, processed: 1, failed: 1 });
  });
}
