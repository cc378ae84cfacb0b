import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import {
  bodyTooLargeError,
  createHttpHandler,
  DEFAULT_BODY_LIMIT,
  errorResponse,
  type HttpHandler,
  type HttpRequest,
  type HttpResponse,
  headersOf,
  InvalidWebhookPayloadError,
  PayloadTooLargeError,
  queryOf,
  readRequestBody,
  splitRequestUrl,
  ValidationError,
  writeNodeResponse,
} from '@payable/core';
import {
  All,
  Delete,
  Get,
  Inject,
  Injectable,
  type OnModuleInit,
  Options,
  Patch,
  Post,
  Put,
  type Type,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  CONTROLLER_HANDLERS,
  type ControllerHandlerName,
  type PayableControllerInstance,
  routeHandler,
} from './controller-handlers.js';
import { assertModuleOptions, type PayableModuleOptions } from './options.js';
import { PAYABLE_CONTROLLER, PAYABLE_MODULE_OPTIONS } from './tokens.js';

/**
 * The setting a Nest app needs so webhook routes get the exact bytes, as the 400
 * `INVALID_WEBHOOK_PAYLOAD` answer of an app created without it names it.
 *
 * @example
 * ```ts
 * expect(body.message).toContain(RAW_BODY_SETTING); // 'NestFactory.create(AppModule, { rawBody: true })'
 * ```
 */
export const RAW_BODY_SETTING = 'NestFactory.create(AppModule, { rawBody: true })';

/** Name of the Express wildcard parameter; it also identifies Payable's route in Express's router. */
const WILDCARD = 'payablePath';
/** Where `@RouteConfig()` of @nestjs/platform-fastify keeps a route's Fastify `config`. */
const FASTIFY_ROUTE_CONFIG_METADATA = '__fastify_route_config__';
/** The key of Payable's mark in a Fastify route's `config`. */
const ROUTE_MARK = 'payableRoute';
/** Characters with a meaning in Express (path-to-regexp) or Fastify (find-my-way) route paths. */
const ROUTE_SYNTAX = /[:*?(){}[\]\\+!]/;

const FASTIFY_METHODS: ReadonlyArray<
  readonly [Exclude<ControllerHandlerName, 'all'>, (path: string | string[]) => MethodDecorator]
> = [
  ['get', Get],
  ['post', Post],
  ['put', Put],
  ['patch', Patch],
  ['delete', Delete],
  ['options', Options],
];

let bridges = 0;

/** Handed to the core instead of a body when the framework parsed it without keeping the bytes. */
class RawBodyUnavailable {}

/** Why the framework could not hand over a body, as its body parser reported it. */
type BodyFailure =
  | { kind: 'too-large'; size?: number; parserLimit?: number }
  /** Not valid JSON; `text` is the raw text when the parser kept it (Express). */
  | { kind: 'unparsable'; text?: string }
  /** Declared JSON but empty. */
  | { kind: 'empty' }
  /** The parser refused the request before reading it (content type, charset). */
  | { kind: 'unread' };

/** The body to hand to the core: `bytes` is false when only a parsed body (or nothing usable) was left. */
type ResolvedBody =
  | { kind: 'body'; body: unknown; bytes: boolean }
  | { kind: 'too-large'; size?: number }
  | { kind: 'aborted' };

/** A request as both platforms give it, reduced to what the bridge needs. */
interface RequestView {
  method: string;
  /** The URL as received (Nest's global prefix included), with its query string. */
  url: string;
  headers: IncomingHttpHeaders;
  stream: IncomingMessage;
  /** `req.rawBody`, kept by Nest's body parsers when the app was created with `rawBody: true`. */
  rawBody: unknown;
  /** `req.body`, what Nest's body parser made of the body. */
  body: unknown;
  ip: string | undefined;
  /** The route path of Payable's mount point (global prefix included, wildcard removed), when known. */
  mount: string | undefined;
}

