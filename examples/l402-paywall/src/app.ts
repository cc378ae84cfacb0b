import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createPayable, type Payable, SystemClock, ValidationError } from '@payable/core';
import { type L402Grant, L402Paywall, type L402ReplayPolicy } from '@payable/l402';
import { encodeInvoice, LndProvider, type LndProviderOptions } from '@payable/lightning';
import { KnexStorageDriver, migrate } from '@payable/storage-knex';
import { LndSimulator } from '@payable/testing';
import express, { type Express as ExpressApp } from 'express';
import knex from 'knex';

// `req.l402` is set by the paywall on the requests it lets through.
declare global {
  namespace Express {
    interface Request {
      l402?: L402Grant | null;
    }
  }
}

/**
 * Options of {@link createApp}; each falls back to an environment variable, then a default.
 *
 * @example
 * ```ts
 * const api = await createApp({ sqliteFile: '/tmp/l402.sqlite', replay: 'single-use' });
 * ```
 */
export interface PaywallAppOptions {
  /** SQLite file (`PAYABLE_SQLITE_FILE`, default `.data/l402-paywall.sqlite`). */
  sqliteFile?: string;
  /** `reusable` (default) or `single-use` (`L402_REPLAY`). */
  replay?: L402ReplayPolicy;
  /** Invoices per minute per client IP (`L402_INVOICES_PER_MINUTE`, default 20). */
  invoicesPerMinute?: number;
  /** A real LND node. Default: from `LND_REST_URL`, `LND_MACAROON`, `LND_TLS_CERT_PATH`, else a simulator. */
  lnd?: LndProviderOptions;
  /** The environment read for the defaults (default `process.env`; tests pass `{}`). */
  env?: NodeJS.ProcessEnv;
}

/**
 * The built API: the Express app (not listening yet), the facade, the paywall, the LND simulator
 * (simulator mode) and `close()`.
 *
 * @example
 * ```ts
 * const { app, close } = await createApp();
 * const server = app.listen(3000);
 * ```
 */
export interface PaywallApp {
  app: ExpressApp;
  payable: Payable<{ lnd: LndProvider }>;
  paywall: L402Paywall;
  /** The in-process LND simulator when no node is configured: it plays the payer at `POST /dev/pay`. */
  simulator: LndSimulator | null;
  close(): Promise<void>;
}

const JOKES = [
  'A satoshi walks into a bar. The bartender says: "you are too small to pay for a drink". It opens a channel.',
  'Why did the macaroon refuse the request? Its caveats did not hold.',
  'My node has 99 problems but inbound liquidity is all of them.',
];

/** A real LND node from the environment, or `null` (the example then runs its simulator). */
export function lndFromEnv(env: NodeJS.ProcessEnv): LndProviderOptions | null {
  const url = env.LND_REST_URL?.trim() ?? '';
  const macaroon = env.LND_MACAROON?.trim() ?? '';
  if (url === '' && macaroon === '') return null;
  if (url === '' || macaroon === '') {
    throw new ValidationError('Set both LND_REST_URL and LND_MACAROON (hex or a file path) for a real node.', {
      context: { field: url === '' ? 'LND_REST_URL' : 'LND_MACAROON', reason: 'missing' },
    });
  }
  const isHex = /^(?:[0-9a-fA-F]{2})+$/.test(macaroon);
  if (!isHex && !existsSync(macaroon)) {
    throw new ValidationError('LND_MACAROON must be hex or the path of the macaroon file.', {
      context: { field: 'LND_MACAROON', reason: 'not_hex_or_file' },
    });
  }
  const cert = env.LND_TLS_CERT_PATH?.trim() ?? '';
  return {
    url,
    macaroon: isHex ? macaroon : readFileSync(macaroon),
    ...(cert === '' ? {} : { tlsCert: readFileSync(cert) }),
  };
}

