import { createPayable, MemoryStorageDriver, type Payable } from '@payable/core';
import { FakeProvider } from '@payable/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type L402ChallengeBody,
  type L402ErrorBody,
  L402Paywall,
  type L402Request,
  type L402Response,
  Macaroon,
  rootKeyId,
} from '../src/index.js';
import { fakeLightningPayable, lndPayable } from './support/app.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

async function env() {
  const e = await fakeLightningPayable();
  closers.push(() => e.payable.close());
  return e;
}

const get = (path: string, headers: L402Request['headers'] = {}, method = 'GET'): L402Request => ({
  method,
  path,
  headers,
  ip: '203.0.113.7',
});

function challengeOf(response: L402Response): L402ChallengeBody {
  expect(response.status).toBe(402);
  return response.body as L402ChallengeBody;
}

describe('L402Paywall – configuration', () => {
  it('constructor – needs storage, a Lightning provider and a valid service, ttl and rate limit', async () => {
    const { payable } = await env();
    const cards = new FakeProvider({ capabilities: ['charges'] });
    const noLightning: Payable = createPayable({ providers: { cards }, storage: new MemoryStorageDriver() });
    closers.push(() => noLightning.close());
    const noStorage: Payable = createPayable({ providers: { fake: new FakeProvider() } });
    closers.push(() => noStorage.close());
    const base = { payable, provider: 'fake', service: 'api' };
    expect(() => new L402Paywall({ ...base, payable: noStorage })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_ERROR', context: { field: 'payable.storage', reason: 'required' } }),
    );
    expect(() => new L402Paywall({ ...base, payable: noLightning, provider: 'cards' })).toThrow(
      expect.objectContaining({
        code: 'PROVIDER_CAPABILITY_NOT_SUPPORTED',
        context: { provider: 'cards', capability: 'lightning' },
      }),
    );
    expect(() => new L402Paywall({ ...base, provider: 'nope' })).toThrow(
      expect.objectContaining({ code: 'PROVIDER_CAPABILITY_NOT_SUPPORTED' }),
    );
    expect(() => new L402Paywall({ ...base, service: 'bad service' })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_ERROR' }),
    );
    expect(() => new L402Paywall({ ...base, tokenTtl: 0 })).toThrow(
      expect.objectContaining({ context: { field: 'tokenTtl', reason: 'invalid' } }),
    );
    expect(() => new L402Paywall({ ...base, rateLimit: { invoicesPerMinute: -1 } })).toThrow(
      expect.objectContaining({ context: { field: 'rateLimit.invoicesPerMinute', reason: 'invalid' } }),
    );
    expect(new L402Paywall(base)).toMatchObject({ replay: 'reusable', tokenTtl: 3600, invoiceExpiry: 3600 });
  });

  it('routes – a price that is not a positive integer or a bad path glob throws when the middleware is made', async () => {
    const { payable } = await env();
    const paywall = new L402Paywall({ payable, provider: 'fake', service: 'api' });
    expect(() => paywall.express({ price: 0 })).toThrow(expect.objectContaining({ code: 'VALIDATION_ERROR' }));
    expect(() => paywall.fastify({ price: 1.5 })).toThrow(expect.objectContaining({ code: 'VALIDATION_ERROR' }));
    expect(() => paywall.nestGuard({ price: 10, path: 'no-slash' })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_ERROR' }),
    );
    expect(() => paywall.express({ price: 10, capability: 'bad capability' })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_ERROR' }),
    );
  });
});

