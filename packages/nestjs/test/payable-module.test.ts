import {
  type CanActivate,
  Controller,
  type ExecutionContext,
  Get,
  Inject,
  Injectable,
  Module,
  Post,
  Req,
  SetMetadata,
} from '@nestjs/common';
import { APP_GUARD, NestFactory, Reflector } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import {
  createPayable,
  type HttpRequest,
  MemoryStorageDriver,
  type Payable,
  SyncQueueDriver,
  type WebhookHandlerEvent,
} from '@payable/core';
import {
  InjectPayable,
  OnPayableEvent,
  PAYABLE,
  PAYABLE_MODULE_OPTIONS,
  PayableModule,
  type PayableModuleOptions,
  type PayableOptionsFactory,
  PayableService,
} from '@payable/nestjs';
import { FakeProvider, waitFor } from '@payable/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { PLATFORMS, type StartedApp, startNestApp } from './nest-app.js';

const TOKEN = 'module-test-token';
const authorize = (req: HttpRequest): boolean => req.headers.authorization === `Bearer ${TOKEN}`;
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

interface Setup {
  payable: Payable;
  fake: FakeProvider;
}

function makePayable(): Setup {
  const fake = new FakeProvider();
  const payable = createPayable({
    providers: { fake },
    storage: new MemoryStorageDriver(),
    queue: new SyncQueueDriver(),
  });
  return { payable, fake };
}

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

const started: Array<{ app: StartedApp; payable: Payable }> = [];
afterEach(async () => {
  for (const { app, payable } of started.splice(0)) {
    await app.close();
    await payable.close();
  }
});

async function start(
  platform: (typeof PLATFORMS)[number],
  module: new (...args: never[]) => unknown,
  payable: Payable,
  options: { rawBody?: boolean; globalPrefix?: string } = {},
): Promise<StartedApp> {
  const app = await startNestApp(platform, module, options);
  started.push({ app, payable });
  return app;
}

