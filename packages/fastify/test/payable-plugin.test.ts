import { request as httpRequest } from 'node:http';
import { createPayable, type HttpRequest, MemoryStorageDriver, type Payable, SyncQueueDriver } from '@payable/core';
import { payablePlugin } from '@payable/fastify';
import { FakeProvider, httpConformance } from '@payable/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';

async function listen(app: FastifyInstance): Promise<{ url: string; close: () => Promise<void> }> {
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, close: () => app.close() };
}

httpConformance('fastify', async ({ payable, options }) => {
  const app = Fastify();
  await app.register(payablePlugin, { payable, ...options });
  return listen(app);
});

// The whole suite again inside an enclosing plugin with its own prefix: the prefixes add up.
httpConformance('fastify inside a plugin registered at /api', async ({ payable, options }) => {
  const app = Fastify();
  await app.register(
    async (api) => {
      await api.register(payablePlugin, { payable, ...options });
    },
    { prefix: '/api' },
  );
  const server = await listen(app);
  return { url: `${server.url}/api`, close: server.close };
});

const TOKEN = 'fastify-adapter-token';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

async function request(url: string, init: RequestInit = {}): Promise<Reply> {
  const res = await fetch(url, init);
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      json = parsed as Record<string, unknown>;
  } catch {
    // Not JSON: assertions on `json` fail with `text` in view.
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** POSTs chunks without Content-Length and without ending the body; resolves with the answer. */
function postChunksWithoutEnding(url: string, chunks: readonly string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error('no answer within 5000 ms while the body was still streaming'));
    }, 5000);
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') });
      });
    });
    req.on('error', () => {});
    for (const chunk of chunks) req.write(chunk);
  });
}

