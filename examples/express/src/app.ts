import { createHash, timingSafeEqual } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createPayable, type HttpRequest, isPayableError, type Payable, SystemClock } from '@payable/core';
import { payableRouter } from '@payable/express';
import { KnexStorageDriver, migrate } from '@payable/storage-knex';
import { FakeProvider } from '@payable/testing';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
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
}

/**
 * The built example: the Express app (not listening yet), the facade, the fake provider, and
 * `close()` (stops the facade and closes the database).
 *
 * @example
 * ```ts
 * const { app, close } = await buildApp();
 * const server = app.listen(3000);
 * ```
 */
export interface ExampleApp {
  app: Express;
  payable: Payable<{ fake: FakeProvider }>;
  fake: FakeProvider;
  close(): Promise<void>;
}

/**
 * Whether `Authorization: Bearer <token>` carries `token`, compared in constant time.
 *
 * @example
 * ```ts
 * payableRouter(payable, { authorize: (req) => hasBearerToken(req, process.env.PAYABLE_API_TOKEN ?? 'dev-token') });
 * ```
 */
export function hasBearerToken(req: HttpRequest, token: string): boolean {
  const header = req.headers.authorization;
  const given = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
  const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
  return given.length > 0 && timingSafeEqual(digest(given), digest(token));
}

/**
 * Build the example shop: Payable on SQLite (Knex) with the fake provider, its routes mounted at
 * `/payable` before `express.json()`, and the shop's own JSON route `POST /orders` after it.
 *
 * @example
 * ```ts
 * const { app } = await buildApp({ sqliteFile: '.data/payable.sqlite' });
 * app.listen(3000); // POST /payable/payments, POST /payable/webhooks/fake, GET /payable/health …
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

  const app = express();

  // 1. Payable first. The router reads the raw body of its routes itself (webhook signatures are
  //    verified over the exact bytes), so it must come before express.json().
  app.use(
    '/payable',
    payableRouter(payable, {
      // Management routes need the bearer token; webhooks (signed) and /health do not.
      authorize: (req) => hasBearerToken(req, apiToken),
    }),
  );

  // 2. Then the shop's own body parsers and routes, untouched by Payable.
  app.use(express.json());
  app.post('/orders', async (req, res, next) => {
    try {
      const body = (req.body ?? {}) as { orderId?: unknown; amount?: unknown };
      const orderId = typeof body.orderId === 'string' ? body.orderId : `order-${Date.now()}`;
      const payment = await payable.charge(
        {
          amount: Number(body.amount ?? 1999),
          currency: 'EUR',
          description: `Order ${orderId}`,
          metadata: { orderId },
        },
        { idempotencyKey: `order-${orderId}` },
      );
      res.status(201).json({ orderId, paymentId: payment.id, status: payment.status });
    } catch (error) {
      next(error);
    }
  });

  // The shop's error handler: Payable errors thrown by facade calls keep their status and code.
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (isPayableError(error)) res.status(error.httpStatus).json(error.toJSON());
    else res.status(500).json({ error: 'INTERNAL_ERROR', message: 'Internal error', context: {} });
  });

  return {
    app,
    payable,
    fake,
    async close() {
      await payable.close();
      await storage.close();
    },
  };
}