describe('L402Paywall – challenge and verify on neutral requests', () => {
  it('verify – OPTIONS and free path globs pass with grant null and create no invoice', async () => {
    const { payable, fake } = await env();
    const paywall = new L402Paywall({ payable, provider: 'fake', service: 'api', freePaths: ['/docs/*'] });
    expect(await paywall.verify(get('/api/x', {}, 'OPTIONS'), { price: 10 })).toEqual({ ok: true, grant: null });
    expect(await paywall.verify(get('/docs/a/b?x=1'), { price: 10 })).toEqual({ ok: true, grant: null });
    expect((await paywall.verify(get('/docs'), { price: 10 })).ok).toBe(false);
    expect(fake.calls.filter((c) => c.op === 'charge')).toHaveLength(1);
  });

  it('verify – the grant names the payment hash, token id, expiry, price and caveats', async () => {
    const { payable, fake, clock } = await env();
    const paywall = new L402Paywall({ payable, provider: 'fake', service: 'api', tokenTtl: 600 });
    const route = { price: 7, capability: 'read' };
    const challenge = challengeOf(await paywall.challenge(get('/api/x'), route));
    // The invoice's expiry: its timestamp (whole seconds) plus the invoice expiry (min(tokenTtl, 3600)).
    const second = Math.floor(clock.now().getTime() / 1000) * 1000;
    expect(challenge.l402.expiresAt).toBe(new Date(second + 600_000).toISOString());
    const { preimage } = fake.pay(challenge.l402.invoice);
    const result = await paywall.verify(
      get('/api/x', { authorization: ['Bearer x', `LSAT ${challenge.l402.macaroon}:${preimage}`] }),
      route,
    );
    expect(result).toEqual({
      ok: true,
      grant: {
        scheme: 'LSAT',
        paymentHash: challenge.l402.paymentHash,
        tokenId: expect.stringMatching(/^[0-9a-f]{64}$/),
        expiresAt: new Date(Math.floor(clock.now().getTime() / 1000) * 1000 + 600_000),
        amountSats: 7,
        merchantId: null,
        caveats: [
          { condition: 'services', value: 'api:0' },
          { condition: 'api_capabilities', value: 'read' },
          { condition: 'api_valid_until', value: expect.any(String) },
          { condition: 'payable_path', value: '/api/x' },
          { condition: 'payable_amount_sats', value: '7' },
        ],
      },
    });
  });

  it('verify – a path with * or spaces is bound exactly (percent-encoded), never as a glob', async () => {
    const { payable, fake } = await env();
    const paywall = new L402Paywall({ payable, provider: 'fake', service: 'api' });
    const challenge = challengeOf(await paywall.challenge(get('/files/*'), { price: 1 }));
    const caveats = Macaroon.fromBase64(challenge.l402.macaroon).caveats.map((c) =>
      Buffer.from(c.identifier).toString(),
    );
    expect(caveats).toContain('payable_path=/files/%2A');
    const auth = { authorization: `L402 ${challenge.l402.macaroon}:${fake.pay(challenge.l402.invoice).preimage}` };
    expect((await paywall.verify(get('/files/*', auth), { price: 1 })).ok).toBe(true);
    const other = await paywall.verify(get('/files/secret', auth), { price: 1 });
    expect(other.ok ? null : (other.response.body as L402ErrorBody).error).toBe('L402_PATH_NOT_ALLOWED');
  });

  it('single-use – 10 concurrent requests with one token: exactly one is served', async () => {
    const { payable, fake } = await env();
    const paywall = new L402Paywall({ payable, provider: 'fake', service: 'api', replay: 'single-use' });
    const challenge = challengeOf(await paywall.challenge(get('/api/x'), { price: 1 }));
    const auth = { authorization: `L402 ${challenge.l402.macaroon}:${fake.pay(challenge.l402.invoice).preimage}` };
    const results = await Promise.all(
      Array.from({ length: 10 }, () => paywall.verify(get('/api/x', auth), { price: 1 })),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    for (const r of results.filter((x) => !x.ok)) {
      expect(r.ok ? null : (r.response.body as L402ErrorBody).error).toBe('L402_TOKEN_USED');
    }
  });

  it('errors – a price function that fails is 500 INTERNAL_ERROR without its message; storage down is 503', async () => {
    const { payable, storage } = await env();
    const paywall = new L402Paywall({ payable, provider: 'fake', service: 'api' });
    const broken = await paywall.challenge(get('/api/x'), { price: () => Number.NaN });
    expect(broken.status).toBe(500);
    expect(broken.body).toEqual({
      error: 'INTERNAL_ERROR',
      message: 'L402 route price must be a positive integer of sats',
      context: { field: 'price', reason: 'invalid' },
    });
    const thrown = await paywall.challenge(get('/api/x'), {
      price: () => {
        throw new Error('secret database password in message');
      },
    });
    expect(thrown).toMatchObject({ status: 500, body: { error: 'INTERNAL_ERROR', message: 'Internal error' } });
    await storage.close();
    const down = await paywall.challenge(get('/api/x'), { price: 1 });
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ error: 'STORAGE_UNAVAILABLE' });
    expect(down.headers['retry-after']).toBe('1');
  });

  it('errors – a Lightning node that is down answers 503 PROVIDER_UNAVAILABLE, not a challenge', async () => {
    const { sim, payable } = await lndPayable();
    closers.push(async () => {
      await payable.close();
      await sim.close();
    });
    const paywall = new L402Paywall({ payable, provider: 'lnd', service: 'api' });
    sim.unavailable = true;
    const res = await paywall.verify(get('/api/x'), { price: 1 });
    expect(res.ok).toBe(false);
    if (!res.ok) {
      expect(res.response.status).toBe(503);
      expect(res.response.body).toMatchObject({ error: 'PROVIDER_UNAVAILABLE' });
      expect(res.response.headers['www-authenticate']).toBeUndefined();
    }
  });

  it('purge – deletes root keys and spent hashes of long-expired tokens', async () => {
    const { payable, fake, storage, clock } = await env();
    const paywall = new L402Paywall({ payable, provider: 'fake', service: 'api', replay: 'single-use', tokenTtl: 60 });
    const challenge = challengeOf(await paywall.challenge(get('/api/x'), { price: 1 }));
    const auth = { authorization: `L402 ${challenge.l402.macaroon}:${fake.pay(challenge.l402.invoice).preimage}` };
    expect((await paywall.verify(get('/api/x', auth), { price: 1 })).ok).toBe(true);
    const id = rootKeyId(Macaroon.fromBase64(challenge.l402.macaroon).identifier);
    expect(await paywall.purge()).toEqual({ rootKeys: 0, spentTokens: 0 });
    clock.advance({ seconds: 60 + 86_400 });
    expect(await paywall.purge()).toEqual({ rootKeys: 1, spentTokens: 1 });
    expect(await storage.getL402RootKey(id)).toBeNull();
  });
});
