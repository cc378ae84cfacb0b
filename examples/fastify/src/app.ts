import { createHash, timingSafeEqual } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createPayable, type HttpRequest, isPayableError, type Payable, SystemClock } from '@payable/core';
import { payablePlugin } from '@payable/fastify';
import { KnexStorageDriver, migrate } from '@payable/storage-knex';
import { FakeProvider } from '@payable/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import knex from 'knex';

/**
 * What the example app is built from; each falls back to an environment variable, then a default.
 *
 * @example
 * ```ts
 * const built = await buildApp({ sqliteFile: '/tmp/shop.sqlite', apiToken: 's3cret' });
 * ```
 */
export interface ExampleAppOptions {
  /** SQLite file (`PAYABLE_SQLITE_FILE`, default `.data/payable.sqlite`). */
  sqliteFile?: string;
  /** Bearer token of the management routes (`PAYABLE_API_TOKEN`, default `dev-token`). */
  apiToken?: string;
  /** The fake provider's webhook signing secret (`FAKE_WEBHOOK_SECRET`, default `whsec_example_secret`). */
  webhookSecret?: string;
  /** Fastify's logger (default off). */
  logger?: boolean;
}

/**
 * The built example: the Fastify app (ready, not listening yet), the facade, the fake provider, and
 * `close()` (closes the app, stops the facade and closes the database).
 *
 * @example
 * ```ts
 * const { app } = await buildApp();
 * await app.listen({ port: 3000 });
 * ```
 */
export interface ExampleApp {
  app: FastifyInstance;
  payable: Payable<{ fake: FakeProvider }>;
  fake: FakeProvider;
  close(): Promise<void>;
}

/**
 * Whether `Authorization: Bearer <token>` carries `token`, compared in constant time.
 *
 * @example
 * ```ts
 * app.register(payablePlugin, { payable, authorize: (req) => hasBearerToken(req, process.env.PAYABLE_API_TOKEN ?? 'dev-token') });
 * ```
 */
export function hasBearerToken(req: HttpRequest, token: string): boolean {
  const header = req.headers.authorization;
  const given = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
  const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
  return given.length > 0 && timingSafeEqual(digest(given), digest(token));
}

/**
 * Build the example shop: Payable on SQLite (Knex) with the fake provider, registered under
 * `/payable` as an encapsulated plugin, and the shop's own JSON route `POST /orders` beside it.
 *
 * @example
 * ```ts
 * const { app } = await buildApp({ sqliteFile: '.data/payable.sqlite' });
 * await app.listen({ port: 3000 }); // POST /payable/payments, POST /payable/webhooks/fake, GET /payable/health …
 * ```
 */
export async function buildApp(
  options: ExampleAppOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<ExampleApp> {
  const sqliteFile = options.sqliteFile ?? env.PAYABLE_SQLITE_FILE ?? '.data/payable.sqlite';
  const apiToken = options.apiToken ?? env.PAYABLE_API_TOKEN ?? 'dev-token';
  const webhookSecret = options.webhookSecret ?? env.FAKE_WEBHOOK_SECRET ?? 'whsec_example_secret';

  mkdirSync(dirname(sqliteFile), { recursive: true });
  const db = knex({ client: 'better-sqlite3', connection: { filename: sqliteFile }, useNullAsDefault: true });
  await migrate(db);
  const clock = new SystemClock();
  const storage = new KnexStorageDriver(db, clock);
  const fake = new FakeProvider({ secret: webhookSecret });
  const payable = createPayable({ providers: { fake }, storage, clock });

  const app = Fastify({ logger: options.logger ?? false });

  // Payable's routes under /payable. The plugin is encapsulated: its raw-body parser (webhook
  // signatures are verified over the exact bytes) applies to its own routes only.
  await app.register(payablePlugin, {
    payable,
    prefix: '/payable',
    // Management routes need the bearer token; webhooks (signed) and /health do not.
    authorize: (req) => hasBearerToken(req, apiToken),
  });

  // The shop's own routes keep Fastify's JSON parsing.
  app.post<{ Body: { orderId?: string; amount?: number } }>('/orders', async (request, reply) => {
    const orderId = request.body?.orderId ?? `order-${Date.now()}`;
    const payment = await payable.charge(
      { amount: request.body?.amount ?? 1999, currency: 'EUR', description: `Order ${orderId}`, metadata: { orderId } },
      { idempotencyKey: `order-${orderId}` },
    );
    return reply.code(201).send({ orderId, paymentId: payment.id, status: payment.status });
  });

  // The shop's error handler: Payable errors thrown by facade calls keep their status and code.
  app.setErrorHandler(async (error, _request, reply) => {
    if (isPayableError(error)) return reply.code(error.httpStatus).send(error.toJSON());
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    if (status < 500) return reply.code(status).send(error);
    return reply.code(500).send({ error: 'INTERNAL_ERROR', message: 'Internal error', context: {} });
  });

  await app.ready();
  return {
    app,
    payable,
    fake,
    async close() {
      await app.close();
      await payable.close();
      await storage.close();
    },
  };
}
