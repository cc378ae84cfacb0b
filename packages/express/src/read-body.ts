import type { IncomingMessage } from 'node:http';
import { type RequestBodyResult, readRequestBody } from '@payable/core';

/**
 * What reading a request body gave: the bytes (or what a body parser mounted earlier left in
 * `req.body`), the body being larger than the limit, or nothing to answer (the client went away).
 *
 * @example
 * ```ts
 * const read: BodyReadResult = await readBody(req, 1024);
 * if (read.kind === 'too-large') answer413(read.size);
 * ```
 */
export type BodyReadResult = Exclude<RequestBodyResult, { kind: 'body' }> | { kind: 'body'; body: unknown };

/** The fields body parsers (body-parser 1.x and 2.x, `express.json()`, `express.raw()`) leave on a request. */
interface ParsedRequest extends IncomingMessage {
  body?: unknown;
  _body?: unknown;
}

/**
 * Whether a body parser mounted before the Payable router already read the request stream:
 * body-parser 1.x (Express 4) flags it with `req._body`; body-parser 2.x (Express 5) and any other
 * reader leave the stream ended.
 *
 * @example
 * ```ts
 * if (bodyAlreadyRead(req)) rawBody = req.body; // whatever the earlier parser produced
 * ```
 */
export function bodyAlreadyRead(req: IncomingMessage): boolean {
  return (req as ParsedRequest)._body === true || req.readableEnded;
}

/** An empty Buffer or string is no body, as the node:http listener sees it. */
function orUndefined(body: unknown): unknown {
  if ((typeof body === 'string' || Buffer.isBuffer(body)) && body.length === 0) return undefined;
  return body;
}

/**
 * Read the raw request body, at most `limit` bytes, with the core's `readRequestBody` (a body over
 * the limit is refused as soon as it is known, without buffering the rest). When a body parser
 * already consumed the stream, its `req.body` (a parsed object, a string, a Buffer) is handed on as
 * is, so the core can tell the user to mount the Payable router first when it matters (webhooks
 * need the exact bytes).
 *
 * @example
 * ```ts
 * const read = await readBody(req, 1024 * 1024);
 * if (read.kind === 'body') handle({ ..., rawBody: read.body });
 * ```
 */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyReadResult> {
  if (bodyAlreadyRead(req)) return Promise.resolve({ kind: 'body', body: orUndefined((req as ParsedRequest).body) });
  return readRequestBody(req, limit);
}
