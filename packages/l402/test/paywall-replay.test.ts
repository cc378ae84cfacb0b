import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPayable, MemoryStorageDriver, type Payable, type StorageDriver } from '@payable/core';
import { FakeProvider, TestClock } from '@payable/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  type L402ChallengeBody,
  type L402ErrorBody,
  L402Paywall,
  type L402PaywallOptions,
  MemoryReplayStore,
  RedisReplayStore,
} from '../src/index.js';
import { authorization, getJson, listen } from './support/app.js';
import { express, type KnexLike, knex, lightningKit, redisClient, storageKnexKit } from './support/deps.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

const dir = mkdtempSync(join(tmpdir(), 'payable-l402-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One app instance: its own payable (own knex connection or shared storage), paywall and Express server. */
async function instance(
  storage: StorageDriver,
  fake: FakeProvider<'charges' | 'webhooks' | 'lightning'>,
  clock: TestClock,
  options: Partial<L402PaywallOptions> = {},
) {
  const payable: Payable = createPayable({ providers: { fake }, storage, clock, webhooks: { sweepIntervalMs: 0 } });
  const paywall = new L402Paywall({ payable, provider: 'fake', service: 'reports', ...options });
  const app = express();
  app.get('/api/report', paywall.express({ price: 10 }), (_req: unknown, res: { json(b: unknown): void }) =>
    res.json({ ok: true }),
  );
  const server = await listen(app);
  closers.push(async () => {
    await server.close();
    await payable.close();
  });
  return { url: `${server.url}/api/report`, paywall };
}

async function sqliteStorage(file: string, clock: TestClock): Promise<StorageDriver> {
  const { KnexStorageDriver, migrate } = await storageKnexKit();
  const db: KnexLike = knex({ client: 'better-sqlite3', connection: { filename: file }, useNullAsDefault: true });
  await migrate(db);
  const storage = new KnexStorageDriver(db, clock);
  closers.push(() => storage.close());
  return storage;
}

async function lightningFake(clock: TestClock) {
  const { encodeInvoice } = await lightningKit();
  return new FakeProvider({ capabilities: ['charges', 'webhooks', 'lightning'], encodeInvoice, clock });
}

async function paidToken(url: string, fake: FakeProvider<'charges' | 'webhooks' | 'lightning'>) {
  const challenge = (await getJson<L402ChallengeBody>(url)).body;
  return { authorization: authorization(challenge, fake.pay(challenge.l402.invoice).preimage) };
}

describe('replay across instances sharing one SQLite file (StorageReplayStore)', () => {
  it('reusable – a token issued by one instance opens the other (root keys come from storage)', async () => {
    const clock = new TestClock(new Date());
    const file = join(dir, `reusable-${randomBytes(4).toString('hex')}.db`);
    const fake = await lightningFake(clock);
    const a = await instance(await sqliteStorage(file, clock), fake, clock);
    const b = await instance(await sqliteStorage(file, clock), fake, clock);
    const auth = await paidToken(a.url, fake);
    expect((await getJson(b.url, auth)).status).toBe(200);
    expect((await getJson(a.url, auth)).status).toBe(200);
    expect((await getJson(b.url, auth)).status).toBe(200);
  });

  it('single-use – spent on one instance, refused on the other and after a restart (L402_TOKEN_USED)', async () => {
    const clock = new TestClock(new Date());
    const file = join(dir, `single-${randomBytes(4).toString('hex')}.db`);
    const fake = await lightningFake(clock);
    const options = { replay: 'single-use' as const, replayStore: new MemoryReplayStore() };
    const a = await instance(await sqliteStorage(file, clock), fake, clock, options);
    const b = await instance(await sqliteStorage(file, clock), fake, clock, {
      replay: 'single-use',
      replayStore: new MemoryReplayStore(),
    });
    const auth = await paidToken(a.url, fake);
    expect((await getJson(b.url, auth)).status).toBe(200);
    const onA = await getJson<L402ErrorBody>(a.url, auth);
    expect([onA.status, onA.body.error, onA.headers.get('x-l402-error')]).toEqual([
      401,
      'L402_TOKEN_USED',
      'L402_TOKEN_USED',
    ]);
    // A restarted process: fresh memory, the same database.
    const restarted = await instance(await sqliteStorage(file, clock), fake, clock, {
      replay: 'single-use',
      replayStore: new MemoryReplayStore(),
    });
    expect((await getJson<L402ErrorBody>(restarted.url, auth)).body.error).toBe('L402_TOKEN_USED');
    // Another paid token still works once.
    const next = await paidToken(restarted.url, fake);
    expect((await getJson(a.url, next)).status).toBe(200);
    expect((await getJson(b.url, next)).status).toBe(401);
  });
});

describe('replay with Redis (RedisReplayStore)', () => {
  it('single-use – two instances sharing Redis: exactly one request per paid token; keys expire with the token', async () => {
    const redis = redisClient();
    const prefix = `payable-test:l402:${randomBytes(6).toString('hex')}:`;
    closers.push(async () => {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    });
    const clock = new TestClock(new Date());
    const fake = await lightningFake(clock);
    const storage = new MemoryStorageDriver(); // shared root keys; replay decided by Redis alone
    const options: Partial<L402PaywallOptions> = {
      replay: 'single-use',
      replayStore: new RedisReplayStore({ redis, prefix }),
      durableReplay: false,
    };
    const a = await instance(storage, fake, clock, options);
    const b = await instance(storage, fake, clock, options);
    const auth = await paidToken(a.url, fake);
    const results = await Promise.all([getJson(a.url, auth), getJson(b.url, auth), getJson(a.url, auth)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 401, 401]);
    const keys = await redis.keys(`${prefix}*`);
    expect(keys).toHaveLength(1);
    const ttl = await redis.pttl(keys[0] as string);
    expect(ttl).toBeGreaterThan(3_590_000);
    expect(ttl).toBeLessThanOrEqual(3_601_000);
  });
});
