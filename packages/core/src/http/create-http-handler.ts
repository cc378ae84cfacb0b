import {
  InvalidWebhookPayloadError,
  NotFoundError,
  PayloadTooLargeError,
  UnauthorizedError,
  ValidationError,
} from '../errors/classes.js';
import { isPayableError, type PayableError } from '../errors/payable-error.js';
import type {
  ExecutableOperation,
  InvoiceQuery,
  OperationOptions,
  Payable,
  PaymentQuery,
  ReceiveInput,
} from '../facade/types.js';
import { headersOf } from './node-request.js';
import { errorResponse, JSON_HEADERS } from './responses.js';
import {
  DEFAULT_BODY_LIMIT,
  type HttpHandler,
  type HttpHandlerOptions,
  type HttpRequest,
  type HttpResponse,
} from './types.js';

/** Who may call a route: webhook and health routes are public, the rest need `authorize`. */
type Access = 'public' | 'management';

interface RouteContext {
  req: HttpRequest;
  params: Record<string, string>;
}

interface Route {
  method: 'GET' | 'POST';
  /** Path segments; `:name` captures one segment. */
  segments: readonly string[];
  access: Access;
  /** Whether the route reads a request body (the body limit applies). */
  hasBody: boolean;
  run(ctx: RouteContext): Promise<HttpResponse>;
}

/**
 * Create the framework-neutral HTTP handler: every Payable route (webhooks, payments, refunds,
 * customers, checkout, subscriptions, invoices, health, webhook event admin) as one function
 * from a neutral request to a response. The Express, Fastify and Nest adapters and
 * `createNodeListener` only translate to and from it, so every adapter behaves the same.
 *
 * Management routes (all but `POST /webhooks…` and `GET /health`) answer 401 `UNAUTHORIZED`
 * unless `options.authorize(req)` answers `true`. Errors answer `{ error, message, context }` with
 * the code's HTTP status; unexpected errors answer 500 `INTERNAL_ERROR` without their message.
 * The returned handler never rejects.
 *
 * @example
 * ```ts
 * const handle = createHttpHandler(payable, {
 *   prefix: '/payable',
 *   authorize: (req) => req.headers.authorization === `Bearer ${process.env.PAYABLE_ADMIN_TOKEN}`,
 * });
 * const res = await handle({ method: 'GET', path: '/payable/health', headers: {}, rawBody: undefined, query: {} });
 * res.status; // 200
 * ```
 */
export function createHttpHandler(payable: Payable, options: HttpHandlerOptions = {}): HttpHandler {
  const prefix = splitPath(options.prefix ?? '');
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  if (!Number.isFinite(bodyLimit) || bodyLimit < 0) {
    throw new ValidationError('bodyLimit must be a non-negative number of bytes', {
      context: { field: 'bodyLimit', reason: 'must be a non-negative number of bytes' },
    });
  }
  const hooks = options.hooks ?? {};
  const routes = buildRoutes(payable, options);

  async function route(req: HttpRequest): Promise<HttpResponse> {
    const segments = matchPrefix(prefix, splitPath(req.path));
    if (segments === null) throw notFound(req);
    const candidates: Array<{ route: Route; params: Record<string, string> }> = [];
    for (const r of routes) {
      const params = matchSegments(r.segments, segments);
      if (params !== null) candidates.push({ route: r, params });
    }
    if (candidates.length === 0) throw notFound(req);
    const method = req.method.toUpperCase();
    const hit = candidates.find((c) => c.route.method === method);
    if (hit === undefined) {
      const allow = [...new Set(candidates.map((c) => c.route.method))].join(', ');
      return errorResponse(
        new NotFoundError(`${method} is not allowed on ${req.path}; allowed: ${allow}`, {
          context: { method, path: stripQuery(req.path), allow },
        }),
        { allow },
      );
    }
    if (hit.route.hasBody) checkBodySize(req.rawBody, bodyLimit);
    if (hit.route.access === 'management') await checkAuthorized(options.authorize, req);
    return hit.route.run({ req, params: hit.params });
  }

  return async function payableHttpHandler(input: HttpRequest): Promise<HttpResponse> {
    const started = performance.now();
    const req = normalizeRequest(input);
    safeHook(() => hooks.onRequest?.(req));
    let res: HttpResponse;
    try {
      res = await route(req);
    } catch (error) {
      if (!isPayableError(error) || error.httpStatus >= 500) safeHook(() => hooks.onError?.(error, req));
      res = errorResponse(error);
    }
    const duration = performance.now() - started;
    safeHook(() => hooks.onResponse?.(req, res, duration));
    return res;
  };
}

