import { readFileSync } from 'node:fs';
import { NodeEncryptionDriver, type Payable } from '@payable/core';
import type { FakeProvider, TestClock } from '@payable/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  L402Paywall,
  type L402ChallengeBody,
  type L402ErrorBody,
  type L402Grant,
  type L402PaywallOptions,
  type L402RouteOptions,
  Macaroon,
  parseChallenge,
  rootKeyId,
} from '../src/index.js';
import { authorization, fakeLightningPayable, getJson, listen, lndPayable, rawHeaderValues } from './support/app.js';
import { express, lightningKit } from './support/deps.js';

type Route = { path: string; options: L402RouteOptions };

const ROUTES: Route[] = [
  { path: '/api/report', options: { price: 10 } },
  { path: '/api/other', options: { price: 10 } },
  { path: '/api/tier/basic', options: { price: 10, path: '/api/tier/*' } },
  { path: '/api/tier/pro', options: { price: 50, path: '/api/tier/*' } },
  { path: '/api/dynamic/:n', options: { price: (req) => Number(req.path.split('/')[3]) || 1 } },
];

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

/** An Express app with the paywall on every route of ROUTES, plus a free /health. */
async function startApp(payable: Payable, options: Partial<L402PaywallOptions> = {}) {
  const paywall = new L402Paywall({
    payable,
    provider: Object.keys(payable.providers)[0] as string,
    service: 'reports',
    freePaths: ['/health'],
    ...options,
  });
  const app = express();
  app.get('/health', paywall.express({ price: 1 }), (_req: unknown, res: { json(b: unknown): void }) =>
    res.json({ ok: true }),
  );
  for (const route of ROUTES) {
    app.get(
      route.path,
      paywall.express(route.options),
      (req: { l402?: L402Grant | null; originalUrl: string }, res: { json(b: unknown): void }) =>
        res.json({ path: req.originalUrl, receipt: req.l402?.paymentHash ?? null, sats: req.l402?.amountSats }),
    );
  }
  const server = await listen(app);
  closers.push(() => server.close());
  return { paywall, url: server.url };
}

async function challengeOf(url: string, headers: Record<string, string> = {}) {
  const res = await getJson<L402ChallengeBody>(url, headers);
  expect(res.status).toBe(402);
  return res.body;
}

