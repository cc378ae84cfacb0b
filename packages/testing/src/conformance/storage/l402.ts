import { createHash, randomBytes } from 'node:crypto';
import type { StoredL402RootKey, StoredL402SpentToken } from '@payable/core';
import { expect } from 'vitest';
import { fixtureTime } from './fixtures.js';
import { concurrently, type DefineTest } from './harness.js';

function hex64(seed?: string): string {
  return createHash('sha256')
    .update(seed ?? randomBytes(16))
    .digest('hex');
}

function rootKey(overrides: Partial<StoredL402RootKey> = {}): StoredL402RootKey {
  return {
    id: hex64(),
    tenantId: null,
    rootKey: randomBytes(32).toString('hex'),
    createdAt: fixtureTime(0.123),
    expiresAt: fixtureTime(3600.456),
    ...overrides,
  };
}

function spent(overrides: Partial<StoredL402SpentToken> = {}): StoredL402SpentToken {
  return { tenantId: null, paymentHash: hex64(), spentAt: fixtureTime(1.5), ...overrides };
}

/** Registers the L402 tests (token root keys, spent payment hashes of single-use tokens). */
export function l402Tests(test: DefineTest): void {
  test('putL402RootKey – stores the key and getL402RootKey returns it exactly', async (storage) => {
    const key = rootKey({ tenantId: 'merchant-a' });
    expect(await storage.putL402RootKey(key)).toEqual({ inserted: true });
    const stored = await storage.getL402RootKey(key.id);
    expect(stored).toEqual(key);
    expect(stored?.createdAt).toBeInstanceOf(Date);
    expect(stored?.expiresAt).toBeInstanceOf(Date);
  });

  test('putL402RootKey – a key without expiry and a long (encrypted) value round-trip', async (storage) => {
    const key = rootKey({ expiresAt: null, rootKey: `v1.key-1.${'A'.repeat(400)}==` });
    await storage.putL402RootKey(key);
    expect(await storage.getL402RootKey(key.id)).toEqual(key);
  });

  test('putL402RootKey – an id already stored keeps the first key (inserted false)', async (storage) => {
    const first = rootKey();
    await storage.putL402RootKey(first);
    const second = rootKey({ id: first.id, rootKey: randomBytes(32).toString('hex'), tenantId: 'other' });
    expect(await storage.putL402RootKey(second)).toEqual({ inserted: false });
    expect(await storage.getL402RootKey(first.id)).toEqual(first);
  });

  test('putL402RootKey – 20 concurrent puts of one id store exactly one key', async (storage) => {
    const id = hex64('hot');
    const results = await concurrently(20, (i) => storage.putL402RootKey(rootKey({ id, rootKey: hex64(String(i)) })));
    expect(results.filter((r) => r.inserted)).toHaveLength(1);
    const stored = await storage.getL402RootKey(id);
    expect(Array.from({ length: 20 }, (_, i) => hex64(String(i)))).toContain(stored?.rootKey);
  });

  test('getL402RootKey – an id never stored reads null', async (storage) => {
    expect(await storage.getL402RootKey(hex64('never'))).toBeNull();
  });

  test('deleteL402RootKey – deletes only that key and says whether it did', async (storage) => {
    const revoked = rootKey();
    const kept = rootKey();
    await storage.putL402RootKey(revoked);
    await storage.putL402RootKey(kept);
    expect(await storage.deleteL402RootKey(revoked.id)).toBe(true);
    expect(await storage.getL402RootKey(revoked.id)).toBeNull();
    expect(await storage.deleteL402RootKey(revoked.id)).toBe(false);
    expect(await storage.getL402RootKey(kept.id)).toEqual(kept);
  });

  test('purgeL402RootKeys – deletes keys expired at or before the time, keeps later ones and those without expiry', async (storage) => {
    const old = rootKey({ expiresAt: fixtureTime(10) });
    const edge = rootKey({ expiresAt: fixtureTime(20) });
    const later = rootKey({ expiresAt: fixtureTime(20.001) });
    const forever = rootKey({ expiresAt: null });
    for (const key of [old, edge, later, forever]) await storage.putL402RootKey(key);
    expect(await storage.purgeL402RootKeys(fixtureTime(20))).toBe(2);
    expect(await storage.getL402RootKey(old.id)).toBeNull();
    expect(await storage.getL402RootKey(edge.id)).toBeNull();
    expect(await storage.getL402RootKey(later.id)).toEqual(later);
    expect(await storage.getL402RootKey(forever.id)).toEqual(forever);
    expect(await storage.purgeL402RootKeys(fixtureTime(20))).toBe(0);
  });

  test('insertL402SpentToken – the first insert of a payment hash wins, every later one is inserted false', async (storage) => {
    const token = spent();
    expect(await storage.insertL402SpentToken(token)).toEqual({ inserted: true });
    expect(await storage.insertL402SpentToken({ ...token, spentAt: fixtureTime(99) })).toEqual({ inserted: false });
    expect(await storage.insertL402SpentToken(token)).toEqual({ inserted: false });
  });

  test('insertL402SpentToken – the same payment hash under another tenant is separate', async (storage) => {
    const paymentHash = hex64('shared');
    for (const tenantId of [null, 'null', 'tenant-a', 'tenant-b']) {
      expect((await storage.insertL402SpentToken(spent({ tenantId, paymentHash }))).inserted).toBe(true);
    }
    for (const tenantId of [null, 'null', 'tenant-a', 'tenant-b']) {
      expect((await storage.insertL402SpentToken(spent({ tenantId, paymentHash }))).inserted).toBe(false);
    }
  });

  test('insertL402SpentToken – 50 concurrent inserts of one payment hash: exactly one wins', async (storage) => {
    const paymentHash = hex64('race');
    const results = await concurrently(50, () => storage.insertL402SpentToken(spent({ paymentHash })));
    expect(results.filter((r) => r.inserted)).toHaveLength(1);
  });

  test('purgeL402SpentTokens – deletes hashes spent at or before the time; a purged hash can be spent again', async (storage) => {
    const old = spent({ spentAt: fixtureTime(5) });
    const recent = spent({ spentAt: fixtureTime(50) });
    await storage.insertL402SpentToken(old);
    await storage.insertL402SpentToken(recent);
    expect(await storage.purgeL402SpentTokens(fixtureTime(5))).toBe(1);
    expect((await storage.insertL402SpentToken(old)).inserted).toBe(true);
    expect((await storage.insertL402SpentToken(recent)).inserted).toBe(false);
  });

  test('transaction – L402 writes inside a transaction that throws are rolled back', async (storage) => {
    const key = rootKey();
    const kept = rootKey();
    await storage.putL402RootKey(kept);
    const token = spent();
    await expect(
      storage.transaction(async (tx) => {
        expect((await tx.putL402RootKey(key)).inserted).toBe(true);
        expect((await tx.insertL402SpentToken(token)).inserted).toBe(true);
        expect(await tx.deleteL402RootKey(kept.id)).toBe(true);
        expect(await tx.getL402RootKey(key.id)).toEqual(key);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await storage.getL402RootKey(key.id)).toBeNull();
    expect(await storage.getL402RootKey(kept.id)).toEqual(kept);
    expect((await storage.insertL402SpentToken(token)).inserted).toBe(true);
  });
}
