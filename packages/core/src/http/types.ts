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
}

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
