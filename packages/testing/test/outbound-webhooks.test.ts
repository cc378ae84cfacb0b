import {
  createPayable,
  type DomainEvent,
  MemoryStorageDriver,
  NodeEncryptionDriver,
  type OutboundOptions,
  verifyWebhook,
} from '@payable/core';
import { FakeProvider, startWebhookReceiver, TestClock, type WebhookReceiver } from '@payable/testing';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { afterEach, describe, expect, it } from 'vitest';
import { caught } from './support.js';

const receivers: WebhookReceiver[] = [];
afterEach(async () => {
  for (const r of receivers.splice(0)) await r.close();
});

async function receiver(...args: Parameters<typeof startWebhookReceiver>): Promise<WebhookReceiver> {
  const r = await startWebhookReceiver(...args);
  receivers.push(r);
  return r;
}

function setup(outbound: OutboundOptions = {}, extra: { encryption?: NodeEncryptionDriver } = {}) {
  // Signatures carry the clock's time; receivers check it against theirs (5-minute tolerance).
  const clock = new TestClock(new Date());
  const storage = new MemoryStorageDriver();
  const fake = new FakeProvider();
  const payable = createPayable({
    providers: { fake },
    storage,
    clock,
    outbound: { allowPrivateNetworks: true, ...outbound },
    ...extra,
  });
  return { payable, storage, clock, fake };
}

function headersOf(r: { headers: Record<string, string | string[] | undefined> }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) if (typeof v === 'string') out[k] = v;
  return out;
}

describe('endpoints', () => {
  it('creates an endpoint, returns its whsec_ secret once, and never shows it again', async () => {
    const { payable } = setup();
    const created = await payable.endpoints.create({ url: 'https://93.184.215.14/hooks', events: ['payment.*'] });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(created.secret.slice(6), 'base64')).toHaveLength(32);
    expect(created).toMatchObject({ scheme: 'standard-webhooks', status: 'enabled', events: ['payment.*'] });
    const got = await payable.endpoints.get(created.id);
    expect(got).not.toHaveProperty('secret');
    expect(JSON.stringify(await payable.endpoints.list())).not.toContain(created.secret.slice(6));
  });

  it('stores the secret encrypted when encryption is configured', async () => {
    const encryption = new NodeEncryptionDriver({ key: 'a-long-high-entropy-test-key-0123456789' });
    const { payable, storage } = setup({}, { encryption });
    const created = await payable.endpoints.create({ url: 'https://93.184.215.14/hooks', events: ['*'] });
    const row = await storage.getEndpoint(created.id);
    expect(row?.secret).not.toContain(created.secret);
    expect(row?.secret).not.toContain(created.secret.slice(6));
  });

  it('refuses bad input with VALIDATION_ERROR naming the field', async () => {
    const { payable } = setup();
    const unknown = await caught(
      payable.endpoints.create({ url: 'https://93.184.215.14', events: ['*'], colour: 'red' } as never),
    );
    expect(unknown.code).toBe('VALIDATION_ERROR');
    expect(unknown.context.field).toBe('colour');
    const events = await caught(payable.endpoints.create({ url: 'https://93.184.215.14', events: [] }));
    expect(events.context.field).toBe('events');
    const pattern = await caught(payable.endpoints.create({ url: 'https://93.184.215.14', events: ['Payment Done'] }));
    expect(pattern.context.field).toBe('events.0');
  });

  it('refuses private addresses with ENDPOINT_URL_FORBIDDEN (400) unless allowed', async () => {
    const { payable } = setup({ allowPrivateNetworks: false });
    for (const url of [
      'http://127.0.0.1:9/hooks',
      'http://[::1]/',
      'http://10.1.2.3/',
      'http://localhost.localdomain/',
    ]) {
      const error = await caught(payable.endpoints.create({ url, events: ['*'] }));
      expect(error.code).toBe('ENDPOINT_URL_FORBIDDEN');
      expect(error.httpStatus).toBe(400);
    }
    const { payable: dev } = setup({ allowPrivateNetworks: true });
    await expect(dev.endpoints.create({ url: 'http://127.0.0.1:9/hooks', events: ['*'] })).resolves.toBeDefined();
  });

  it('needs storage: OUTBOX_STORAGE_REQUIRED without it', async () => {
    const payable = createPayable({ providers: { fake: new FakeProvider() } });
    expect((await caught(payable.endpoints.create({ url: 'https://93.184.215.14', events: ['*'] }))).code).toBe(
      'OUTBOX_STORAGE_REQUIRED',
    );
  });

  it('scopes endpoints by tenant: another tenant sees NOT_FOUND', async () => {
    const { payable } = setup();
    const ep = await payable.endpoints.create({ url: 'https://93.184.215.14', events: ['*'], tenantId: 'shop_1' });
    await expect(payable.endpoints.get(ep.id, { tenantId: 'shop_1' })).resolves.toMatchObject({ id: ep.id });
    expect((await caught(payable.endpoints.get(ep.id, { tenantId: 'shop_2' }))).code).toBe('NOT_FOUND');
    expect((await payable.endpoints.list({ tenantId: 'shop_2' })).data).toEqual([]);
  });
});

