import {
  createHttpHandler,
  createPayable,
  type HttpHandlerOptions,
  type HttpRequest,
  type HttpResponse,
  MemoryStorageDriver,
  type Payable,
  type ProviderChargeInput,
  type ProviderContext,
  type ProviderPayment,
  ProviderUnavailableError,
  RateLimitedError,
  SyncQueueDriver,
  ValidationError,
} from '@payable/core';
import { FakeProvider } from '@payable/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';

const TOKEN = 'unit-admin-token';

/** A FakeProvider whose charges fail with the error `failWith` gives (a rate limit, an outage…). */
class FailingFakeProvider extends FakeProvider {
  failWith: (() => Error) | null = null;
  override async charge(input: ProviderChargeInput, ctx: ProviderContext): Promise<ProviderPayment> {
    if (this.failWith) throw this.failWith();
    return super.charge(input, ctx);
  }
}

const made: Payable[] = [];
afterEach(async () => {
  for (const p of made.splice(0)) await p.close();
});

function setup(options: HttpHandlerOptions = {}) {
  const fake = new FailingFakeProvider();
  const payable = createPayable({
    providers: { fake },
    storage: new MemoryStorageDriver(),
    queue: new SyncQueueDriver(),
  });
  made.push(payable);
  const authorized: HttpRequest[] = [];
  const handle = createHttpHandler(payable, {
    authorize: (req) => {
      authorized.push(req);
      return req.headers.authorization === `Bearer ${TOKEN}`;
    },
    ...options,
  });
  return { fake, payable, handle, authorized };
}

function request(method: string, path: string, init: Partial<HttpRequest> = {}): HttpRequest {
  return {
    method,
    path,
    headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers ?? {}) },
    rawBody: init.rawBody,
    query: init.query ?? {},
    ...(init.ip === undefined ? {} : { ip: init.ip }),
  };
}

function body(res: HttpResponse): Record<string, unknown> {
  return JSON.parse(res.body) as Record<string, unknown>;
}

function expectError(res: HttpResponse, status: number, code: string, context?: Record<string, unknown>): void {
  expect({ status: res.status, body: body(res).error }, res.body).toEqual({ status, body: code });
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(Object.keys(body(res)).sort()).toEqual(['context', 'error', 'message']);
  if (context) expect(body(res).context).toMatchObject(context);
}

