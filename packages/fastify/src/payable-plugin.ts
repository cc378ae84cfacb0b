import type { IncomingMessage } from 'node:http';
import {
  bodyTooLargeError,
  createHttpHandler,
  DEFAULT_BODY_LIMIT,
  errorResponse,
  type HttpHandlerOptions,
  type HttpRequest,
  type HttpResponse,
  headersOf,
  isPayableError,
  type Payable,
  queryOf,
  splitRequestUrl,
  ValidationError,
} from '@payable/core';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

/**
 * Options of {@link payablePlugin}: the `payable` to serve plus the core HTTP handler's options.
 *
 * - `prefix`: Fastify's own register prefix; the routes live under it (nested prefixes of
 *   enclosing plugins add up, as for any Fastify plugin).
 * - `authorize(req)`: decides management routes (all but webhooks and `/health`); without it they
 *   answer 401 `UNAUTHORIZED`. It receives the framework-neutral request (`path` is the full URL
 *   path, prefix included).
 * - `bodyLimit`: largest accepted body in bytes (default 1 MiB; it overrides the server's
 *   `bodyLimit` for Payable's routes): 413 `PAYLOAD_TOO_LARGE`.
 * - `webhookSignatureHeader`: the header the provider's signature is read from.
 * - `hooks`: `onRequest`, `onResponse`, `onError` for logging and metrics.
 *
 * @example
 * ```ts
 * const options: PayablePluginOptions = {
 *   payable,
 *   prefix: '/payable',
 *   authorize: (req) => req.headers.authorization === `Bearer ${process.env.PAYABLE_API_TOKEN}`,
 * };
 * await app.register(payablePlugin, options);
 * ```
 */
export interface PayablePluginOptions extends HttpHandlerOptions {
  /** The facade `createPayable(...)` returned. */
  payable: Payable;
}

/** Fastify's media type grammar (RFC 9110 tokens): a header it would refuse with 415 before any parser runs. */
const TOKEN = /^[\w!#$%&'*+.^`|~-]+$/;

function isValidMediaType(header: string): boolean {
  const mediaType = header.split(';', 1)[0] ?? '';
  const slash = mediaType.indexOf('/');
  if (slash === -1) return false;
  return TOKEN.test(mediaType.slice(0, slash).trimStart()) && TOKEN.test(mediaType.slice(slash + 1).trimEnd());
}

const payableFastify: FastifyPluginAsync<PayablePluginOptions> = async (instance, opts) => {
  const { payable } = opts;
  if (payable === undefined || payable === null || typeof payable.webhooks !== 'object') {
    throw new ValidationError('payablePlugin needs the payable option: app.register(payablePlugin, { payable })', {
      context: { field: 'payable', reason: 'required' },
    });
  }
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  // `instance.prefix` is the full prefix: this register's `prefix` and those of enclosing plugins.
  const handlerOptions: HttpHandlerOptions = { prefix: instance.prefix, bodyLimit };
  if (opts.authorize !== undefined) handlerOptions.authorize = opts.authorize;
  if (opts.webhookSignatureHeader !== undefined) handlerOptions.webhookSignatureHeader = opts.webhookSignatureHeader;
  if (opts.hooks !== undefined) handlerOptions.hooks = opts.hooks;
  if (opts.rateLimit !== undefined) handlerOptions.rateLimit = opts.rateLimit;
  const handler = createHttpHandler(payable, handlerOptions);

  // Raw bodies for every content type, in this plugin's context only: the app's other routes keep
  // Fastify's JSON and text parsers.
  instance.removeAllContentTypeParsers();
  instance.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => {
    done(null, body);
  });

  // Fastify refuses a malformed Content-Type with 415 before any parser runs. Payable ignores the
  // content type (webhooks are verified over the bytes, JSON bodies are parsed as JSON), so such a
  // request is read raw like any other and the original header is handed on untouched.
  const originalContentType = new WeakMap<IncomingMessage, string>();
  instance.addHook('onRequest', (request, _reply, done) => {
    const contentType = request.raw.headers['content-type'];
    if (typeof contentType === 'string' && !isValidMediaType(contentType)) {
      originalContentType.set(request.raw, contentType);
      request.raw.headers['content-type'] = 'application/octet-stream';
    }
    done();
  });

  // Body reading errors become Payable's JSON errors; anything else goes to the app's error handler.
  instance.setErrorHandler((error: FastifyError, _request, reply) => {
    if (isPayableError(error)) return sendResponse(reply, errorResponse(error));
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) {
      reply.header('connection', 'close');
      return sendResponse(reply, errorResponse(bodyTooLargeError(bodyLimit)));
    }
    if (typeof error.code === 'string' && error.code.startsWith('FST_ERR_CTP_') && (error.statusCode ?? 500) < 500) {
      const invalid = new ValidationError(`Invalid body: ${error.message}`, {
        context: { field: 'body', reason: error.message },
      });
      return sendResponse(reply, errorResponse(invalid));
    }
    throw error;
  });

  const route = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const { path, search } = splitRequestUrl(request.url);
    const headers = headersOf(request.headers);
    const original = originalContentType.get(request.raw);
    if (original !== undefined) headers['content-type'] = original;
    const neutral: HttpRequest = {
      method: request.method,
      path,
      headers,
      rawBody: rawBodyOf(request.body),
      // The query as the node:http listener parses it (repeated keys become arrays).
      query: queryOf(search),
      ip: request.ip,
    };
    return sendResponse(reply, await handler(neutral));
  };

  // Every method, every path under the prefix: unknown paths answer the core's 404 NOT_FOUND.
  instance.all('/', { bodyLimit }, route);
  instance.all('/*', { bodyLimit }, route);
};

/**
 * The Fastify plugin serving every Payable route (webhooks, payments, refunds, customers,
 * checkout, subscriptions, invoices, webhook event admin, health). It only translates between
 * Fastify and the core's `createHttpHandler`, so it answers exactly like every other Payable
 * adapter.
 *
 * It is encapsulated: its raw-body content-type parser (every content type read as bytes, so
 * webhook signatures are verified over the exact body), its error handler and its routes live in
 * its own context, and the app's other routes keep Fastify's JSON parsing. Everything under its
 * `prefix` is Payable's (unknown paths answer 404 `NOT_FOUND` as JSON); register it under a prefix
 * when your app has its own catch-all route or not-found handler.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { payablePlugin } from '@payable/fastify';
 *
 * const app = Fastify();
 * await app.register(payablePlugin, {
 *   payable,
 *   prefix: '/payable',
 *   authorize: (req) => req.headers.authorization === `Bearer ${process.env.PAYABLE_API_TOKEN}`,
 * });
 * app.post('/orders', async (request) => request.body); // still parsed JSON
 * await app.listen({ port: 3000 }); // webhooks: POST /payable/webhooks/stripe
 * ```
 */
export const payablePlugin: FastifyPluginAsync<PayablePluginOptions> = fp(payableFastify, {
  fastify: '5.x',
  name: '@payable/fastify',
  // Named and version-checked like an official plugin, but NOT hoisted into the parent context.
  encapsulate: true,
});

/** The parser's Buffer; an empty one is no body, as the node:http listener sees it. */
function rawBodyOf(body: unknown): unknown {
  if (Buffer.isBuffer(body) && body.length === 0) return undefined;
  return body;
}

function sendResponse(reply: FastifyReply, response: HttpResponse): FastifyReply {
  return reply.code(response.status).headers(response.headers).send(response.body);
}
