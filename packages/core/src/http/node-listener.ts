import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Payable } from '../facade/types.js';
import { createHttpHandler } from './create-http-handler.js';
import { headersOf, queryOf } from './node-request.js';
import { bodyTooLargeError, readRequestBody } from './read-body.js';
import { errorResponse, writeNodeResponse } from './responses.js';
import { DEFAULT_BODY_LIMIT, type HttpHandler, type HttpHandlerOptions, type HttpRequest } from './types.js';

/**
 * Options of `createNodeListener`: the handler's options. `bodyLimit` is also enforced while the
 * body is read; when the listener is given a ready handler instead of a `payable`, `bodyLimit` is
 * the only option it uses.
 *
 * @example
 * ```ts
 * const options: NodeListenerOptions = { prefix: '/payable', bodyLimit: 256 * 1024, authorize };
 * ```
 */
export type NodeListenerOptions = HttpHandlerOptions;

/**
 * A `node:http` request listener, as `http.createServer` takes it.
 *
 * @example
 * ```ts
 * const listener: NodeRequestListener = createNodeListener(payable, options);
 * ```
 */
export type NodeRequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * A `node:http` request listener serving every Payable route: it reads the raw body itself
 * (refusing it with 413 `PAYLOAD_TOO_LARGE` as soon as it passes `bodyLimit`, without buffering the
 * rest), lowercases header names, parses the query string, and hands the neutral request to
 * `createHttpHandler`. Give it the `payable` (and the handler options) or a handler you built.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * const server = createServer(createNodeListener(payable, { authorize: (req) => isAdmin(req.headers) }));
 * server.listen(3000);
 * ```
 */
export function createNodeListener(
  target: Payable | HttpHandler,
  options: NodeListenerOptions = {},
): NodeRequestListener {
  const handler: HttpHandler = typeof target === 'function' ? target : createHttpHandler(target, options);
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;

  return function payableNodeListener(req: IncomingMessage, res: ServerResponse): void {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      url = new URL('http://localhost/');
    }
    readRequestBody(req, bodyLimit).then((read) => {
      if (read.kind === 'aborted') return;
      if (read.kind === 'too-large') {
        writeNodeResponse(res, errorResponse(bodyTooLargeError(bodyLimit, read.size)), { close: true });
        return;
      }
      const neutral: HttpRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        headers: headersOf(req.headers),
        rawBody: read.body,
        query: queryOf(url.searchParams),
      };
      const ip = req.socket.remoteAddress;
      if (ip !== undefined) neutral.ip = ip;
      handler(neutral).then(
        (response) => writeNodeResponse(res, response),
        (error: unknown) => writeNodeResponse(res, errorResponse(error)),
      );
    });
  };
}
