import type { IncomingMessage, ServerResponse } from 'node:http';
import { PayloadTooLargeError } from '../errors/classes.js';
import type { Payable } from '../facade/types.js';
import { createHttpHandler } from './create-http-handler.js';
import {
  DEFAULT_BODY_LIMIT,
  type HttpHandler,
  type HttpHandlerOptions,
  type HttpRequest,
  type HttpResponse,
} from './types.js';

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
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > bodyLimit) {
      refuseTooLarge(req, res, bodyLimit, declared);
      return;
    }

    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer | string) => {
      if (done) return;
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buf.byteLength;
      if (size > bodyLimit) {
        done = true;
        chunks.length = 0;
        refuseTooLarge(req, res, bodyLimit, size);
        return;
      }
      chunks.push(buf);
    });
    req.on('error', () => {
      done = true;
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      const neutral: HttpRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        headers: lowercaseHeaders(req.headers),
        rawBody: size === 0 ? undefined : Buffer.concat(chunks, size),
        query: parseQuery(url.searchParams),
      };
      const ip = req.socket.remoteAddress;
      if (ip !== undefined) neutral.ip = ip;
      handler(neutral).then(
        (response) => send(res, response),
        () => send(res, internalError()),
      );
    });
  };
}

function lowercaseHeaders(headers: IncomingMessage['headers']): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name.toLowerCase()] = value;
  return out;
}

function parseQuery(params: URLSearchParams): Record<string, string | string[] | undefined> {
  const query: Record<string, string | string[] | undefined> = {};
  for (const [key, value] of params) {
    const prev = query[key];
    if (prev === undefined) query[key] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else query[key] = [prev, value];
  }
  return query;
}

function refuseTooLarge(req: IncomingMessage, res: ServerResponse, limit: number, size: number): void {
  const error = new PayloadTooLargeError(`Request body is larger than the limit of ${limit} bytes`, {
    context: { limit, size },
  });
  // Keep draining (without buffering) so the client can read the answer, then close the connection.
  req.resume();
  send(
    res,
    {
      status: error.httpStatus,
      headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
      body: JSON.stringify(error.toJSON()),
    },
    true,
  );
}

function internalError(): HttpResponse {
  return {
    status: 500,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    body: JSON.stringify({ error: 'INTERNAL_ERROR', message: 'Internal error', context: {} }),
  };
}

function send(res: ServerResponse, response: HttpResponse, close = false): void {
  if (res.headersSent || res.writableEnded) return;
  const headers: Record<string, string | number> = {
    ...response.headers,
    'content-length': Buffer.byteLength(response.body, 'utf8'),
  };
  if (close) headers.connection = 'close';
  res.writeHead(response.status, headers);
  res.end(response.body);
}
