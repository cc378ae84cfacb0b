import type { L402Paywall } from './l402-paywall.js';
import { lowerHeaders } from './request.js';
import type { L402Grant, L402Request, L402RouteOptions } from './types.js';
import { type NodeResponseLike, writeL402Response } from './write-response.js';

/**
 * The part of an Express request the paywall reads (typed structurally: `@payable/l402` does not
 * depend on Express). After a successful verification, `req.l402` holds the grant.
 *
 * @example
 * ```ts
 * app.get('/api/report', paywall.express({ price: 10 }), (req, res) => res.json({ receipt: req.l402?.paymentHash }));
 * ```
 */
export interface L402ExpressRequest {
  method?: string | undefined;
  url?: string | undefined;
  /** Express's full path (with the mount prefix); preferred over `url`. */
  originalUrl?: string;
  headers: object;
  ip?: string | undefined;
  socket?: { remoteAddress?: string | undefined } | null;
  l402?: L402Grant | null;
}

/**
 * An Express middleware (`(req, res, next)`) that charges for the routes after it.
 *
 * @example
 * ```ts
 * const charge: L402ExpressMiddleware = paywall.express({ price: 10 });
 * ```
 */
export type L402ExpressMiddleware = (
  req: L402ExpressRequest,
  res: NodeResponseLike,
  next: (error?: unknown) => void,
) => void;

/**
 * The neutral request of an Express (or plain `node:http`) request: the method, the full path
 * (`originalUrl` when Express set it), the headers and the client address.
 *
 * @example
 * ```ts
 * const result = await paywall.verify(fromNodeRequest(req), { price: 10 });
 * ```
 */
export function fromNodeRequest(req: L402ExpressRequest): L402Request {
  return {
    method: req.method ?? 'GET',
    path: req.originalUrl ?? req.url ?? '/',
    headers: lowerHeaders(req.headers),
    ip: req.ip ?? req.socket?.remoteAddress ?? null,
  };
}

/** Builds the Express middleware of `paywall.express(route)`. Internal. */
export function expressMiddleware(paywall: L402Paywall, route: L402RouteOptions): L402ExpressMiddleware {
  paywall.checkRoute(route);
  return (req, res, next) => {
    paywall.verify(fromNodeRequest(req), route).then(
      (result) => {
        if (result.ok) {
          req.l402 = result.grant;
          next();
          return;
        }
        writeL402Response(res, result.response);
      },
      (error: unknown) => next(error),
    );
  };
}
