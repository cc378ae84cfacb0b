import {
  bodyTooLargeError,
  createHttpHandler,
  DEFAULT_BODY_LIMIT,
  errorResponse,
  type HttpHandlerOptions,
  type HttpRequest,
  headersOf,
  type Payable,
  queryOf,
  splitRequestUrl,
  writeNodeResponse,
} from '@payable/core';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { readBody } from './read-body.js';

/**
 * Options of {@link payableRouter}: the core HTTP handler's options.
 *
 * - `prefix`: the routes live under this path inside the router (default: directly where the
 *   router is mounted). Requests outside it fall through to the next middleware.
 * - `authorize(req)`: decides management routes (all but webhooks and `/health`); without it they
 *   answer 401 `UNAUTHORIZED`. It receives the framework-neutral request, whose `path` is relative
 *   to where the router is mounted (Express's `req.baseUrl` is not part of it).
 * - `bodyLimit`: largest accepted body in bytes (default 1 MiB), enforced while the body streams
 *   in: 413 `PAYLOAD_TOO_LARGE`.
 * - `webhookSignatureHeader`: the header the provider's signature is read from.
 * - `hooks`: `onRequest`, `onResponse`, `onError` for logging and metrics.
 *
 * @example
 * ```ts
 * const options: PayableRouterOptions = {
 *   authorize: (req) => req.headers.authorization === `Bearer ${process.env.PAYABLE_API_TOKEN}`,
 *   bodyLimit: 256 * 1024,
 * };
 * app.use('/payable', payableRouter(payable, options));
 * ```
 */
export type PayableRouterOptions = HttpHandlerOptions;

/**
 * An Express router (Express 4 and 5) serving every Payable route: webhooks, payments, refunds,
 * customers, checkout, subscriptions, invoices, webhook event admin and health. It only translates
 * between Express and the core's `createHttpHandler`, so it answers exactly like every other
 * Payable adapter.
 *
 * It reads the raw request body itself (webhook signatures are verified over the exact bytes), so
 * **mount it before `express.json()`** or any other body parser. Mounted after one, management
 * routes still work (the parsed JSON object is used) but webhook routes answer 400
 * `INVALID_WEBHOOK_PAYLOAD` telling you to mount the Payable routes first.
 *
 * Every request that reaches the router under `prefix` is answered by Payable, unknown paths with
 * 404 `NOT_FOUND` (JSON), a known path with another method with 404 and an `Allow` header; requests
 * outside `prefix` fall through to your next middleware. Mount it under a path
 * (`app.use('/payable', …)`) or give a `prefix`, so it does not answer your own routes' paths.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { payableRouter } from '@payable/express';
 *
 * const app = express();
 * // 1. Payable first: it reads the raw body of its own routes.
 * app.use('/payable', payableRouter(payable, {
 *   authorize: (req) => req.headers.authorization === `Bearer ${process.env.PAYABLE_API_TOKEN}`,
 * }));
 * // 2. Then your body parsers and routes.
 * app.use(express.json());
 * app.post('/orders', (req, res) => res.json(req.body));
 * app.listen(3000); // webhooks: POST /payable/webhooks/stripe
 * ```
 */
export function payableRouter(payable: Payable, options: PayableRouterOptions = {}): Router {
  const handler = createHttpHandler(payable, options);
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const prefix = segmentsOf(options.prefix ?? '');

  const router = express.Router();
  router.use(function payableRoutes(req: Request, res: Response, next: NextFunction): void {
    // `req.url` is relative to where the router is mounted (Express strips `req.baseUrl`).
    const { path, search } = splitRequestUrl(req.url);
    if (!startsWithSegments(segmentsOf(path), prefix)) {
      next();
      return;
    }
    readBody(req, bodyLimit)
      .then(async (read) => {
        if (read.kind === 'aborted') return;
        if (read.kind === 'too-large') {
          writeNodeResponse(res, errorResponse(bodyTooLargeError(bodyLimit, read.size)), { close: true });
          return;
        }
        // The query as the node:http listener parses it (repeated keys become arrays), independent
        // of Express's `query parser` setting (`qs` in Express 4, `simple` in Express 5).
        const neutral: HttpRequest = {
          method: req.method,
          path,
          headers: headersOf(req.headers),
          rawBody: read.body,
          query: queryOf(search),
        };
        const ip = req.ip ?? req.socket.remoteAddress;
        if (ip !== undefined) neutral.ip = ip;
        writeNodeResponse(res, await handler(neutral));
      })
      .catch(next);
  });
  return router;
}

/** Path segments without empty ones, as the core splits them (a trailing or doubled slash is tolerated). */
function segmentsOf(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

function startsWithSegments(segments: readonly string[], prefix: readonly string[]): boolean {
  if (segments.length < prefix.length) return false;
  return prefix.every((p, i) => segments[i] === p);
}
