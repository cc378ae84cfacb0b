import type { Payable } from '@payable/core';
import type { FakeProvider } from '@payable/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  L402,
  type L402ChallengeBody,
  type L402ErrorBody,
  type L402Grant,
  L402Paywall,
  type L402PaywallOptions,
} from '../src/index.js';
import { authorization, fakeLightningPayable, getJson, lndPayable, rawHeaderValues } from './support/app.js';
import { fastify, nestKit } from './support/deps.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

type Framework = 'fastify' | 'nest-express' | 'nest-fastify';

/**
 * One app on `framework` with the paywall on `/api/report` (10 sats), `/api/other` (10 sats) and
 * `/api/pro` (50 sats, under the same path glob as `/api/basic`), and `/api/free` not paid for.
 */
async function startApp(framework: Framework, payable: Payable, options: Partial<L402PaywallOptions> = {}) {
  const paywall = new L402Paywall({
    payable,
    provider: Object.keys(payable.providers)[0] as string,
    service: 'reports',
    ...options,
  });
  const routes = [
    { name: 'report', path: '/api/report', options: { price: 10 } },
    { name: 'other', path: '/api/other', options: { price: 10 } },
    { name: 'basic', path: '/api/basic', options: { price: 10, path: '/api/*' } },
    { name: 'pro', path: '/api/pro', options: { price: 50, path: '/api/*' } },
  ];
  const answer = (req: { l402?: L402Grant | null }) => ({ receipt: req.l402?.paymentHash ?? null });
  if (framework === 'fastify') {
    const app = fastify();
    for (const route of routes) {
      app.get(
        route.path,
        { preHandler: paywall.fastify(route.options) },
        async (request: { l402?: L402Grant | null }) => answer(request),
      );
    }
    app.get('/api/free', async () => ({ free: true }));
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => app.close());
    return { url: base, paywall };
  }
  const nest = nestKit();
  class ReportController {
    report(req: { l402?: L402Grant | null }) {
      return answer(req);
    }
    other(req: { l402?: L402Grant | null }) {
      return answer(req);
    }
    basic(req: { l402?: L402Grant | null }) {
      return answer(req);
    }
    pro(req: { l402?: L402Grant | null }) {
      return answer(req);
    }
    free() {
      return { free: true };
    }
  }
  const proto = ReportController.prototype as unknown as Record<string, unknown>;
  for (const route of [...routes, { name: 'free', path: '/api/free', options: null }]) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, route.name) as PropertyDescriptor;
    if (route.options) {
      nest.Req()(proto, route.name, 0);
      L402(route.options)(proto, route.name, descriptor);
    }
    nest.Get(route.path.slice('/api/'.length))(proto, route.name, descriptor);
  }
  nest.Controller('api')(ReportController);
  class AppModule {}
  nest.Module({ controllers: [ReportController] })(AppModule);
  const platform = framework === 'nest-express' ? new nest.ExpressAdapter() : new nest.FastifyAdapter();
  const app = await nest.NestFactory.create(AppModule, platform, {
    logger: false,
    forceCloseConnections: true,
    abortOnError: false,
  });
  app.useGlobalGuards(paywall.nestGuard());
  await app.listen(0, '127.0.0.1');
  closers.push(() => app.close());
  return { url: `http://127.0.0.1:${app.getHttpServer().address().port}`, paywall };
}

