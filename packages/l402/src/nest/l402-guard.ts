import { fromNodeRequest, type L402ExpressRequest } from '../paywall/express.js';
import type { L402Paywall } from '../paywall/l402-paywall.js';
import { lowerHeaders } from '../paywall/request.js';
import type { L402Grant, L402Request, L402Response, L402RouteOptions } from '../paywall/types.js';
import { type NodeResponseLike, writeL402Response } from '../paywall/write-response.js';

/** Route options set by `@L402(...)`, keyed by the decorated method (or class). */
const ROUTES = new WeakMap<object, L402RouteOptions>();

/**
 * A decorator usable on a controller method or class.
 *
 * @example
 * ```ts
 * const decorate: L402Decorator = L402({ price: 10 });
 * ```
 */
export type L402Decorator = (target: object, propertyKey?: string | symbol, descriptor?: PropertyDescriptor) => void;

/**
 * Marks a Nest route (a controller method, or every route of a controller class) as paid: the
 * guard from `paywall.nestGuard()` charges `price` sats for it. It only records the options; it
 * imports nothing from Nest, so `@payable/l402` never forces Nest on an Express or Fastify app.
 *
 * @example
 * ```ts
 * @Controller('api')
 * @UseGuards(paywall.nestGuard())   // or app.useGlobalGuards(paywall.nestGuard())
 * export class ReportController {
 *   @Get('report')
 *   @L402({ price: 10 })
 *   report(@Req() req: { l402: L402Grant }) { return { receipt: req.l402.paymentHash }; }
 * }
 * ```
 */
export function L402(route: L402RouteOptions): L402Decorator {
  return (target, _propertyKey, descriptor) => {
    const key: unknown = descriptor === undefined ? target : descriptor.value;
    if ((typeof key === 'function' || typeof key === 'object') && key !== null) ROUTES.set(key, route);
  };
}

/**
 * The route options `@L402(...)` recorded on a handler or a class, if any.
 *
 * @example
 * ```ts
 * l402RouteOf(ReportController.prototype.report); // { price: 10 }
 * ```
 */
export function l402RouteOf(target: object): L402RouteOptions | undefined {
  return ROUTES.get(target);
}

/**
 * The part of Nest's `ExecutionContext` the guard uses (typed structurally).
 *
 * @example
 * ```ts
 * const allowed = await guard.canActivate(context as L402NestContext);
 * ```
 */
export interface L402NestContext {
  getType?(): string;
  getHandler(): object;
  getClass(): object;
  switchToHttp(): { getRequest(): unknown; getResponse(): unknown };
}

interface FastifyRequestLike {
  method: string;
  url: string;
  headers: object;
  ip?: string;
  raw?: unknown;
  l402?: L402Grant | null;
}

interface FastifyReplyLike {
  raw: NodeResponseLike;
  hijack(): unknown;
}

function isFastifyReply(value: unknown): value is FastifyReplyLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { hijack?: unknown }).hijack === 'function' &&
    typeof (value as { raw?: unknown }).raw === 'object'
  );
}

function neutralRequest(req: unknown): L402Request {
  const r = req as FastifyRequestLike & L402ExpressRequest;
  if (typeof r.originalUrl === 'string') return fromNodeRequest(r);
  return { method: r.method, path: r.url, headers: lowerHeaders(r.headers), ip: r.ip ?? null };
}

/**
 * A Nest guard (it has Nest's `canActivate(context)`) charging for routes marked with `@L402` (or,
 * when created with route options, for every route it guards). On Nest's Express and Fastify
 * platforms alike: a verified request goes on with `req.l402` set; otherwise the guard writes the
 * paywall's answer itself (402 challenge, 401/403 with `X-L402-Error`, 429) and returns `false`;
 * Nest's exception filter then sees the response already sent and leaves it. (A global exception
 * filter of yours must likewise skip responses whose headers were sent.)
 *
 * @example
 * ```ts
 * const app = await NestFactory.create(AppModule);
 * app.useGlobalGuards(paywall.nestGuard());
 * ```
 */
export class L402NestGuard {
  readonly #paywall: L402Paywall;
  readonly #route: L402RouteOptions | undefined;

  constructor(paywall: L402Paywall, route?: L402RouteOptions) {
    if (route !== undefined) paywall.checkRoute(route);
    this.#paywall = paywall;
    this.#route = route;
  }

  async canActivate(context: L402NestContext): Promise<boolean> {
    if (context.getType !== undefined && context.getType() !== 'http') return true;
    const route = l402RouteOf(context.getHandler()) ?? l402RouteOf(context.getClass()) ?? this.#route;
    if (route === undefined) return true;
    const http = context.switchToHttp();
    const req = http.getRequest() as { l402?: L402Grant | null };
    const result = await this.#paywall.verify(neutralRequest(req), route);
    if (result.ok) {
      req.l402 = result.grant;
      return true;
    }
    sendNest(http.getResponse(), result.response);
    return false;
  }
}

function sendNest(res: unknown, response: L402Response): void {
  if (isFastifyReply(res)) {
    // Take the reply over from Fastify, then write the raw response at once: `reply.sent` is true
    // before Nest's exception filter looks.
    res.hijack();
    writeL402Response(res.raw, response);
    return;
  }
  writeL402Response(res as NodeResponseLike, response);
}