describe('delivery', () => {
  it('delivers domain events signed per Standard Webhooks: standardwebhooks, svix and verifyWebhook all accept them', async () => {
    const { payable } = setup();
    const r = await receiver();
    const ep = await payable.endpoints.create({ url: r.url('/hooks'), events: ['payment.*'] });
    const payment = await payable.charge({ amount: 1999, currency: 'EUR' });
    await payable.outbox().dispatchOnce();
    const [first] = await r.waitForRequests(1);
    expect(r.requests.map((q) => (JSON.parse(q.body) as DomainEvent).type)).toEqual([
      'payment.created',
      'payment.succeeded',
    ]);
    const req = first ?? r.requests[0];
    if (!req) throw new Error('no request');
    expect(req.method).toBe('POST');
    expect(req.headers['content-type']).toBe('application/json');
    const headers = headersOf(req);
    const event = JSON.parse(req.body) as DomainEvent;
    expect(headers['webhook-id']).toBe(event.id);
    expect((event.data as { id: string }).id).toBe(payment.id);
    expect(new StandardWebhook(ep.secret).verify(req.body, headers)).toEqual(event);
    expect(new SvixWebhook(ep.secret).verify(req.body, headers)).toEqual(event);
    expect(verifyWebhook({ payload: req.body, headers, secret: ep.secret })).toEqual(event);
    const other = await payable.endpoints.create({ url: r.url('/other'), events: ['*'] });
    expect(() => verifyWebhook({ payload: req.body, headers, secret: other.secret })).toThrow(
      expect.objectContaining({ code: 'INVALID_WEBHOOK_SIGNATURE' }),
    );
  });

  it('signs payable-v1 endpoints with Payable-Signature: t=…,v1=<hex>', async () => {
    const { payable } = setup();
    const r = await receiver();
    const ep = await payable.endpoints.create({ url: r.url(), events: ['customer.created'], scheme: 'payable-v1' });
    await payable.createCustomer({ email: 'ada@example.test' });
    await payable.outbox().dispatchOnce();
    const [req] = await r.waitForRequests(1);
    if (!req) throw new Error('no request');
    expect(req.headers['payable-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    const event = verifyWebhook({ payload: req.body, headers: req.headers, secret: ep.secret, scheme: 'payable-v1' });
    expect(event.type).toBe('customer.created');
    expect(req.body).not.toContain('ada@example.test');
  });

  it('sends only the subscribed event types, and only a tenant its own events', async () => {
    const { payable } = setup();
    const r = await receiver();
    await payable.endpoints.create({ url: r.url('/refunds'), events: ['refund.*'] });
    await payable.endpoints.create({ url: r.url('/succeeded'), events: ['payment.succeeded'] });
    await payable.endpoints.create({ url: r.url('/shop1'), events: ['*'], tenantId: 'shop_1' });
    await payable.charge({ amount: 500, currency: 'EUR' }, { tenantId: 'shop_2' });
    await payable.charge({ amount: 700, currency: 'EUR' }, { tenantId: 'shop_1' });
    await payable.outbox().dispatchOnce();
    const seen = r.requests.map((q) => `${q.path} ${(JSON.parse(q.body) as DomainEvent).type}`).sort();
    expect(seen).toEqual([
      '/shop1 payment.created',
      '/shop1 payment.succeeded',
      '/succeeded payment.succeeded',
      '/succeeded payment.succeeded',
    ]);
  });

  it('retries failures on the schedule with jitter, logs every attempt, and stops once delivered', async () => {
    const { payable, clock } = setup({ retryScheduleMs: [5_000, 300_000] });
    const r = await receiver();
    const ep = await payable.endpoints.create({ url: r.url(), events: ['customer.created'] });
    r.replyNext({ status: 500, body: 'database down' }, { status: 502 });
    await payable.createCustomer({});
    await payable.outbox().dispatchOnce();
    const [d] = (await payable.endpoints.deliveries(ep.id)).data;
    if (!d) throw new Error('no delivery');
    expect(d).toMatchObject({ status: 'pending', attempts: 1, lastStatus: 500 });
    const first = d.nextAttemptAt?.getTime() ?? 0;
    expect(first - clock.now().getTime()).toBeGreaterThanOrEqual(4_000);
    expect(first - clock.now().getTime()).toBeLessThanOrEqual(6_000);

    expect(await payable.endpoints.deliverOnce()).toBe(0); // not due yet
    expect(r.requests).toHaveLength(1);
    clock.advance({ seconds: 6 });
    expect(await payable.endpoints.deliverOnce()).toBe(0); // 502
    clock.advance({ minutes: 6 });
    expect(await payable.endpoints.deliverOnce()).toBe(1);
    clock.advance({ hours: 10 });
    expect(await payable.endpoints.deliverOnce()).toBe(0);
    expect(r.requests).toHaveLength(3);
    expect(new Set(r.requests.map((q) => q.webhookId)).size).toBe(1); // the same event id each time

    const detail = await payable.endpoints.delivery(d.id);
    expect(detail).toMatchObject({ status: 'delivered', attempts: 3, lastStatus: 200, nextAttemptAt: null });
    expect(detail.log.map((a) => a.responseStatus)).toEqual([500, 502, 200]);
    expect(detail.log[0]?.responseBody).toBe('database down');
    expect(detail.log[0]?.nextAttemptAt).not.toBeNull();
    expect(detail.log[2]?.nextAttemptAt).toBeNull();
  });

  it('honours Retry-After when it asks for longer than the schedule', async () => {
    const { payable, clock } = setup({ retryScheduleMs: [5_000, 300_000] });
    const r = await receiver();
    const ep = await payable.endpoints.create({ url: r.url(), events: ['*'] });
    r.replyNext({ status: 503, headers: { 'retry-after': '120' } });
    await payable.createCustomer({});
    await payable.outbox().dispatchOnce();
    const [d] = (await payable.endpoints.deliveries(ep.id)).data;
    expect((d?.nextAttemptAt?.getTime() ?? 0) - clock.now().getTime()).toBeGreaterThanOrEqual(120_000);
    clock.advance({ seconds: 60 });
    expect(await payable.endpoints.deliverOnce()).toBe(0);
    expect(r.requests).toHaveLength(1);
    clock.advance({ seconds: 61 });
    expect(await payable.endpoints.deliverOnce()).toBe(1);
  });

  it('gives up after the last attempt of the schedule; redeliver sends it again', async () => {
    const { payable, clock } = setup({ retryScheduleMs: [1_000, 1_000] });
    const r = await receiver({ reply: () => ({ status: 500 }) });
    const ep = await payable.endpoints.create({ url: r.url(), events: ['*'] });
    await payable.createCustomer({});
    await payable.outbox().dispatchOnce();
    for (let i = 0; i < 4; i++) {
      clock.advance({ seconds: 2 });
      await payable.endpoints.deliverOnce();
    }
    expect(r.requests).toHaveLength(3);
    const [d] = (await payable.endpoints.deliveries(ep.id, { status: 'failed' })).data;
    expect(d).toMatchObject({ status: 'failed', attempts: 3, nextAttemptAt: null });
    r.replyNext({ status: 204 });
    await payable.endpoints.redeliver(d?.id ?? '');
    expect(await payable.endpoints.deliverOnce()).toBe(1);
    expect((await payable.endpoints.delivery(d?.id ?? '')).status).toBe('delivered');
  });

  it('a 410 Gone disables the endpoint; re-enabling and redelivering resumes', async () => {
    const { payable } = setup();
    const r = await receiver();
    const ep = await payable.endpoints.create({ url: r.url(), events: ['*'] });
    r.replyNext({ status: 410 });
    await payable.createCustomer({});
    await payable.outbox().dispatchOnce();
    expect(await payable.endpoints.get(ep.id)).toMatchObject({ status: 'disabled', disabledReason: 'gone' });
    const [d] = (await payable.endpoints.deliveries(ep.id)).data;
    expect(d).toMatchObject({ status: 'failed', lastStatus: 410 });
    await payable.createCustomer({});
    await payable.outbox().dispatchOnce();
    expect(r.requests).toHaveLength(1); // nothing goes to a disabled endpoint
    await payable.endpoints.update(ep.id, { enabled: true });
    await payable.endpoints.redeliver(d?.id ?? '');
    expect(await payable.endpoints.deliverOnce()).toBe(1);
    expect(r.requests).toHaveLength(2);
  });

  it('does not follow redirects', async () => {
    const { payable } = setup({ retryScheduleMs: [1_000] });
    const target = await receiver();
    const r = await receiver({ reply: () => ({ status: 307, headers: { location: target.url() } }) });
    const ep = await payable.endpoints.create({ url: r.url(), events: ['*'] });
    await payable.createCustomer({});
    await payable.outbox().dispatchOnce();
    expect(target.requests).toHaveLength(0);
    expect((await payable.endpoints.deliveries(ep.id)).data[0]).toMatchObject({ status: 'pending', lastStatus: 307 });
  });

  it('times out a receiver that does not answer, and logs the timeout', async () => {
    const { payable } = setup({ timeoutMs: 200 });
    const r = await receiver({ reply: () => ({ status: 200, delayMs: 2_000 }) });
    const ep = await payable.endpoints.create({ url: r.url(), events: ['*'] });
    await payable.createCustomer({});
    await payable.outbox().dispatchOnce();
    const [d] = (await payable.endpoints.deliveries(ep.id)).data;
    const detail = await payable.endpoints.delivery(d?.id ?? '');
    expect(detail.log[0]).toMatchObject({ responseStatus: null });
    expect(detail.log[0]?.error).toMatch(/no response within 200 ms/);
  });

  it('rotation: both secrets sign during the grace period, then only the new one', async () => {
    const { payable, clock } = setup();
    const r = await receiver();
    const ep = await payable.endpoints.create({ url: r.url(), events: ['*'] });
    const rotated = await payable.endpoints.rotateSecret(ep.id, { graceMs: 3_600_000 });
    expect(rotated.secret).not.toBe(ep.secret);
    expect(rotated.previousSecretExpiresAt?.getTime()).toBe(clock.now().getTime() + 3_600_000);
    await payable.createCustomer({});
    await payable.outbox().dispatchOnce();
    const [during] = await r.waitForRequests(1);
    if (!during) throw new Error('no request');
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    for (const secret of [ep.secret, rotated.secret]) {
      expect(new StandardWebhook(secret).verify(during.body, headersOf(during))).toBeDefined();
    }
    clock.advance({ hours: 2 });
    await payable.createCustomer({});
    await payable.outbox().dispatchOnce();
    const after = r.requests[1];
    if (!after) throw new Error('no second request');
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(() =>
      verifyWebhook({ payload: after.body, headers: after.headers, secret: ep.secret, now: clock.now() }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_WEBHOOK_SIGNATURE' }));
    expect(
      verifyWebhook({ payload: after.body, headers: after.headers, secret: rotated.secret, now: clock.now() }),
    ).toMatchObject({
      type: 'customer.created',
    });
  });

  it('a message handled twice (relay crashed before marking it) yields one delivery', async () => {
    const { payable, storage, clock } = setup();
    const r = await receiver();
    const ep = await payable.endpoints.create({ url: r.url(), events: ['*'] });
    await payable.createCustomer({});
    // A relay claims the message and dies: its lease expires, and another relay takes over.
    const lost = await storage.claimOutbox({ owner: 'dead-relay', now: clock.now(), until: clock.now() }, 10);
    expect(lost).toHaveLength(1);
    const [message] = lost;
    if (!message) throw new Error('no message');
    await storage.insertDeliveries([
      {
        id: 'dlv_from_dead_relay',
        tenantId: null,
        endpointId: ep.id,
        eventId: message.id,
        eventType: message.type,
        payload: message.payload,
        status: 'pending',
        attempts: 0,
        nextAttemptAt: clock.now(),
        lockedBy: null,
        lockedUntil: null,
        lastStatus: null,
        lastError: null,
        createdAt: clock.now(),
        updatedAt: clock.now(),
        deliveredAt: null,
      },
    ]);
    clock.advance({ seconds: 1 });
    await payable.outbox().dispatchOnce();
    expect((await payable.endpoints.deliveries(ep.id)).data).toHaveLength(1);
    expect(r.requests).toHaveLength(1);
  });

  it('the update of a URL passes the SSRF guard again', async () => {
    const { payable } = setup({ allowPrivateNetworks: false });
    const ep = await payable.endpoints.create({ url: 'https://93.184.215.14/hooks', events: ['*'] });
    const error = await caught(payable.endpoints.update(ep.id, { url: 'http://192.168.1.20/hooks' }));
    expect(error.code).toBe('ENDPOINT_URL_FORBIDDEN');
    expect((await payable.endpoints.get(ep.id)).url).toBe('https://93.184.215.14/hooks');
  });
});
