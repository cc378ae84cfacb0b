import {
  InvalidWebhookPayloadError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
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
import type { EndpointCreateInput, EndpointScope, EndpointUpdateInput } from '../outbound/types.js';
import {
  checkRateLimitPolicy,
  MemoryRateLimiter,
  type RateLimitDecision,
  type RateLimiter,
  rateLimitHeaders,
} from '../resilience/rate-limit.js';
import type { DeliveryStatus, EndpointStatus } from '../storage/types.js';
import { sha256Hex } from '../util/canonical-json.js';
import { headersOf } from './node-request.js';
import { errorResponse, JSON_HEADERS } from './responses.js';
import {
  DEFAULT_BODY_LIMIT,
  DEFAULT_RATE_LIMIT_POLICIES,
  type HttpHandler,
  type HttpHandlerOptions,
  type HttpRequest,
  type HttpResponse,
  type RateLimitGroup,
} from './types.js';

interface RouteContext {
  req: HttpRequest;
  params: Record<string, string>;
}

interface Route {
  method: 'GET' | 'POST' | 'PATCH';
  /** Path segments; `:name` captures one segment. */
  segments: readonly string[];
  /**
   * `null` for the public routes (webhooks, health: no `authorize`, never rate limited); otherwise
   * a management route (needs `authorize`) and the rate-limit group it counts in.
   */
  group: RateLimitGroup | null;
  /** Whether the route reads a request body (the body limit applies). */
  hasBody: boolean;
  run(ctx: RouteContext): Promise<HttpResponse>;
}

/**
 * Create the framework-neutral HTTP handler: every Payable route (webhooks, payments, refunds,
 * customers, checkout, subscriptions, invoices, health, webhook event admin, outbound endpoints
 * and their deliveries) as one function from a neutral request to a response. The Express,
 * Fastify and Nest adapters and `createNodeListener` only translate to and from it, so every
 * adapter behaves the same.
 *
 * Management routes (all but `POST /webhooks…` and `GET /health`) answer 401 `UNAUTHORIZED`
 * unless `options.authorize(req)` answers `true`, and are rate limited per caller and route group
 * (`options.rateLimit`; by default 60 payment-creating requests, 300 reads and 60 admin requests a
 * minute): `X-RateLimit-*` headers on every answer, 429 `RATE_LIMITED` with `Retry-After` past the
 * limit. Errors answer `{ error, message, context }` with the code's HTTP status (with
 * `Retry-After` when the context has `retryAfterSeconds`, e.g. an open circuit breaker's 503);
 * unexpected errors answer 500 `INTERNAL_ERROR` without their message. The returned handler never
 * rejects.
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
  const limits = buildRateLimits(options.rateLimit);

  /** Counts the request in its group; the decision's headers go on the answer, whatever it is. */
  async function limit(group: RateLimitGroup, req: HttpRequest, headers: Record<string, string>): Promise<void> {
    let decision: RateLimitDecision;
    try {
      const check = limits?.[group];
      if (check === undefined) return;
      decision = await check(req, payable.clock.now());
    } catch (error) {
      // A limiter that fails (Redis down) lets the request through rather than failing payments.
      safeHook(() => hooks.onError?.(error, req));
      return;
    }
    Object.assign(headers, rateLimitHeaders(decision));
    if (!decision.allowed) {
      throw new RateLimitedError(
        `Too many ${group} requests: at most ${decision.limit} per window. Retry after ${decision.retryAfterSeconds} s.`,
        {
          context: {
            group,
            limit: decision.limit,
            retryAfter: decision.retryAfterSeconds,
            retryAfterSeconds: decision.retryAfterSeconds,
          },
        },
      );
    }
  }

  /** The routes by segment count, in order: a request only tries those of its own length. */
  const byLength = new Map<number, Route[]>();
  for (const r of routes) {
    const same = byLength.get(r.segments.length);
    if (same === undefined) byLength.set(r.segments.length, [r]);
    else same.push(r);
  }

  async function route(req: HttpRequest, headers: Record<string, string>): Promise<HttpResponse> {
    const segments = matchPrefix(prefix, splitPath(req.path));
    if (segments === null) throw notFound(req);
    const method = req.method.toUpperCase();
    // The first route of the request's method whose path matches; noting whether any path matched.
    let hit: { route: Route; params: Record<string, string> } | undefined;
    let pathMatched = false;
    for (const r of byLength.get(segments.length) ?? []) {
      if (r.method !== method && pathMatched) continue;
      const params = matchSegments(r.segments, segments);
      if (params === null) continue;
      pathMatched = true;
      if (r.method === method) {
        hit = { route: r, params };
        break;
      }
    }
    if (hit === undefined) {
      if (!pathMatched) throw notFound(req);
      const allowed = (byLength.get(segments.length) ?? []).filter((r) => matchSegments(r.segments, segments) !== null);
      const allow = [...new Set(allowed.map((r) => r.method))].join(', ');
      return errorResponse(
        new NotFoundError(`${method} is not allowed on ${req.path}; allowed: ${allow}`, {
          context: { method, path: stripQuery(req.path), allow },
        }),
        { allow },
      );
    }
    if (hit.route.hasBody) checkBodySize(req.rawBody, bodyLimit);
    if (hit.route.group !== null) {
      await checkAuthorized(options.authorize, req);
      await limit(hit.route.group, req, headers);
    }
    return hit.route.run({ req, params: hit.params });
  }

  return async function payableHttpHandler(input: HttpRequest): Promise<HttpResponse> {
    const started = performance.now();
    const req = normalizeRequest(input);
    if (hooks.onRequest) safeHook(() => hooks.onRequest?.(req));
    const limitHeaders: Record<string, string> = {};
    let res: HttpResponse;
    try {
      res = await route(req, limitHeaders);
    } catch (error) {
      if (!isPayableError(error) || error.httpStatus >= 500) safeHook(() => hooks.onError?.(error, req));
      res = errorResponse(error);
    }
    if (Object.keys(limitHeaders).length > 0) res = { ...res, headers: { ...res.headers, ...limitHeaders } };
    const duration = performance.now() - started;
    if (hooks.onResponse) safeHook(() => hooks.onResponse?.(req, res, duration));
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

  const route =
    (method: Route['method']) =>
    (segments: string, group: RateLimitGroup | null, run: Route['run']): Route => ({
      method,
      segments: splitPath(segments),
      group,
      hasBody: method !== 'GET',
      run,
    });
  const get = route('GET');
  const post = route('POST');
  const patch = route('PATCH');
  const endpoints = () => payable.endpoints;

  return [
    post('/webhooks', null, webhook),
    post('/webhooks/:provider', null, webhook),
    post('/webhooks/:provider/:tenant', null, webhook),
    get('/health', null, async () => {
      const report = await payable.health();
      return json(report.ok ? 200 : 503, report);
    }),

    post('/payments', 'payments', execute('charge', 'required')),
    get('/payments', 'reads', async ({ req }) => {
      const query: PaymentQuery = {};
      const limit = queryLimit(req.query);
      if (limit !== undefined) query.limit = limit;
      for (const name of ['cursor', 'status', 'customerId', 'provider', 'tenantId'] as const) {
        const value = queryParam(req.query, name);
        if (value !== undefined) query[name] = value;
      }
      return json(200, await payable.listPayments(query));
    }),
    get('/payments/:id', 'reads', async ({ req, params }) => {
      const tenantId = queryParam(req.query, 'tenantId');
      const payment = await payable.getPayment(requireParam(params, 'id'), tenantId === undefined ? {} : { tenantId });
      return json(200, payment);
    }),
    post('/refunds', 'payments', execute('refund', 'required')),
    post('/customers', 'payments', execute('createCustomer', 'object')),
    get('/customers/:id', 'reads', async ({ req, params }) => {
      const opts = operationOptions(queryParam(req.query, 'provider'), queryParam(req.query, 'tenantId'), 'query');
      return json(200, await payable.getCustomer(requireParam(params, 'id'), opts));
    }),
    post('/checkout', 'payments', execute('createCheckout', 'required')),
    post('/subscriptions', 'payments', execute('subscribe', 'required')),
    post('/subscriptions/:id/cancel', 'payments', execute('cancelSubscription', 'object')),
    get('/invoices', 'reads', async ({ req }) => {
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
    get('/events/:id', 'admin', async ({ params }) =>
      json(200, await payable.webhooks.get(requireParam(params, 'id'))),
    ),
    post('/events/:id/replay', 'admin', async ({ params }) =>
      json(200, await payable.webhooks.replay(requireParam(params, 'id'))),
    ),

    // Outbound webhook endpoints and their deliveries.
    post('/endpoints', 'admin', async ({ req }) => {
      const body = knownFields(parseJsonObject(req.rawBody, 'required'), CREATE_ENDPOINT_FIELDS);
      if (body.tenantId !== undefined) tenantScope(body.tenantId, 'body');
      return json(201, await endpoints().create(body as unknown as EndpointCreateInput));
    }),
    get('/endpoints', 'admin', async ({ req }) => {
      const query: Parameters<Payable['endpoints']['list']>[0] & {} = scopeOf(req);
      const status = queryEnum(req.query, 'status', ENDPOINT_STATUSES);
      if (status !== undefined) query.status = status;
      const limit = queryLimit(req.query);
      if (limit !== undefined) query.limit = limit;
      const cursor = queryParam(req.query, 'cursor');
      if (cursor !== undefined) query.cursor = cursor;
      return json(200, await endpoints().list(query));
    }),
    get('/endpoints/:id', 'admin', async ({ req, params }) =>
      json(200, await endpoints().get(requireParam(params, 'id'), scopeOf(req))),
    ),
    patch('/endpoints/:id', 'admin', async ({ req, params }) => {
      const { tenantId, ...input } = knownFields(parseJsonObject(req.rawBody, 'required'), UPDATE_ENDPOINT_FIELDS);
      const scope = tenantId === undefined ? {} : { tenantId: tenantScope(tenantId, 'body') };
      return json(200, await endpoints().update(requireParam(params, 'id'), input as EndpointUpdateInput, scope));
    }),
    post('/endpoints/:id/disable', 'admin', async ({ req, params }) => {
      const { tenantId } = knownFields(parseJsonObject(req.rawBody, 'object'), SCOPE_FIELDS);
      const scope = tenantId === undefined ? {} : { tenantId: tenantScope(tenantId, 'body') };
      return json(200, await endpoints().disable(requireParam(params, 'id'), scope));
    }),
    post('/endpoints/:id/rotate-secret', 'admin', async ({ req, params }) => {
      const { tenantId, graceMs } = knownFields(parseJsonObject(req.rawBody, 'object'), ROTATE_FIELDS);
      const options: EndpointScope & { graceMs?: number } = {};
      if (tenantId !== undefined) options.tenantId = tenantScope(tenantId, 'body');
      if (graceMs !== undefined) options.graceMs = graceMs as number;
      return json(200, await endpoints().rotateSecret(requireParam(params, 'id'), options));
    }),
    get('/endpoints/:id/deliveries', 'admin', async ({ req, params }) => {
      const query: Parameters<Payable['endpoints']['deliveries']>[1] & {} = scopeOf(req);
      const status = queryEnum(req.query, 'status', DELIVERY_STATUSES);
      if (status !== undefined) query.status = status;
      const limit = queryLimit(req.query);
      if (limit !== undefined) query.limit = limit;
      const cursor = queryParam(req.query, 'cursor');
      if (cursor !== undefined) query.cursor = cursor;
      return json(200, await endpoints().deliveries(requireParam(params, 'id'), query));
    }),
    get('/deliveries/:id', 'admin', async ({ req, params }) =>
      json(200, await endpoints().delivery(requireParam(params, 'id'), scopeOf(req))),
    ),
    post('/deliveries/:id/redeliver', 'admin', async ({ req, params }) => {
      const { tenantId } = knownFields(parseJsonObject(req.rawBody, 'object'), SCOPE_FIELDS);
      const scope = tenantId === undefined ? {} : { tenantId: tenantScope(tenantId, 'body') };
      return json(200, await endpoints().redeliver(requireParam(params, 'id'), scope));
    }),
  ];
}

const CREATE_ENDPOINT_FIELDS = ['url', 'events', 'scheme', 'description', 'tenantId'] as const;
const UPDATE_ENDPOINT_FIELDS = ['url', 'events', 'scheme', 'description', 'enabled', 'tenantId'] as const;
const ROTATE_FIELDS = ['graceMs', 'tenantId'] as const;
const SCOPE_FIELDS = ['tenantId'] as const;
const ENDPOINT_STATUSES: readonly EndpointStatus[] = ['enabled', 'disabled'];
const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'processing', 'delivered', 'failed'];

// ---------------------------------------------------------------------------------------------
// Rate limits

type LimitCheck = (req: HttpRequest, now: Date) => Promise<RateLimitDecision>;

const RATE_LIMIT_GROUPS: readonly RateLimitGroup[] = ['payments', 'reads', 'admin'];

/** The caller a request counts for: its credentials (hashed), else its address. */
function defaultRateLimitKey(req: HttpRequest): string {
  const auth = req.headers.authorization;
  const credentials = Array.isArray(auth) ? auth.join(', ') : auth;
  if (credentials !== undefined && credentials !== '') return `caller:${sha256Hex(credentials)}`;
  if (req.ip !== undefined && req.ip !== '') return `ip:${req.ip}`;
  return 'anonymous';
}

/** One check per limited group (checked now, so bad options fail at startup), or `null` when off. */
function buildRateLimits(options: HttpHandlerOptions['rateLimit']): Partial<Record<RateLimitGroup, LimitCheck>> | null {
  if (options === false) return null;
  const given = options ?? {};
  const keyOf = given.key ?? defaultRateLimitKey;
  const checks: Partial<Record<RateLimitGroup, LimitCheck>> = {};
  for (const group of RATE_LIMIT_GROUPS) {
    const configured = given.policies?.[group];
    if (configured === false) continue;
    const policy = checkRateLimitPolicy(
      configured ?? DEFAULT_RATE_LIMIT_POLICIES[group],
      `rateLimit.policies.${group}`,
    );
    let limiter: RateLimiter;
    if (typeof given.limiter === 'function') limiter = given.limiter(group, policy);
    else limiter = given.limiter ?? new MemoryRateLimiter(policy);
    if (typeof limiter?.hit !== 'function') {
      throw new ValidationError(`rateLimit.limiter gave no rate limiter for the ${group} group.`, {
        context: { field: 'rateLimit.limiter', reason: 'must be a RateLimiter (an object with hit)' },
      });
    }
    checks[group] = async (req, now) => {
      const key = keyOf(req);
      if (typeof key !== 'string' || key === '') throw new TypeError('rateLimit.key must return a non-empty string');
      return limiter.hit(`${group}:${key}`, now);
    };
  }
  return checks;
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

/** The body without unknown fields: `VALIDATION_ERROR` naming the first field the route does not take. */
function knownFields<const K extends string>(
  body: Record<string, unknown>,
  allowed: readonly K[],
): Partial<Record<K, unknown>> {
  for (const field of Object.keys(body)) {
    if (!(allowed as readonly string[]).includes(field)) {
      throw new ValidationError(`Invalid body: ${field} is not a known field`, {
        context: { field, reason: 'is not a known field' },
      });
    }
  }
  return body as Partial<Record<K, unknown>>;
}

/** A tenant id from a body or query: a non-empty string, or `null` (the single-tenant scope). */
function tenantScope(tenantId: unknown, source: 'body' | 'query'): string | null {
  return operationOptions(undefined, tenantId, source).tenantId ?? null;
}

/** `{ tenantId }` from the query, or `{}`: the endpoint scope of a GET. */
function scopeOf(req: HttpRequest): EndpointScope {
  const tenantId = queryParam(req.query, 'tenantId');
  return tenantId === undefined ? {} : { tenantId: tenantScope(tenantId, 'query') };
}

/** A query parameter that must be one of `values`. */
function queryEnum<const V extends string>(
  query: HttpRequest['query'],
  name: string,
  values: readonly V[],
): V | undefined {
  const value = queryParam(query, name);
  if (value === undefined) return undefined;
  if (!(values as readonly string[]).includes(value)) {
    throw new ValidationError(`Invalid query: ${name} must be one of ${values.join(', ')}`, {
      context: { field: name, reason: `must be one of ${values.join(', ')}` },
    });
  }
  return value as V;
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
