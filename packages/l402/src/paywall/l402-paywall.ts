import {
  type Clock,
  InternalError,
  isPayableError,
  L402InvalidTokenError,
  L402TokenUsedError,
  type Logger,
  noopLogger,
  type PayableError,
  ProviderCapabilityNotSupportedError,
  type StorageDriver,
  ValidationError,
} from '@payable/core';
import { Macaroon } from '../macaroon/macaroon.js';
import { StorageReplayStore } from '../replay/storage-replay-store.js';
import type { ReplayStore } from '../replay/types.js';
import {
  amountCaveat,
  type CaveatContext,
  type CaveatSatisfier,
  capabilitiesCaveat,
  merchantCaveat,
  pathCaveat,
  pathMatches,
  servicesCaveat,
  validUntilCaveat,
} from '../token/caveats.js';
import { buildChallengeHeaders, type L402Credential, parseAuthorization } from '../token/credentials.js';
import { l402FailureToError } from '../token/errors.js';
import { rootKeyId } from '../token/identifier.js';
import { mintL402Token, verifyL402Token } from '../token/l402-token.js';
import { L402NestGuard } from '../nest/l402-guard.js';
import { expressMiddleware, type L402ExpressMiddleware } from './express.js';
import { fastifyPreHandler, type L402FastifyPreHandler } from './fastify.js';
import { MemoryRateLimiter, type RateLimitDecision, type RateLimiter } from './rate-limiter.js';
import { normalizeRequestPath } from './request.js';
import { RootKeyStore } from './root-key-store.js';
import type {
  L402Payable,
  L402PaywallOptions,
  L402ReplayPolicy,
  L402Request,
  L402Response,
  L402RouteOptions,
  L402Verification,
} from './types.js';

/** The default challenge-creation limit per client: 20 invoices per minute (l402-kit's). */
export const DEFAULT_INVOICES_PER_MINUTE = 20;
/** The default token lifetime: 3600 s. */
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } as const;
const PAYMENT_REQUIRED_MESSAGE =
  'Payment required: pay the Lightning invoice, then retry with Authorization: L402 <macaroon>:<preimage>';
const MAX_TTL_SECONDS = 10 * 365 * 86_400;

function positiveInteger(value: unknown, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new ValidationError(
      `${field} must be a positive integer${max < Number.MAX_SAFE_INTEGER ? ` (at most ${max})` : ''}`,
      {
        context: { field, reason: 'invalid' },
      },
    );
  }
  return value;
}

/**
 * An L402 paywall: sells access to HTTP endpoints for Lightning payments, on any framework.
 *
 * - **Challenge** (no usable credential): a BOLT-11 invoice through `payable.charge` on the
 *   configured Lightning provider, a token (macaroon) bound to its payment hash with caveats for the
 *   service, its expiry, the path, the price and the merchant, its root key stored (encrypted when
 *   `encryption` is given) under `sha256(identifier)`; the answer is `402` with two
 *   `WWW-Authenticate` values (`LSAT …`, `L402 …`) and `{ error: 'PAYMENT_REQUIRED', message, l402 }`.
 *   Challenge creation is rate limited per client (default 20 per minute: `429 RATE_LIMITED` with
 *   `Retry-After` and `X-RateLimit-*`).
 * - **Verification** (`Authorization: L402 <macaroon>:<preimage>`): the root key from storage
 *   (cached in memory for the token lifetime), the signature, `sha256(preimage)`, the caveats and the
 *   replay policy; no call to the Lightning node. A well-formed credential that fails answers `401`
 *   (`403` for path and merchant caveats) with its code in the body and in `X-L402-Error`.
 *
 * @example
 * ```ts
 * const paywall = new L402Paywall({ payable, provider: 'lnd', service: 'weather' });
 * app.get('/api/forecast', paywall.express({ price: 10 }), (req, res) => res.json({ sunny: true }));
 * ```
 */
export class L402Paywall {
  /** The service name written into tokens. */
  readonly service: string;
  /** The registered Lightning provider invoices are created with. */
  readonly provider: string;
  readonly replay: L402ReplayPolicy;
  /** Token lifetime in seconds. */
  readonly tokenTtl: number;
  /** Invoice expiry in seconds. */
  readonly invoiceExpiry: number;

  readonly #payable: L402Payable;
  readonly #storage: StorageDriver;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #rootKeys: RootKeyStore;
  readonly #replayLayers: readonly ReplayStore[];
  readonly #limiter: RateLimiter | null;
  readonly #rateKey: (req: L402Request) => string;
  readonly #freePaths: readonly string[];
  readonly #freeMethods: ReadonlySet<string>;
  readonly #allowUnknownCaveats: boolean;
  readonly #satisfiers: readonly CaveatSatisfier[];
  readonly #merchantOf: ((req: L402Request) => string | null | undefined) | null;

