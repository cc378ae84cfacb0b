import type { Clock, EncryptionDriver, Logger, Payable } from '@payable/core';
import type { ReplayStore } from '../replay/types.js';
import type { Caveat, CaveatSatisfier } from '../token/caveats.js';
import type { L402Scheme } from '../token/credentials.js';
import type { RateLimiter } from './rate-limiter.js';

/**
 * A request as the paywall sees it, whatever the framework: method, path (a query string is
 * ignored), headers (names lowercased) and the client address.
 *
 * @example
 * ```ts
 * const req: L402Request = { method: 'GET', path: '/api/report?x=1', headers: { authorization }, ip: '203.0.113.7' };
 * ```
 */
export interface L402Request {
  method: string;
  /** The full request path as the client sent it (mount prefix included). */
  path: string;
  /** Request headers, names lowercased. */
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The client address (the rate limit key by default). */
  ip?: string | null;
}

/**
 * The price of a route in satoshis: fixed, or computed from the request.
 *
 * @example
 * ```ts
 * const price: L402Price = (req) => (req.path.startsWith('/api/premium') ? 50 : 10);
 * ```
 */
export type L402Price = number | ((req: L402Request) => number | Promise<number>);

/**
 * What one protected route costs and how its tokens are bound.
 *
 * @example
 * ```ts
 * app.get('/api/report/:id', paywall.express({ price: 10, path: '/api/report/*', capability: 'read' }), handler);
 * ```
 */
export interface L402RouteOptions {
  /** Satoshis (a positive integer), or a function of the request. */
  price: L402Price;
  /**
   * The `payable_path` glob written into tokens issued here (`*` = one segment; a trailing `/*`
   * = anything below). Default: exactly the request path. `false`: no path binding.
   */
  path?: string | false;
  /** An Aperture capability the endpoint requires (`<service>_capabilities`); written into its tokens. */
  capability?: string;
  /**
   * Bind tokens to the price (`payable_amount_sats`) so a token paid here does not open an endpoint
   * of another price. Default `true`. `false` writes no amount caveat and checks none (Aperture's
   * behaviour), but then refuses tokens that state a price.
   */
  bindAmount?: boolean;
  /** The invoice description the payer's wallet shows. Default `"<service>: <METHOD> <path>"`. */
  description?: string | ((req: L402Request) => string);
}

/**
 * How a paid token may be used: `reusable` until it expires (Aperture, Lightning Enable; the
 * default) or `single-use` (l402-kit: one request per paid invoice).
 *
 * @example
 * ```ts
 * new L402Paywall({ payable, provider: 'lnd', service: 'api', replay: 'single-use' });
 * ```
 */
export type L402ReplayPolicy = 'reusable' | 'single-use';

/**
 * Challenge-creation rate limit per client (default 20 invoices per minute per IP).
 *
 * @example
 * ```ts
 * rateLimit: { invoicesPerMinute: 60, key: (req) => String(req.headers['x-api-client'] ?? req.ip) }
 * ```
 */
export interface L402RateLimitOptions {
  /** Invoices one client may make the paywall create per minute. Default 20. */
  invoicesPerMinute?: number;
  /** The client key. Default: `req.ip` (`"unknown"` when absent). */
  key?: (req: L402Request) => string;
  /** A shared limiter (e.g. on Redis) instead of the in-memory one. */
  limiter?: RateLimiter;
}

/**
 * What the paywall needs from the facade: the storage, the clock, and `charge` for invoices.
 *
 * @example
 * ```ts
 * const payable = createPayable({ providers: { lnd }, storage });
 * new L402Paywall({ payable, provider: 'lnd', service: 'api' });
 * ```
 */
export type L402Payable = Pick<Payable, 'charge' | 'storage' | 'clock' | 'supports'>;

/**
 * Options of `new L402Paywall(...)`.
 *
 * @example
 * ```ts
 * new L402Paywall({ payable, provider: 'lnd', service: 'weather', tokenTtl: 3600, freePaths: ['/health'] });
 * ```
 */