describe.each<Framework>(['fastify', 'nest-express', 'nest-fastify'])('L402 paywall on %s', (framework) => {
  async function setup(options: Partial<L402PaywallOptions> = {}) {
    const env = await fakeLightningPayable();
    closers.push(() => env.payable.close());
    return { ...env, ...(await startApp(framework, env.payable, options)) };
  }

  const paid = async (url: string, fake: FakeProvider<'charges' | 'webhooks' | 'lightning'>) => {
    const res = await getJson<L402ChallengeBody>(`${url}/api/report`);
    expect(res.status).toBe(402);
    return { challenge: res.body, preimage: fake.pay(res.body.l402.invoice).preimage };
  };

  it('request → 402 (both WWW-Authenticate values, body) → pay → retry → 200, reusable', async () => {
    const { url, fake } = await setup();
    const res = await getJson<L402ChallengeBody>(`${url}/api/report`);
    expect(res.status).toBe(402);
    expect(res.body).toMatchObject({
      error: 'PAYMENT_REQUIRED',
      l402: { amountSats: 10, invoice: expect.stringMatching(/^lnbcrt100n1/), paymentHash: expect.any(String) },
    });
    const lines = await rawHeaderValues(`${url}/api/report`, 'www-authenticate');
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['LSAT', 'L402']);
    const preimage = fake.pay(res.body.l402.invoice).preimage;
    const auth = { authorization: authorization(res.body, preimage) };
    expect(await getJson(`${url}/api/report`, auth)).toMatchObject({
      status: 200,
      body: { receipt: res.body.l402.paymentHash },
    });
    expect((await getJson(`${url}/api/report`, auth)).status).toBe(200);
    expect(await getJson(`${url}/api/free`)).toMatchObject({ status: 200, body: { free: true } });
  });

  it('single-use – the second request is 401 L402_TOKEN_USED with X-L402-Error', async () => {
    const { url, fake } = await setup({ replay: 'single-use' });
    const { challenge, preimage } = await paid(url, fake);
    const auth = { authorization: authorization(challenge, preimage) };
    expect((await getJson(`${url}/api/report`, auth)).status).toBe(200);
    const again = await getJson<L402ErrorBody>(`${url}/api/report`, auth);
    expect([again.status, again.body.error, again.headers.get('x-l402-error')]).toEqual([
      401,
      'L402_TOKEN_USED',
      'L402_TOKEN_USED',
    ]);
  });

  it('caveats – 403 L402_PATH_NOT_ALLOWED on another path, 401 L402_AMOUNT_MISMATCH on another price', async () => {
    const { url, fake } = await setup();
    const { challenge, preimage } = await paid(url, fake);
    const wrongPath = await getJson<L402ErrorBody>(`${url}/api/other`, {
      authorization: authorization(challenge, preimage),
    });
    expect([wrongPath.status, wrongPath.body.error]).toEqual([403, 'L402_PATH_NOT_ALLOWED']);
    const basic = (await getJson<L402ChallengeBody>(`${url}/api/basic`)).body;
    const auth = { authorization: authorization(basic, fake.pay(basic.l402.invoice).preimage) };
    expect((await getJson(`${url}/api/basic`, auth)).status).toBe(200);
    const pro = await getJson<L402ErrorBody>(`${url}/api/pro`, auth);
    expect([pro.status, pro.body.error, pro.headers.get('x-l402-error')]).toEqual([
      401,
      'L402_AMOUNT_MISMATCH',
      'L402_AMOUNT_MISMATCH',
    ]);
  });

  it('rate limit – 429 RATE_LIMITED with Retry-After and X-RateLimit-* after the limit', async () => {
    const { url } = await setup({ rateLimit: { invoicesPerMinute: 2 } });
    expect((await getJson(`${url}/api/report`)).status).toBe(402);
    expect((await getJson(`${url}/api/report`)).status).toBe(402);
    const limited = await getJson<L402ErrorBody>(`${url}/api/report`);
    expect(limited.status).toBe(429);
    expect(limited.body.error).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('x-ratelimit-limit')).toBe('2');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(limited.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
  });

  it('LND simulator – pay on the node, retry with the preimage → 200', async () => {
    const { sim, payable } = await lndPayable();
    closers.push(async () => {
      await payable.close();
      await sim.close();
    });
    const { url } = await startApp(framework, payable);
    const challenge = (await getJson<L402ChallengeBody>(`${url}/api/report`)).body;
    sim.pay(challenge.l402.invoice);
    const preimage = sim.preimageOf(challenge.l402.invoice) as string;
    expect((await getJson(`${url}/api/report`, { authorization: authorization(challenge, preimage) })).status).toBe(
      200,
    );
  });
});
