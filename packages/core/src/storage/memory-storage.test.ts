import { MemoryStorageDriver, type StorageSession, type StoredOutboxMessage } from '@payable/core';
import { describe, expect, it } from 'vitest';

// The shared guarantees are checked by the storage conformance suite
// (packages/testing/test/memory-storage.test.ts); these are the memory driver's own behaviours.

const T0 = Date.UTC(2024, 0, 1);
const at = (seconds: number): Date => new Date(T0 + seconds * 1000);
const lease = (owner: string, seconds = 0) => ({ owner, now: at(seconds), until: at(seconds + 30) });

function message(id: string, aggregateKey = `payment:${id}`): StoredOutboxMessage {
  return {
    id,
    tenantId: null,
    aggregateKey,
    type: 'payment.succeeded',
    payload: '{}',
    status: 'pending',
    attempts: 0,
    availableAt: at(0),
    lockedBy: null,
    lockedUntil: null,
    lastError: null,
    createdAt: at(0),
    deliveredAt: null,
  };
}

type Nestable = StorageSession & { transaction<T>(fn: (tx: StorageSession) => Promise<T>): Promise<T> };

function nestable(tx: StorageSession): Nestable {
  if (!('transaction' in tx)) throw new Error('the memory tx should support nested transactions');
  return tx as Nestable;
}

describe('MemoryStorageDriver', () => {
  it('transaction – a call on the driver made during a transaction waits until it commits', async () => {
    const storage = new MemoryStorageDriver();
    let outside: Promise<boolean> | undefined;
    await storage.transaction(async (tx) => {
      expect(await tx.acquireLock('job', lease('worker-1'))).toBe(true);
      outside = storage.acquireLock('job', lease('worker-2'));
      await tx.getOutboxMessage('msg_1');
      await tx.releaseLock('job', 'worker-1');
    });
    // Had it run mid-transaction it would have seen worker-1's lock and failed.
    expect(await outside).toBe(true);
  });

  it('transaction – a nested transaction on tx runs inline and a throw undoes only its own writes', async () => {
    const storage = new MemoryStorageDriver();
    await storage.transaction(async (tx) => {
      await tx.appendOutbox([message('msg_outer')]);
      await expect(
        nestable(tx).transaction(async (inner) => {
          await inner.appendOutbox([message('msg_inner_failed')]);
          throw new Error('inner');
        }),
      ).rejects.toThrow('inner');
      await nestable(tx).transaction(async (inner) => inner.appendOutbox([message('msg_inner_ok')]));
    });
    expect(await storage.getOutboxMessage('msg_outer')).not.toBeNull();
    expect(await storage.getOutboxMessage('msg_inner_failed')).toBeNull();
    expect(await storage.getOutboxMessage('msg_inner_ok')).not.toBeNull();
  });

  it('transaction – an uncaught throw in a nested transaction rolls back the whole transaction', async () => {
    const storage = new MemoryStorageDriver();
    await expect(
      storage.transaction(async (tx) => {
        await tx.appendOutbox([message('msg_outer')]);
        await nestable(tx).transaction(async (inner) => {
          await inner.appendOutbox([message('msg_inner')]);
          throw new Error('inner');
        });
      }),
    ).rejects.toThrow('inner');
    expect(await storage.getOutboxMessage('msg_outer')).toBeNull();
    expect(await storage.getOutboxMessage('msg_inner')).toBeNull();
  });

  it('transaction – using tx after its transaction ended is refused', async () => {
    const storage = new MemoryStorageDriver();
    let leaked: StorageSession | undefined;
    await storage.transaction(async (tx) => {
      leaked = tx;
    });
    await expect(leaked?.appendOutbox([message('msg_late')])).rejects.toMatchObject({ code: 'INTERNAL_ERROR' });
    expect(await storage.getOutboxMessage('msg_late')).toBeNull();
  });

  it('appendOutbox – a batch with a duplicate id fails as a whole', async () => {
    const storage = new MemoryStorageDriver();
    await storage.appendOutbox([message('msg_1')]);
    await expect(storage.appendOutbox([message('msg_2'), message('msg_1')])).rejects.toMatchObject({
      code: 'INTERNAL_ERROR',
    });
    expect(await storage.getOutboxMessage('msg_2')).toBeNull();
  });

  it('listWebhookEvents – a cursor it did not issue is a VALIDATION_ERROR', async () => {
    const storage = new MemoryStorageDriver();
    await expect(storage.listWebhookEvents({ limit: 10, cursor: 'not-a-cursor' })).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
      context: { field: 'cursor' },
    });
    await expect(storage.listRecords('payment', { tenantId: null, limit: 10, cursor: 'bm9wZQ' })).rejects.toMatchObject(
      {
        code: 'VALIDATION_ERROR',
      },
    );
  });

  it('updateOutbox – fields outside the patch type are ignored', async () => {
    const storage = new MemoryStorageDriver();
    await storage.appendOutbox([message('msg_1')]);
    const patch = { status: 'delivered', id: 'msg_hijacked', payload: 'x' } as unknown as { status: 'delivered' };
    expect(await storage.updateOutbox('msg_1', patch)).toBe(true);
    expect(await storage.getOutboxMessage('msg_1')).toMatchObject({ id: 'msg_1', status: 'delivered', payload: '{}' });
  });

  it('close – lets a running transaction finish, then refuses new calls', async () => {
    const storage = new MemoryStorageDriver();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const running = storage.transaction(async (tx) => {
      await gate;
      await tx.appendOutbox([message('msg_1')]);
      return 'committed';
    });
    const closing = storage.close();
    await expect(storage.ping()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    release();
    await expect(running).resolves.toBe('committed');
    await expect(closing).resolves.toBeUndefined();
    await expect(storage.getOutboxMessage('msg_1')).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
  });

  it('claimOutbox – claims the oldest messages across aggregates in id order', async () => {
    const storage = new MemoryStorageDriver();
    await storage.appendOutbox([message('msg_3', 'a'), message('msg_1', 'b'), message('msg_2', 'a')]);
    const claimed = await storage.claimOutbox(lease('relay-1'), 10);
    expect(claimed.map((m) => m.id)).toEqual(['msg_1', 'msg_2']);
  });
});
