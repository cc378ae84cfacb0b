import type { StorageSession, StoredIdempotencyKey } from '@payable/core';
import { expect } from 'vitest';
import { fixtureTime, makeIdempotencyKey } from './fixtures.js';
import { concurrently, type DefineTest, must } from './harness.js';

/**
 * Reads a key through the port (which has no getter): a probe insert returns the stored row when
 * there is one; when there is none the probe is deleted again and the answer is `null`.
 */
async function readKey(
  storage: StorageSession,
  tenantId: string | null,
  key: string,
): Promise<StoredIdempotencyKey | null> {
  const probe = makeIdempotencyKey({ tenantId, key, fingerprint: 'probe' });
  const { inserted, row } = await storage.insertIdempotencyKey(probe);
  if (!inserted) return row;
  await storage.deleteIdempotencyKey(tenantId, key);
  return null;
}

/** Registers the idempotency-key tests. */
export function idempotencyTests(test: DefineTest): void {
  test('insertIdempotencyKey – stores a new key and returns it with inserted true', async (storage) => {
    const row = makeIdempotencyKey({
      tenantId: 'tenant-a',
      lockedUntil: fixtureTime(60.5),
      createdAt: fixtureTime(0.25),
    });
    expect(await storage.insertIdempotencyKey(row)).toEqual({ inserted: true, row });
    const stored = must(await readKey(storage, 'tenant-a', row.key), 'the stored key');
    expect(stored).toEqual(row);
    expect(stored.lockedUntil).toBeInstanceOf(Date);
    expect(stored.createdAt).toBeInstanceOf(Date);
    expect(stored.expiresAt).toBeInstanceOf(Date);
    expect(stored.responseStatus).toBeNull();
    expect(stored.responseBody).toBeNull();
  });

  test('insertIdempotencyKey – a duplicate (tenantId, key) returns the stored row with inserted false', async (storage) => {
    const first = makeIdempotencyKey({ key: 'order-42' });
    await storage.insertIdempotencyKey(first);
    const second = makeIdempotencyKey({ key: 'order-42', fingerprint: 'f'.repeat(64), lockedUntil: fixtureTime(999) });
    const result = await storage.insertIdempotencyKey(second);
    expect(result.inserted).toBe(false);
    expect(result.row).toEqual(first);
  });

  test('insertIdempotencyKey – the same key under another tenant is a separate key', async (storage) => {
    const rows = [
      makeIdempotencyKey({ key: 'order-42', tenantId: null }),
      makeIdempotencyKey({ key: 'order-42', tenantId: 'null' }),
      makeIdempotencyKey({ key: 'order-42', tenantId: 'tenant-a' }),
      makeIdempotencyKey({ key: 'order-42', tenantId: 'tenant-b' }),
    ];
    for (const row of rows) expect((await storage.insertIdempotencyKey(row)).inserted).toBe(true);
    for (const row of rows) expect(await readKey(storage, row.tenantId, 'order-42')).toEqual(row);
  });

  test('insertIdempotencyKey – 50 concurrent inserts of one key store exactly one row', async (storage) => {
    const results = await concurrently(50, (i) =>
      storage.insertIdempotencyKey(makeIdempotencyKey({ key: 'order-hot', fingerprint: String(i).padStart(64, '0') })),
    );
    const winners = results.filter((result) => result.inserted);
    expect(winners).toHaveLength(1);
    const fingerprint = must(winners[0], 'the winning insert').row.fingerprint;
    for (const result of results) expect(result.row.fingerprint).toBe(fingerprint);
    expect((await readKey(storage, null, 'order-hot'))?.fingerprint).toBe(fingerprint);
  });

  test('insertIdempotencyKey – 50 concurrent inserts in a tenant store exactly one row', async (storage) => {
    const results = await concurrently(50, (i) =>
      storage.insertIdempotencyKey(
        makeIdempotencyKey({ key: 'order-hot', tenantId: 'tenant-a', fingerprint: String(i).padStart(64, '0') }),
      ),
    );
    expect(results.filter((result) => result.inserted)).toHaveLength(1);
  });

  test('updateIdempotencyKey – completes a key with its exact response and returns true', async (storage) => {
    const row = makeIdempotencyKey({ tenantId: 'tenant-a' });
    await storage.insertIdempotencyKey(row);
    const responseBody = '{"id":"pay_1","amount":1234,  "note":"ünïcödé ☕ 🚀","nested":{"a":[1,2]}}';
    const patch = { status: 'completed' as const, lockedUntil: null, responseStatus: 201, responseBody };
    expect(await storage.updateIdempotencyKey('tenant-a', row.key, patch)).toBe(true);
    const stored = must(await readKey(storage, 'tenant-a', row.key), 'the stored key');
    expect(stored).toEqual({ ...row, ...patch });
    expect(stored.responseBody).toBe(responseBody);
  });

  test('updateIdempotencyKey – returns false and changes nothing for an unknown key or another tenant', async (storage) => {
    const row = makeIdempotencyKey({ tenantId: 'tenant-a' });
    await storage.insertIdempotencyKey(row);
    expect(await storage.updateIdempotencyKey(null, row.key, { status: 'completed' })).toBe(false);
    expect(await storage.updateIdempotencyKey('tenant-b', row.key, { status: 'completed' })).toBe(false);
    expect(await storage.updateIdempotencyKey('tenant-a', 'no-such-key', { status: 'completed' })).toBe(false);
    expect(await readKey(storage, 'tenant-a', row.key)).toEqual(row);
    expect(await readKey(storage, null, row.key)).toBeNull();
  });

  test('updateIdempotencyKey – with expectLockedUntil, updates only when the stored lockedUntil still equals it', async (storage) => {
    const row = makeIdempotencyKey({ lockedUntil: fixtureTime(60.123) });
    await storage.insertIdempotencyKey(row);
    expect(
      await storage.updateIdempotencyKey(
        null,
        row.key,
        { lockedUntil: fixtureTime(200) },
        { expectLockedUntil: fixtureTime(60) },
      ),
    ).toBe(false);
    expect(await readKey(storage, null, row.key)).toEqual(row);
    expect(
      await storage.updateIdempotencyKey(
        null,
        row.key,
        { lockedUntil: fixtureTime(200), fingerprint: 'e'.repeat(64) },
        { expectLockedUntil: fixtureTime(60.123) },
      ),
    ).toBe(true);
    expect(await readKey(storage, null, row.key)).toEqual({
      ...row,
      lockedUntil: fixtureTime(200),
      fingerprint: 'e'.repeat(64),
    });
    expect(
      await storage.updateIdempotencyKey(
        null,
        row.key,
        { lockedUntil: fixtureTime(300) },
        { expectLockedUntil: fixtureTime(60.123) },
      ),
    ).toBe(false);
  });

  test('updateIdempotencyKey – expectLockedUntil null matches only a key whose lockedUntil is null', async (storage) => {
    const locked = makeIdempotencyKey({ lockedUntil: fixtureTime(60) });
    const unlocked = makeIdempotencyKey({
      lockedUntil: null,
      status: 'completed',
      responseStatus: 200,
      responseBody: '{}',
    });
    await storage.insertIdempotencyKey(locked);
    await storage.insertIdempotencyKey(unlocked);
    expect(
      await storage.updateIdempotencyKey(null, locked.key, { status: 'completed' }, { expectLockedUntil: null }),
    ).toBe(false);
    expect(
      await storage.updateIdempotencyKey(
        null,
        unlocked.key,
        { lockedUntil: fixtureTime(5) },
        { expectLockedUntil: fixtureTime(60) },
      ),
    ).toBe(false);
    expect(
      await storage.updateIdempotencyKey(
        null,
        unlocked.key,
        { lockedUntil: fixtureTime(5) },
        { expectLockedUntil: null },
      ),
    ).toBe(true);
    expect((await readKey(storage, null, locked.key))?.status).toBe('in_progress');
    expect((await readKey(storage, null, unlocked.key))?.lockedUntil).toEqual(fixtureTime(5));
  });

  test('updateIdempotencyKey – of 10 concurrent takeovers of one expired lock exactly one succeeds', async (storage) => {
    const row = makeIdempotencyKey({ lockedUntil: fixtureTime(60) });
    await storage.insertIdempotencyKey(row);
    const results = await concurrently(10, (i) =>
      storage.updateIdempotencyKey(
        null,
        row.key,
        { lockedUntil: fixtureTime(1000 + i) },
        { expectLockedUntil: fixtureTime(60) },
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    expect((await readKey(storage, null, row.key))?.lockedUntil).toEqual(fixtureTime(1000 + winner));
  });

  test('deleteIdempotencyKey – removes the key of that tenant only', async (storage) => {
    const single = makeIdempotencyKey({ key: 'order-42' });
    const ofTenant = makeIdempotencyKey({ key: 'order-42', tenantId: 'tenant-a' });
    await storage.insertIdempotencyKey(single);
    await storage.insertIdempotencyKey(ofTenant);
    await storage.deleteIdempotencyKey(null, 'order-42');
    expect(await readKey(storage, 'tenant-a', 'order-42')).toEqual(ofTenant);
    const again = makeIdempotencyKey({ key: 'order-42', fingerprint: '1'.repeat(64) });
    expect(await storage.insertIdempotencyKey(again)).toEqual({ inserted: true, row: again });
    await storage.deleteIdempotencyKey('tenant-b', 'no-such-key');
  });

  test('purgeIdempotencyKeys – deletes keys expiring at or before the time and returns how many', async (storage) => {
    const expired = makeIdempotencyKey({ expiresAt: fixtureTime(-10) });
    const boundary = makeIdempotencyKey({ expiresAt: fixtureTime(0) });
    const ofTenant = makeIdempotencyKey({ expiresAt: fixtureTime(-5), tenantId: 'tenant-a' });
    const alive = makeIdempotencyKey({ expiresAt: fixtureTime(0.001) });
    for (const row of [expired, boundary, ofTenant, alive]) await storage.insertIdempotencyKey(row);
    expect(await storage.purgeIdempotencyKeys(fixtureTime(0))).toBe(3);
    expect(await readKey(storage, null, expired.key)).toBeNull();
    expect(await readKey(storage, null, boundary.key)).toBeNull();
    expect(await readKey(storage, 'tenant-a', ofTenant.key)).toBeNull();
    expect(await readKey(storage, null, alive.key)).toEqual(alive);
    expect(await storage.purgeIdempotencyKeys(fixtureTime(0))).toBe(0);
  });
}
