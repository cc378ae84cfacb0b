import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  createPayable,
  type HttpRequest,
  isPayableError,
  type LightningListener,
  type Payable,
  SystemClock,
} from '@payable/core';
import { payableRouter } from '@payable/express';
import { encodeInvoice, LndProvider, type LndProviderOptions } from '@payable/lightning';
import { KnexStorageDriver, migrate } from '@payable/storage-knex';
import { LndSimulator } from '@payable/testing';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import knex from 'knex';
import QRCode from 'qrcode';
import { lndOptionsFromEnv } from './lnd-config.js';
import { checkoutPage, errorPage, payPage, statusView } from './pages.js';

/** Where the invoices come from: the in-process LND simulator, or a real LND node. */
export type CheckoutMode = 'simulator' | 'lnd';

/**
 * Options of {@link createApp}; each falls back to an environment variable, then a default.
 *
 * @example
 * ```ts
 * const checkout = await createApp({ sqliteFile: '/tmp/checkout.sqlite', expiresIn: 600 });
 * ```
 */
export interface CheckoutAppOptions {
  /** SQLite file (`PAYABLE_SQLITE_FILE`, default `.data/lightning-checkout.sqlite`). */
  sqliteFile?: string;
  /** Seconds an invoice stays payable (`CHECKOUT_EXPIRES_IN`, default 600). */
  expiresIn?: number;
  /** Bearer token of Payable's management routes under `/payable` (`PAYABLE_API_TOKEN`, default `dev-token`). */
  apiToken?: string;
  /**
   * A real LND node. Default: from `LND_REST_URL`, `LND_MACAROON` and `LND_TLS_CERT_PATH`; when
   * those are not set, an LND simulator is started in-process.
   */
  lnd?: LndProviderOptions;
  /** The environment read for the defaults (default `process.env`; tests pass `{}`). */
  env?: NodeJS.ProcessEnv;
}

/**
 * The built checkout: the Express app (not listening yet), the facade, the LND provider, the
 * simulator in simulator mode, the running settlement listener, and `close()`.
 *
 * @example
 * ```ts
 * const { app, simulator, close } = await createApp();
 * const server = app.listen(3000);
 * ```
 */
export interface CheckoutApp {
  app: Express;
  payable: Payable<{ lnd: LndProvider }>;
  lnd: LndProvider;
  mode: CheckoutMode;
  /** The in-process LND simulator (simulator mode), to play the payer: `simulator.pay(paymentRequest)`. */
  simulator: LndSimulator | null;
  /** `payable.lightning.listen()`: settlements flow in from the node's invoice stream, no webhooks. */
  listener: LightningListener;
  /** Invoice lifetime in seconds. */
  expiresIn: number;
  /** Stop the listener and the facade, close the database and the simulator. */
  close(): Promise<void>;
}

/** A payable amount in satoshis from the form: a whole number from 1 to 0.1 BTC. */
const MAX_AMOUNT_SATS = 10_000_000;

function bearerMatches(req: HttpRequest, token: string): boolean {
  const header = req.headers.authorization;
  const given = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
  const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
  return given.length > 0 && timingSafeEqual(digest(given), digest(token));
}

function positiveSeconds(value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const seconds = Number(value);
  return Number.isInteger(seconds) && seconds > 0 ? seconds : fallback;
}

/** Every HTML response gets a fresh nonce: only the page's own inline script and style run. */
function htmlHeaders(res: Response): string {
  const nonce = randomBytes(16).toString('base64');
  res.set({
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': [
      "default-src 'none'",
      `script-src 'nonce-${nonce}'`,
      `style-src 'nonce-${nonce}'`,
      "img-src 'self' data:",
      "connect-src 'self'",
      "form-action 'self'",
      "base-uri 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
  });
  return nonce;
}

/**
 * Build the Lightning checkout: Payable on SQLite (Knex) with the LND provider, pointed at a real
 * node when `LND_REST_URL` and `LND_MACAROON` are set, else at an LND simulator started
 * in-process; `payable.lightning.listen()` running, so settlements arrive from the node's invoice
 * stream without webhooks. Routes: `GET /` (form), `POST /checkout` (creates the payment),
 * `GET /pay/:id` (QR code, countdown, turns to "Paid" by itself), `GET /pay/:id/status` (JSON),
 * in simulator mode `POST /dev/pay/:id` (the simulator pays the invoice), and Payable's own routes
 * under `/payable`.
 *
 * @example
 * ```ts
 * const checkout = await createApp({ sqliteFile: '.data/checkout.sqlite' });
 * checkout.app.listen(3000); // open http://localhost:3000/
 * ```
 */
