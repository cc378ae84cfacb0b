import type { ServerResponse } from 'node:http';
import { isPayableError } from '../errors/payable-error.js';
import type { HttpResponse } from './types.js';

/**
 * The headers of every JSON answer of the handler (internal to the core; not in the barrel).
 *
 * @example
 * ```ts
 * const res: HttpResponse = { status: 200, headers: { ...JSON_HEADERS }, body: '{}' };
 * ```
 */
export const JSON_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
};

function retryAfter(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(Math.max(0, Math.ceil(value)));
  if (typeof value === 'string' && value.trim().length > 0) return value.trim();
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toUTCString();
  return undefined;
}

/**
 * The response the core HTTP handler gives for an error: a `PayableError` answers its HTTP status
 * and `{ error, message, context }`, plus `Retry-After` when its context has `retryAfterSeconds`
 * (an open circuit breaker, a rate limit), or `retryAfter` on a 429/503 (1 for a bare
 * `RATE_LIMITED`); anything
 * else answers 500 `INTERNAL_ERROR` without its message. Adapters use it for the errors they
 * answer themselves (a body over the limit, a body parser's error), so every answer has one shape.
 *
 * @example
 * ```ts
 * const res = errorResponse(bodyTooLargeError(1024, 4096)); // { status: 413, headers: {...}, body: '{"error":"PAYLOAD_TOO_LARGE",…}' }
 * errorResponse(new Error('boom')).status; // 500
 * ```
 */
export function errorResponse(error: unknown, extraHeaders: Readonly<Record<string, string>> = {}): HttpResponse {
  const headers: Record<string, string> = { ...JSON_HEADERS, ...extraHeaders };
  if (!isPayableError(error)) {
    return {
      status: 500,
      headers,
      body: JSON.stringify({ error: 'INTERNAL_ERROR', message: 'Internal error', context: {} }),
    };
  }
  // `retryAfterSeconds` (an open circuit breaker, a rate limit) is always sent; a provider's own
  // `retryAfter` only with 429 and 503.
  const seconds = retryAfter(error.context.retryAfterSeconds);
  const after = retryAfter(error.context.retryAfter);
  if (seconds !== undefined) headers['retry-after'] = seconds;
  else if (after !== undefined && (error.httpStatus === 429 || error.httpStatus === 503))
    headers['retry-after'] = after;
  else if (error.code === 'RATE_LIMITED') headers['retry-after'] = '1';
  let body: string;
  try {
    body = JSON.stringify(error.toJSON());
  } catch {
    // A context that cannot be serialized (a cycle, a bigint) must not turn into a 500.
    body = JSON.stringify({ error: error.code, message: error.message, context: {} });
  }
  return { status: error.httpStatus, headers, body };
}

/**
 * Write a neutral response to a `node:http` response as is: its status, its headers plus
 * `Content-Length`, the body byte for byte (no ETag, no content negotiation). `close: true` adds
 * `Connection: close` (after refusing a body that was not read). Does nothing once headers are sent.
 *
 * @example
 * ```ts
 * writeNodeResponse(res, await handler(neutral));
 * writeNodeResponse(res, errorResponse(bodyTooLargeError(limit, size)), { close: true });
 * ```
 */
export function writeNodeResponse(
  res: ServerResponse,
  response: HttpResponse,
  options: { close?: boolean } = {},
): void {
  if (res.headersSent || res.writableEnded) return;
  const headers: Record<string, string | number> = Object.assign({}, response.headers);
  headers['content-length'] = Buffer.byteLength(response.body, 'utf8');
  if (options.close === true) headers.connection = 'close';
  res.writeHead(response.status, headers);
  res.end(response.body);
}