function buildRoutes(payable: Payable, options: HttpHandlerOptions): Route[] {
  const webhook = async ({ req, params }: RouteContext): Promise<HttpResponse> => {
    const rawBody = webhookBody(req.rawBody);
    const input: ReceiveInput = { rawBody, headers: req.headers };
    if (params.provider !== undefined) input.provider = params.provider;
    if (params.tenant !== undefined) input.tenantId = params.tenant;
    if (options.webhookSignatureHeader !== undefined) input.signatureHeader = options.webhookSignatureHeader;
    const result = await payable.webhooks.receive(input);
    return json(200, { received: true, eventId: result.eventId, duplicate: result.duplicate, status: result.status });
  };

  const execute =
    (operation: ExecutableOperation, emptyBody: 'object' | 'required') =>
    async ({ req, params }: RouteContext): Promise<HttpResponse> => {
      const body = parseJsonObject(req.rawBody, emptyBody);
      const { provider, tenantId, ...input } = body;
      const opts = operationOptions(provider, tenantId, 'body');
      const key = idempotencyKey(req.headers['idempotency-key']);
      if (key !== undefined) opts.idempotencyKey = key;
      if (params.id !== undefined) input.id = params.id;
      const result = await payable.execute(operation, input, opts);
      const headers: Record<string, string> = { ...JSON_HEADERS };
      if (result.replayed) headers['idempotency-replayed'] = 'true';
      return { status: result.status, headers, body: result.body };
    };

  const post = (segments: string, access: Access, run: Route['run']): Route => ({
    method: 'POST',
    segments: splitPath(segments),
    access,
    hasBody: true,
    run,
  });
  const get = (segments: string, access: Access, run: Route['run']): Route => ({
    method: 'GET',
    segments: splitPath(segments),
    access,
    hasBody: false,
    run,
  });

  return [
    post('/webhooks', 'public', webhook),
    post('/webhooks/:provider', 'public', webhook),
    post('/webhooks/:provider/:tenant', 'public', webhook),
    get('/health', 'public', async () => {
      const report = await payable.health();
      return json(report.ok ? 200 : 503, report);
    }),

    post('/payments', 'management', execute('charge', 'required')),
    get('/payments', 'management', async ({ req }) => {
      const query: PaymentQuery = {};
      const limit = queryLimit(req.query);
      if (limit !== undefined) query.limit = limit;
      for (const name of ['cursor', 'status', 'customerId', 'provider', 'tenantId'] as const) {
        const value = queryParam(req.query, name);
        if (value !== undefined) query[name] = value;
      }
      return json(200, await payable.listPayments(query));
    }),
    get('/payments/:id', 'management', async ({ req, params }) => {
      const tenantId = queryParam(req.query, 'tenantId');
      const payment = await payable.getPayment(requireParam(params, 'id'), tenantId === undefined ? {} : { tenantId });
      return json(200, payment);
    }),
    post('/refunds', 'management', execute('refund', 'required')),
    post('/customers', 'management', execute('createCustomer', 'object')),
    get('/customers/:id', 'management', async ({ req, params }) => {
      const opts = operationOptions(queryParam(req.query, 'provider'), queryParam(req.query, 'tenantId'), 'query');
      return json(200, await payable.getCustomer(requireParam(params, 'id'), opts));
    }),
    post('/checkout', 'management', execute('createCheckout', 'required')),
    post('/subscriptions', 'management', execute('subscribe', 'required')),
    post('/subscriptions/:id/cancel', 'management', execute('cancelSubscription', 'object')),
    get('/invoices', 'management', async ({ req }) => {
      const query: InvoiceQuery = {};
      const limit = queryLimit(req.query);
      if (limit !== undefined) query.limit = limit;
      for (const name of ['customerId', 'subscriptionId'] as const) {
        const value = queryParam(req.query, name);
        if (value !== undefined) query[name] = value;
      }
      const opts = operationOptions(queryParam(req.query, 'provider'), queryParam(req.query, 'tenantId'), 'query');
      return json(200, await payable.listInvoices(query, opts));
    }),
    get('/events/:id', 'management', async ({ params }) =>
      json(200, await payable.webhooks.get(requireParam(params, 'id'))),
    ),
    post('/events/:id/replay', 'management', async ({ params }) =>
      json(200, await payable.webhooks.replay(requireParam(params, 'id'))),
    ),
  ];
}