/**
 * A pay-per-request API: Payable on SQLite with the LND provider (a real node, or an in-process
 * simulator issuing signed regtest invoices) and an L402 paywall in front of two endpoints:
 *
 * - `GET /` — free: what is for sale;
 * - `GET /api/joke` — 10 sats, the token opens this path only;
 * - `GET /api/report/:year` — 50 sats, the token opens every report (`/api/report/*`);
 * - `POST /dev/pay` `{ invoice }` — simulator mode only: pays the invoice, answers `{ preimage }`.
 *
 * @example
 * ```ts
 * const api = await createApp();
 * api.app.listen(3000);
 * ```
 */
export async function createApp(options: PaywallAppOptions = {}): Promise<PaywallApp> {
  const env = options.env ?? process.env;
  const sqliteFile = options.sqliteFile ?? env.PAYABLE_SQLITE_FILE ?? '.data/l402-paywall.sqlite';
  const replay = options.replay ?? (env.L402_REPLAY === 'single-use' ? 'single-use' : 'reusable');
  const invoicesPerMinute = options.invoicesPerMinute ?? (Number(env.L402_INVOICES_PER_MINUTE) || 20);
  const node = options.lnd ?? lndFromEnv(env);

  const clock = new SystemClock();
  if (sqliteFile !== ':memory:') mkdirSync(dirname(sqliteFile), { recursive: true });
  const db = knex({ client: 'better-sqlite3', connection: { filename: sqliteFile }, useNullAsDefault: true });
  await migrate(db); // creates the l402_root_keys and l402_spent_tokens tables too
  const storage = new KnexStorageDriver(db, clock);

  let simulator: LndSimulator | null = null;
  let lnd: LndProvider;
  if (node) {
    lnd = new LndProvider({ clock, ...node });
  } else {
    simulator = new LndSimulator({ encodeInvoice, clock });
    lnd = new LndProvider({ url: await simulator.start(), macaroon: simulator.macaroon, clock });
  }
  const payable = createPayable({ providers: { lnd }, storage, clock });

  const paywall = new L402Paywall({
    payable,
    provider: 'lnd',
    service: 'jokes',
    replay,
    tokenTtl: 3600,
    rateLimit: { invoicesPerMinute },
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false); // the rate limit keys on the socket address; configure for your proxy

  app.get('/', (_req, res) => {
    res.json({
      endpoints: {
        'GET /api/joke': '10 sats (L402)',
        'GET /api/report/:year': '50 sats (L402), one token for every year',
      },
      replay,
      node: simulator ? 'simulator (regtest, no real money): pay with POST /dev/pay {"invoice":"lnbcrt…"}' : 'lnd',
    });
  });

  app.get('/api/joke', paywall.express({ price: 10 }), (req, res) => {
    res.json({ joke: JOKES[Math.floor(Math.random() * JOKES.length)], receipt: req.l402?.paymentHash });
  });

  app.get('/api/report/:year', paywall.express({ price: 50, path: '/api/report/*' }), (req, res) => {
    res.json({ year: req.params.year, revenueSats: 21_000_000, receipt: req.l402?.paymentHash });
  });

  if (simulator) {
    const sim = simulator;
    app.post('/dev/pay', express.json({ limit: '4kb' }), (req, res) => {
      const invoice = (req.body as { invoice?: unknown } | undefined)?.invoice;
      if (typeof invoice !== 'string') {
        res.status(400).json({ error: 'VALIDATION_ERROR', message: 'Send {"invoice": "lnbcrt…"}', context: {} });
        return;
      }
      try {
        sim.pay(invoice);
        res.json({ preimage: sim.preimageOf(invoice) });
      } catch (error) {
        res.status(400).json({ error: 'VALIDATION_ERROR', message: (error as Error).message, context: {} });
      }
    });
  }

  return {
    app,
    payable,
    paywall,
    simulator,
    async close() {
      await payable.close();
      await storage.close();
      await simulator?.close();
    },
  };
}
