import type { RateLimiter, RateLimitPolicy } from '../resilience/rate-limit.js';

/**
 * A framework-neutral HTTP request, as every adapter (node:http, Express, Fastify, Nest) hands it
 * to the core HTTP handler, and as `authorize` and the hooks receive it.
 *
 * @example
 * ```ts
 * const req: HttpRequest = {
 *   method: 'GET',
 *   path: '/payments/pay_01J…',
 *   headers: { authorization: 'Bearer s3cret' },
 *   rawBody: undefined,
 *   query: {},
 * };
 * ```
 */
export interface HttpRequest {
  /** Upper-case HTTP method, e.g. `'POST'` (other cases are accepted and upper-cased). */
  method: string;
  /** The request path, e.g. `/payments/pay_1` (a query string, if present, is ignored). */
  path: string;
  /** Request headers, names lowercased. */
  headers: Record<string, string | string[] | undefined>;
  /**
   * The exact request body bytes: a `Buffer` or a string, `undefined` when there is none.
   * Anything else (an object a JSON body parser produced) is refused on webhook routes.
   */
  rawBody: unknown;
  /** Parsed query string; a repeated key gives an array. */
  query: Record<string, string | string[] | undefined>;
  /** The client address, when the adapter knows it. */
  ip?: string;
}

/**
 * What the handler answers: a status, headers (names lowercased) and a JSON body string.
 *
 * @example
 * ```ts
 * const res: HttpResponse = { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{}' };
 * ```
 */
export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Observability hooks of the HTTP handler. A hook that throws is ignored; it never changes the
 * response.
 *
 * @example
 * ```ts
 * const hooks: HttpHooks = {
 *   onResponse: (req, res, ms) => metrics.observe({ route: req.path, status: res.status }, ms),
 * };
 * ```
 */
export interface HttpHooks {
  /** Called when a request arrives, before routing. */
  onRequest?(req: HttpRequest): void;
  /** Called with the response about to be sent and the time the handler took. */
  onResponse?(req: HttpRequest, res: HttpResponse, durationMs: number): void;
  /** Called with an unexpected error (answered 500 `INTERNAL_ERROR`) and with any 5xx `PayableError`. */
  onError?(error: unknown, req: HttpRequest): void;
}

/**
 * Options of `createHttpHandler` (and of the adapters built on it).
 *
 * @example
 * ```ts
 * const options: HttpHandlerOptions = {
 *   prefix: '/payable',
 *   authorize: (req) => req.headers.authorization === `Bearer ${process.env.PAYABLE_ADMIN_TOKEN}`,
 *   bodyLimit: 512 * 1024,
 * };
 * ```
 */
export interface HttpHandlerOptions {
  /** Path prefix every route lives under, e.g. `/payable`. Default: the root. */
  prefix?: string;
  /**
   * Decides whether a management request (every route but the webhook routes and `/health`) may
   * run. Absent, or answering anything but `true`, or throwing: 401 `UNAUTHORIZED`.
   */
  authorize?: (req: HttpRequest) => boolean | Promise<boolean>;
  /** Largest accepted body in bytes (default 1 MiB); larger: 413 `PAYLOAD_TOO_LARGE`. */
  bodyLimit?: number;
  /** Overrides the header the provider reads its webhook signature from. */
  webhookSignatureHeader?: string;
  hooks?: HttpHooks;
  /**
   * Rate limits of the management routes, per caller and route group (see {@link HttpRateLimitOptions}).
   * On by default ({@link DEFAULT_RATE_LIMIT_POLICIES}, counted in this process's memory); `false`
   * turns them off. Webhook routes and `/health` are never limited.
   */
  rateLimit?: HttpRateLimitOptions | false;
}

/**
 * The route groups rate limits apply to:
 * - `payments`: the creating routes: `POST /payments`, `/refunds`, `/customers`, `/checkout`,
 *   `/subscriptions` and `/subscriptions/:id/cancel`;
 * - `reads`: `GET /payments`, `/payments/:id`, `/customers/:id`, `/invoices`;
 * - `admin`: webhook event admin (`/events/…`), outbound endpoints (`/endpoints…`) and
 *   deliveries (`/deliveries/…`).
 *
 * @example
 * ```ts
 * const group: RateLimitGroup = 'payments';
 * ```
 */
export type RateLimitGroup = 'payments' | 'reads' | 'admin';

/**
 * Rate limits of `createHttpHandler`: a fixed window per caller and group. Each limited response
 * carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (unix seconds); past
 * the limit the answer is 429 `RATE_LIMITED` with `Retry-After`. Limits are checked after
 * `authorize`, so requests refused with 401 never use up a caller's allowance. If the limiter
 * fails (Redis down), the request goes through unlimited and `hooks.onError` is told.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * const redis = new Redis(process.env.REDIS_URL!);
 * const rateLimit: HttpRateLimitOptions = {
 *   policies: { payments: { limit: 30 }, reads: { limit: 600 }, admin: false },
 *   limiter: (group, policy) => new RedisRateLimiter({ client: redis, prefix: `payable:rl:${group}:`, ...policy }),
 *   key: (req) => String(req.headers['x-api-client'] ?? req.ip),
 * };
 * ```
 */
export interface HttpRateLimitOptions {
  /**
   * Where counts live. A function gets each group's policy and returns that group's limiter (e.g. a
   * `RedisRateLimiter`, to share counts between instances); one limiter is shared by every group
   * (keys are prefixed with the group) and its own limit applies. Default: a `MemoryRateLimiter`
   * per group, from `policies`.
   */
  limiter?: RateLimiter | ((group: RateLimitGroup, policy: Required<RateLimitPolicy>) => RateLimiter);
  /** Per group: `{ limit, windowMs? }`, or `false` for no limit. Missing groups keep {@link DEFAULT_RATE_LIMIT_POLICIES}. */
  policies?: Partial<Record<RateLimitGroup, RateLimitPolicy | false>>;
  /**
   * Who is counted. Default: the API caller (a SHA-256 of the `authorization` header, never the
   * header itself), or else `req.ip`. Behind a proxy, make sure `req.ip` is the client's address
   * (Express `trust proxy`, Fastify `trustProxy`) or give your own key.
   */
  key?: (req: HttpRequest) => string;
}

/**
 * The default rate limits of the HTTP handler, per caller: 60 payment-creating requests, 300 reads
 * and 60 admin requests a minute.
 *
 * @example
 * ```ts
 * createHttpHandler(payable, { authorize, rateLimit: { policies: { ...DEFAULT_RATE_LIMIT_POLICIES, reads: { limit: 1000 } } } });
 * ```
 */
export const DEFAULT_RATE_LIMIT_POLICIES: Readonly<Record<RateLimitGroup, Required<RateLimitPolicy>>> = Object.freeze({
  payments: Object.freeze({ limit: 60, windowMs: 60_000 }),
  reads: Object.freeze({ limit: 300, windowMs: 60_000 }),
  admin: Object.freeze({ limit: 60, windowMs: 60_000 }),
});

/**
 * The framework-neutral handler: a request in, a response out. Never rejects.
 *
 * @example
 * ```ts
 * const handle: HttpHandler = createHttpHandler(payable, { authorize });
 * const res = await handle({ method: 'GET', path: '/health', headers: {}, rawBody: undefined, query: {} });
 * ```
 */
export type HttpHandler = (req: HttpRequest) => Promise<HttpResponse>;

/**
 * The default `bodyLimit`: 1 MiB.
 *
 * @example
 * ```ts
 * createHttpHandler(payable, { bodyLimit: DEFAULT_BODY_LIMIT / 4 }); // 256 KiB
 * ```
 */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