describe.each(PLATFORMS)('PayableModule on Nest %s', (platform) => {
  it('without rawBody: true, a webhook answers 400 INVALID_WEBHOOK_PAYLOAD naming NestFactory.create(AppModule, { rawBody: true }); management routes use the parsed body', async () => {
    const { payable, fake } = makePayable();
    @Module({ imports: [PayableModule.forRoot({ payable, authorize })] })
    class AppModule {}
    const { url } = await start(platform, AppModule, payable, { rawBody: false });

    const delivery = fake.eventFor('charge.dispute.created', { id: 'dp_raw' });
    const hook = await fetch(`${url}/webhooks/fake`, {
      method: 'POST',
      headers: delivery.headers,
      body: delivery.rawBody,
    });
    expect(hook.status).toBe(400);
    const body = await json(hook);
    expect(body).toMatchObject({ error: 'INVALID_WEBHOOK_PAYLOAD', context: { reason: 'raw_body_missing' } });
    expect(body.message).toContain('NestFactory.create(AppModule, { rawBody: true })');

    const created = await fetch(`${url}/payments`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ amount: 1500, currency: 'EUR' }),
    });
    expect(created.status).toBe(201);
    expect(await json(created)).toMatchObject({ amount: 1500, currency: 'EUR', status: 'succeeded' });

    const broken = await fetch(`${url}/payments`, { method: 'POST', headers: auth, body: '{"amount": 1' });
    expect(broken.status).toBe(400);
    expect(await json(broken)).toMatchObject({ error: 'VALIDATION_ERROR', context: { field: 'body' } });
  });

  it('with rawBody: true, a webhook sent as text/plain is verified over its exact bytes', async () => {
    const { payable, fake } = makePayable();
    @Module({ imports: [PayableModule.forRoot({ payable })] })
    class AppModule {}
    const { url } = await start(platform, AppModule, payable);
    const delivery = fake.eventFor('charge.dispute.created', { id: 'dp_text' });
    const res = await fetch(`${url}/webhooks/fake`, {
      method: 'POST',
      headers: { ...delivery.headers, 'content-type': 'text/plain' },
      body: delivery.rawBody,
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ received: true, duplicate: false });
    expect(fake.lastVerifyInput?.payload.toString()).toBe(delivery.rawBody);

    // A content type no Nest parser handles: the bytes are read from the stream.
    const other = fake.eventFor('charge.dispute.created', { id: 'dp_octets' });
    const octets = await fetch(`${url}/webhooks/fake`, {
      method: 'POST',
      headers: { ...other.headers, 'content-type': 'application/octet-stream' },
      body: other.rawBody,
    });
    expect(octets.status).toBe(200);
    expect(fake.lastVerifyInput?.payload.toString()).toBe(other.rawBody);
  });

  it('a body no Nest parser reads is read by the controller up to bodyLimit: 413 PAYLOAD_TOO_LARGE past it', async () => {
    const { payable, fake } = makePayable();
    @Module({ imports: [PayableModule.forRoot({ payable, bodyLimit: 1024 })] })
    class AppModule {}
    const { url } = await start(platform, AppModule, payable);
    const big = fake.eventFor('charge.dispute.created', { id: 'dp_big_octets', note: 'x'.repeat(4096) });
    const res = await fetch(`${url}/webhooks/fake`, {
      method: 'POST',
      headers: { ...big.headers, 'content-type': 'application/octet-stream' },
      body: big.rawBody,
    });
    expect(res.status).toBe(413);
    expect(await json(res)).toMatchObject({ error: 'PAYLOAD_TOO_LARGE', context: { limit: 1024 } });
  });

  it('forRootAsync – options (prefix included) come from a factory with an injected config provider', async () => {
    const { payable } = makePayable();
    const CONFIG = 'BILLING_CONFIG';
    @Module({
      providers: [{ provide: CONFIG, useValue: { prefix: '/billing', token: 'from-config' } }],
      exports: [CONFIG],
    })
    class ConfigModule {}
    @Module({
      imports: [
        PayableModule.forRootAsync({
          imports: [ConfigModule],
          inject: [CONFIG],
          useFactory: async (config: { prefix: string; token: string }): Promise<PayableModuleOptions> => ({
            payable,
            prefix: config.prefix,
            authorize: (req) => req.headers.authorization === `Bearer ${config.token}`,
          }),
        }),
      ],
    })
    class AppModule {}
    const { url, app } = await start(platform, AppModule, payable);

    expect((await fetch(`${url}/billing/health`)).status).toBe(200);
    expect((await fetch(`${url}/health`)).status).toBe(404);
    const denied = await fetch(`${url}/billing/payments`);
    expect(denied.status).toBe(401);
    const listed = await fetch(`${url}/billing/payments`, { headers: { authorization: 'Bearer from-config' } });
    expect(listed.status).toBe(200);
    expect(await json(listed)).toEqual({ data: [], hasMore: false, nextCursor: null });
    expect(app.get<PayableModuleOptions>(PAYABLE_MODULE_OPTIONS).prefix).toBe('/billing');
  });

  it('forRootAsync – useClass builds the options with its own injected dependency', async () => {
    const { payable } = makePayable();
    const PREFIX = 'PREFIX';
    @Injectable()
    class PayableConfig implements PayableOptionsFactory {
      constructor(@Inject(PREFIX) private readonly prefix: string) {}
      createPayableOptions(): PayableModuleOptions {
        return { payable, prefix: this.prefix };
      }
    }
    @Module({ providers: [{ provide: PREFIX, useValue: '/pay' }], exports: [PREFIX] })
    class PrefixModule {}
    @Module({ imports: [PayableModule.forRootAsync({ imports: [PrefixModule], useClass: PayableConfig })] })
    class AppModule {}
    const { url } = await start(platform, AppModule, payable);
    expect((await fetch(`${url}/pay/health`)).status).toBe(200);
  });

  it('@OnPayableEvent – a provider method is called with the event when a webhook is processed, and unsubscribed on close', async () => {
    const { payable, fake } = makePayable();
    const seen: string[] = [];
    @Injectable()
    class Fulfilment {
      @OnPayableEvent('payment.succeeded')
      async ship(event: WebhookHandlerEvent): Promise<void> {
        seen.push(`ship:${event.type}:${event.provider}`);
      }

      @OnPayableEvent(['payment.failed', 'payment.succeeded'])
      audit(event: WebhookHandlerEvent): void {
        seen.push(`audit:${event.type}`);
      }

      notAHandler(): void {
        seen.push('never');
      }
    }
    @Module({ providers: [Fulfilment] })
    class OrdersModule {}
    @Module({ imports: [PayableModule.forRoot({ payable, authorize }), OrdersModule] })
    class AppModule {}
    const { url, close } = await start(platform, AppModule, payable);

    const created = await fetch(`${url}/payments`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ amount: 4200, currency: 'EUR', metadata: { fake_outcome: 'pending' } }),
    });
    expect(created.status).toBe(201);
    const payment = await json(created);
    const delivery = fake.completePayment(String(payment.providerId));
    const hook = await fetch(`${url}/webhooks/fake`, {
      method: 'POST',
      headers: delivery.headers,
      body: delivery.rawBody,
    });
    expect(hook.status).toBe(200);
    await waitFor(() => seen.length === 2);
    expect(seen.sort()).toEqual(['audit:payment.succeeded', 'ship:payment.succeeded:fake']);

    await close();
    const second = await payable.charge({ amount: 100, currency: 'EUR', metadata: { fake_outcome: 'pending' } });
    const later = fake.completePayment(second.providerId);
    const result = await payable.webhooks.receive({ provider: 'fake', ...later });
    await waitFor(async () => (await payable.webhooks.get(result.eventId)).status === 'processed');
    expect(seen).toHaveLength(2);
  });

  it('PayableService, PAYABLE and @InjectPayable() give providers the facade the module serves', async () => {
    const { payable } = makePayable();
    @Injectable()
    class Billing {
      constructor(
        @Inject(PayableService) readonly service: PayableService,
        @InjectPayable() readonly injected: Payable,
      ) {}
    }
    @Module({ providers: [Billing] })
    class BillingModule {}
    @Module({ imports: [PayableModule.forRoot({ payable }), BillingModule] })
    class AppModule {}
    const { app } = await start(platform, AppModule, payable);
    const billing = app.get(Billing);
    expect(billing.service).toBeInstanceOf(PayableService);
    expect(billing.service.payable).toBe(payable);
    expect(billing.injected).toBe(payable);
    expect(app.get(PAYABLE)).toBe(payable);
    const charged = await billing.service.payable.charge({ amount: 250, currency: 'USD' });
    expect(charged).toMatchObject({ amount: 250, status: 'succeeded' });
  });

  it('at the root, the catch-all does not shadow the routes of modules imported after it', async () => {
    const { payable } = makePayable();
    @Controller('orders')
    class OrdersController {
      @Get(':id')
      get(@Req() req: { params: { id: string } }): { order: string } {
        return { order: req.params.id };
      }

      @Post()
      create(@Req() req: { body: unknown }): { created: unknown } {
        return { created: req.body };
      }
    }
    @Module({ controllers: [OrdersController] })
    class OrdersModule {}
    @Module({ imports: [PayableModule.forRoot({ payable, authorize }), OrdersModule] })
    class AppModule {}
    const { url } = await start(platform, AppModule, payable);

    const order = await fetch(`${url}/orders/42`);
    expect(order.status).toBe(200);
    expect(await json(order)).toEqual({ order: '42' });
    const created = await fetch(`${url}/orders`, { method: 'POST', headers: auth, body: '{"sku":"a"}' });
    expect(created.status).toBe(201);
    expect(await json(created)).toEqual({ created: { sku: 'a' } });
    // Invalid JSON on the app's own route keeps Nest's own answer, not Payable's error body.
    const broken = await fetch(`${url}/orders`, { method: 'POST', headers: auth, body: '{"sku":' });
    expect(broken.status).toBe(400);
    expect(await json(broken)).not.toHaveProperty('error', 'VALIDATION_ERROR');
    // Paths nobody else serves are Payable's.
    const unknown = await fetch(`${url}/nowhere`);
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toMatchObject({ error: 'NOT_FOUND' });
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it("with Nest's global prefix, routes live under it and authorize sees the path from the module prefix", async () => {
    const { payable } = makePayable();
    const seen: string[] = [];
    @Module({
      imports: [
        PayableModule.forRoot({
          payable,
          prefix: 'payable',
          authorize: (req) => {
            seen.push(req.path);
            return authorize(req);
          },
        }),
      ],
    })
    class AppModule {}
    const app = await NestFactory.create(AppModule, {
      rawBody: true,
      logger: false,
      forceCloseConnections: true,
      abortOnError: false,
    });
    app.setGlobalPrefix('api');
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address() as { port: number };
    const url = `http://127.0.0.1:${address.port}`;
    started.push({ app: { app, url, close: () => app.close() }, payable });

    expect((await fetch(`${url}/api/payable/health`)).status).toBe(200);
    const created = await fetch(`${url}/api/payable/payments`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ amount: 100, currency: 'USD' }),
    });
    expect(created.status).toBe(201);
    expect(seen).toEqual(['/payable/payments']);
    const broken = await fetch(`${url}/api/payable/payments`, { method: 'POST', headers: auth, body: 'nope' });
    expect(await json(broken)).toMatchObject({ error: 'VALIDATION_ERROR', context: { field: 'body' } });
  });

  it('controllerDecorators – a global guard sees the metadata they put on the Payable controller', async () => {
    const { payable, fake } = makePayable();
    const IS_PUBLIC = 'isPublic';
    @Injectable()
    class DenyUnlessPublic implements CanActivate {
      constructor(@Inject(Reflector) private readonly reflector: Reflector) {}
      canActivate(context: ExecutionContext): boolean {
        return (
          this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]) === true
        );
      }
    }
    @Module({
      imports: [PayableModule.forRoot({ payable, controllerDecorators: [SetMetadata(IS_PUBLIC, true)] })],
      providers: [{ provide: APP_GUARD, useClass: DenyUnlessPublic }],
    })
    class AppModule {}
    const { url } = await start(platform, AppModule, payable);
    const delivery = fake.eventFor('charge.dispute.created', { id: 'dp_public' });
    const hook = await fetch(`${url}/webhooks/fake`, {
      method: 'POST',
      headers: delivery.headers,
      body: delivery.rawBody,
    });
    expect(hook.status).toBe(200);
  });

  it('works in an app built with Test.createTestingModule (providers exist before the HTTP adapter)', async () => {
    const { payable, fake } = makePayable();
    const moduleRef = await Test.createTestingModule({
      imports: [PayableModule.forRoot({ payable, prefix: '/payable', authorize })],
    }).compile();
    const adapter = platform === 'express' ? new ExpressAdapter() : new FastifyAdapter();
    const app = moduleRef.createNestApplication(adapter, { rawBody: true, logger: false, forceCloseConnections: true });
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address() as { port: number };
    const url = `http://127.0.0.1:${address.port}`;
    started.push({ app: { app, url, close: () => app.close() }, payable });

    const delivery = fake.eventFor('charge.dispute.created', { id: 'dp_testing' });
    const hook = await fetch(`${url}/payable/webhooks/fake`, {
      method: 'POST',
      headers: delivery.headers,
      body: delivery.rawBody,
    });
    expect(hook.status).toBe(200);
    expect(moduleRef.get(PayableService).payable).toBe(payable);
  });

  it('forRoot without a payable fails at bootstrap with VALIDATION_ERROR naming payable', async () => {
    @Module({ imports: [PayableModule.forRoot({} as PayableModuleOptions)] })
    class AppModule {}
    await expect(startNestApp(platform, AppModule)).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
      context: { field: 'payable' },
    });
  });
});