interface FastifyRequestLike {
  raw: IncomingMessage;
  url: string;
  method: string;
  headers: IncomingHttpHeaders;
  rawBody?: unknown;
  body?: unknown;
  ip?: string;
  routeOptions?: { url?: string };
}

interface FastifyReplyLike {
  raw: ServerResponse;
  sent: boolean;
  code(status: number): unknown;
  header(name: string, value: string): unknown;
  send(payload: string): unknown;
}

interface ExpressRequestLike extends IncomingMessage {
  originalUrl?: string;
  route?: { path?: unknown };
  rawBody?: unknown;
  body?: unknown;
  ip?: string;
  _body?: unknown;
}

type FastifyErrorHandler = (error: unknown, request: FastifyRequestLike, reply: FastifyReplyLike) => unknown;

interface FastifyRouteOptionsLike {
  config?: unknown;
  bodyLimit?: number;
  errorHandler?: FastifyErrorHandler;
}

interface FastifyInstanceLike {
  addHook(name: 'onRoute', hook: (route: FastifyRouteOptionsLike) => void): unknown;
}

interface ExpressLayerLike {
  route?: { path?: unknown; methods?: Record<string, boolean | undefined> };
  /** The router's matcher (Express 4 and 5): whether the layer's path matches. */
  match?: (path: string) => boolean;
}

interface ExpressAppLike {
  router?: { stack?: ExpressLayerLike[] };
}