describe('@payable/fastify', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  afterAll(async () => {
    for (const item of open.splice(0)) await item.close();
  });

  interface Started {
    url: string;
    app: FastifyInstance;
    payable: Payable;
    fake: FakeProvider;
    authorized: HttpRequest[];
  }

  async function start(
    mount: (
      app: FastifyInstance,
      t: Omit<Started, 'url' | 'app'> & { authorize(req: HttpRequest): boolean },
    ) => Promise<void>,
    serverOptions: { bodyLimit?: number } = {},
  ): Promise<Started> {
    const fake = new FakeProvider();
    const payable = createPayable({
      providers: { fake },
      storage: new MemoryStorageDriver(),
      queue: new SyncQueueDriver(),
    });
    const authorized: HttpRequest[] = [];
    const authorize = (req: HttpRequest): boolean => {
      authorized.push(req);
      return req.headers.authorization === `Bearer ${TOKEN}`;
    };
    const app = Fastify(serverOptions);
    await mount(app, { payable, fake, authorized, authorize });
    const server = await listen(app);
    open.push(server, { close: () => payable.close() });
    return { url: server.url, app, payable, fake, authorized };
  }

  it("the app's own routes keep Fastify's JSON and text parsing, before and after the plugin", async () => {
    const { url, payable, fake } = await start(async (app, t) => {
      app.post('/before', async (request) => ({ got: request.body }));
      await app.register(payablePlugin, { payable: t.payable, authorize: t.authorize });
      app.post('/after', async (request) => ({ got: request.body }));
      app.post('/text', async (request) => ({ type: typeof request.body, got: request.body }));
    });
    for (const path of ['/before', '/after']) {
      const r = await request(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ order: 7, items: ['a', 'b'] }),
      });
      expect(r.status, r.text).toBe(200);
      expect(r.json).toEqual({ got: { order: 7, items: ['a', 'b'] } });
    }
    const text = await request(`${url}/text`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(text.json).toEqual({ type: 'string', got: 'hello' });

    // …while Payable's routes at the root still get the raw bytes: the webhook verifies.
    const payment = await payable.charge({ amount: 500, currency: 'USD', metadata: { fake_outcome: 'pending' } });
    const delivery = fake.completePayment(payment.providerId);
    const hook = await request(`${url}/webhooks/fake`, {
      method: 'POST',
      headers: delivery.headers,
      body: delivery.rawBody,
    });
    expect(hook.status, hook.text).toBe(200);
    expect((await payable.getPayment(payment.id)).status).toBe('succeeded');

    // A user's JSON route that is malformed is still Fastify's own 400, not Payable's.
    const bad = await request(`${url}/after`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{',
    });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('FST_ERR_CTP_INVALID_JSON_BODY');
  });

  it('with a prefix – routes answer under it; authorize sees the full path; paths outside are the app’s', async () => {
    const { url, authorized } = await start(async (app, t) => {
      await app.register(payablePlugin, { payable: t.payable, prefix: '/payable', authorize: t.authorize });
      app.get('/health', async () => 'app health');
    });
    const health = await request(`${url}/payable/health`);
    expect(health.status, health.text).toBe(200);
    expect(health.json.ok).toBe(true);
    expect((await request(`${url}/health`)).text).toBe('app health');

    const created = await request(`${url}/payable/payments`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ amount: 1200, currency: 'EUR' }),
    });
    expect(created.status, created.text).toBe(201);
    expect(authorized.at(-1)?.path).toBe('/payable/payments');

    const unknown = await request(`${url}/payable/nope`, { headers: auth });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ error: 'NOT_FOUND', context: { path: '/payable/nope' } });
  });

  it('registered twice at two prefixes – each instance serves its own payable', async () => {
    const second = createPayable({
      providers: { fake: new FakeProvider() },
      storage: new MemoryStorageDriver(),
      queue: new SyncQueueDriver(),
    });
    open.push({ close: () => second.close() });
    const { url } = await start(async (app, t) => {
      await app.register(payablePlugin, { payable: t.payable, prefix: '/eu', authorize: t.authorize });
      await app.register(payablePlugin, { payable: second, prefix: '/us', authorize: t.authorize });
    });
    const eu = await request(`${url}/eu/payments`, {
      method: 'POST',
      headers: auth,
      body: '{"amount":100,"currency":"EUR"}',
    });
    expect(eu.status, eu.text).toBe(201);
    const inUs = await request(`${url}/us/payments/${String(eu.json.id)}`, { headers: auth });
    expect(inUs.status).toBe(404);
    const inEu = await request(`${url}/eu/payments/${String(eu.json.id)}`, { headers: auth });
    expect(inEu.status).toBe(200);
  });

  it("bodyLimit – Fastify's body-too-large error becomes 413 PAYLOAD_TOO_LARGE with Payable's JSON, also while streaming", async () => {
    const limit = 1024;
    const { url, fake } = await start(async (app, t) => {
      await app.register(payablePlugin, {
        payable: t.payable,
        prefix: '/payable',
        authorize: t.authorize,
        bodyLimit: limit,
      });
    });
    const chunk = 'x'.repeat(600);
    const streamed = await postChunksWithoutEnding(`${url}/payable/webhooks/fake`, [chunk, chunk, chunk]);
    expect(streamed.status, streamed.body).toBe(413);
    expect(JSON.parse(streamed.body)).toEqual({
      error: 'PAYLOAD_TOO_LARGE',
      message: expect.stringContaining(`${limit} bytes`) as unknown,
      context: { limit },
    });

    const declared = await request(`${url}/payable/payments`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ amount: 100, currency: 'USD', description: 'y'.repeat(limit) }),
    });
    expect(declared.status, declared.text).toBe(413);
    expect(declared.headers.get('content-type')).toMatch(/^application\/json/);
    expect(declared.json).toMatchObject({ error: 'PAYLOAD_TOO_LARGE', context: { limit } });
    expect(fake.calls.filter((c) => c.op === 'charge')).toEqual([]);
    expect((await request(`${url}/payable/health`)).status).toBe(200);
  });

  it("bodyLimit – Payable's limit applies to its routes even when the server's bodyLimit is smaller", async () => {
    const { url } = await start(
      async (app, t) => {
        await app.register(payablePlugin, { payable: t.payable, authorize: t.authorize, bodyLimit: 64 * 1024 });
      },
      { bodyLimit: 100 },
    );
    const r = await request(`${url}/payments`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ amount: 100, currency: 'USD', description: 'd'.repeat(1000) }),
    });
    expect(r.status, r.text).toBe(201);
  });

  it('a malformed or missing Content-Type never answers 415 or 500: the body is read raw like any other', async () => {
    const { url, fake, payable } = await start(async (app, t) => {
      await app.register(payablePlugin, { payable: t.payable, authorize: t.authorize });
    });
    for (const contentType of [';;;', 'json', '/', 'application/', 'application/json; charset']) {
      const payment = await payable.charge({ amount: 300, currency: 'USD', metadata: { fake_outcome: 'pending' } });
      const delivery = fake.completePayment(payment.providerId);
      const hook = await request(`${url}/webhooks/fake`, {
        method: 'POST',
        headers: { ...delivery.headers, 'content-type': contentType },
        body: delivery.rawBody,
      });
      expect(hook.status, `${contentType}: ${hook.text}`).toBe(200);
      expect((await payable.getPayment(payment.id)).status).toBe('succeeded');

      const created = await request(`${url}/payments`, {
        method: 'POST',
        headers: { ...auth, 'content-type': contentType },
        body: JSON.stringify({ amount: 100, currency: 'USD' }),
      });
      expect(created.status, `${contentType}: ${created.text}`).toBe(201);
      const notJson = await request(`${url}/payments`, {
        method: 'POST',
        headers: { ...auth, 'content-type': contentType },
        body: 'amount=100',
      });
      expect(notJson.status).toBe(400);
      expect(notJson.json).toMatchObject({ error: 'VALIDATION_ERROR', context: { field: 'body' } });
    }
    // The verifier saw the header as sent.
    expect(fake.lastVerifyInput?.headers['content-type']).toBe('application/json; charset');

    // No Content-Type at all, with a body.
    const payment = await payable.charge({ amount: 300, currency: 'USD', metadata: { fake_outcome: 'pending' } });
    const delivery = fake.completePayment(payment.providerId);
    const bare = new Headers(delivery.headers);
    bare.delete('content-type');
    const blob = new Blob([delivery.rawBody]); // a Blob without a type: fetch sends no Content-Type
    const hook = await request(`${url}/webhooks/fake`, { method: 'POST', headers: bare, body: blob });
    expect(hook.status, hook.text).toBe(200);
  });

  it('errors the app raises in its own hooks still reach its error handler', async () => {
    const { url } = await start(async (app, t) => {
      app.setErrorHandler(async (error: Error, _request, reply) =>
        reply.code(418).send({ handledBy: 'app', message: error.message }),
      );
      app.addHook('onRequest', async (request) => {
        if (request.headers['x-block'] === 'yes') throw new Error('blocked by the app');
      });
      await app.register(payablePlugin, { payable: t.payable, authorize: t.authorize });
    });
    const r = await request(`${url}/health`, { headers: { 'x-block': 'yes' } });
    expect(r.status).toBe(418);
    expect(r.json).toEqual({ handledBy: 'app', message: 'blocked by the app' });
  });

  it('no route answers 501: every method on every path is JSON', async () => {
    const { url } = await start(async (app, t) => {
      await app.register(payablePlugin, { payable: t.payable, prefix: '/payable', authorize: t.authorize });
    });
    const paths = [
      '',
      '/',
      '/webhooks',
      '/webhooks/fake',
      '/payments',
      '/refunds',
      '/customers/cus_1',
      '/invoices',
      '/x/y/z',
    ];
    for (const path of paths) {
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
        const r = await request(`${url}/payable${path}`, { method, headers: { authorization: `Bearer ${TOKEN}` } });
        expect(r.status, `${method} ${path}`).not.toBe(501);
        expect(r.headers.get('content-type') ?? '', `${method} ${path}`).toMatch(/^application\/json/);
        if (r.status >= 400) expect(Object.keys(r.json).sort()).toEqual(['context', 'error', 'message']);
      }
    }
  });

  it('registering without a payable fails at startup with a clear error', async () => {
    const app = Fastify();
    // @ts-expect-error the payable option is required
    await expect(app.register(payablePlugin, {})).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
      message: expect.stringContaining('payablePlugin needs the payable option') as unknown,
    });
    await app.close();
  });
});
