import { expect } from 'vitest';
import { concurrently, type DefineTest } from './harness.js';

/** Registers the cursor tests (durable stream positions, e.g. a Lightning node's settle index). */
export function cursorTests(test: DefineTest): void {
  test('getCursor – a name never set reads null', async (storage) => {
    expect(await storage.getCursor('lightning:settle::lnd')).toBeNull();
  });

  test('setCursor – stores the value and a later set replaces it', async (storage) => {
    await storage.setCursor('lightning:settle::lnd', '41');
    expect(await storage.getCursor('lightning:settle::lnd')).toBe('41');
    await storage.setCursor('lightning:settle::lnd', '42');
    expect(await storage.getCursor('lightning:settle::lnd')).toBe('42');
  });

  test('setCursor – names are independent (another provider, another tenant)', async (storage) => {
    await storage.setCursor('lightning:settle::lnd', '7');
    await storage.setCursor('lightning:settle:tenant-a:lnd', '900');
    await storage.setCursor('lightning:settle::lnd-backup', '3');
    expect(await storage.getCursor('lightning:settle::lnd')).toBe('7');
    expect(await storage.getCursor('lightning:settle:tenant-a:lnd')).toBe('900');
    expect(await storage.getCursor('lightning:settle::lnd-backup')).toBe('3');
  });

  test('setCursor – keeps long names and long values exactly', async (storage) => {
    const name = `lightning:settle:${'t'.repeat(300)}:lnd`;
    const value = JSON.stringify({ settleIndex: '18446744073709551615', addIndex: 'x'.repeat(2000) });
    await storage.setCursor(name, value);
    expect(await storage.getCursor(name)).toBe(value);
    expect(await storage.getCursor(`${name}-other`)).toBeNull();
  });

  test('setCursor – 20 concurrent writers leave exactly one of their values', async (storage) => {
    await concurrently(20, (i) => storage.setCursor('race', String(i)));
    const value = await storage.getCursor('race');
    expect(Array.from({ length: 20 }, (_, i) => String(i))).toContain(value);
  });

  test('setCursor – inside a transaction that throws, the value is rolled back', async (storage) => {
    await storage.setCursor('tx-cursor', '1');
    await expect(
      storage.transaction(async (tx) => {
        await tx.setCursor('tx-cursor', '2');
        expect(await tx.getCursor('tx-cursor')).toBe('2');
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await storage.getCursor('tx-cursor')).toBe('1');
    await storage.transaction(async (tx) => {
      await tx.setCursor('tx-cursor', '3');
    });
    expect(await storage.getCursor('tx-cursor')).toBe('3');
  });
}