export async function createApp(options: CheckoutAppOptions = {}): Promise<CheckoutApp> {
  const env = options.env ?? process.env;
  const sqliteFile = options.sqliteFile ?? env.PAYABLE_SQLITE_FILE ?? '.data/lightning-checkout.sqlite';
  const expiresIn = options.expiresIn ?? positiveSeconds(env.CHECKOUT_EXPIRES_IN, 600);
  const apiToken = options.apiToken ?? env.PAYABLE_API_TOKEN ?? 'dev-token';
  const node = options.lnd ?? lndOptionsFromEnv(env);

  const clock = new SystemClock();
  if (sqliteFile !== ':memory:') mkdirSync(dirname(sqliteFile), { recursive: true });
  const db = knex({ client: 'better-sqlite3', connection: { filename: sqliteFile }, useNullAsDefault: true });
  await migrate(db);
  const storage = new KnexStorageDriver(db, clock);

  let simulator: LndSimulator | null = null;
  let lnd: LndProvider;
  if (node) {
    lnd = new LndProvider({ clock, ...node });
  } else {
    // No node configured: an LND node in this process, issuing real signed regtest invoices.
    simulator = new LndSimulator({ encodeInvoice, clock });
    lnd = new LndProvider({ url: await simulator.start(), macaroon: simulator.macaroon, clock });
  }
  const mode: CheckoutMode = simulator ? 'simulator' : 'lnd';
  const payable = createPayable({ providers: { lnd }, storage, clock });

  // Settlements without webhooks: the node's invoice stream feeds the webhook inbox.
  const listener = payable.lightning.listen({ provider: 'lnd' });
  // The simulator is up already; a real node may be unreachable for a while (the listener keeps
  // retrying with backoff), so only the simulator's first connection is waited for.
  if (simulator) await listener.ready;

  payable.on('payment.succeeded', async (event) => {
    // Fulfil the order here: the preimage is verified and stored on event.record before this runs.
    void event;
  });

  const app = express();
  app.disable('x-powered-by');

  // 1. Payable's routes first (they read raw bodies themselves): GET /payable/health,
  //    GET /payable/payments/:id, … Management routes need `Authorization: Bearer <apiToken>`.
  app.use('/payable', payableRouter(payable, { authorize: (req) => bearerMatches(req, apiToken) }));

  // 2. The shop's pages.
  app.get('/', (_req, res) => {
    const nonce = htmlHeaders(res);
    res.send(checkoutPage({ nonce, mode }));
  });

  app.post('/checkout', express.urlencoded({ extended: false, limit: '2kb' }), async (req, res, next) => {
    const raw = (req.body as { amount?: unknown } | undefined)?.amount;
    const text = typeof raw === 'string' ? raw.trim() : '';
    const amount = /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isInteger(amount) || amount < 1 || amount > MAX_AMOUNT_SATS) {
      const nonce = htmlHeaders(res);
      res.status(400).send(
        checkoutPage({
          nonce,
          mode,
          amount: text,
          error: `Enter a whole number of satoshis from 1 to ${MAX_AMOUNT_SATS.toLocaleString('en-US')}.`,
        }),
      );
      return;
    }
    try {
      const payment = await payable.charge(
        { amount, currency: 'BTC', expiresIn, description: 'Lightning checkout example' },
        { provider: 'lnd' },
      );
      res.redirect(303, `/pay/${encodeURIComponent(payment.id)}`);
    } catch (error) {
      next(error);
    }
  });

  app.get('/pay/:id', async (req, res, next) => {
    try {
      const payment = await payable.getPayment(String(req.params.id));
      const paymentRequest = payment.lightning?.paymentRequest ?? '';
      // Upper case puts the QR code in alphanumeric mode: a smaller, easier to scan code.
      // BOLT 11 allows an all-upper-case invoice; wallets read the `LIGHTNING:` URI.
      const qrSvg = await QRCode.toString(`lightning:${paymentRequest}`.toUpperCase(), {
        type: 'svg',
        errorCorrectionLevel: 'M',
        margin: 2,
      });
      const nonce = htmlHeaders(res);
      res.send(
        payPage({
          nonce,
          payment,
          qrSvg,
          now: clock.now(),
          statusUrl: `/pay/${encodeURIComponent(payment.id)}/status`,
          ...(simulator && payment.status === 'pending'
            ? { devPayAction: `/dev/pay/${encodeURIComponent(payment.id)}` }
            : {}),
        }),
      );
    } catch (error) {
      next(error);
    }
  });

  app.get('/pay/:id/status', async (req, res) => {
    res.set('cache-control', 'no-store');
    try {
      // A read at or after expiresAt answers `expired` (and stores it): no timer needed.
      res.json(statusView(await payable.getPayment(String(req.params.id))));
    } catch (error) {
      if (isPayableError(error)) res.status(error.httpStatus).json(error.toJSON());
      else res.status(500).json({ error: 'INTERNAL_ERROR', message: 'Internal error', context: {} });
    }
  });

  if (simulator) {
    const sim = simulator;
    // Simulator only: play the payer's wallet. The simulator settles the invoice, its invoice
    // stream tells the listener, and Payable verifies the preimage before crediting the payment.
    app.post('/dev/pay/:id', async (req, res, next) => {
      try {
        const payment = await payable.getPayment(String(req.params.id));
        const paymentRequest = payment.lightning?.paymentRequest;
        if (payment.status !== 'pending' || !paymentRequest || sim.invoice(paymentRequest)?.state !== 'OPEN') {
          const nonce = htmlHeaders(res);
          res.status(409).send(
            errorPage({
              nonce,
              title: 'Cannot pay this invoice',
              message: `The payment is ${payment.status}: only an open invoice can be paid.`,
            }),
          );
          return;
        }
        sim.pay(paymentRequest);
        res.redirect(303, `/pay/${encodeURIComponent(payment.id)}`);
      } catch (error) {
        next(error);
      }
    });
  }

  // Payable errors on the shop's pages: their status and a readable page (never a stack trace).
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const nonce = htmlHeaders(res);
    if (isPayableError(error)) {
      const title = error.code === 'NOT_FOUND' ? 'Payment not found' : 'Something went wrong';
      res.status(error.httpStatus).send(errorPage({ nonce, title, message: `${error.code}: ${error.message}` }));
    } else {
      res.status(500).send(errorPage({ nonce, title: 'Something went wrong', message: 'Internal error.' }));
    }
  });

  return {
    app,
    payable,
    lnd,
    mode,
    simulator,
    listener,
    expiresIn,
    async close() {
      await payable.close(); // stops the listener too
      await storage.close();
      await simulator?.close();
    },
  };
}
