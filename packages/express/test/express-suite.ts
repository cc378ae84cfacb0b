import { payableRouter } from '@payable/express';
import { httpConformance } from '@payable/testing';
import express from 'express';
import { afterAll, describe, expect, it } from 'vitest';
import { postChunksWithoutEnding } from './streaming.js';
import { auth, listen, request, TOKEN, type TestPayable, testPayable } from './support.js';

/**
 * The HTTP conformance suite and the Express-specific tests, against whichever Express the test
 * file resolves `express` to (5 by default; 4 where the file maps `express` to `express4`).
 */
export function expressSuite(name: string): void {
  httpConformance(name, async ({ payable, options }) => {
    const app = express();
    app.use(payableRouter(payable, options));
    return listen(app);
  });

  // The whole suite again with the router mounted at a path: routing must use the path inside it.
  httpConformance(`${name} mounted at /billing`, async ({ payable, options }) => {
    const app = express();
    app.use('/billing', payableRouter(payable, options));
    const server = await listen(app);
    return { url: `${server.url}/billing`, close: server.close };
  });

  describe(`@payable/express on ${name}`, () => {
    const open: Array<{ close(): Promise<void> }> = [];
    afterAll(async () => {
      for (const item of open.splice(0)) await item.close();
    });

    async function start(
      mount: (app: express.Express, t: TestPayable) => void,
    ): Promise<{ url: string; t: TestPayable }> {
      const t = testPayable();
      const app = express();
      mount(app, t);
      const server = await listen(app);
      open.push(server, { close: () => t.payable.close() });
      return { url: server.url, t };
    }

    /** A pending payment made directly on the facade, and the signed delivery that pays it. */
    async function pendingPayment(t: TestPayable) {
      const payment = await t.payable.charge({ amount: 1500, currency: 'EUR', metadata: { fake_outcome: 'pending' } });
      return { payment, delivery: t.fake.completePayment(payment.providerId) };
    }

    it('express.json() mounted before the router – a webhook answers 400 INVALID_WEBHOOK_PAYLOAD saying to mount the router first', async () => {
      const { url, t } = await start((app, t) => {
        app.use(express.json());
        app.use(payableRouter(t.payable, { authorize: t.authorize }));
      });
      const { payment, delivery } = await pendingPayment(t);
      const r = await request(`${url}/webhooks/fake`, {
        method: 'POST',
        headers: delivery.headers,
        body: delivery.rawBody,
      });
      expect(r.status, r.text).toBe(400);
      expect(r.json.error).toBe('INVALID_WEBHOOK_PAYLOAD');
      expect(r.json.message).toMatch(/mount the Payable routes before any JSON body parser/);
      expect(r.json.context).toMatchObject({ reason: 'body_already_parsed' });
      expect((await t.payable.getPayment(payment.id)).status).toBe('pending');

      // Management routes keep working on the body express.json() parsed.
      const created = await request(`${url}/payments`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ amount: 990, currency: 'USD' }),
      });
      expect(created.status, created.text).toBe(201);
      expect(created.json).toMatchObject({ amount: 990, currency: 'USD', status: 'succeeded' });
    });

    it('express.json() mounted after the router – webhooks verify and your own JSON routes still get parsed bodies', async () => {
      const { url, t } = await start((app, t) => {
        app.use(payableRouter(t.payable, { prefix: '/payable', authorize: t.authorize }));
        app.use(express.json());
        app.post('/api/echo', (req, res) => {
          res.json({ echoed: req.body as unknown });
        });
      });
      const { payment, delivery } = await pendingPayment(t);
      const hook = await request(`${url}/payable/webhooks/fake`, {
        method: 'POST',
        headers: delivery.headers,
        body: delivery.rawBody,
      });
      expect(hook.status, hook.text).toBe(200);
      expect((await t.payable.getPayment(payment.id)).status).toBe('succeeded');

      const echo = await request(`${url}/api/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ order: 42, items: ['a'] }),
      });
      expect(echo.status, echo.text).toBe(200);
      expect(echo.json).toEqual({ echoed: { order: 42, items: ['a'] } });

      // Paths outside the prefix are not Payable's: they fall through to the app (its own 404).
      const outside = await request(`${url}/health`);
      expect(outside.status).toBe(404);
      expect(outside.json.error).toBeUndefined();
    });

    it('express.raw() mounted before the router – the Buffer it read is the raw body, webhooks verify', async () => {
      const { url, t } = await start((app, t) => {
        app.use(express.raw({ type: '*/*' }));
        app.use(payableRouter(t.payable));
      });
      const { payment, delivery } = await pendingPayment(t);
      const r = await request(`${url}/webhooks/fake`, {
        method: 'POST',
        headers: delivery.headers,
        body: delivery.rawBody,
      });
      expect(r.status, r.text).toBe(200);
      expect((await t.payable.getPayment(payment.id)).status).toBe('succeeded');
    });

    it("mounted at a path – routes answer under it, authorize sees the path inside the router, the app's other paths are untouched", async () => {
      const { url, t } = await start((app, t) => {
        app.get('/health', (_req, res) => {
          res.type('text/plain').send('app health');
        });
        app.use('/billing', payableRouter(t.payable, { authorize: t.authorize }));
      });
      const health = await request(`${url}/billing/health`);
      expect(health.status, health.text).toBe(200);
      expect(health.json.ok).toBe(true);
      const appHealth = await request(`${url}/health`);
      expect(appHealth.text).toBe('app health');

      const created = await request(`${url}/billing/payments`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ amount: 1200, currency: 'EUR', metadata: { fake_outcome: 'pending' } }),
      });
      expect(created.status, created.text).toBe(201);
      expect(t.authorized.at(-1)?.path).toBe('/payments');

      const delivery = t.fake.completePayment(String(created.json.providerId));
      const hook = await request(`${url}/billing/webhooks/fake`, {
        method: 'POST',
        headers: delivery.headers,
        body: delivery.rawBody,
      });
      expect(hook.status, hook.text).toBe(200);
      const got = await request(`${url}/billing/payments/${String(created.json.id)}?expand=none`, { headers: auth });
      expect(got.json).toMatchObject({ id: created.json.id, status: 'succeeded' });
      expect(t.authorized.at(-1)?.query).toEqual({ expand: 'none' });

      // An unknown path under the mount point answers like the core: JSON 404 NOT_FOUND.
      const unknown = await request(`${url}/billing/nope`, { headers: auth });
      expect(unknown.status).toBe(404);
      expect(unknown.json).toMatchObject({ error: 'NOT_FOUND', context: { path: '/nope' } });
    });

    it('mounted under a path with a parameter – each mount point serves the same routes', async () => {
      const { url, t } = await start((app, t) => {
        app.use('/shops/:shop/payable', payableRouter(t.payable, { authorize: t.authorize }));
      });
      for (const shop of ['north', 'south']) {
        const r = await request(`${url}/shops/${shop}/payable/payments?limit=1`, { headers: auth });
        expect(r.status, r.text).toBe(200);
        expect(r.json).toMatchObject({ hasMore: expect.any(Boolean) as unknown });
      }
      expect(t.authorized.map((req) => req.path)).toEqual(['/payments', '/payments']);
    });

    it('a body streaming past bodyLimit answers 413 PAYLOAD_TOO_LARGE before the body ends, and stores nothing', async () => {
      const limit = 1024;
      const { url, t } = await start((app, t) => {
        app.use('/payable', payableRouter(t.payable, { authorize: t.authorize, bodyLimit: limit }));
      });
      const chunk = 'x'.repeat(600);
      const r = await postChunksWithoutEnding(`${url}/payable/webhooks/fake`, [chunk, chunk, chunk]);
      expect(r.status, r.body).toBe(413);
      expect(String(r.headers['content-type'])).toMatch(/^application\/json/);
      expect(JSON.parse(r.body)).toMatchObject({ error: 'PAYLOAD_TOO_LARGE', context: { limit } });
      expect(await t.payable.listPayments({})).toMatchObject({ data: [] });

      // A declared Content-Length over the limit is refused without reading the body.
      const declared = await request(`${url}/payable/payments`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ amount: 100, currency: 'USD', description: 'y'.repeat(limit) }),
      });
      expect(declared.status, declared.text).toBe(413);
      expect(declared.json.error).toBe('PAYLOAD_TOO_LARGE');
      expect(t.fake.calls.filter((c) => c.op === 'charge')).toEqual([]);

      // The server still serves the next request.
      expect((await request(`${url}/payable/health`)).status).toBe(200);
    });

    it('no route answers 501: every method on every path under a mount point is JSON', async () => {
      const { url } = await start((app, t) => {
        app.use('/billing', payableRouter(t.payable, { authorize: t.authorize }));
      });
      const paths = [
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
          const r = await request(`${url}/billing${path}`, {
            method,
            headers: { authorization: `Bearer ${TOKEN}` },
          });
          expect(r.status, `${method} ${path}`).not.toBe(501);
          expect(r.headers.get('content-type') ?? '', `${method} ${path}`).toMatch(/^application\/json/);
          if (r.status >= 400) expect(Object.keys(r.json).sort()).toEqual(['context', 'error', 'message']);
        }
      }
    });
  });
}
