import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { migrate } from '@payable/storage-knex';
import knex, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { L402ChallengeBody, L402ErrorBody, L402ReplayPolicy } from '../src/index.js';
import { authorization, getJson, type JsonResponse } from './support/app.js';

// Two separate Node processes, each an Express app behind its own L402Paywall, on one PostgreSQL
// database through @payable/storage-knex: root keys and spent tokens are shared only through it.
const PG_URL = process.env.PAYABLE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/payable_test';
const script = fileURLToPath(new URL('./support/paywall-process.ts', import.meta.url));
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const prefix = `l402mp${randomBytes(4).toString('hex')}_`;

interface AppProcess {
  child: ChildProcess;
  url: string;
}

const children: ChildProcess[] = [];
let db: Knex;

/** The next IPC message of one of `types` from `child`; rejects when it exits first or after 30 s. */
function nextMessage<T>(child: ChildProcess, types: readonly string[]): Promise<{ type: string } & T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no ${types.join('/')} message within 30 s`)), 30_000);
    const onMessage = (message: { type?: string }) => {
      if (typeof message?.type === 'string' && types.includes(message.type))
        done(null, message as { type: string } & T);
    };
    const onExit = (code: number | null) => done(new Error(`app process exited (${code}) before ${types.join('/')}`));
    const done = (error: Error | null, message?: { type: string } & T) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(message as { type: string } & T);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

async function start(replay: L402ReplayPolicy): Promise<AppProcess> {
  const child = fork(script, [], {
    cwd: packageDir,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, PG_URL, TABLE_PREFIX: prefix, REPLAY: replay },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  const { url } = await nextMessage<{ url: string }>(child, ['ready']);
  return { child, url: `${url}/api/report` };
}

/** Ask the process that issued the invoice (its FakeProvider holds the preimage) to pay it. */
async function pay(app: AppProcess, invoice: string): Promise<string> {
  const answer = nextMessage<{ preimage?: string; message?: string }>(app.child, ['paid', 'pay-failed']);
  app.child.send({ type: 'pay', invoice });
  const message = await answer;
  if (message.type !== 'paid' || message.preimage === undefined) throw new Error(`payment failed: ${message.message}`);
  return message.preimage;
}

/** A challenge from `issuer`, paid: the `Authorization` header of the credential. */
async function paidCredential(issuer: AppProcess): Promise<Record<string, string>> {
  return (await paidToken(issuer)).auth;
}

async function paidToken(issuer: AppProcess): Promise<{ auth: Record<string, string>; paymentHash: string }> {
  const challenge = await getJson<L402ChallengeBody>(issuer.url);
  expect(challenge.status).toBe(402);
  const preimage = await pay(issuer, challenge.body.l402.invoice);
  return {
    auth: { authorization: authorization(challenge.body, preimage) },
    paymentHash: challenge.body.l402.paymentHash,
  };
}

function outcome(response: JsonResponse<Partial<L402ErrorBody>>) {
  return [response.status, response.body.error ?? null, response.headers.get('x-l402-error')];
}

async function stopAll(): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          if (child.connected) child.send({ type: 'stop' });
          else child.kill('SIGTERM');
        }),
    ),
  );
}

async function dropTables(): Promise<void> {
  const { rows } = await db.raw<{ rows: { tablename: string }[] }>(
    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE ? || '%'",
    [prefix],
  );
  for (const { tablename } of rows) await db.schema.dropTableIfExists(tablename);
}

describe('replay across two processes sharing PostgreSQL (@payable/storage-knex, StorageReplayStore)', () => {
  let singleA: AppProcess;
  let singleB: AppProcess;
  let reusableA: AppProcess;
  let reusableB: AppProcess;

  beforeAll(async () => {
    db = knex({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 2 } });
    await migrate(db, { tablePrefix: prefix });
    [singleA, singleB, reusableA, reusableB] = await Promise.all([
      start('single-use'),
      start('single-use'),
      start('reusable'),
      start('reusable'),
    ]);
  }, 90_000);

  afterAll(async () => {
    await stopAll();
    if (db) {
      await dropTables();
      await db.destroy();
    }
  }, 30_000);

  it('single-use – a token minted and paid on process A opens process B once, then is refused on both (L402_TOKEN_USED)', async () => {
    expect(singleA.child.pid).not.toBe(singleB.child.pid);
    const auth = await paidCredential(singleA);
    // Process B never saw this token: its root key comes from the database.
    const first = await getJson<{ ok: boolean; pid: number }>(singleB.url, auth);
    expect([first.status, first.body.pid]).toEqual([200, singleB.child.pid]);
    expect(outcome(await getJson(singleA.url, auth))).toEqual([401, 'L402_TOKEN_USED', 'L402_TOKEN_USED']);
    expect(outcome(await getJson(singleB.url, auth))).toEqual([401, 'L402_TOKEN_USED', 'L402_TOKEN_USED']);
  });

  it('single-use – spent on process A, refused with 401 L402_TOKEN_USED on process B', async () => {
    const auth = await paidCredential(singleA);
    expect((await getJson(singleA.url, auth)).status).toBe(200);
    expect(outcome(await getJson(singleB.url, auth))).toEqual([401, 'L402_TOKEN_USED', 'L402_TOKEN_USED']);
  });

  it('single-use – the same credential fired at both processes at once: exactly one 200', async () => {
    const { auth, paymentHash } = await paidToken(singleB);
    const responses = await Promise.all(
      [singleA, singleB, singleA, singleB, singleA, singleB].map((app) => getJson(app.url, auth)),
    );
    const outcomes = responses.map(outcome);
    expect(outcomes.filter(([status]) => status === 200)).toHaveLength(1);
    expect(outcomes.filter(([status]) => status !== 200)).toEqual(
      Array.from({ length: 5 }, () => [401, 'L402_TOKEN_USED', 'L402_TOKEN_USED']),
    );
    // Recorded once, in the shared database.
    const spent = await db(`${prefix}l402_spent_tokens`).where({ payment_hash: paymentHash }).select('payment_hash');
    expect(spent).toHaveLength(1);
  });

  it('reusable – a token minted and paid on process A opens both processes, again and again', async () => {
    const auth = await paidCredential(reusableA);
    for (const app of [reusableA, reusableB, reusableB, reusableA]) {
      const response = await getJson<{ ok: boolean; pid: number }>(app.url, auth);
      expect([response.status, response.body.pid]).toEqual([200, app.child.pid]);
    }
    // At once on both, too.
    const together = await Promise.all(
      [reusableA, reusableB, reusableA, reusableB].map((app) => getJson(app.url, auth)),
    );
    expect(together.map((r) => r.status)).toEqual([200, 200, 200, 200]);
  });

  it('a token minted on process A with a preimage that does not match its invoice – refused on process B (L402_PREIMAGE_MISMATCH)', async () => {
    const challenge = await getJson<L402ChallengeBody>(reusableA.url);
    const wrong = authorization(challenge.body, randomBytes(32).toString('hex'));
    expect(outcome(await getJson(reusableB.url, { authorization: wrong }))).toEqual([
      401,
      'L402_PREIMAGE_MISMATCH',
      'L402_PREIMAGE_MISMATCH',
    ]);
  });
});