// ---------------------------------------------------------------------------------------------
// Requests

function normalizeRequest(req: HttpRequest): HttpRequest {
  const normalized: HttpRequest = {
    method: String(req.method ?? 'GET').toUpperCase(),
    path: typeof req.path === 'string' ? req.path : '/',
    headers: headersOf(req.headers ?? {}),
    rawBody: req.rawBody,
    query: req.query ?? {},
  };
  if (req.ip !== undefined) normalized.ip = req.ip;
  return normalized;
}

function stripQuery(path: string): string {
  const q = path.indexOf('?');
  return q === -1 ? path : path.slice(0, q);
}

/** Path segments without empty ones (so a trailing or doubled slash is tolerated), undecoded. */
function splitPath(path: string): string[] {
  return stripQuery(path)
    .split('/')
    .filter((s) => s.length > 0);
}

function matchPrefix(prefix: readonly string[], segments: string[]): string[] | null {
  if (segments.length < prefix.length) return null;
  for (let i = 0; i < prefix.length; i++) if (segments[i] !== prefix[i]) return null;
  return segments.slice(prefix.length);
}

function matchSegments(pattern: readonly string[], segments: readonly string[]): Record<string, string> | null {
  if (pattern.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] as string;
    const s = segments[i] as string;
    if (p.startsWith(':')) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(s);
      } catch {
        return null;
      }
      if (decoded.length === 0) return null;
      params[p.slice(1)] = decoded;
    } else if (p !== s) {
      return null;
    }
  }
  return params;
}

function requireParam(params: Record<string, string>, name: string): string {
  const value = params[name];
  if (value === undefined) throw new ValidationError(`Missing path parameter ${name}`, { context: { field: name } });
  return value;
}

function notFound(req: HttpRequest): PayableError {
  const path = stripQuery(req.path);
  return new NotFoundError(`No route for ${req.method} ${path}`, { context: { method: req.method, path } });
}

async function checkAuthorized(authorize: HttpHandlerOptions['authorize'], req: HttpRequest): Promise<void> {
  if (authorize === undefined) {
    throw new UnauthorizedError('Management routes need the authorize option; none is configured', {
      context: { reason: 'authorize_not_configured' },
    });
  }
  let allowed: unknown;
  try {
    allowed = await authorize(req);
  } catch {
    allowed = false;
  }
  if (allowed !== true) throw new UnauthorizedError('Not authorized', { context: { reason: 'authorize_denied' } });
}

function byteLength(body: unknown): number | null {
  if (typeof body === 'string') return Buffer.byteLength(body, 'utf8');
  if (body instanceof Uint8Array) return body.byteLength;
  return null;
}

function checkBodySize(body: unknown, limit: number): void {
  const size = byteLength(body);
  if (size !== null && size > limit) {
    throw new PayloadTooLargeError(`Request body is ${size} bytes; the limit is ${limit}`, {
      context: { limit, size },
    });
  }
}