export interface L402PaywallOptions {
  /** The facade: invoices are created with `payable.charge`, root keys kept in `payable.storage`. */
  payable: L402Payable;
  /** The registered provider that issues the invoices (it must have the `lightning` capability). */
  provider: string;
  /** The service name written into tokens (`services=<service>:0`, `<service>_valid_until`). */
  service: string;
  /** Default `'reusable'`. */
  replay?: L402ReplayPolicy;
  /**
   * Where spent tokens are recorded under `single-use` (a store, or layers tried in order). The
   * storage driver's store is always kept as the last, durable layer unless `durableReplay: false`.
   */
  replayStore?: ReplayStore | readonly ReplayStore[];
  /** Keep `StorageReplayStore` behind `replayStore`. Default `true`. */
  durableReplay?: boolean;
  /** Token lifetime in seconds (`<service>_valid_until`). Default 3600. */
  tokenTtl?: number;
  /** Invoice expiry in seconds. Default `min(tokenTtl, 3600)`. */
  invoiceExpiry?: number;
  /** Challenge creation per client. Default `{ invoicesPerMinute: 20 }`; `false` disables it. */
  rateLimit?: L402RateLimitOptions | false;
  /** Paths served without payment (globs as in `payable_path`: `/health`, `/docs/*`). */
  freePaths?: readonly string[];
  /** Methods served without payment. Default `['OPTIONS']` (CORS preflights). */
  freeMethods?: readonly string[];
  /** Accept (ignore) caveats nothing here knows, as Aperture does. Default `false`: refused. */
  allowUnknownCaveats?: boolean;
  /** Satisfiers for caveat conditions of your own. */
  satisfiers?: readonly CaveatSatisfier[];
  /** Encrypts root keys at rest (pass the same driver as to `createPayable`). */
  encryption?: EncryptionDriver;
  /**
   * The merchant (tenant) of a request: written into tokens (`payable_merchant`) and checked, and
   * the tenant of the invoice, the root key and the spent-token row. `null`: single-tenant.
   */
  merchantId?: (req: L402Request) => string | null | undefined;
  /** Default: `payable.clock`. */
  clock?: Clock;
  /** Where unexpected errors are logged (never secrets). Default: no logging. */
  logger?: Logger;
}

/**
 * A verified token: what the protected handler may read (`req.l402` on Express, Fastify and Nest).
 *
 * @example
 * ```ts
 * app.get('/api/report', paywall.express({ price: 10 }), (req, res) => res.json({ paidBy: req.l402?.paymentHash }));
 * ```
 */
export interface L402Grant {
  readonly scheme: L402Scheme;
  /** The invoice's payment hash (hex): the receipt. */
  readonly paymentHash: string;
  /** The token's random id (hex). */
  readonly tokenId: string;
  /** When the token expires for this service (`null`: it states no expiry). */
  readonly expiresAt: Date | null;
  /** The route's price for this request. */
  readonly amountSats: number;
  readonly merchantId: string | null;
  /** Every first-party caveat of the token, in order. */
  readonly caveats: readonly Caveat[];
}

/**
 * The `l402` object of a 402 body (the shape of Lightning Enable's, camel-cased).
 *
 * @example
 * ```ts
 * const { macaroon, invoice } = (await res.json()).l402 as L402ChallengeDetails;
 * ```
 */
export interface L402ChallengeDetails {
  /** The token, standard base64 with padding. */
  macaroon: string;
  /** The BOLT-11 invoice to pay. */
  invoice: string;
  amountSats: number;
  /** The invoice's payment hash (hex). */
  paymentHash: string;
  /** When the invoice expires (ISO 8601). */
  expiresAt: string;
}

/**
 * A 402 body: `{ error: 'PAYMENT_REQUIRED', message, l402: { macaroon, invoice, amountSats, paymentHash, expiresAt } }`.
 *
 * @example
 * ```ts
 * if (res.status === 402) pay(((await res.json()) as L402ChallengeBody).l402.invoice);
 * ```
 */
export interface L402ChallengeBody {
  error: 'PAYMENT_REQUIRED';
  message: string;
  l402: L402ChallengeDetails;
}

/**
 * An error body, as on every Payable route: `{ error: <CODE>, message, context }`.
 *
 * @example
 * ```ts
 * const { error } = (await res.json()) as L402ErrorBody; // 'L402_TOKEN_EXPIRED'
 * ```
 */
export interface L402ErrorBody {
  error: string;
  message: string;
  context: Readonly<Record<string, unknown>>;
}

/**
 * A response the paywall wants sent: status, headers (names lowercased; `www-authenticate` is a
 * list of two values on a 402) and the JSON body.
 *
 * @example
 * ```ts
 * reply.status(response.status).headers(response.headers).send(JSON.stringify(response.body));
 * ```
 */
export interface L402Response {
  status: number;
  headers: Record<string, string | string[]>;
  body: L402ChallengeBody | L402ErrorBody;
}

/**
 * The answer of `paywall.verify(req, route)`: let the request through with its grant (`null` for a
 * free path or method), or send `response` (a fresh 402 challenge, a 401/403 with the failure's
 * code, a 429, or a 5xx).
 *
 * @example
 * ```ts
 * const result = await paywall.verify(req, { price: 10 });
 * if (!result.ok) return send(result.response);
 * ```
 */
export type L402Verification =
  | { readonly ok: true; readonly grant: L402Grant | null }
  | { readonly ok: false; readonly response: L402Response };
