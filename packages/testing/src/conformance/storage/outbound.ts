import { newId, type StorageSession, type StoredDelivery } from '@payable/core';
import { expect } from 'vitest';
import { fixtureTime, makeDelivery, makeDeliveryAttempt, makeEndpoint } from './fixtures.js';
import { collectPages, concurrently, type DefineTest, must } from './harness.js';

/** A lease for `owner` judged at `at` seconds, lasting `seconds`. */
function lease(owner: string, at: number, seconds = 30): { owner: string; now: Date; until: Date } {
  return { owner, now: fixtureTime(at), until: fixtureTime(at + seconds) };
}

function ids(rows: readonly { id: string }[]): string[] {
  return rows.map((row) => row.id);
}

function sortedIds(rows: readonly { id: string }[]): string[] {
  return ids(rows).sort();
}

/** The claim order of deliveries: earliest `nextAttemptAt` first, then id. */
function byDue(a: StoredDelivery, b: StoredDelivery): number {
  return a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** What a claim by `lease` makes of `delivery`. */
function claimedBy(delivery: StoredDelivery, at: ReturnType<typeof lease>): StoredDelivery {
  return {
    ...delivery,
    status: 'processing',
    lockedBy: at.owner,
    lockedUntil: at.until,
    updatedAt: at.now,
  };
}

/**
 * Registers `title` twice: once on the driver, once on `tx` inside a transaction that commits
 * (`fn` must use only the session it is given).
 */
function bothWays(test: DefineTest, title: string, fn: (session: StorageSession) => Promise<void>): void {
  test(title, (storage) => fn(storage));
  test(`${title} (in a transaction)`, (storage) => storage.transaction((tx) => fn(tx)));
}

/** Registers the outbound webhook tests: endpoints, deliveries (fan-out dedupe, claims) and the attempt log. */
export function outboundTests(test: DefineTest): void {
  // Endpoints ---------------------------------------------------------------------------------

  bothWays(
    test,
    'insertEndpoint – stores every field and getEndpoint returns it, Dates as Date objects',
    async (storage) => {
      const plain = makeEndpoint();
      const full = makeEndpoint({
        tenantId: 'tenant-a',
        url: 'https://merchant.example.com/hooks/payable?token=ünïcödé&x=1',
        events: ['payment.succeeded', 'refund.*', '*'],
        scheme: 'payable-v1',
        description: 'Order service ☕',
        secret: 'v1.key-1.ciphertext-of-the-secret',
        previousSecret: 'v1.key-1.ciphertext-of-the-old-secret',
        previousSecretExpiresAt: fixtureTime(86_400.123),
        status: 'disabled',
        disabledReason: 'gone',
        createdAt: fixtureTime(0.001),
        updatedAt: fixtureTime(12.345),
      });
      await storage.insertEndpoint(plain);
      await storage.insertEndpoint(full);
      const storedPlain = must(await storage.getEndpoint(plain.id), 'the plain endpoint');
      expect(storedPlain).toEqual(plain);
      expect(storedPlain.tenantId).toBeNull();
      expect(storedPlain.description).toBeNull();
      expect(storedPlain.previousSecret).toBeNull();
      expect(storedPlain.previousSecretExpiresAt).toBeNull();
      expect(storedPlain.disabledReason).toBeNull();
      expect(storedPlain.createdAt).toBeInstanceOf(Date);
      const storedFull = must(await storage.getEndpoint(full.id), 'the full endpoint');
      expect(storedFull).toEqual(full);
      expect(storedFull.previousSecretExpiresAt).toBeInstanceOf(Date);
      expect(await storage.getEndpoint(newId('ep'))).toBeNull();
    },
  );

  test('insertEndpoint – an id that already exists is INTERNAL_ERROR and the stored endpoint is unchanged', async (storage) => {
    const endpoint = makeEndpoint();
    await storage.insertEndpoint(endpoint);
    await expect(
      storage.insertEndpoint(makeEndpoint({ id: endpoint.id, url: 'https://other.example.com/' })),
    ).rejects.toMatchObject({ code: 'INTERNAL_ERROR' });
    expect(await storage.getEndpoint(endpoint.id)).toEqual(endpoint);
  });

  bothWays(
    test,
    'listEndpoints – oldest first by id, paginated with nextCursor until hasMore is false',
    async (storage) => {
      const endpoints = Array.from({ length: 5 }, () => makeEndpoint());
      for (const index of [3, 0, 4, 2, 1]) await storage.insertEndpoint(must(endpoints[index], 'an endpoint'));
      const pages = await collectPages((cursor) => storage.listEndpoints({ limit: 2, cursor }));
      expect(pages.map(ids)).toEqual([ids(endpoints.slice(0, 2)), ids(endpoints.slice(2, 4)), ids(endpoints.slice(4))]);
      expect(pages.flat()).toEqual(endpoints);
      const whole = await storage.listEndpoints({ limit: 5 });
      expect(whole).toEqual({ data: endpoints, hasMore: false, nextCursor: null });
      expect(await storage.listEndpoints({ limit: 5, status: 'disabled' })).toEqual({
        data: [],
        hasMore: false,
        nextCursor: null,
      });
    },
  );

  bothWays(
    test,
    'listEndpoints – tenantId absent lists every tenant, null only endpoints without one, a string only that tenant',
    async (storage) => {
      const none = makeEndpoint({ tenantId: null });
      const a1 = makeEndpoint({ tenantId: 'tenant-a' });
      const quoted = makeEndpoint({ tenantId: 'null' });
      const b1 = makeEndpoint({ tenantId: 'tenant-b' });
      const a2 = makeEndpoint({ tenantId: 'tenant-a' });
      for (const endpoint of [a2, b1, quoted, a1, none]) await storage.insertEndpoint(endpoint);
      expect(ids((await storage.listEndpoints({ limit: 10 })).data)).toEqual(ids([none, a1, quoted, b1, a2]));
      expect(ids((await storage.listEndpoints({ tenantId: null, limit: 10 })).data)).toEqual([none.id]);
      expect(ids((await storage.listEndpoints({ tenantId: 'tenant-a', limit: 10 })).data)).toEqual(ids([a1, a2]));
      expect(ids((await storage.listEndpoints({ tenantId: 'null', limit: 10 })).data)).toEqual([quoted.id]);
      expect((await storage.listEndpoints({ tenantId: 'tenant-c', limit: 10 })).data).toEqual([]);
      const paged = await collectPages((cursor) => storage.listEndpoints({ tenantId: 'tenant-a', limit: 1, cursor }));
      expect(paged.map(ids)).toEqual([[a1.id], [a2.id]]);
    },
  );

  bothWays(test, 'listEndpoints – filters by status, also within a tenant', async (storage) => {
    const on = makeEndpoint({ tenantId: 'tenant-a' });
    const off = makeEndpoint({ tenantId: 'tenant-a', status: 'disabled', disabledReason: 'manual' });
    const otherOff = makeEndpoint({ tenantId: 'tenant-b', status: 'disabled', disabledReason: 'gone' });
    const tenantless = makeEndpoint();
    for (const endpoint of [on, off, otherOff, tenantless]) await storage.insertEndpoint(endpoint);
    expect(ids((await storage.listEndpoints({ status: 'enabled', limit: 10 })).data)).toEqual(ids([on, tenantless]));
    expect(ids((await storage.listEndpoints({ status: 'disabled', limit: 10 })).data)).toEqual(ids([off, otherOff]));
    expect(ids((await storage.listEndpoints({ tenantId: 'tenant-a', status: 'disabled', limit: 10 })).data)).toEqual([
      off.id,
    ]);
    expect((await storage.listEndpoints({ tenantId: null, status: 'disabled', limit: 10 })).data).toEqual([]);
  });

  bothWays(test, 'updateEndpoint – applies the patch, leaves other fields alone and returns true', async (storage) => {
    const endpoint = makeEndpoint({ tenantId: 'tenant-a', description: 'orders' });
    const other = makeEndpoint();
    await storage.insertEndpoint(endpoint);
    await storage.insertEndpoint(other);
    const rotated = {
      events: ['refund.succeeded', 'payment.*'],
      secret: 'whsec_new',
      previousSecret: endpoint.secret,
      previousSecretExpiresAt: fixtureTime(86_400),
      updatedAt: fixtureTime(10),
    };
    expect(await storage.updateEndpoint(endpoint.id, rotated)).toBe(true);
    const stored = must(await storage.getEndpoint(endpoint.id), 'the endpoint');
    expect(stored).toEqual({ ...endpoint, ...rotated });
    expect(stored.previousSecretExpiresAt).toBeInstanceOf(Date);
    const disabled = {
      status: 'disabled' as const,
      disabledReason: 'gone',
      previousSecret: null,
      previousSecretExpiresAt: null,
      description: null,
      url: 'https://moved.example.com/hooks',
      scheme: 'payable-v1' as const,
      updatedAt: fixtureTime(20),
    };
    expect(await storage.updateEndpoint(endpoint.id, disabled)).toBe(true);
    expect(await storage.getEndpoint(endpoint.id)).toEqual({ ...endpoint, ...rotated, ...disabled });
    expect(await storage.updateEndpoint(endpoint.id, {})).toBe(true);
    expect(await storage.getEndpoint(other.id)).toEqual(other);
  });

  bothWays(test, 'updateEndpoint – returns false for an unknown id and creates nothing', async (storage) => {
    const id = newId('ep');
    expect(await storage.updateEndpoint(id, { status: 'disabled', disabledReason: 'manual' })).toBe(false);
    expect(await storage.updateEndpoint(id, {})).toBe(false);
    expect(await storage.getEndpoint(id)).toBeNull();
    expect((await storage.listEndpoints({ limit: 10 })).data).toEqual([]);
  });

  // Deliveries: fan-out -----------------------------------------------------------------------

  bothWays(test, 'insertDeliveries – stores every field and returns how many were inserted', async (storage) => {
    const endpoint = makeEndpoint();
    const plain = makeDelivery({ endpointId: endpoint.id });
    const full = makeDelivery({
      tenantId: 'tenant-a',
      endpointId: endpoint.id,
      eventType: 'refund.succeeded',
      payload: JSON.stringify({ note: 'ünïcödé ☕ 🚀 "quotes" \\ backslash', amount: 2_100_000_000_000_000 }),
      status: 'delivered',
      attempts: 3,
      nextAttemptAt: fixtureTime(30.5),
      lockedBy: 'relay-1',
      lockedUntil: fixtureTime(60.25),
      lastStatus: 204,
      lastError: 'HTTP 503 from receiver',
      createdAt: fixtureTime(0.001),
      updatedAt: fixtureTime(31.999),
      deliveredAt: fixtureTime(31.998),
    });
    expect(await storage.insertDeliveries([])).toBe(0);
    expect(await storage.insertDeliveries([plain, full])).toBe(2);
    const storedPlain = must(await storage.getDelivery(plain.id), 'the plain delivery');
    expect(storedPlain).toEqual(plain);
    expect(storedPlain.nextAttemptAt).toBeInstanceOf(Date);
    expect(storedPlain.lockedBy).toBeNull();
    expect(storedPlain.lockedUntil).toBeNull();
    expect(storedPlain.lastStatus).toBeNull();
    expect(storedPlain.lastError).toBeNull();
    expect(storedPlain.deliveredAt).toBeNull();
    expect(storedPlain.tenantId).toBeNull();
    const storedFull = must(await storage.getDelivery(full.id), 'the full delivery');
    expect(storedFull).toEqual(full);
    expect(storedFull.deliveredAt).toBeInstanceOf(Date);
    expect(await storage.getDelivery(newId('dlv'))).toBeNull();
  });

  bothWays(
    test,
    'insertDeliveries – the same (endpointId, eventId) again inserts nothing and keeps the stored delivery',
    async (storage) => {
      const endpoint = makeEndpoint();
      const first = makeDelivery({ endpointId: endpoint.id });
      expect(await storage.insertDeliveries([first])).toBe(1);
      const again = makeDelivery({ endpointId: endpoint.id, eventId: first.eventId, payload: '{"again":true}' });
      expect(await storage.insertDeliveries([again])).toBe(0);
      expect(await storage.getDelivery(again.id)).toBeNull();
      expect(await storage.getDelivery(first.id)).toEqual(first);
      // The same event to another endpoint, and a new event to this one, are new deliveries.
      const otherEndpoint = makeDelivery({ endpointId: newId('ep'), eventId: first.eventId });
      const newEvent = makeDelivery({ endpointId: endpoint.id });
      const mixed = [makeDelivery({ endpointId: endpoint.id, eventId: first.eventId }), otherEndpoint, newEvent];
      expect(await storage.insertDeliveries(mixed)).toBe(2);
      expect(await storage.getDelivery(otherEndpoint.id)).toEqual(otherEndpoint);
      expect(await storage.getDelivery(newEvent.id)).toEqual(newEvent);
      expect(sortedIds((await storage.listDeliveries({ endpointId: endpoint.id, limit: 10 })).data)).toEqual(
        sortedIds([first, newEvent]),
      );
    },
  );

  bothWays(
    test,
    'insertDeliveries – duplicates within one batch are inserted once, the first kept',
    async (storage) => {
      const endpointId = newId('ep');
      const first = makeDelivery({ endpointId });
      const repeat = makeDelivery({ endpointId, eventId: first.eventId, payload: '{"repeat":true}' });
      const other = makeDelivery({ endpointId });
      expect(await storage.insertDeliveries([first, repeat, other, repeat])).toBe(2);
      expect(await storage.getDelivery(first.id)).toEqual(first);
      expect(await storage.getDelivery(repeat.id)).toBeNull();
      expect(await storage.getDelivery(other.id)).toEqual(other);
    },
  );

  test('insertDeliveries – concurrent overlapping batches insert each (endpointId, eventId) exactly once', async (storage) => {
    const endpointIds = [newId('ep'), newId('ep')];
    const keys = Array.from({ length: 15 }, (_, i) => ({
      endpointId: must(endpointIds[i % 2], 'an endpoint id'),
      eventId: newId('evt'),
    }));
    // Four relays fan out overlapping windows of the same events (each with its own row ids), in
    // opposite orders.
    const counts = await concurrently(4, (i) => {
      const window = keys.slice(i * 3, i * 3 + 6).map((key) => makeDelivery(key));
      return storage.insertDeliveries(i % 2 === 0 ? window : window.reverse());
    });
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(keys.length);
    // And the same batch from four relays at once.
    const same = Array.from({ length: 8 }, () => ({
      endpointId: must(endpointIds[0], 'an endpoint id'),
      eventId: newId('evt'),
    }));
    const sameCounts = await concurrently(4, () => storage.insertDeliveries(same.map((key) => makeDelivery(key))));
    expect(sameCounts.reduce((sum, count) => sum + count, 0)).toBe(same.length);
    const stored: StoredDelivery[] = [];
    for (const endpointId of endpointIds) {
      const pages = await collectPages((cursor) => storage.listDeliveries({ endpointId, limit: 7, cursor }));
      stored.push(...pages.flat());
    }
    expect(stored).toHaveLength(keys.length + same.length);
    const storedKeys = stored.map((delivery) => `${delivery.endpointId}/${delivery.eventId}`).sort();
    const expectedKeys = [...keys, ...same].map((key) => `${key.endpointId}/${key.eventId}`).sort();
    expect(storedKeys).toEqual(expectedKeys);
  });

  test('insertDeliveries – a new (endpointId, eventId) under an id that exists is INTERNAL_ERROR and stores nothing of the batch', async (storage) => {
    const stored = makeDelivery();
    await storage.insertDeliveries([stored]);
    const fresh = makeDelivery();
    const clash = makeDelivery({ id: stored.id });
    await expect(storage.insertDeliveries([fresh, clash])).rejects.toMatchObject({ code: 'INTERNAL_ERROR' });
    expect(await storage.getDelivery(fresh.id)).toBeNull();
    expect(await storage.getDelivery(stored.id)).toEqual(stored);
    expect(await storage.insertDeliveries([fresh])).toBe(1);
  });

  // Deliveries: claims ------------------------------------------------------------------------

  bothWays(
    test,
    'claimDeliveries – claims due pending deliveries: processing, lockedBy, lockedUntil, updatedAt set, attempts unchanged',
    async (storage) => {
      const delivery = makeDelivery({ attempts: 2, nextAttemptAt: fixtureTime(-5), lastStatus: 500 });
      await storage.insertDeliveries([delivery]);
      const at = lease('relay-1', 0, 30);
      const claimed = await storage.claimDeliveries(at, 10);
      expect(claimed).toEqual([claimedBy(delivery, at)]);
      expect(claimed[0]?.lockedUntil).toBeInstanceOf(Date);
      expect(await storage.getDelivery(delivery.id)).toEqual(claimedBy(delivery, at));
      expect(await storage.claimDeliveries(lease('relay-2', 1), 10)).toEqual([]);
    },
  );

  bothWays(
    test,
    'claimDeliveries – skips deliveries not yet due, delivered or failed; one becomes claimable at its nextAttemptAt',
    async (storage) => {
      const later = makeDelivery({ nextAttemptAt: fixtureTime(60) });
      const delivered = makeDelivery({
        status: 'delivered',
        deliveredAt: fixtureTime(-1),
        nextAttemptAt: fixtureTime(-2),
      });
      const failed = makeDelivery({
        status: 'failed',
        attempts: 10,
        nextAttemptAt: fixtureTime(-2),
        lastError: 'gave up',
      });
      await storage.insertDeliveries([later, delivered, failed]);
      expect(await storage.claimDeliveries(lease('relay-1', 0), 10)).toEqual([]);
      expect(await storage.claimDeliveries(lease('relay-1', 59.999), 10)).toEqual([]);
      const at = lease('relay-1', 60);
      expect(await storage.claimDeliveries(at, 10)).toEqual([claimedBy(later, at)]);
      expect(await storage.getDelivery(delivered.id)).toEqual(delivered);
      expect(await storage.getDelivery(failed.id)).toEqual(failed);
    },
  );

  bothWays(
    test,
    'claimDeliveries – claims the earliest nextAttemptAt first, then by id, and at most limit',
    async (storage) => {
      const offsets = [3, 1, 2, 1, 0, -10];
      const deliveries = offsets.map((offset) => makeDelivery({ nextAttemptAt: fixtureTime(offset) }));
      await storage.insertDeliveries([...deliveries].reverse());
      const order = [...deliveries].sort(byDue);
      expect(await storage.claimDeliveries(lease('relay-1', 5), 0)).toEqual([]);
      const first = await storage.claimDeliveries(lease('relay-1', 5), 4);
      expect(ids(first)).toEqual(ids(order.slice(0, 4)));
      const rest = await storage.claimDeliveries(lease('relay-2', 5), 10);
      expect(ids(rest)).toEqual(ids(order.slice(4)));
    },
  );

  bothWays(
    test,
    'claimDeliveries – a delivery under an unexpired lease is skipped; after expiry another owner reclaims it',
    async (storage) => {
      const delivery = makeDelivery();
      await storage.insertDeliveries([delivery]);
      expect(ids(await storage.claimDeliveries(lease('relay-1', 0, 30), 10))).toEqual([delivery.id]);
      expect(await storage.claimDeliveries(lease('relay-2', 10), 10)).toEqual([]);
      expect(await storage.claimDeliveries(lease('relay-2', 29.999), 10)).toEqual([]);
      const at = lease('relay-2', 30, 30);
      const reclaimed = await storage.claimDeliveries(at, 10);
      expect(reclaimed).toEqual([claimedBy(delivery, at)]);
      // The first owner lost it: its late result changes nothing.
      expect(
        await storage.updateDelivery(
          delivery.id,
          { status: 'delivered', deliveredAt: fixtureTime(31) },
          { owner: 'relay-1' },
        ),
      ).toBe(false);
      expect(await storage.getDelivery(delivery.id)).toEqual(claimedBy(delivery, at));
    },
  );

  test('claimDeliveries – concurrent claimers never receive the same delivery', async (storage) => {
    const endpointIds = [newId('ep'), newId('ep'), newId('ep')];
    const deliveries = Array.from({ length: 24 }, (_, i) =>
      makeDelivery({ endpointId: must(endpointIds[i % 3], 'an endpoint id'), nextAttemptAt: fixtureTime(-(i % 5)) }),
    );
    await storage.insertDeliveries(deliveries);
    const batches = await concurrently(6, (i) => storage.claimDeliveries(lease(`relay-${i}`, 0), 5));
    const claimed = batches.flat();
    expect(claimed.length).toBeGreaterThan(0);
    expect(new Set(ids(claimed)).size).toBe(claimed.length);
    for (const [i, batch] of batches.entries()) {
      expect(batch.length).toBeLessThanOrEqual(5);
      for (const delivery of batch) {
        expect(delivery.lockedBy).toBe(`relay-${i}`);
        expect((await storage.getDelivery(delivery.id))?.lockedBy).toBe(`relay-${i}`);
      }
    }
    // Nothing was lost either: a later claimer gets exactly the rest.
    const rest = await storage.claimDeliveries(lease('relay-late', 1), 100);
    expect(sortedIds([...claimed, ...rest])).toEqual(sortedIds(deliveries));
  });

  // Deliveries: updates and lists -------------------------------------------------------------

  bothWays(test, 'updateDelivery – applies the patch, leaves other fields alone and returns true', async (storage) => {
    const delivery = makeDelivery();
    const other = makeDelivery({ endpointId: delivery.endpointId });
    await storage.insertDeliveries([delivery, other]);
    const retry = {
      status: 'pending' as const,
      attempts: 1,
      nextAttemptAt: fixtureTime(5.5),
      lockedBy: null,
      lockedUntil: null,
      lastStatus: 503,
      lastError: 'Service Unavailable',
      updatedAt: fixtureTime(0.5),
    };
    expect(await storage.updateDelivery(delivery.id, retry)).toBe(true);
    expect(await storage.getDelivery(delivery.id)).toEqual({ ...delivery, ...retry });
    const done = { status: 'delivered' as const, lastStatus: null, lastError: null, deliveredAt: fixtureTime(6) };
    expect(await storage.updateDelivery(delivery.id, done)).toBe(true);
    const stored = must(await storage.getDelivery(delivery.id), 'the delivery');
    expect(stored).toEqual({ ...delivery, ...retry, ...done });
    expect(stored.deliveredAt).toBeInstanceOf(Date);
    expect(await storage.updateDelivery(delivery.id, {})).toBe(true);
    expect(await storage.getDelivery(other.id)).toEqual(other);
  });

  bothWays(
    test,
    'updateDelivery – with owner, changes the delivery only while that owner holds it',
    async (storage) => {
      const delivery = makeDelivery();
      await storage.insertDeliveries([delivery]);
      const at = lease('relay-1', 0);
      await storage.claimDeliveries(at, 10);
      const done = { status: 'delivered' as const, attempts: 1, lastStatus: 200, deliveredAt: fixtureTime(1) };
      expect(await storage.updateDelivery(delivery.id, done, { owner: 'relay-2' })).toBe(false);
      expect(await storage.getDelivery(delivery.id)).toEqual(claimedBy(delivery, at));
      expect(await storage.updateDelivery(delivery.id, done, { owner: 'relay-1' })).toBe(true);
      expect(await storage.getDelivery(delivery.id)).toEqual({ ...claimedBy(delivery, at), ...done });
      // A delivery nobody holds refuses every owner.
      const idle = makeDelivery({ nextAttemptAt: fixtureTime(600) });
      await storage.insertDeliveries([idle]);
      expect(await storage.updateDelivery(idle.id, done, { owner: 'relay-1' })).toBe(false);
      expect(await storage.getDelivery(idle.id)).toEqual(idle);
    },
  );

  bothWays(test, 'updateDelivery – returns false for an unknown id', async (storage) => {
    const id = newId('dlv');
    expect(await storage.updateDelivery(id, { status: 'delivered' })).toBe(false);
    expect(await storage.updateDelivery(id, {})).toBe(false);
    expect(await storage.getDelivery(id)).toBeNull();
  });

  bothWays(test, "listDeliveries – one endpoint's deliveries, newest first by id, paginated", async (storage) => {
    const endpointId = newId('ep');
    const mine = Array.from({ length: 5 }, () => makeDelivery({ endpointId }));
    const others = [makeDelivery(), makeDelivery()];
    await storage.insertDeliveries(
      [mine[2], others[0], mine[4], mine[0], others[1], mine[3], mine[1]].map((d) => must(d, 'a delivery')),
    );
    const newestFirst = [...mine].reverse();
    const pages = await collectPages((cursor) => storage.listDeliveries({ endpointId, limit: 2, cursor }));
    expect(pages.map(ids)).toEqual([
      ids(newestFirst.slice(0, 2)),
      ids(newestFirst.slice(2, 4)),
      ids(newestFirst.slice(4)),
    ]);
    expect(pages.flat()).toEqual(newestFirst);
    expect(await storage.listDeliveries({ endpointId, limit: 5 })).toEqual({
      data: newestFirst,
      hasMore: false,
      nextCursor: null,
    });
    expect(await storage.listDeliveries({ endpointId: newId('ep'), limit: 5 })).toEqual({
      data: [],
      hasMore: false,
      nextCursor: null,
    });
  });

  bothWays(test, 'listDeliveries – filters by status and pages through the filtered list', async (storage) => {
    const endpointId = newId('ep');
    const statuses = ['failed', 'delivered', 'failed', 'pending', 'failed', 'processing'] as const;
    const deliveries = statuses.map((status) => makeDelivery({ endpointId, status }));
    await storage.insertDeliveries(deliveries);
    const failed = deliveries.filter((delivery) => delivery.status === 'failed').reverse();
    const pages = await collectPages((cursor) =>
      storage.listDeliveries({ endpointId, status: 'failed', limit: 1, cursor }),
    );
    expect(pages.map(ids)).toEqual(failed.map((delivery) => [delivery.id]));
    expect((await storage.listDeliveries({ endpointId, status: 'delivered', limit: 10 })).data).toEqual(
      deliveries.filter((delivery) => delivery.status === 'delivered'),
    );
    expect(ids((await storage.listDeliveries({ endpointId, status: 'pending', limit: 10 })).data)).toEqual([
      must(deliveries[3], 'the pending delivery').id,
    ]);
  });

  test('listEndpoints – a cursor the store did not issue is VALIDATION_ERROR (listDeliveries too)', async (storage) => {
    await storage.insertEndpoint(makeEndpoint());
    await expect(storage.listEndpoints({ limit: 10, cursor: 'not-a-cursor' })).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
    });
    await expect(
      storage.listDeliveries({ endpointId: newId('ep'), limit: 10, cursor: 'not-a-cursor' }),
    ).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
  });

  // The attempt log ---------------------------------------------------------------------------

  bothWays(
    test,
    "appendDeliveryAttempt – a delivery's attempts are listed oldest first with every field",
    async (storage) => {
      const delivery = makeDelivery();
      await storage.insertDeliveries([delivery]);
      const at = { deliveryId: delivery.id, endpointId: delivery.endpointId };
      const first = makeDeliveryAttempt({ ...at, attempt: 1, startedAt: fixtureTime(0.001) });
      const second = makeDeliveryAttempt({
        ...at,
        attempt: 2,
        startedAt: fixtureTime(5.5),
        durationMs: 15_000,
        responseStatus: null,
        responseBody: null,
        error: 'timeout after 15000 ms ☕',
        nextAttemptAt: fixtureTime(305.5),
      });
      const third = makeDeliveryAttempt({
        ...at,
        attempt: 3,
        startedAt: fixtureTime(306),
        durationMs: 0,
        responseStatus: 204,
        responseBody: '',
        error: null,
        nextAttemptAt: null,
      });
      const elsewhere = makeDeliveryAttempt();
      for (const attempt of [second, elsewhere, third, first]) await storage.appendDeliveryAttempt(attempt);
      const log = await storage.listDeliveryAttempts(delivery.id);
      expect(log).toEqual([first, second, third]);
      expect(log[0]?.startedAt).toBeInstanceOf(Date);
      expect(log[1]?.nextAttemptAt).toBeInstanceOf(Date);
      expect(log[2]?.nextAttemptAt).toBeNull();
      expect(await storage.listDeliveryAttempts(elsewhere.deliveryId)).toEqual([elsewhere]);
      expect(await storage.listDeliveryAttempts(newId('dlv'))).toEqual([]);
    },
  );

  test('appendDeliveryAttempt – a fractional durationMs is VALIDATION_ERROR and nothing is stored', async (storage) => {
    const attempt = makeDeliveryAttempt({ durationMs: 12.5 });
    await expect(storage.appendDeliveryAttempt(attempt)).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    expect(await storage.listDeliveryAttempts(attempt.deliveryId)).toEqual([]);
  });

  // Transactions ------------------------------------------------------------------------------

  test('transaction – endpoint, deliveries, claims, updates and attempts written through tx commit together', async (storage) => {
    const endpoint = makeEndpoint();
    const delivery = makeDelivery({ endpointId: endpoint.id });
    const at = lease('relay-1', 0);
    const attempt = makeDeliveryAttempt({ deliveryId: delivery.id, endpointId: endpoint.id });
    const done = { status: 'delivered' as const, attempts: 1, lastStatus: 200, deliveredAt: fixtureTime(1) };
    await storage.transaction(async (tx) => {
      await tx.insertEndpoint(endpoint);
      expect(await tx.insertDeliveries([delivery])).toBe(1);
      expect(ids(await tx.claimDeliveries(at, 10))).toEqual([delivery.id]);
      await tx.appendDeliveryAttempt(attempt);
      expect(await tx.updateDelivery(delivery.id, done, { owner: 'relay-1' })).toBe(true);
      expect(await tx.updateEndpoint(endpoint.id, { description: 'committed' })).toBe(true);
    });
    expect(await storage.getEndpoint(endpoint.id)).toEqual({ ...endpoint, description: 'committed' });
    expect(await storage.getDelivery(delivery.id)).toEqual({ ...claimedBy(delivery, at), ...done });
    expect(await storage.listDeliveryAttempts(delivery.id)).toEqual([attempt]);
  });

  test('transaction – a rollback leaves no endpoint, delivery, claim, update or attempt behind', async (storage) => {
    const kept = makeEndpoint();
    const keptDelivery = makeDelivery({ endpointId: kept.id });
    await storage.insertEndpoint(kept);
    await storage.insertDeliveries([keptDelivery]);
    const added = makeEndpoint();
    const addedDelivery = makeDelivery({ endpointId: added.id });
    const attempt = makeDeliveryAttempt({ deliveryId: keptDelivery.id, endpointId: kept.id });
    const boom = new Error('boom');
    await expect(
      storage.transaction(async (tx) => {
        await tx.insertEndpoint(added);
        expect(await tx.updateEndpoint(kept.id, { status: 'disabled', disabledReason: 'manual' })).toBe(true);
        expect(await tx.insertDeliveries([addedDelivery])).toBe(1);
        expect(sortedIds(await tx.claimDeliveries(lease('relay-1', 0), 10))).toEqual(
          sortedIds([keptDelivery, addedDelivery]),
        );
        expect(await tx.updateDelivery(keptDelivery.id, { status: 'delivered' }, { owner: 'relay-1' })).toBe(true);
        await tx.appendDeliveryAttempt(attempt);
        expect(await tx.listDeliveryAttempts(keptDelivery.id)).toEqual([attempt]);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await storage.getEndpoint(added.id)).toBeNull();
    expect(await storage.getEndpoint(kept.id)).toEqual(kept);
    expect(ids((await storage.listEndpoints({ limit: 10 })).data)).toEqual([kept.id]);
    expect(await storage.getDelivery(addedDelivery.id)).toBeNull();
    expect(await storage.getDelivery(keptDelivery.id)).toEqual(keptDelivery);
    expect(await storage.listDeliveryAttempts(keptDelivery.id)).toEqual([]);
    // The unique key was released and the claim undone.
    expect(await storage.insertDeliveries([addedDelivery])).toBe(1);
    const at = lease('relay-2', 1);
    expect(sortedIds(await storage.claimDeliveries(at, 10))).toEqual(sortedIds([keptDelivery, addedDelivery]));
  });
}