function webhookBody(rawBody: unknown): Buffer | string {
  if (typeof rawBody === 'string' || Buffer.isBuffer(rawBody)) return rawBody;
  if (rawBody instanceof Uint8Array) return Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  if (rawBody === undefined || rawBody === null) {
    throw new InvalidWebhookPayloadError('Webhook request has no body', { context: { reason: 'missing_body' } });
  }
  throw new InvalidWebhookPayloadError(
    'Webhook raw body was consumed by a JSON parser (got a parsed object, not the raw bytes): ' +
      'mount the Payable routes before any JSON body parser so the signature can be verified over the exact bytes',
    { context: { reason: 'body_already_parsed', received: Array.isArray(rawBody) ? 'array' : typeof rawBody } },
  );
}

function bodyError(reason: string): PayableError {
  return new ValidationError(`Invalid body: ${reason}`, { context: { field: 'body', reason } });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * The JSON object of a management request. `emptyBody: 'object'` treats a missing or empty body
 * as `{}` (routes whose input is all optional); `'required'` refuses it.
 */
function parseJsonObject(rawBody: unknown, emptyBody: 'object' | 'required'): Record<string, unknown> {
  let text: string | undefined;
  if (typeof rawBody === 'string') text = rawBody;
  else if (rawBody instanceof Uint8Array)
    text = Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength).toString('utf8');
  else if (rawBody === undefined || rawBody === null) text = '';
  else if (isPlainObject(rawBody))
    return { ...rawBody }; // already parsed by the framework
  else throw bodyError('must be a JSON object');

  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim().length === 0) {
    if (emptyBody === 'object') return {};
    throw bodyError('is required: a JSON object');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw bodyError('is not valid JSON');
  }
  if (!isPlainObject(parsed)) throw bodyError('must be a JSON object');
  return parsed;
}

function operationOptions(provider: unknown, tenantId: unknown, source: 'body' | 'query'): OperationOptions {
  const opts: OperationOptions = {};
  if (provider !== undefined) {
    if (typeof provider !== 'string' || provider.length === 0) {
      throw new ValidationError(`Invalid ${source}: provider must be a non-empty string`, {
        context: { field: 'provider', reason: 'must be a non-empty string' },
      });
    }
    opts.provider = provider;
  }
  if (tenantId !== undefined) {
    if (tenantId !== null && (typeof tenantId !== 'string' || tenantId.length === 0)) {
      throw new ValidationError(`Invalid ${source}: tenantId must be a non-empty string or null`, {
        context: { field: 'tenantId', reason: 'must be a non-empty string or null' },
      });
    }
    opts.tenantId = tenantId;
  }
  return opts;
}

/** The `Idempotency-Key` header value, trimmed and unquoted (`"abc"` equals `abc`). */
function idempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const values = Array.isArray(header) ? header : [header];
  if (values.length !== 1) {
    throw new ValidationError('Idempotency-Key must be sent once', {
      context: { field: 'Idempotency-Key', reason: 'must be sent once' },
    });
  }
  let key = (values[0] as string).trim();
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) key = key.slice(1, -1).trim();
  if (key.length === 0) {
    throw new ValidationError('Idempotency-Key must not be empty', {
      context: { field: 'Idempotency-Key', reason: 'must not be empty' },
    });
  }
  return key;
}

function queryParam(query: HttpRequest['query'], name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (value.length === 1) return value[0];
  throw new ValidationError(`Invalid query: ${name} must be given once`, {
    context: { field: name, reason: 'must be given once' },
  });
}

function queryLimit(query: HttpRequest['query']): number | undefined {
  const raw = queryParam(query, 'limit');
  if (raw === undefined) return undefined;
  const n = /^\d{1,9}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new ValidationError('Invalid query: limit must be a positive integer', {
      context: { field: 'limit', reason: 'must be a positive integer' },
    });
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Responses

function json(status: number, value: unknown): HttpResponse {
  return { status, headers: { ...JSON_HEADERS }, body: JSON.stringify(value) };
}

function safeHook(fn: () => void): void {
  try {
    fn();
  } catch {
    // Observability hooks never change a response.
  }
}