describe('PayableModule on Nest express – body parser limits', () => {
  it("a body over Nest's JSON parser limit but under bodyLimit answers Payable's 413 naming app.useBodyParser", async () => {
    const { payable } = makePayable();
    @Module({ imports: [PayableModule.forRoot({ payable, authorize })] })
    class AppModule {}
    const { url } = await start('express', AppModule, payable);
    const res = await fetch(`${url}/payments`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ amount: 100, currency: 'USD', description: 'x'.repeat(200 * 1024) }),
    });
    expect(res.status).toBe(413);
    const body = await json(res);
    expect(body).toMatchObject({ error: 'PAYLOAD_TOO_LARGE', context: { limit: 100 * 1024 } });
    expect(body.message).toContain("app.useBodyParser('json'");
  });

  it("after app.useBodyParser('json', { limit }), bodies up to bodyLimit are accepted and keep their raw bytes", async () => {
    const { payable, fake } = makePayable();
    @Module({ imports: [PayableModule.forRoot({ payable, authorize, bodyLimit: 512 * 1024 })] })
    class AppModule {}
    const app = await NestFactory.create<NestExpressApplication>(AppModule, {
      rawBody: true,
      logger: false,
      forceCloseConnections: true,
      abortOnError: false,
    });
    app.useBodyParser('json', { limit: 1024 * 1024 });
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address() as { port: number };
    const url = `http://127.0.0.1:${address.port}`;
    started.push({ app: { app, url, close: () => app.close() }, payable });

    const delivery = fake.eventFor('charge.dispute.created', { id: 'dp_big', note: 'x'.repeat(200 * 1024) });
    const hook = await fetch(`${url}/webhooks/fake`, {
      method: 'POST',
      headers: delivery.headers,
      body: delivery.rawBody,
    });
    expect(hook.status).toBe(200);
    const over = fake.eventFor('charge.dispute.created', { id: 'dp_over', note: 'x'.repeat(600 * 1024) });
    const refused = await fetch(`${url}/webhooks/fake`, { method: 'POST', headers: over.headers, body: over.rawBody });
    expect(refused.status).toBe(413);
    expect(await json(refused)).toMatchObject({ error: 'PAYLOAD_TOO_LARGE', context: { limit: 512 * 1024 } });
  });

  it('with bodyParser: false, webhooks and management routes work without rawBody (the controller reads the bytes)', async () => {
    const { payable, fake } = makePayable();
    @Module({ imports: [PayableModule.forRoot({ payable, authorize })] })
    class AppModule {}
    const app = await NestFactory.create(AppModule, {
      bodyParser: false,
      logger: false,
      forceCloseConnections: true,
      abortOnError: false,
    });
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address() as { port: number };
    const url = `http://127.0.0.1:${address.port}`;
    started.push({ app: { app, url, close: () => app.close() }, payable });

    const delivery = fake.eventFor('charge.dispute.created', { id: 'dp_noparser' });
    const hook = await fetch(`${url}/webhooks/fake`, {
      method: 'POST',
      headers: delivery.headers,
      body: delivery.rawBody,
    });
    expect(hook.status).toBe(200);
    const created = await fetch(`${url}/payments`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ amount: 300, currency: 'EUR' }),
    });
    expect(created.status).toBe(201);
  });
});