describe('L402 paywall on Express (FakeProvider with lightning)', () => {
  async function setup(options: Partial<L402PaywallOptions> = {}, clock?: TestClock) {
    const env = await fakeLightningPayable(clock ? { clock } : {});
    closers.push(() => env.payable.close());
    const app = await startApp(env.payable, options);
    return { ...env, ...app };
  }

  const pay = (fake: FakeProvider<'charges' | 'webhooks' | 'lightning'>, challenge: L402ChallengeBody) =>
    fake.pay(challenge.l402.invoice).preimage;

  it('request – 402 with LSAT and L402 WWW-Authenticate values and the challenge body', async () => {
    const { url, fake } = await setup();
    const res = await getJson<L402ChallengeBody>(`${url}/api/report?x=1`);
    expect(res.status).toBe(402);
    const { l402 } = res.body;
    // Two header lines, LSAT first (older clients), then L402.
    expect(await rawHeaderValues(`${url}/api/report`, 'www-authenticate')).toEqual([
      expect.stringMatching(/^LSAT macaroon="[A-Za-z0-9+/]+=*", invoice="lnbcrt[0-9a-z]+"$/),
      expect.stringMatching(/^L402 macaroon="[A-Za-z0-9+/]+=*", invoice="lnbcrt[0-9a-z]+"$/),
    ]);
    expect(res.body).toEqual({
      error: 'PAYMENT_REQUIRED',
      message: expect.stringContaining('Authorization: L402 <macaroon>:<preimage>'),
      l402: {
        macaroon: expect.any(String),
        invoice: expect.stringMatching(/^lnbcrt/),
        amountSats: 10,
        paymentHash: expect.stringMatching(/^[0-9a-f]{64}$/),
        expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
    });
    expect(res.headers.get('www-authenticate')).toBe(
      `LSAT macaroon="${l402.macaroon}", invoice="${l402.invoice}", L402 macaroon="${l402.macaroon}", invoice="${l402.invoice}"`,
    );
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    // What a client sees: both parameter styles parse to the same token and invoice.
    const parsed = parseChallenge(res.headers);
    expect(parsed).toMatchObject({ scheme: 'L402', token: l402.macaroon, invoice: l402.invoice });
    // The invoice is a real BOLT-11 invoice for 10 sats whose payment hash is the token's.
    const { decodeInvoice } = await lightningKit();
    const decoded = decodeInvoice(l402.invoice);
    expect(decoded.amountMsat).toBe(10_000n);
    expect(decoded.paymentHash).toBe(l402.paymentHash);
    expect(Buffer.from(Macaroon.fromBase64(l402.macaroon).identifier.subarray(2, 34)).toString('hex')).toBe(
      l402.paymentHash,
    );
    expect(Macaroon.fromBase64(l402.macaroon).caveats.map((c) => Buffer.from(c.identifier).toString())).toEqual([
      'services=reports:0',
      expect.stringMatching(/^reports_valid_until=\d+$/),
      'payable_path=/api/report',
      'payable_amount_sats=10',
    ]);
    expect(fake.calls.filter((c) => c.op === 'charge')).toHaveLength(2); // one invoice per challenge
  });

  it('pay and retry – 200 with the grant; reusable by default (200 again, LSAT scheme too)', async () => {
    const { url, fake } = await setup();
    const challenge = await challengeOf(`${url}/api/report`);
    const preimage = pay(fake, challenge);
    const first = await getJson(`${url}/api/report`, { authorization: authorization(challenge, preimage) });
    expect(first).toMatchObject({ status: 200, body: { receipt: challenge.l402.paymentHash, sats: 10 } });
    const second = await getJson(`${url}/api/report?again=1`, {
      authorization: authorization(challenge, preimage, 'LSAT'),
    });
    expect(second.status).toBe(200);
    // No call to the node (provider) on the hot path: only the one charge of the challenge.
    expect(fake.calls.map((c) => c.op)).toEqual(['charge']);
  });

  it('single-use – the second request with the same token is 401 L402_TOKEN_USED', async () => {
    const { url, fake } = await setup({ replay: 'single-use' });
    const challenge = await challengeOf(`${url}/api/report`);
    const auth = { authorization: authorization(challenge, pay(fake, challenge)) };
    expect((await getJson(`${url}/api/report`, auth)).status).toBe(200);
    const replay = await getJson<L402ErrorBody>(`${url}/api/report`, auth);
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe('L402_TOKEN_USED');
    expect(replay.headers.get('x-l402-error')).toBe('L402_TOKEN_USED');
    expect(replay.headers.get('www-authenticate')).toBeNull();
  });

  it('path caveat – a token for one path is 403 L402_PATH_NOT_ALLOWED on another of the same price', async () => {
    const { url, fake } = await setup();
    const challenge = await challengeOf(`${url}/api/report`);
    const res = await getJson<L402ErrorBody>(`${url}/api/other`, {
      authorization: authorization(challenge, pay(fake, challenge)),
    });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({
      error: 'L402_PATH_NOT_ALLOWED',
      context: { allowed: '/api/report', requested: '/api/other' },
    });
    expect(res.headers.get('x-l402-error')).toBe('L402_PATH_NOT_ALLOWED');
  });

  it('amount caveat – a token paid at 10 sats is 401 L402_AMOUNT_MISMATCH on a 50-sat endpoint its path glob opens', async () => {
    const { url, fake } = await setup();
    const challenge = await challengeOf(`${url}/api/tier/basic`);
    const auth = { authorization: authorization(challenge, pay(fake, challenge)) };
    expect((await getJson(`${url}/api/tier/basic`, auth)).status).toBe(200);
    const res = await getJson<L402ErrorBody>(`${url}/api/tier/pro`, auth);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: 'L402_AMOUNT_MISMATCH', context: { paidSats: 10, priceSats: 50 } });
    expect(res.headers.get('x-l402-error')).toBe('L402_AMOUNT_MISMATCH');
  });

  it('price function – the price comes from the request and the invoice carries it', async () => {
    const { url, fake } = await setup();
    const challenge = await challengeOf(`${url}/api/dynamic/21`);
    expect(challenge.l402.amountSats).toBe(21);
    const ok = await getJson(`${url}/api/dynamic/21`, {
      authorization: authorization(challenge, pay(fake, challenge)),
    });
    expect(ok).toMatchObject({ status: 200, body: { sats: 21 } });
  });

  it('merchant caveat – a token for one merchant is 403 L402_MERCHANT_MISMATCH for another', async () => {
    const { url, fake } = await setup({ merchantId: (req) => (req.headers['x-merchant'] as string) ?? null });
    const challenge = await challengeOf(`${url}/api/report`, { 'x-merchant': 'acme' });
    const auth = authorization(challenge, pay(fake, challenge));
    expect((await getJson(`${url}/api/report`, { authorization: auth, 'x-merchant': 'acme' })).status).toBe(200);
    const other = await getJson<L402ErrorBody>(`${url}/api/report`, { authorization: auth, 'x-merchant': 'globex' });
    expect(other.status).toBe(403);
    expect(other.body).toMatchObject({ error: 'L402_MERCHANT_MISMATCH', context: { reason: 'merchant_mismatch' } });
    const none = await getJson<L402ErrorBody>(`${url}/api/report`, { authorization: auth });
    expect(none.body).toMatchObject({
      error: 'L402_MERCHANT_MISMATCH',
      context: { reason: 'merchant_missing_in_context' },
    });
  });

  it('preimage – a wrong one is 401 L402_PREIMAGE_MISMATCH; base64 or the payment hash is 401 L402_INVALID_PREIMAGE_FORMAT', async () => {
    const { url, fake } = await setup();
    const challenge = await challengeOf(`${url}/api/report`);
    const preimage = pay(fake, challenge);
    const wrong = await getJson<L402ErrorBody>(`${url}/api/report`, {
      authorization: authorization(challenge, '11'.repeat(32)),
    });
    expect([wrong.status, wrong.body.error, wrong.headers.get('x-l402-error')]).toEqual([
      401,
      'L402_PREIMAGE_MISMATCH',
      'L402_PREIMAGE_MISMATCH',
    ]);
    const b64 = await getJson<L402ErrorBody>(`${url}/api/report`, {
      authorization: authorization(challenge, Buffer.from(preimage, 'hex').toString('base64')),
    });
    expect(b64.status).toBe(401);
    expect(b64.body).toMatchObject({ error: 'L402_INVALID_PREIMAGE_FORMAT', context: { reason: 'base64' } });
    expect(b64.body.message).toMatch(/base64/);
    const hash = await getJson<L402ErrorBody>(`${url}/api/report`, {
      authorization: authorization(challenge, challenge.l402.paymentHash),
    });
    expect(hash.body).toMatchObject({ error: 'L402_INVALID_PREIMAGE_FORMAT', context: { reason: 'payment_hash' } });
  });

  it('token – tampered, revoked or expired tokens are 401 L402_INVALID_TOKEN / L402_TOKEN_EXPIRED', async () => {
    const { url, fake, paywall, clock } = await setup();
    const challenge = await challengeOf(`${url}/api/report`);
    const preimage = pay(fake, challenge);
    // Tampered: the same token with its amount caveat rewritten (signature no longer matches).
    const bytes = Buffer.from(challenge.l402.macaroon, 'base64');
    const at = bytes.indexOf(Buffer.from('payable_amount_sats=10'));
    bytes.write('payable_amount_sats=99', at);
    const tampered = await getJson<L402ErrorBody>(`${url}/api/report`, {
      authorization: `L402 ${bytes.toString('base64')}:${preimage}`,
    });
    expect([tampered.status, tampered.body.error]).toEqual([401, 'L402_INVALID_TOKEN']);
    // Expired: past tokenTtl.
    clock.advance({ seconds: 3601 });
    const expired = await getJson<L402ErrorBody>(`${url}/api/report`, {
      authorization: authorization(challenge, preimage),
    });
    expect([expired.status, expired.body.error, expired.headers.get('x-l402-error')]).toEqual([
      401,
      'L402_TOKEN_EXPIRED',
      'L402_TOKEN_EXPIRED',
    ]);
    // Revoked: its root key deleted.
    const fresh = await challengeOf(`${url}/api/report`);
    const auth = { authorization: authorization(fresh, pay(fake, fresh)) };
    expect((await getJson(`${url}/api/report`, auth)).status).toBe(200);
    expect(await paywall.revoke(fresh.l402.macaroon)).toBe(true);
    const revoked = await getJson<L402ErrorBody>(`${url}/api/report`, auth);
    expect(revoked.status).toBe(401);
    expect(revoked.body).toMatchObject({ error: 'L402_INVALID_TOKEN', context: { reason: 'unknown_root_key' } });
  });

  it('credential – missing or unusable (another scheme, bad base64, no colon) answers a fresh 402', async () => {
    const { url, fake } = await setup();
    for (const value of ['Bearer abc', 'L402 !!!!:00', 'L402 AgEEbHNhdA', 'LSAT']) {
      const res = await getJson<L402ChallengeBody>(`${url}/api/report`, { authorization: value });
      expect(res.status).toBe(402);
      expect(res.body.error).toBe('PAYMENT_REQUIRED');
    }
    expect(fake.calls.filter((c) => c.op === 'charge')).toHaveLength(4);
  });

  it('free paths – /health passes without a charge', async () => {
    const { url, fake } = await setup();
    expect(await getJson(`${url}/health`)).toMatchObject({ status: 200, body: { ok: true } });
    expect(fake.calls).toHaveLength(0);
  });

  it('rate limit – past N invoices a minute the client gets 429 RATE_LIMITED with Retry-After and X-RateLimit-*', async () => {
    const { url, clock, fake } = await setup({ rateLimit: { invoicesPerMinute: 3 } });
    for (let i = 0; i < 3; i++) {
      const res = await getJson(`${url}/api/report`);
      expect(res.status).toBe(402);
      expect(res.headers.get('x-ratelimit-limit')).toBe('3');
      expect(res.headers.get('x-ratelimit-remaining')).toBe(String(2 - i));
    }
    clock.advance({ seconds: 15 });
    const limited = await getJson<L402ErrorBody>(`${url}/api/report`);
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ error: 'RATE_LIMITED', context: { limit: 3, retryAfter: 45 } });
    expect(limited.headers.get('retry-after')).toBe('45');
    expect(limited.headers.get('x-ratelimit-limit')).toBe('3');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    const reset = Number(limited.headers.get('x-ratelimit-reset'));
    expect(reset).toBe(Math.ceil((clock.now().getTime() + 45_000) / 1000));
    expect(fake.calls.filter((c) => c.op === 'charge')).toHaveLength(3);
    clock.advance({ seconds: 45 });
    expect((await getJson(`${url}/api/report`)).status).toBe(402);
  });

  it('root keys – stored encrypted with an encryption driver; without it the token is refused', async () => {
    const env = await fakeLightningPayable();
    closers.push(() => env.payable.close());
    const encryption = new NodeEncryptionDriver({ key: 'k'.repeat(32) + 'an l402 test key with entropy 42' });
    const { url } = await startApp(env.payable, { encryption });
    const challenge = await challengeOf(`${url}/api/report`);
    const id = rootKeyId(Macaroon.fromBase64(challenge.l402.macaroon).identifier);
    const stored = await env.storage.getL402RootKey(id);
    expect(stored?.rootKey).not.toMatch(/^[0-9a-f]{64}$/);
    const auth = { authorization: authorization(challenge, env.fake.pay(challenge.l402.invoice).preimage) };
    expect((await getJson(`${url}/api/report`, auth)).status).toBe(200);
    const plain = await startApp(env.payable);
    const refused = await getJson<L402ErrorBody>(`${plain.url}/api/report`, auth);
    expect([refused.status, refused.body.error]).toEqual([401, 'L402_INVALID_TOKEN']);
  });

  it('derived vector – its Authorization header passes a paywall holding that root key', async () => {
    const vectors = JSON.parse(
      readFileSync(new URL('../src/macaroon/macaroon-vectors.json', import.meta.url), 'utf8'),
    ) as { l402_derived: { root_key_hex: string; identifier_hex: string; authorization_header: string } };
    const vector = vectors.l402_derived;
    const env = await fakeLightningPayable();
    closers.push(() => env.payable.close());
    const paywall = new L402Paywall({ payable: env.payable, provider: 'fake', service: 'payable-demo' });
    await env.storage.putL402RootKey({
      id: rootKeyId(Buffer.from(vector.identifier_hex, 'hex')),
      tenantId: null,
      rootKey: vector.root_key_hex,
      createdAt: env.clock.now(),
      expiresAt: null,
    });
    const app = express();
    // Aperture-style route: no path or price binding; the token's capability is `read`.
    const route: L402RouteOptions = { price: 10, path: false, bindAmount: false, capability: 'read' };
    app.get('/demo', paywall.express(route), (req: { l402?: L402Grant | null }, res: { json(b: unknown): void }) =>
      res.json({ receipt: req.l402?.paymentHash }),
    );
    const server = await listen(app);
    closers.push(() => server.close());
    const res = await getJson(`${server.url}/demo`, { authorization: vector.authorization_header });
    expect(res).toMatchObject({
      status: 200,
      body: { receipt: '66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925' },
    });
    const wrongPreimage = vector.authorization_header.replace(/:0{64}$/, `:${'01'.repeat(32)}`);
    expect((await getJson(`${server.url}/demo`, { authorization: wrongPreimage })).status).toBe(401);
  });

  it('fuzz – no Authorization header, random or mutated, ever answers 500', async () => {
    const { url, fake } = await setup({ rateLimit: false });
    const challenge = await challengeOf(`${url}/api/report`);
    const valid = authorization(challenge, pay(fake, challenge));
    const printable = fc
      .string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 300 })
      .map((s) => s.trim());
    const mutated = fc
      .tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0x21, max: 0x7e }), fc.nat({ max: valid.length }))
      .map(([at, code, cut]) =>
        `${valid.slice(0, at)}${String.fromCharCode(code)}${valid.slice(at + 1)}`.slice(0, Math.max(cut, 6)),
      );
    const schemes = fc
      .tuple(fc.constantFrom('L402', 'LSAT', 'l402', 'lsat', 'L402  ', 'Bearer'), printable)
      .map(([scheme, rest]) => `${scheme} ${rest}`);
    await fc.assert(
      fc.asyncProperty(fc.oneof(printable, mutated, schemes), async (value) => {
        const res = await fetch(`${url}/api/report`, { headers: value === '' ? {} : { authorization: value } });
        await res.arrayBuffer();
        expect([200, 401, 402, 403]).toContain(res.status);
      }),
      { numRuns: 200 },
    );
  });
});

describe('L402 paywall on Express (LND simulator)', () => {
  it('request → 402 → pay on the node → retry → 200, with no node call on the hot path', async () => {
    const { sim, payable } = await lndPayable();
    closers.push(async () => {
      await payable.close();
      await sim.close();
    });
    const { url } = await startApp(payable);
    const challenge = await challengeOf(`${url}/api/report`);
    expect(challenge.l402.invoice).toMatch(/^lnbcrt100n1/);
    expect(sim.invoice(challenge.l402.invoice)).toMatchObject({ state: 'OPEN', value: '10' });
    sim.pay(challenge.l402.invoice);
    const preimage = sim.preimageOf(challenge.l402.invoice) as string;
    const requests = sim.requests.length;
    const ok = await getJson(`${url}/api/report`, { authorization: authorization(challenge, preimage) });
    expect(ok).toMatchObject({ status: 200, body: { receipt: challenge.l402.paymentHash } });
    expect((await getJson(`${url}/api/report`, { authorization: authorization(challenge, preimage) })).status).toBe(
      200,
    );
    expect(sim.requests.length).toBe(requests);
  });
});
