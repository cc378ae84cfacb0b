import { createHash, timingSafeEqual } from 'node:crypto';
import { createPayable, type HttpRequest, type Payable, SystemClock } from '@payable/core';
import { payableRouter } from '@payable/express';
import { KnexStorageDriver, migrate } from '@payable/storage-knex';
import { FakeProvider } from '@payable/testing';
import express, { type Express } from 'express';
import knex from 'knex';

/**
 * What the payments service is built from.
 *
 * @example
 * ```ts
 * const options: PaymentsServiceOptions = { sqliteFile: '.data/payable.sqlite', apiToken: 'dev-token' };
 * ```
 */
export interface PaymentsServiceOptions {
  /** The SQLite file Payable keeps its records, outbox, endpoints and deliveries in. */
  sqliteFile: string;
  /** Bearer token of Payable's management routes (`/payments`, `/endpoints`, `/deliveries`, …). */
  apiToken: string;
}

/**
 * The payments service: an Express app (not listening yet) serving Payable's routes, the facade,
 * and `close()` (stops the outbox relay, then closes the database).
 *
 * @example
 * ```ts
 * const payments = await createPaymentsService({ sqliteFile: '.data/payable.sqlite', apiToken: 'dev-token' });
 * payments.app.listen(3000);
 * ```
 */
export interface PaymentsService {
  app: Express;
  payable: Payable<{ fake: FakeProvider }>;
  close(): Promise<void>;
}

/**
 * Whether `Authorization: Bearer <token>` carries `token`, compared in constant time.
 *
 * @example
 * ```ts
 * payableRouter(payable, { authorize: (req) => hasBearerToken(req, 'dev-token') });
 * ```
 */
export function hasBearerToken(req: HttpRequest, token: string): boolean {
  const header = req.headers.authorization;
  const given = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
  const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
  return given.length > 0 && timingSafeEqual(digest(given), digest(token));
}

/**
 * Build the payments service: Payable on SQLite (Knex) with the fake provider and the inline queue,
 * outbound webhooks allowed to reach localhost, and every Payable route mounted at the root.
 * The outbox relay (which also sends the outbound webhooks) is started by the caller.
 *
 * @example
 * ```ts
 * const { app, payable } = await createPaymentsService({ sqliteFile: '.data/payable.sqlite', apiToken: 'dev-token' });
 * app.listen(3000); // POST /payments, GET /endpoints/:id/deliveries, GET /deliveries/:id …
 * payable.outbox().start({ intervalMs: 200 });
 * ```
 */
export async function createPaymentsService(options: PaymentsServiceOptions): Promise<PaymentsService> {
  const db = knex({ client: 'better-sqlite3', connection: { filename: options.sqliteFile }, useNullAsDefault: true });
  await migrate(db);
  const clock = new SystemClock();
  const storage = new KnexStorageDriver(db, clock);
  const fake = new FakeProvider();
  const payable = createPayable({
    providers: { fake },
    storage, // endpoints, deliveries and their attempt log are stored here
    clock,
    // No `queue`: the inline queue. In production also pass `encryption`, so endpoint secrets are
    // encrypted at rest.
    outbound: {
      // LOCAL DEMO ONLY: the orders service listens on 127.0.0.1, which the SSRF guard refuses by
      // default. Never allow private networks where users register endpoint URLs in production.
      allowPrivateNetworks: true,
    },
  });

  const app = express();
  // The payments service serves only Payable's routes, so they are mounted at the root.
  app.use(payableRouter(payable, { authorize: (req) => hasBearerToken(req, options.apiToken) }));

  return {
    app,
    payable,
    async close() {
      await payable.close(); // stops the outbox relay too
      await storage.close();
    },
  };
}
