import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError, ProviderUnavailableError } from '../errors/classes.js';
import { createPayable } from '../facade/create-payable.js';
import type { Payable } from '../facade/types.js';
import { createHttpHandler } from '../http/create-http-handler.js';
import type { HttpHandlerOptions, HttpRequest } from '../http/types.js';
import type { PaymentProvider, ProviderPayment } from '../provider/types.js';
import { MemoryStorageDriver } from '../storage/memory-storage.js';
import { MemoryRateLimiter, type RateLimiter } from './rate-limit.js';
import { RedisRateLimiter } from './redis-rate-limit-store.js';

const TOKEN = 'Bearer handler-test-token';
const start = Date.UTC(2026, 0, 1);

/** A provider whose charges answer what `next` says: a payment, or a thrown error. */
function stubProvider(next: { error: unknown | null }): PaymentProvider {
  return {
    name: 'stub',
    capabilities: ['charges'],
    idempotency: 'none',
    signatureHeader: 'x-stub-signature',
    async charge(input): Promise<ProviderPayment> {
      if (next.error !== null) throw next.error;
      return {
        providerId: `stub_${randomUUID()}`,
        status: 'succeeded',
        amount: input.amount,
        currency: input.currency,
        amountRefunded: 0,
      } as ProviderPayment;
    },
    async verifyWebhook() {
      throw new Error('not used');
    },
  };
}

function setup(options: HttpHandlerOptions = {}, error: unknown | null = null) {
  let now = start;
  const clock = { now: () => new Date(now), advance: (ms: number) => void (now += ms) };
  const next = { error };
  const payable: Payable = createPayable({
    providers: { stub: stubProvider(next) },
    storage: new MemoryStorageDriver(),
    clock,
    worker: false,
    resilience: { retries: 0, breaker: { failureThreshold: 2, openMs: 5_000 } },
  });
  const handle = createHttpHandler(payable, {
    authorize: (req) => req.headers.authorization !== undefined,
    ...options,
  });
  const send = (method: string, path: string, init: Partial<HttpRequest> = {}) =>
    handle({
      method,
      path,
      headers: { authorization: TOKEN, ...(init.headers ?? {}) },
      rawBody: init.rawBody,
      query: init.query ?? {},
      ...(init.ip === undefined ? {} : { ip: init.ip }),
    });
  return { payable, handle, send, clock, next };
}

const payment = { rawBody: JSON.stringify({ amount: 100, currency: 'USD' }) };