type ExpressErrorMiddleware = (
  error: unknown,
  req: ExpressRequestLike,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/**
 * The bridge between Nest and the core HTTP handler: it sets the controller's routes for the
 * platform the app runs on, turns a Nest (Express or Fastify) request into the core's neutral
 * request, and sends the core's response back. The behaviour of every route is the core's.
 *
 * - Routes: one `@All` catch-all under the prefix on Express (moved behind the app's other routes,
 *   so at the root it does not shadow them); per-method catch-alls on Fastify, whose route options
 *   get Payable's `bodyLimit` and an error handler for body-parser errors.
 * - Body: `req.rawBody` (Nest's `rawBody: true`); a body no Nest parser read is read here; without
 *   the bytes, management routes get the parsed JSON object, and webhook routes answer 400
 *   `INVALID_WEBHOOK_PAYLOAD` naming `NestFactory.create(AppModule, { rawBody: true })`.
 * - Body-parser errors on Payable's paths (invalid JSON, too large, unsupported content type) are
 *   answered by Payable (`VALIDATION_ERROR`, `INVALID_WEBHOOK_PAYLOAD`, 413 `PAYLOAD_TOO_LARGE`),
 *   not by Nest's exception filter.
 *
 * @example
 * ```ts
 * // Internal: PayableModule provides it; the controller calls
 * await bridge.handle(req, res);
 * ```
 */
@Injectable()
export class PayableHttpBridge implements OnModuleInit {
  private readonly handler: HttpHandler;
  private readonly bodyLimit: number;
  /** `''` or `/a/b`. */
  private readonly prefix: string;
  private readonly routeId = `payable-${++bridges}`;
  private platform: 'express' | 'fastify' | 'other' = 'express';
  /** Express: the mount path read from Payable's route in the router. */
  private mount: string | undefined;
  /** Express: the router's layers and Payable's own, to tell whose a failed request was. */
  private expressStack: ExpressLayerLike[] = [];
  private expressLayer: ExpressLayerLike | undefined;
  /** The last mount path `depthOf` measured, and its segment count. */
  private lastMount = '';
  private lastDepth = 0;

  constructor(
    @Inject(PAYABLE_MODULE_OPTIONS) options: PayableModuleOptions,
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Inject(PAYABLE_CONTROLLER) private readonly controller: Type<PayableControllerInstance>,
  ) {
    assertModuleOptions(options);
    const { payable, ...handlerOptions } = options;
    this.prefix = normalizePrefix(handlerOptions.prefix);
    this.handler = createHttpHandler(payable, handlerOptions);
    this.bodyLimit = handlerOptions.bodyLimit ?? DEFAULT_BODY_LIMIT;
  }

  /**
   * Give the controller its routes for the app's platform. Called from `PayableModule.configure`,
   * which Nest runs after every provider exists (the `forRootAsync` factory too) and before it
   * registers routes.
   */
  registerRoutes(): void {
    const proto = this.controller.prototype as unknown as Record<string, unknown>;
    // Fresh functions: route metadata lives on them, and another app may have used this class.
    for (const name of CONTROLLER_HANDLERS) {
      Object.defineProperty(proto, name, { value: routeHandler(), writable: true, configurable: true });
    }
    const adapter = this.adapterHost?.httpAdapter;
    const type = typeof adapter?.getType === 'function' ? adapter.getType() : 'express';
    const base = this.prefix.slice(1);
    if (type === 'fastify') {
      this.platform = 'fastify';
      const paths = base === '' ? ['*'] : [base, `${base}/*`];
      for (const [name, decorator] of FASTIFY_METHODS) {
        const descriptor = ownDescriptor(proto, name);
        const handler = proto[name] as object;
        Reflect.defineMetadata(FASTIFY_ROUTE_CONFIG_METADATA, { [ROUTE_MARK]: this.routeId }, handler);
        decorator(paths)(proto, name, descriptor);
      }
      const instance = adapter.getInstance() as FastifyInstanceLike;
      instance.addHook('onRoute', (route) => this.onFastifyRoute(route));
      return;
    }
    this.platform = type === 'express' ? 'express' : 'other';
    const path = base === '' ? `{*${WILDCARD}}` : `${base}{/*${WILDCARD}}`;
    All(path)(proto, 'all', ownDescriptor(proto, 'all'));
  }

  /**
   * Express, once Nest registered the routes: move Payable's catch-all behind the app's other routes
   * (Express matches in order; Fastify prefers specific routes by itself) and answer body-parser
   * errors on Payable's paths.
   */
  onModuleInit(): void {
    if (this.platform !== 'express') return;
    const adapter = this.adapterHost?.httpAdapter;
    if (adapter === undefined || adapter === null || adapter.getType() !== 'express') return;
    const stack = (adapter.getInstance() as ExpressAppLike | undefined)?.router?.stack;
    if (Array.isArray(stack)) {
      const index = stack.findIndex((layer) => expressMount(layer.route?.path) !== undefined);
      if (index !== -1) {
        const [layer] = stack.splice(index, 1);
        if (layer !== undefined) {
          stack.push(layer);
          this.mount = expressMount(layer.route?.path);
          this.expressLayer = layer;
        }
      }
      this.expressStack = stack;
    }
    // A body-parser error skips every route: answer it when the request was Payable's.
    const onBodyError: ExpressErrorMiddleware = (error, req, res, next) => {
      const failure = expressBodyFailure(error);
      if (failure === null || !this.ownsExpressRequest(req)) {
        next(error);
        return;
      }
      void this.handle(req, res, failure);
    };
    adapter.use(onBodyError);
  }

  /**
   * Answer one request through the core handler. `failure` is set when the framework's body parser
   * failed before the controller ran.
   */
  async handle(req: unknown, res: unknown, failure?: BodyFailure): Promise<void> {
    const view = this.view(req);
    try {
      const body = failure?.kind === 'too-large' ? failure : await this.resolveBody(view, failure);
      if (body.kind === 'aborted') return;
      if (body.kind === 'too-large') {
        view.stream.resume();
        const size = body.size ?? declaredLength(view.headers);
        this.send(res, this.tooLarge(size, failure?.kind === 'too-large' ? failure.parserLimit : undefined), true);
        return;
      }
      const { path, search } = splitRequestUrl(view.url);
      const neutral: HttpRequest = {
        method: view.method,
        path: this.neutralPath(path, view.mount),
        headers: headersOf(view.headers),
        rawBody: body.body,
        query: queryOf(search),
      };
      if (view.ip !== undefined) neutral.ip = view.ip;
      const response = await this.handler(neutral);
      this.send(res, body.bytes ? response : withRawBodyHint(response));
    } catch (error) {
      this.send(res, errorResponse(error));
    }
  }

  private send(res: unknown, response: HttpResponse, close = false): void {
    if (this.fastify(res, isFastifyReply)) sendFastify(res as FastifyReplyLike, response, close);
    else writeNodeResponse(res as ServerResponse, response, { close });
  }

  private onFastifyRoute(route: FastifyRouteOptionsLike): void {
    if (!isRecord(route.config) || route.config[ROUTE_MARK] !== this.routeId) return;
    if (this.bodyLimit >= 1) route.bodyLimit = Math.floor(this.bodyLimit);
    const previous = route.errorHandler;
    route.errorHandler = async (error, request, reply) => {
      const failure = fastifyBodyFailure(error);
      if (failure === null) {
        if (previous !== undefined) return previous(error, request, reply);
        // Not a body error: Nest's error handler (the next one in Fastify's chain) answers it.
        throw error;
      }
      await this.handle(request, reply, failure);
      return reply;
    };
  }

  /** Whether requests and replies are Fastify's: known from the platform, duck-typed on any other. */
  private fastify(value: unknown, duckType: (value: unknown) => boolean): boolean {
    return this.platform === 'other' ? duckType(value) : this.platform === 'fastify';
  }

  private view(req: unknown): RequestView {
    if (this.fastify(req, isFastifyRequest)) {
      const fastify = req as FastifyRequestLike;
      return {
        method: fastify.method,
        url: fastify.url,
        headers: fastify.headers,
        stream: fastify.raw,
        rawBody: fastify.rawBody,
        body: fastify.body,
        ip: fastify.ip,
        mount: fastifyMount(fastify.routeOptions?.url),
      };
    }
    const express = req as ExpressRequestLike;
    return {
      method: express.method ?? 'GET',
      url: express.originalUrl ?? express.url ?? '/',
      headers: express.headers,
      stream: express,
      rawBody: express.rawBody,
      body: express.body,
      ip: express.ip ?? express.socket?.remoteAddress,
      mount: expressMount(express.route?.path) ?? this.mount,
    };
  }

  private async resolveBody(view: RequestView, failure?: BodyFailure): Promise<ResolvedBody> {
    if (failure?.kind === 'empty') return { kind: 'body', body: undefined, bytes: true };
    if (failure?.kind === 'unparsable') {
      if (Buffer.isBuffer(view.rawBody)) return { kind: 'body', body: nonEmpty(view.rawBody), bytes: true };
      if (failure.text !== undefined) return { kind: 'body', body: nonEmpty(failure.text), bytes: true };
      return { kind: 'body', body: new RawBodyUnavailable(), bytes: false };
    }
    if (failure?.kind !== 'unread') {
      if (Buffer.isBuffer(view.rawBody)) return { kind: 'body', body: nonEmpty(view.rawBody), bytes: true };
      if (!hasBody(view.headers)) return { kind: 'body', body: undefined, bytes: true };
      // A text parser (Fastify's default for text/plain) or a raw parser left the body as is.
      if (typeof view.body === 'string' || Buffer.isBuffer(view.body)) {
        return { kind: 'body', body: nonEmpty(view.body), bytes: true };
      }
    }
    if (!consumed(view.stream)) {
      // No Nest parser took this content type: read the bytes here.
      const read = await readRequestBody(view.stream, this.bodyLimit);
      if (read.kind === 'body') return { kind: 'body', body: read.body, bytes: true };
      return read;
    }
    const parsed = isPlainObject(view.body) ? view.body : new RawBodyUnavailable();
    return { kind: 'body', body: parsed, bytes: false };
  }

  /** The path the core sees: the prefix plus what follows Payable's mount point in the URL. */
  private neutralPath(pathname: string, mount: string | undefined): string {
    const rest = dropSegments(pathname, this.depthOf(mount ?? this.prefix));
    const path = this.prefix + rest;
    return path === '' ? '/' : path;
  }

  /** How many segments a mount path has (one mount per app: the last answer is kept). */
  private depthOf(mount: string): number {
    if (mount !== this.lastMount) {
      this.lastMount = mount;
      this.lastDepth = segmentsOf(mount).length;
    }
    return this.lastDepth;
  }

  /**
   * Whether Express would have routed a request to Payable: under its mount point (compared
   * case-insensitively, as Express routes by default) and matched by no other route (Payable's
   * catch-all comes last).
   */
  private ownsExpressRequest(req: ExpressRequestLike): boolean {
    const pathname = splitRequestUrl(req.originalUrl ?? req.url ?? '/').path;
    const mount = segmentsOf(this.mount ?? this.prefix);
    const segments = segmentsOf(pathname);
    if (segments.length < mount.length) return false;
    const under = mount.every((m, i) => m.startsWith(':') || m.toLowerCase() === (segments[i] as string).toLowerCase());
    if (!under) return false;
    const method = (req.method ?? 'GET').toLowerCase();
    for (const layer of this.expressStack) {
      if (layer === this.expressLayer || layer.route === undefined) continue;
      // A router that cannot tell: leave the request to Nest rather than take someone else's.
      if (typeof layer.match !== 'function') return false;
      const methods = layer.route.methods ?? {};
      const handles = methods._all === true || methods[method] === true || (method === 'head' && methods.get === true);
      if (handles && layer.match(pathname)) return false;
    }
    return true;
  }

  private tooLarge(size: number | undefined, parserLimit: number | undefined): HttpResponse {
    if (parserLimit === undefined || parserLimit >= this.bodyLimit) {
      return errorResponse(bodyTooLargeError(this.bodyLimit, size));
    }
    const message =
      `Request body is larger than the limit of ${parserLimit} bytes of Nest's body parser; raise it up to ` +
      `Payable's bodyLimit (${this.bodyLimit} bytes) with app.useBodyParser('json', { limit: ${this.bodyLimit} })`;
    const context = size === undefined ? { limit: parserLimit } : { limit: parserLimit, size };
    return errorResponse(new PayloadTooLargeError(message, { context }));
  }
}

// ---------------------------------------------------------------------------------------------
// Options

function normalizePrefix(prefix: string | undefined): string {
  const segments = segmentsOf(prefix ?? '');
  for (const segment of segments) {
    if (ROUTE_SYNTAX.test(segment)) {
      throw new ValidationError(`Invalid prefix "${prefix}": route syntax characters are not allowed`, {
        context: { field: 'prefix', reason: 'must be a plain path without route syntax (: * ? ( ) { } [ ] \\ + !)' },
      });
    }
  }
  return segments.length === 0 ? '' : `/${segments.join('/')}`;
}

/** The descriptor of a handler method `registerRoutes` just defined. */
function ownDescriptor(proto: Record<string, unknown>, name: string): TypedPropertyDescriptor<object> {
  const descriptor = Object.getOwnPropertyDescriptor(proto, name) as TypedPropertyDescriptor<object>;
  return descriptor;
}

// ---------------------------------------------------------------------------------------------
// Requests

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (!isRecord(value) || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function isFastifyRequest(req: unknown): req is FastifyRequestLike {
  return isRecord(req) && isRecord(req.raw) && typeof req.url === 'string' && 'routeOptions' in req;
}

function isFastifyReply(res: unknown): res is FastifyReplyLike {
  return isRecord(res) && isRecord(res.raw) && typeof res.code === 'function' && typeof res.send === 'function';
}

/** `/api/payable{/*payablePath}` → `/api/payable`; `undefined` for any other route. */
function expressMount(routePath: unknown): string | undefined {
  if (typeof routePath !== 'string') return undefined;
  const match = /\{\/?\*payablePath\}$/.exec(routePath);
  return match === null ? undefined : routePath.slice(0, match.index);
}

/** `/api/payable/*` → `/api/payable`; `/api/payable` stays; `/*` → ``. */
function fastifyMount(routeUrl: string | undefined): string | undefined {
  if (routeUrl === undefined) return undefined;
  return routeUrl.endsWith('*') ? routeUrl.slice(0, -1).replace(/\/$/, '') : routeUrl;
}

function segmentsOf(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

/** The path after its first `count` non-empty segments (`''` or starting with `/`), undecoded. */
function dropSegments(path: string, count: number): string {
  if (count === 0) return path;
  let seen = 0;
  let i = 0;
  while (i < path.length) {
    while (i < path.length && path[i] === '/') i++;
    if (i >= path.length) break;
    while (i < path.length && path[i] !== '/') i++;
    seen++;
    if (seen === count) return path.slice(i);
  }
  return '';
}

function declaredLength(headers: IncomingHttpHeaders): number | undefined {
  const length = Number(headers['content-length']);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

function hasBody(headers: IncomingHttpHeaders): boolean {
  return headers['transfer-encoding'] !== undefined || Number(headers['content-length']) > 0;
}

/** Whether something (a Nest body parser) already read the request stream. */
function consumed(stream: IncomingMessage): boolean {
  return stream.readableEnded || !stream.readable || (stream as ExpressRequestLike)._body === true;
}

function nonEmpty(body: Buffer | string): Buffer | string | undefined {
  return body.length === 0 ? undefined : body;
}

function finiteNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** The body-parser (Express) errors Payable answers itself on its paths; `null` for any other error. */
function expressBodyFailure(error: unknown): BodyFailure | null {
  if (!isRecord(error) || typeof error.type !== 'string') return null;
  switch (error.type) {
    case 'entity.too.large': {
      const failure: BodyFailure = { kind: 'too-large' };
      const size = finiteNumber(error.length);
      const parserLimit = finiteNumber(error.limit);
      if (size !== undefined) failure.size = size;
      if (parserLimit !== undefined) failure.parserLimit = parserLimit;
      return failure;
    }
    case 'entity.parse.failed':
      return typeof error.body === 'string' ? { kind: 'unparsable', text: error.body } : { kind: 'unparsable' };
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return { kind: 'unread' };
    default:
      return null;
  }
}

/** The Fastify content-type parser errors Payable answers itself; `null` for any other error. */
function fastifyBodyFailure(error: unknown): BodyFailure | null {
  if (!isRecord(error)) return null;
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { kind: 'too-large' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { kind: 'unread' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { kind: 'empty' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { kind: 'unparsable' };
    default:
      // JSON.parse's own SyntaxError (and the prototype-poisoning refusal), flagged 400 by Fastify.
      return error instanceof SyntaxError && error.statusCode === 400 ? { kind: 'unparsable' } : null;
  }
}

// ---------------------------------------------------------------------------------------------
// Responses

/**
 * The core answers a webhook whose bytes it did not get with `body_already_parsed`, whose advice
 * (mount before the JSON parser) is Express's. On Nest the fix is `rawBody: true`: say so.
 */
function withRawBodyHint(response: HttpResponse): HttpResponse {
  if (response.status !== 400) return response;
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body);
  } catch {
    return response;
  }
  if (!isRecord(parsed) || parsed.error !== 'INVALID_WEBHOOK_PAYLOAD') return response;
  if (!isRecord(parsed.context) || parsed.context.reason !== 'body_already_parsed') return response;
  const error = new InvalidWebhookPayloadError(
    'Webhook raw body is not available: Nest parsed the request body without keeping its bytes, so the ' +
      `signature cannot be verified. Create the app with ${RAW_BODY_SETTING} (Nest then keeps req.rawBody).`,
    { context: { reason: 'raw_body_missing', setting: 'rawBody' } },
  );
  return { ...response, body: JSON.stringify(error.toJSON()) };
}

function sendFastify(res: FastifyReplyLike, response: HttpResponse, close: boolean): void {
  if (res.sent || res.raw.headersSent) return;
  res.code(response.status);
  for (const [name, value] of Object.entries(response.headers)) res.header(name, value);
  if (close) res.header('connection', 'close');
  res.send(response.body);
}