  constructor(options: L402PaywallOptions) {
    const { payable } = options;
    if (!payable || typeof payable.charge !== 'function') {
      throw new ValidationError('L402Paywall needs { payable } (createPayable(...))', {
        context: { field: 'payable', reason: 'required' },
      });
    }
    if (!payable.storage) {
      throw new ValidationError(
        'L402Paywall needs a storage driver to keep token root keys: createPayable({ storage }) (e.g. KnexStorageDriver after migrate(knex))',
        { context: { field: 'payable.storage', reason: 'required' } },
      );
    }
    if (typeof options.provider !== 'string' || !payable.supports('lightning', options.provider)) {
      throw new ProviderCapabilityNotSupportedError(
        `L402Paywall: provider "${String(options.provider)}" is not a registered provider with the lightning capability`,
        { context: { provider: String(options.provider), capability: 'lightning' } },
      );
    }
    servicesCaveat([{ name: options.service }]); // validates the service name
    const replay = options.replay ?? 'reusable';
    if (replay !== 'reusable' && replay !== 'single-use') {
      throw new ValidationError("replay must be 'reusable' or 'single-use'", {
        context: { field: 'replay', reason: 'invalid' },
      });
    }
    const tokenTtl = positiveInteger(options.tokenTtl ?? DEFAULT_TOKEN_TTL_SECONDS, 'tokenTtl', MAX_TTL_SECONDS);
    const invoiceExpiry = positiveInteger(
      options.invoiceExpiry ?? Math.min(tokenTtl, 3600),
      'invoiceExpiry',
      MAX_TTL_SECONDS,
    );
    for (const glob of options.freePaths ?? []) {
      if (typeof glob !== 'string' || !glob.startsWith('/')) {
        throw new ValidationError('freePaths are path globs starting with "/"', {
          context: { field: 'freePaths', reason: 'invalid' },
        });
      }
    }

    this.service = options.service;
    this.provider = options.provider;
    this.replay = replay;
    this.tokenTtl = tokenTtl;
    this.invoiceExpiry = invoiceExpiry;
    this.#payable = payable;
    this.#storage = payable.storage;
    this.#clock = options.clock ?? payable.clock;
    this.#logger = options.logger ?? noopLogger;
    this.#rootKeys = new RootKeyStore({
      storage: payable.storage,
      encryption: options.encryption ?? null,
      clock: this.#clock,
      logger: this.#logger,
      cacheTtlMs: tokenTtl * 1000,
    });

    const given = options.replayStore === undefined ? [] : ([] as ReplayStore[]).concat(options.replayStore);
    for (const store of given) {
      if (typeof store?.consume !== 'function') {
        throw new ValidationError('replayStore must have consume(token)', {
          context: { field: 'replayStore', reason: 'invalid' },
        });
      }
    }
    const durable = options.durableReplay !== false && !given.some((s) => s instanceof StorageReplayStore);
    this.#replayLayers = durable ? [...given, new StorageReplayStore(payable.storage)] : given;
    if (replay === 'single-use' && this.#replayLayers.length === 0) {
      throw new ValidationError('single-use replay needs a replayStore when durableReplay is false', {
        context: { field: 'replayStore', reason: 'required' },
      });
    }

    const rate = options.rateLimit;
    if (rate === false) {
      this.#limiter = null;
    } else {
      this.#limiter =
        rate?.limiter ??
        new MemoryRateLimiter({
          limit: positiveInteger(rate?.invoicesPerMinute ?? DEFAULT_INVOICES_PER_MINUTE, 'rateLimit.invoicesPerMinute'),
        });
    }
    this.#rateKey =
      (rate !== false && rate?.key) || ((req) => (typeof req.ip === 'string' && req.ip !== '' ? req.ip : 'unknown'));
    this.#freePaths = [...(options.freePaths ?? [])];
    this.#freeMethods = new Set((options.freeMethods ?? ['OPTIONS']).map((m) => m.toUpperCase()));
    this.#allowUnknownCaveats = options.allowUnknownCaveats === true;
    this.#satisfiers = [...(options.satisfiers ?? [])];
    this.#merchantOf = options.merchantId ?? null;
  }

  /**
   * Answers a fresh challenge: creates the invoice and the token, stores the root key, and returns
   * the 402 (or 429 past the rate limit, or the error of a failed invoice creation, e.g. 503
   * `PROVIDER_UNAVAILABLE`). Throws only for invalid route options.
   *
   * @example
   * ```ts
   * const response = await paywall.challenge({ method: 'GET', path: '/api/report', headers, ip }, { price: 10 });
   * // { status: 402, headers: { 'www-authenticate': ['LSAT macaroon="…", invoice="…"', 'L402 …'], ... }, body: { error: 'PAYMENT_REQUIRED', ... } }
   * ```
   */
  async challenge(req: L402Request, route: L402RouteOptions): Promise<L402Response> {
    this.checkRoute(route);
    let rateHeaders: Record<string, string> = {};
    try {
      const now = this.#clock.now();
      if (this.#limiter !== null) {
        const decision = await this.#limiter.hit(this.#rateKey(req), now);
        rateHeaders = rateLimitHeaders(decision);
        if (!decision.allowed) return rateLimited(decision, rateHeaders);
      }
      const price = await this.#price(req, route);
      const merchantId = this.#merchant(req);
      const path = normalizeRequestPath(req.path);
      const description =
        typeof route.description === 'function'
          ? route.description(req)
          : (route.description ?? `${this.service}: ${req.method.toUpperCase()} ${path}`);
      const payment = await this.#payable.charge(
        { amount: price, currency: 'BTC', expiresIn: this.invoiceExpiry, description: truncateUtf8(description, 600) },
        { provider: this.provider, tenantId: merchantId },
      );
      const lightning = payment.lightning;
      if (!lightning?.paymentHash || !lightning.paymentRequest) {
        throw new InternalError(
          `L402Paywall: provider "${this.provider}" returned a payment without a BOLT-11 invoice`,
          {
            context: { provider: this.provider, paymentId: payment.id },
          },
        );
      }
      const validUntil = new Date(now.getTime() + this.tokenTtl * 1000);
      const caveats = [servicesCaveat([{ name: this.service }])];
      if (route.capability !== undefined) caveats.push(capabilitiesCaveat(this.service, [route.capability]));
      caveats.push(validUntilCaveat(this.service, validUntil));
      if (route.path !== false) caveats.push(pathCaveat(route.path ?? path));
      if (route.bindAmount !== false) caveats.push(amountCaveat(price));
      if (merchantId !== null) caveats.push(merchantCaveat(merchantId));
      const minted = mintL402Token({ paymentHash: lightning.paymentHash, caveats });
      await this.#rootKeys.put({
        id: minted.rootKeyId,
        rootKey: minted.rootKey,
        tenantId: merchantId,
        createdAt: now,
        expiresAt: new Date(Math.floor(validUntil.getTime() / 1000) * 1000),
      });
      const macaroon = minted.macaroon.toBase64();
      const invoice = lightning.paymentRequest;
      const expiresAt = payment.expiresAt ?? new Date(now.getTime() + this.invoiceExpiry * 1000);
      return {
        status: 402,
        headers: { ...JSON_HEADERS, ...rateHeaders, 'www-authenticate': buildChallengeHeaders({ macaroon, invoice }) },
        body: {
          error: 'PAYMENT_REQUIRED',
          message: PAYMENT_REQUIRED_MESSAGE,
          l402: {
            macaroon,
            invoice,
            amountSats: price,
            paymentHash: minted.identifier.paymentHash.toString('hex'),
            expiresAt: expiresAt.toISOString(),
          },
        },
      };
    } catch (error) {
      return this.#errorResponse(error, rateHeaders);
    }
  }

  /**
   * Decides a request: a free path or method passes (`grant: null`); no usable credential gets a
   * fresh challenge (402, or 429); a credential is verified without calling the node — root key,
   * signature, preimage, caveats (service, expiry, path, price, merchant), replay policy — and
   * passes with its grant or fails with 401/403 and its code (`X-L402-Error`). Throws only for
   * invalid route options.
   *
   * @example
   * ```ts
   * const result = await paywall.verify({ method, path, headers, ip }, { price: 10 });
   * if (result.ok) serve(result.grant);
   * else send(result.response.status, result.response.headers, JSON.stringify(result.response.body));
   * ```
   */
  async verify(req: L402Request, route: L402RouteOptions): Promise<L402Verification> {
    this.checkRoute(route);
    try {
      if (this.isFree(req)) return { ok: true, grant: null };
      let credential: L402Credential | null;
      try {
        credential = parseAuthorization(req.headers.authorization);
      } catch (error) {
        return { ok: false, response: this.#errorResponse(error) };
      }
      if (credential === null) return { ok: false, response: await this.challenge(req, route) };

      const now = this.#clock.now();
      const price = await this.#price(req, route);
      const merchantId = this.#merchant(req);
      const rootKey = await this.#rootKeys.get(rootKeyId(credential.macaroon.identifier));
      if (rootKey === null) {
        throw new L402InvalidTokenError('L402 verification failed', { context: { reason: 'unknown_root_key' } });
      }
      const context: CaveatContext = {
        now,
        service: this.service,
        path: normalizeRequestPath(req.path),
        ...(route.capability === undefined ? {} : { capability: route.capability }),
        ...(route.bindAmount === false ? {} : { amountSats: price }),
        ...(this.#merchantOf === null ? {} : { merchantId }),
      };
      const result = verifyL402Token(credential, {
        rootKey,
        context,
        allowUnknownCaveats: this.#allowUnknownCaveats,
        satisfiers: this.#satisfiers,
      });
      if (!result.ok) throw l402FailureToError(result);
      const paymentHash = result.identifier.paymentHash.toString('hex');
      if (this.replay === 'single-use') {
        const token = { tenantId: merchantId, paymentHash, expiresAt: result.expiresAt, now };
        for (const layer of this.#replayLayers) {
          if (!(await layer.consume(token))) {
            throw new L402TokenUsedError(
              'Token already used: this paywall accepts each paid invoice once. Request a new invoice and pay it.',
              { context: { reason: 'single_use' } },
            );
          }
        }
      }
      return {
        ok: true,
        grant: {
          scheme: credential.scheme,
          paymentHash,
          tokenId: result.identifier.tokenId.toString('hex'),
          expiresAt: result.expiresAt,
          amountSats: price,
          merchantId,
          caveats: result.caveats,
        },
      };
    } catch (error) {
      return { ok: false, response: this.#errorResponse(error) };
    }
  }

  /**
   * Express middleware charging `route.price` for the routes it guards; a verified request goes on
   * with `req.l402` set to its grant.
   *
   * @example
   * ```ts
   * app.get('/api/report', paywall.express({ price: 10 }), (req, res) => res.json({ ok: true }));
   * app.use('/api/premium', paywall.express({ price: (req) => 50, path: '/api/premium/*' }));
   * ```
   */
  express(route: L402RouteOptions): L402ExpressMiddleware {
    return expressMiddleware(this, route);
  }

  /**
   * A Fastify `preHandler` charging `route.price`; a verified request goes on with `request.l402`.
   *
   * @example
   * ```ts
   * app.get('/api/report', { preHandler: paywall.fastify({ price: 10 }) }, async () => ({ ok: true }));
   * ```
   */
  fastify(route: L402RouteOptions): L402FastifyPreHandler {
    return fastifyPreHandler(this, route);
  }

  /**
   * A Nest guard: charges the routes marked `@L402({ price })`, or with `route` every route it
   * guards. Use it with `app.useGlobalGuards(...)` or `@UseGuards(...)`.
   *
   * @example
   * ```ts
   * app.useGlobalGuards(paywall.nestGuard());
   * ```
   */
  nestGuard(route?: L402RouteOptions): L402NestGuard {
    return new L402NestGuard(this, route);
  }

  /**
   * Whether a request is served without payment: a free method (default `OPTIONS`) or a path
   * matching one of `freePaths`.
   *
   * @example
   * ```ts
   * paywall.isFree({ method: 'GET', path: '/health', headers: {} }); // true with freePaths: ['/health']
   * ```
   */
  isFree(req: L402Request): boolean {
    if (this.#freeMethods.has(String(req.method).toUpperCase())) return true;
    if (this.#freePaths.length === 0) return false;
    const path = normalizeRequestPath(req.path);
    return this.#freePaths.some((glob) => pathMatches(glob, path));
  }

  /**
   * Revokes a token: deletes its root key (it stops verifying at once on this instance, on others
   * when their cache entry expires, at most `tokenTtl` later). Accepts the token's base64 or a
   * `Macaroon`; whether a key was deleted.
   *
   * @example
   * ```ts
   * await paywall.revoke(challenge.l402.macaroon);
   * ```
   */
  async revoke(token: string | Macaroon): Promise<boolean> {
    const macaroon = typeof token === 'string' ? Macaroon.fromBase64(token) : token;
    return this.#rootKeys.revoke(rootKeyId(macaroon.identifier));
  }

  /**
   * Deletes what expired tokens left behind: root keys whose token expired before
   * `now - graceSeconds`, and spent payment hashes recorded before `now - tokenTtl - graceSeconds`
   * (their tokens have expired, so they can no longer be replayed). Run it periodically.
   *
   * @example
   * ```ts
   * setInterval(() => void paywall.purge(), 3600_000).unref();
   * ```
   */
  async purge(options: { graceSeconds?: number } = {}): Promise<{ rootKeys: number; spentTokens: number }> {
    const grace = (options.graceSeconds ?? 86_400) * 1000;
    const now = this.#clock.now().getTime();
    const rootKeys = await this.#storage.purgeL402RootKeys(new Date(now - grace));
    const spentTokens = await this.#storage.purgeL402SpentTokens(new Date(now - this.tokenTtl * 1000 - grace));
    return { rootKeys, spentTokens };
  }

  /**
   * Checks route options (a configuration error throws a `ValidationError`); the framework helpers
   * call it when the middleware is created.
   *
   * @example
   * ```ts
   * paywall.checkRoute({ price: 10, path: '/api/*' });
   * ```
   */
  checkRoute(route: L402RouteOptions): void {
    if (typeof route !== 'object' || route === null) {
      throw new ValidationError('route options { price } are required', {
        context: { field: 'route', reason: 'required' },
      });
    }
    if (typeof route.price !== 'function') positiveInteger(route.price, 'price');
    if (typeof route.path === 'string') pathCaveat(route.path);
    else if (route.path !== undefined && route.path !== false) {
      throw new ValidationError('path is a glob string or false', { context: { field: 'path', reason: 'invalid' } });
    }
    if (route.capability !== undefined) capabilitiesCaveat(this.service, [route.capability]);
  }

  async #price(req: L402Request, route: L402RouteOptions): Promise<number> {
    const price = typeof route.price === 'function' ? await route.price(req) : route.price;
    if (typeof price !== 'number' || !Number.isSafeInteger(price) || price < 1) {
      throw new InternalError('L402 route price must be a positive integer of sats', {
        context: { field: 'price', reason: 'invalid' },
      });
    }
    return price;
  }

  #merchant(req: L402Request): string | null {
    if (this.#merchantOf === null) return null;
    const id = this.#merchantOf(req);
    return id === undefined || id === null || id === '' ? null : id;
  }

  #errorResponse(error: unknown, extraHeaders: Record<string, string> = {}): L402Response {
    const headers: Record<string, string> = { ...JSON_HEADERS, ...extraHeaders };
    if (!isPayableError(error)) {
      this.#logger.error(
        { err: error instanceof Error ? error.name : typeof error, service: this.service },
        'L402 paywall: unexpected error',
      );
      return {
        status: 500,
        headers,
        body: { error: 'INTERNAL_ERROR', message: 'Internal error', context: {} },
      };
    }
    const e = error as PayableError;
    if (e.code.startsWith('L402_')) headers['x-l402-error'] = e.code;
    if (e.httpStatus === 503) headers['retry-after'] = String(retryAfterOf(e.context.retryAfter) ?? 1);
    if (e.httpStatus >= 500) {
      this.#logger.warn({ code: e.code, service: this.service }, 'L402 paywall: request failed');
    }
    return { status: e.httpStatus, headers, body: safeBody(e) };
  }
}

/** At most `maxBytes` of UTF-8 (BOLT-11 descriptions hold 639), cut at a character boundary. */
function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let out = '';
  let bytes = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8');
    if (bytes + size > maxBytes) break;
    out += char;
    bytes += size;
  }
  return out;
}

function retryAfterOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? Math.max(1, Math.ceil(value)) : undefined;
}

function safeBody(error: PayableError): { error: string; message: string; context: Readonly<Record<string, unknown>> } {
  try {
    return JSON.parse(JSON.stringify(error.toJSON())) as {
      error: string;
      message: string;
      context: Record<string, unknown>;
    };
  } catch {
    return { error: error.code, message: error.message, context: {} };
  }
}

function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  return {
    'x-ratelimit-limit': String(decision.limit),
    'x-ratelimit-remaining': String(decision.remaining),
    'x-ratelimit-reset': String(Math.ceil(decision.resetAt.getTime() / 1000)),
  };
}

function rateLimited(decision: RateLimitDecision, headers: Record<string, string>): L402Response {
  return {
    status: 429,
    headers: { ...JSON_HEADERS, ...headers, 'retry-after': String(decision.retryAfterSeconds) },
    body: {
      error: 'RATE_LIMITED',
      message: `Too many requests: at most ${decision.limit} invoices per minute from one client. Retry after ${decision.retryAfterSeconds} s, and reuse paid tokens instead of asking for new invoices.`,
      context: { limit: decision.limit, windowSeconds: 60, retryAfter: decision.retryAfterSeconds },
    },
  };
}