describe('createHttpHandler – rate limits', () => {
  it('key – the default key is the SHA-256 of the authorization header (never the header), else the IP', async () => {
    const keys: string[] = [];
    const recording: RateLimiter = {
      hit: (key, now) => {
        keys.push(key);
        return new MemoryRateLimiter({ limit: 10 }).hit(key, now);
      },
    };
    const { handle } = setup({ rateLimit: { limiter: recording }, authorize: () => true });
    await handle({
      method: 'GET',
      path: '/payments',
      headers: { authorization: TOKEN },
      rawBody: undefined,
      query: {},
    });
    await handle({ method: 'GET', path: '/payments', headers: {}, rawBody: undefined, query: {}, ip: '203.0.113.7' });
    await handle({ method: 'GET', path: '/payments', headers: {}, rawBody: undefined, query: {} });
    const hash = createHash('sha256').update(TOKEN).digest('hex');
    expect(keys).toEqual([`reads:caller:${hash}`, 'reads:ip:203.0.113.7', 'reads:anonymous']);
    expect(keys.join(' ')).not.toContain('handler-test-token');
  });

  it('limiter – one limiter instance is shared by every group, its own limit applying, keys apart per group', async () => {
    const { send } = setup({ rateLimit: { limiter: new MemoryRateLimiter({ limit: 1 }) } });
    expect((await send('GET', '/payments')).status).toBe(200);
    expect((await send('GET', '/payments')).status).toBe(429);
    const created = await send('POST', '/payments', payment);
    expect(created.status).toBe(201);
    expect(created.headers['x-ratelimit-limit']).toBe('1');
  });

  it('limiter – a factory gets each group and its policy', async () => {
    const seen: Array<[string, number, number]> = [];
    setup({
      rateLimit: {
        policies: { payments: { limit: 5, windowMs: 1000 }, admin: false },
        limiter: (group, policy) => {
          seen.push([group, policy.limit, policy.windowMs]);
          return new MemoryRateLimiter(policy);
        },
      },
    });
    expect(seen).toEqual([
      ['payments', 5, 1000],
      ['reads', 300, 60_000],
    ]);
  });

  it('policies – false turns a group off (no headers), rateLimit: false turns all off', async () => {
    const some = setup({ rateLimit: { policies: { reads: false } } });
    const read = await some.send('GET', '/payments');
    expect(read.status).toBe(200);
    expect(read.headers['x-ratelimit-limit']).toBeUndefined();
    expect((await some.send('POST', '/payments', payment)).headers['x-ratelimit-limit']).toBe('60');
    const none = setup({ rateLimit: false });
    expect((await none.send('POST', '/payments', payment)).headers['x-ratelimit-limit']).toBeUndefined();
  });

  it('policies – a limit that is not a positive integer is VALIDATION_ERROR when the handler is made', () => {
    const { payable } = setup();
    expect(() => createHttpHandler(payable, { rateLimit: { policies: { payments: { limit: 0 } } } })).toThrow(
      expect.objectContaining({
        code: 'VALIDATION_ERROR',
        context: expect.objectContaining({ field: 'rateLimit.policies.payments.limit' }),
      }),
    );
  });

  it('key – a custom key decides who is counted', async () => {
    const { send } = setup({
      rateLimit: { policies: { reads: { limit: 1 } }, key: (req) => String(req.headers['x-tenant']) },
    });
    expect((await send('GET', '/payments', { headers: { 'x-tenant': 'a' } })).status).toBe(200);
    expect((await send('GET', '/payments', { headers: { 'x-tenant': 'a' } })).status).toBe(429);
    expect((await send('GET', '/payments', { headers: { 'x-tenant': 'b' } })).status).toBe(200);
  });

  it('failure – a limiter that fails lets the request through without headers and tells hooks.onError', async () => {
    const errors: unknown[] = [];
    const broken: RateLimiter = {
      hit: async () => {
        throw new Error('redis down');
      },
    };
    const { send } = setup({ rateLimit: { limiter: broken }, hooks: { onError: (error) => errors.push(error) } });
    const r = await send('POST', '/payments', payment);
    expect(r.status).toBe(201);
    expect(r.headers['x-ratelimit-limit']).toBeUndefined();
    expect(errors).toEqual([expect.objectContaining({ message: 'redis down' })]);
  });
});

describe('createHttpHandler – Retry-After', () => {
  it('errors – a PayableError with context.retryAfterSeconds answers Retry-After, whatever its status', async () => {
    const { send, next } = setup({}, new ProviderError('slow', { context: { retryAfterSeconds: 7.2 } }));
    const r = await send('POST', '/payments', payment);
    expect(r.status).toBe(502);
    expect(r.headers['retry-after']).toBe('8');
    next.error = new ProviderUnavailableError('no hint');
    expect((await send('POST', '/payments', payment)).headers['retry-after']).toBeUndefined();
  });

  it('breaker – an open circuit answers 503 with Retry-After counting down on the clock', async () => {
    const { send, next, clock } = setup({}, new ProviderUnavailableError('down'));
    await send('POST', '/payments', payment);
    await send('POST', '/payments', payment);
    next.error = null;
    clock.advance(1_500);
    const open = await send('POST', '/payments', payment);
    expect(open.status).toBe(503);
    expect(JSON.parse(open.body)).toMatchObject({ error: 'PROVIDER_UNAVAILABLE', context: { reason: 'circuit_open' } });
    expect(open.headers['retry-after']).toBe('4');
    clock.advance(3_500);
    expect((await send('POST', '/payments', payment)).status).toBe(201);
  });
});

describe('createHttpHandler – rate limits on Redis (real Redis)', () => {
  let redis: Redis;
  const prefix = `payable-test:${randomUUID()}:`;

  beforeAll(() => {
    redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('instances – two handlers (two app instances) sharing Redis share one count per caller', async () => {
    const rateLimit: HttpHandlerOptions['rateLimit'] = {
      policies: { payments: { limit: 3 } },
      limiter: (group, policy) => new RedisRateLimiter({ client: redis, prefix: `${prefix}${group}:`, ...policy }),
    };
    const a = setup({ rateLimit });
    const b = setup({ rateLimit });
    const statuses = [];
    for (const app of [a, b, a, b]) statuses.push((await app.send('POST', '/payments', payment)).status);
    expect(statuses).toEqual([201, 201, 201, 429]);
    const refused = await a.send('POST', '/payments', payment);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.headers['x-ratelimit-remaining']).toBe('0');
  });
});
