import { createPayable, isPayableError, type Payable, SystemClock } from '@payable/core';
import { payableRouter } from '@payable/express';
import { KnexStorageDriver, migrate } from '@payable/storage-knex';
import { StripeProvider, STRIPE_METADATA_KEYS } from '@payable/stripe';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import knex from 'knex';
// Types only: the simulator itself is loaded lazily, and only when no Stripe key is configured.
import type { StripeSimulator } from '../../../packages/stripe/test/simulator/index.js';

/** Where the app's Stripe calls go. */
export type StripeMode = 'simulator' | 'stripe-test' | 'stripe-live';

/** What the example is made of. */
export interface ExpressStripeApp {
  /** The Express app: Payable's routes under `/payable`, the shop's routes beside them. */
  app: Express;
  payable: Payable<{ stripe: StripeProvider }>;
  stripe: StripeProvider;
  /** The in-process Stripe simulator, when `STRIPE_SECRET_KEY` is not set. */
  simulator: StripeSimulator | null;
  mode: StripeMode;
  close(): Promise<void>;
}

/**
 * Builds the example: Stripe test mode when `STRIPE_SECRET_KEY` is set (with
 * `STRIPE_WEBHOOK_SECRET`, comma-separated during a secret roll), otherwise the local Stripe
 * simulator started in-process; storage in SQLite (`PAYABLE_SQLITE_FILE`, default
 * `.data/payable.sqlite`); management routes behind `Bearer $PAYABLE_API_TOKEN` (default `dev-token`).
 */
export async function createApp(env: NodeJS.ProcessEnv = process.env): Promise<ExpressStripeApp> {
  const db = knex({
    client: 'better-sqlite3',
    connection: { filename: env.PAYABLE_SQLITE_FILE ?? '.data/payable.sqlite' },
    useNullAsDefault: true,
  });
  await migrate(db);
  const clock = new SystemClock();
  const storage = new KnexStorageDriver(db, clock);

  let simulator: StripeSimulator | null = null;
  let stripe: StripeProvider;
  let mode: StripeMode;
  if (env.STRIPE_SECRET_KEY) {
    const webhookSecrets = (env.STRIPE_WEBHOOK_SECRET ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (webhookSecrets.length === 0) {
      throw new Error(
        'Set STRIPE_WEBHOOK_SECRET too: the whsec_… of your endpoint, or the one `stripe listen` prints.',
      );
    }
    stripe = new StripeProvider({ secretKey: env.STRIPE_SECRET_KEY, webhookSecrets });
    mode = env.STRIPE_SECRET_KEY.includes('_live_') ? 'stripe-live' : 'stripe-test';
  } else {
    const { StripeSimulator } = await import('../../../packages/stripe/test/simulator/index.js');
    simulator = await StripeSimulator.start();
    stripe = new StripeProvider({
      secretKey: simulator.apiKey,
      webhookSecret: simulator.webhookSecret,
      config: simulator.clientConfig(),
    });
    mode = 'simulator';
  }

  const payable = createPayable({ providers: { stripe }, storage, clock });
  payable.on('payment.succeeded', async (event) => {
    // Fulfil the order here: event.record is the stored payment, event.payload Stripe's event.
    void event;
  });

  const token = env.PAYABLE_API_TOKEN ?? 'dev-token';
  const app = express();
  // 1. Payable first: it reads the raw body of its webhook route itself.
  app.use('/payable', payableRouter(payable, { authorize: (req) => req.headers.authorization === `Bearer ${token}` }));
  // 2. Then your parsers and routes.
  app.use(express.json());

  // The shop's own route: pay for an order with a card the browser collected with Stripe.js
  // (a PaymentMethod id), or without one to confirm client-side with the client secret later.
  app.post('/orders/:orderId/pay', async (req: Request, res: Response, next: NextFunction) => {
    try {
      const body = req.body as { amount?: number; currency?: string; paymentMethod?: string };
      const payment = await payable.charge(
        {
          amount: body.amount ?? 1999,
          currency: body.currency ?? 'EUR',
          description: `Order ${req.params.orderId}`,
          metadata: {
            orderId: String(req.params.orderId),
            ...(body.paymentMethod ? { [STRIPE_METADATA_KEYS.paymentMethod]: body.paymentMethod } : {}),
          },
        },
        { idempotencyKey: `order-${req.params.orderId}` },
      );
      res.status(201).json(payment);
    } catch (error) {
      next(error);
    }
  });

  if (simulator) {
    const sim = simulator;
    // Simulator only: the payer pays a pending payment (as Stripe.js would), and "Stripe" sends the
    // signed payment_intent.succeeded to this app's webhook route, over HTTP.
    app.post('/dev/stripe/pay/:providerId', async (req: Request, res: Response, next: NextFunction) => {
      try {
        const providerId = String(req.params.providerId);
        const card = (req.body as { paymentMethod?: string } | undefined)?.paymentMethod ?? 'pm_card_visa';
        const pi = sim.confirmPaymentIntent(providerId, card);
        const type = pi.status === 'succeeded' ? 'payment_intent.succeeded' : 'payment_intent.payment_failed';
        const delivery = sim.delivery(type, providerId);
        const hook = await fetch(`${req.protocol}://${req.get('host')}/payable/webhooks/stripe`, {
          method: 'POST',
          headers: delivery.headers,
          body: delivery.rawBody,
        });
        res.status(hook.status).json({ sent: type, webhook: await hook.json() });
      } catch (error) {
        next(error);
      }
    });
  }

  // Payable errors keep their status and JSON body on your own routes too.
  app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (isPayableError(error)) res.status(error.httpStatus).json(error.toJSON());
    else next(error);
  });

  return {
    app,
    payable,
    stripe,
    simulator,
    mode,
    async close() {
      await payable.close();
      await storage.close();
      await simulator?.close();
    },
  };
}
