import {
  createPayable,
  isPayableError,
  type PaymentProvider,
  type ProviderChargeInput,
  type ProviderContext,
  type ProviderPayment,
} from '@payable/core';
import { KnexStorageDriver, migrate } from '@payable/storage-knex';
import { FakeProvider } from '@payable/testing';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropPrefixedTables, ensureDatabases, mysqlTarget, pgTarget, uniquePrefix } from './support/targets.js';

/** A provider without native keys whose charges take a while: only Payable's key store stops a second call. */
function slowProvider() {
  const fake = new FakeProvider();
  let calls = 0;
  const provider: PaymentProvider<'charges' | 'webhooks'> = {
    name: 'slow',
    capabilities: ['charges', 'webhooks'],
    idempotency: 'none',
    signatureHeader: fake.signatureHeader,
    verifyWebhook: (input) => fake.verifyWebhook(input),
    charge: async (input: ProviderChargeInput, ctx: ProviderContext): Promise<ProviderPayment> => {
      calls++;
      await new Promise((r) => setTimeout(r, 300));
      return fake.charge(input, ctx);
    },
  };
  return { provider, calls: () => calls };
}

describe.each([pgTarget(), mysqlTarget()])('idempotency under concurrency on $name', (target) => {
  let db: Knex;
  const tablePrefix = uniquePrefix(`idc${target.name}`);

  beforeAll(async () => {
    await ensureDatabases();
    db = target.connect({ pool: { min: 0, max: 30 } });
    await migrate(db, { tablePrefix });
  });
  afterAll(async () => {
    await dropPrefixedTables(db, tablePrefix);
    await db.destroy();
  });

  it('20 concurrent requests with one key, from two app instances – exactly one provider call; the others get IDEMPOTENCY_IN_PROGRESS or the stored response', async () => {
    const slow = slowProvider();
    // Two "web processes": separate facades and connection pools on one database.
    const apps = [0, 1].map(() =>
      createPayable({
        providers: { slow: slow.provider },
        storage: new KnexStorageDriver(db, undefined, { tablePrefix, destroyOnClose: false }),
      }),
    );
    const input = { amount: 2500, currency: 'EUR' };
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (apps[i % 2] ?? apps[0])!.execute('charge', input, { idempotencyKey: `order-${target.name}-1` }).then(
          (r) => ({ kind: 'ok' as const, ...r }),
          (e: unknown) => ({ kind: 'error' as const, code: isPayableError(e) ? e.code : String(e) }),
        ),
      ),
    );
    expect(slow.calls()).toBe(1);
    const ok = results.filter((r) => r.kind === 'ok');
    const errors = results.filter((r) => r.kind === 'error');
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(new Set(ok.map((r) => (r.kind === 'ok' ? r.body : ''))).size).toBe(1);
    for (const e of errors) expect(e.kind === 'error' && e.code).toBe('IDEMPOTENCY_IN_PROGRESS');
    // After it completed, every retry replays the stored response.
    const replay = await apps[1]!.execute('charge', input, { idempotencyKey: `order-${target.name}-1` });
    expect(replay.replayed).toBe(true);
    expect(replay.body).toBe(ok.find((r) => r.kind === 'ok' && !r.replayed)?.body ?? ok[0]?.body);
    expect(slow.calls()).toBe(1);
    for (const app of apps) await app.close();
  }, 30_000);
});