describe('createHttpHandler – routing', () => {
  it('prefix – accepts a prefix with or without slashes, and routes nothing outside it', async () => {
    for (const prefix of ['/payable', 'payable', '/payable/', '//payable//']) {
      const { handle } = setup({ prefix });
      expect((await handle(request('GET', '/payable/health'))).status).toBe(200);
      expectError(await handle(request('GET', '/health')), 404, 'NOT_FOUND');
      expectError(await handle(request('GET', '/payablex/health')), 404, 'NOT_FOUND');
    }
  });

  it('path – ignores a query string in the path and decodes percent-encoded ids', async () => {
    const { handle, payable } = setup();
    const payment = await payable.charge({ amount: 100, currency: 'USD' });
    const res = await handle(request('GET', `/payments/${encodeURIComponent(payment.id)}?x=1`));
    expect(res.status).toBe(200);
    expect(body(res).id).toBe(payment.id);
    expectError(await handle(request('GET', '/payments/%E0%A4%A')), 404, 'NOT_FOUND');
  });

  it('method – is case-insensitive; a wrong one answers 404 with Allow naming the allowed methods', async () => {
    const { handle } = setup();
    expect((await handle(request('get', '/health'))).status).toBe(200);
    const res = await handle(request('PATCH', '/subscriptions/sub_1/cancel'));
    expectError(res, 404, 'NOT_FOUND', { allow: 'POST' });
    expect(res.headers.allow).toBe('POST');
    expect(body(res).message).toContain('POST');
  });

  it('never answers 501 for any method and path', async () => {
    const { handle } = setup();
    const segment = fc.constantFrom(
      'webhooks',
      'payments',
      'refunds',
      'customers',
      'checkout',
      'subscriptions',
      'cancel',
      'invoices',
      'events',
      'replay',
      'health',
      'fake',
      'x',
      '',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'),
        fc.array(segment, { maxLength: 4 }),
        async (method, segments) => {
          const res = await handle(request(method, `/${segments.join('/')}`, { rawBody: '{}' }));
          expect(res.status).not.toBe(501);
          expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
          expect(() => JSON.parse(res.body)).not.toThrow();
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('createHttpHandler – authorization', () => {
  it('authorize – gets the request with header names lowercased, whatever the adapter passed', async () => {
    const { handle, authorized } = setup();
    const res = await handle({
      method: 'GET',
      path: '/payments',
      headers: { Authorization: `Bearer ${TOKEN}`, 'X-Trace': 'abc' },
      rawBody: undefined,
      query: { limit: '2' },
      ip: '203.0.113.9',
    });
    expect(res.status).toBe(200);
    expect(authorized[0]).toMatchObject({
      method: 'GET',
      path: '/payments',
      headers: { authorization: `Bearer ${TOKEN}`, 'x-trace': 'abc' },
      query: { limit: '2' },
      ip: '203.0.113.9',
    });
  });

  it('authorize – anything but true (a truthy string, a rejected promise) answers 401', async () => {
    for (const authorize of [
      () => 'yes' as unknown as boolean,
      () => Promise.reject(new Error('db down')),
      () => Promise.resolve(false),
    ]) {
      const { handle } = setup({ authorize });
      expectError(await handle(request('GET', '/payments')), 401, 'UNAUTHORIZED');
    }
    const { handle } = setup({ authorize: async () => true });
    expect((await handle(request('GET', '/payments'))).status).toBe(200);
  });

  it('authorize – is checked after routing: an unknown path is 404 even without credentials', async () => {
    const { handle, authorized } = setup();
    expectError(await handle(request('GET', '/nope', { headers: { authorization: '' } })), 404, 'NOT_FOUND');
    expect(authorized).toEqual([]);
  });
});

describe('createHttpHandler – bodies', () => {
  it('webhooks – a body a JSON parser already consumed answers INVALID_WEBHOOK_PAYLOAD naming the fix', async () => {
    const { handle, fake } = setup();
    const delivery = fake.eventFor('charge.dispute.created', { id: 'dp_1' });
    const res = await handle(
      request('POST', '/webhooks/fake', { headers: delivery.headers, rawBody: JSON.parse(delivery.rawBody) }),
    );
    expectError(res, 400, 'INVALID_WEBHOOK_PAYLOAD');
    expect(String(body(res).message)).toMatch(/JSON parser/);
    expect(String(body(res).message)).toMatch(/before any JSON body parser/);
    expect(fake.lastVerifyInput).toBeNull();
  });

  it('webhooks – a Buffer, a Uint8Array and a string body are all verified over the same bytes', async () => {
    const { handle, fake } = setup();
    for (const encode of [
      (s: string) => Buffer.from(s),
      (s: string) => new Uint8Array(Buffer.from(s)),
      (s: string) => s,
    ]) {
      const delivery = fake.eventFor('charge.dispute.created', { id: `dp_${Math.random()}`, text: 'Grüße ⚡' });
      const res = await handle(
        request('POST', '/webhooks/fake', { headers: delivery.headers, rawBody: encode(delivery.rawBody) }),
      );
      expect(res.status, res.body).toBe(200);
      expect(fake.lastVerifyInput?.payload.toString('utf8')).toBe(delivery.rawBody);
    }
  });

  it('bodyLimit – counts bytes, not characters, on every route with a body', async () => {
    const { handle, fake } = setup({ bodyLimit: 10 });
    const text = '"€€€€"'; // 6 characters, 14 bytes
    expectError(await handle(request('POST', '/payments', { rawBody: text })), 413, 'PAYLOAD_TOO_LARGE', { limit: 10 });
    expectError(
      await handle(request('POST', '/webhooks/fake', { rawBody: Buffer.alloc(11) })),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    expect(fake.calls).toEqual([]);
    const exact = await handle(request('POST', '/customers', { rawBody: '{        }' }));
    expect(exact.status, exact.body).toBe(201);
  });

  it('bodyLimit – a negative or non-numeric limit is refused when the handler is created', () => {
    const { payable } = setup();
    for (const bodyLimit of [-1, Number.NaN]) {
      expect(() => createHttpHandler(payable, { bodyLimit })).toThrow(ValidationError);
    }
  });

  it('management – an object an adapter already parsed is accepted as the JSON body', async () => {
    const { handle } = setup();
    const res = await handle(request('POST', '/payments', { rawBody: { amount: 250, currency: 'EUR' } }));
    expect(res.status, res.body).toBe(201);
    expect(body(res)).toMatchObject({ amount: 250, currency: 'EUR' });
    expectError(await handle(request('POST', '/payments', { rawBody: [1] })), 400, 'VALIDATION_ERROR', {
      field: 'body',
    });
  });

  it('management – a UTF-8 byte order mark before the JSON is tolerated', async () => {
    const { handle } = setup();
    const res = await handle(
      request('POST', '/payments', { rawBody: Buffer.from('\uFEFF{"amount":100,"currency":"USD"}') }),
    );
    expect(res.status, res.body).toBe(201);
  });

  it('management – provider and tenantId come from the body and never reach the operation input', async () => {
    const { handle, fake, payable } = setup();
    const res = await handle(
      request('POST', '/payments', {
        rawBody: JSON.stringify({ amount: 100, currency: 'USD', provider: 'fake', tenantId: 'acme' }),
      }),
    );
    expect(res.status, res.body).toBe(201);
    expect(body(res)).toMatchObject({ provider: 'fake', tenantId: 'acme' });
    expect(fake.calls.at(-1)?.options.tenantId).toBe('acme');
    const id = String(body(res).id);
    expectError(await handle(request('GET', `/payments/${id}`)), 404, 'NOT_FOUND');
    const scoped = await handle(request('GET', `/payments/${id}`, { query: { tenantId: 'acme' } }));
    expect(scoped.status).toBe(200);
    expect((await payable.listPayments({ tenantId: 'acme' })).data.map((p) => p.id)).toEqual([id]);
  });

  it('management – a provider or tenantId of the wrong type answers VALIDATION_ERROR naming it', async () => {
    const { handle } = setup();
    const bad = (extra: Record<string, unknown>) =>
      handle(request('POST', '/payments', { rawBody: JSON.stringify({ amount: 100, currency: 'USD', ...extra }) }));
    expectError(await bad({ provider: 7 }), 400, 'VALIDATION_ERROR', { field: 'provider' });
    expectError(await bad({ provider: '' }), 400, 'VALIDATION_ERROR', { field: 'provider' });
    expectError(await bad({ tenantId: 7 }), 400, 'VALIDATION_ERROR', { field: 'tenantId' });
  });

  it('cancel – the path id wins over an id in the body', async () => {
    const { handle, payable } = setup();
    const customer = await payable.createCustomer({ email: 'a@b.test' });
    const sub = await payable.subscribe({ customerId: customer.id, priceId: 'price_1' });
    const res = await handle(
      request('POST', `/subscriptions/${sub.id}/cancel`, { rawBody: JSON.stringify({ id: 'sub_other' }) }),
    );
    expect(res.status, res.body).toBe(200);
    expect(body(res)).toMatchObject({ id: sub.id, status: 'canceled' });
  });

  it('query – a parameter given twice answers VALIDATION_ERROR naming it; once in an array is fine', async () => {
    const { handle } = setup();
    expectError(
      await handle(request('GET', '/payments', { query: { status: ['pending', 'succeeded'] } })),
      400,
      'VALIDATION_ERROR',
      {
        field: 'status',
      },
    );
    expect((await handle(request('GET', '/payments', { query: { limit: ['3'] } }))).status).toBe(200);
  });
});

describe('createHttpHandler – Idempotency-Key', () => {
  it('an empty or repeated header answers VALIDATION_ERROR and runs nothing', async () => {
    const { handle, fake } = setup();
    const rawBody = JSON.stringify({ amount: 100, currency: 'USD' });
    for (const key of ['', '   ', '""', ['a', 'b']]) {
      const res = await handle(request('POST', '/payments', { rawBody, headers: { 'idempotency-key': key } }));
      expectError(res, 400, 'VALIDATION_ERROR', { field: 'Idempotency-Key' });
    }
    expect(fake.calls).toEqual([]);
  });

  it('a key longer than 255 characters answers VALIDATION_ERROR', async () => {
    const { handle } = setup();
    const res = await handle(
      request('POST', '/payments', {
        rawBody: '{"amount":100,"currency":"USD"}',
        headers: { 'idempotency-key': 'k'.repeat(256) },
      }),
    );
    expectError(res, 400, 'VALIDATION_ERROR');
  });

  it('is ignored on GET routes', async () => {
    const { handle } = setup();
    const res = await handle(request('GET', '/payments', { headers: { 'idempotency-key': '' } }));
    expect(res.status).toBe(200);
  });
});

describe('createHttpHandler – errors and hooks', () => {
  it('RATE_LIMITED answers 429 with Retry-After from context.retryAfter (1 when absent)', async () => {
    const { handle, fake } = setup();
    const charge = () => handle(request('POST', '/payments', { rawBody: '{"amount":100,"currency":"USD"}' }));
    fake.failWith = () => new RateLimitedError('Slow down', { context: { retryAfter: 29.2 } });
    let res = await charge();
    expectError(res, 429, 'RATE_LIMITED', { retryAfter: 29.2 });
    expect(res.headers['retry-after']).toBe('30');
    fake.failWith = () => new RateLimitedError('Slow down');
    res = await charge();
    expect(res.headers['retry-after']).toBe('1');
  });

  it('PROVIDER_UNAVAILABLE answers 503, with Retry-After only when the cause says how long', async () => {
    const { handle, fake } = setup();
    const charge = () => handle(request('POST', '/payments', { rawBody: '{"amount":100,"currency":"USD"}' }));
    fake.failWith = () => new ProviderUnavailableError('Down', { context: { retryAfter: 12 } });
    let res = await charge();
    expectError(res, 503, 'PROVIDER_UNAVAILABLE');
    expect(res.headers['retry-after']).toBe('12');
    fake.failWith = () => new ProviderUnavailableError('Down');
    res = await charge();
    expectError(res, 503, 'PROVIDER_UNAVAILABLE');
    expect(res.headers['retry-after']).toBeUndefined();
  });

  it('an unexpected error answers 500 INTERNAL_ERROR without its message, and reaches onError', async () => {
    const { payable } = setup();
    const broken: Payable = Object.create(payable) as Payable;
    broken.health = async () => {
      throw new Error('connection string postgres://admin:hunter2@db');
    };
    const errors: unknown[] = [];
    const handle = createHttpHandler(broken, { hooks: { onError: (error) => errors.push(error) } });
    const res = await handle(request('GET', '/health'));
    expect(res.status).toBe(500);
    expect(JSON.parse(res.body)).toEqual({ error: 'INTERNAL_ERROR', message: 'Internal error', context: {} });
    expect(res.body).not.toContain('hunter2');
    expect(errors).toHaveLength(1);
    expect(String((errors[0] as Error).message)).toContain('hunter2');
  });

  it('hooks – onRequest and onResponse see every request with its duration; client errors skip onError', async () => {
    const seen: string[] = [];
    const durations: number[] = [];
    const errors: unknown[] = [];
    const { handle } = setup({
      hooks: {
        onRequest: (req) => seen.push(`req ${req.method} ${req.path}`),
        onResponse: (req, res, ms) => {
          seen.push(`res ${req.path} ${res.status}`);
          durations.push(ms);
        },
        onError: (error) => errors.push(error),
      },
    });
    await handle(request('GET', '/health'));
    await handle(request('GET', '/payments/pay_missing'));
    expect(seen).toEqual([
      'req GET /health',
      'res /health 200',
      'req GET /payments/pay_missing',
      'res /payments/pay_missing 404',
    ]);
    for (const ms of durations) expect(ms).toBeGreaterThanOrEqual(0);
    expect(errors).toEqual([]);
  });

  it('hooks – a hook that throws never changes the response', async () => {
    const { handle } = setup({
      hooks: {
        onRequest: () => {
          throw new Error('metrics down');
        },
        onResponse: () => {
          throw new Error('metrics down');
        },
      },
    });
    const res = await handle(request('GET', '/health'));
    expect(res.status).toBe(200);
    expect(body(res)).toMatchObject({ ok: true });
  });

  it('a malformed request object still gets a JSON answer', async () => {
    const { handle } = setup();
    const res = await handle({ method: 'GET', path: '/health' } as unknown as HttpRequest);
    expect(res.status).toBe(200);
  });
});
