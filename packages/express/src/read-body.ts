import type { IncomingMessage } from 'node:http';

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
export type BodyReadResult =
  | { kind: 'body'; body: unknown }
  | { kind: 'too-large'; size: number }
  | { kind: 'aborted' };

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
 * Read the raw request body, at most `limit` bytes. A `Content-Length` over the limit is refused
 * before reading anything; a body that grows past the limit while streaming is refused as soon as
 * it does, without buffering the rest. When a body parser already consumed the stream, its
 * `req.body` (a parsed object, a string, a Buffer) is handed on as is, so the core can tell the
 * user to mount the Payable router first when it matters (webhooks need the exact bytes).
 *
 * @example
 * ```ts
 * const read = await readBody(req, 1024 * 1024);
 * if (read.kind === 'body') handle({ ..., rawBody: read.body });
 * ```
 */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyReadResult> {
  if (bodyAlreadyRead(req)) return Promise.resolve({ kind: 'body', body: orUndefined((req as ParsedRequest).body) });

  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve({ kind: 'too-large', size: declared });

  return new Promise<BodyReadResult>((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: BodyReadResult): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buf.byteLength;
      if (size > limit) {
        chunks.length = 0;
        settle({ kind: 'too-large', size });
        // Keep draining without buffering, so the client can read the 413.
        req.resume();
        return;
      }
      chunks.push(buf);
    };
    const onEnd = (): void => settle({ kind: 'body', body: size === 0 ? undefined : Buffer.concat(chunks, size) });
    const onError = (): void => settle({ kind: 'aborted' });
    // 'close' before 'end': the client went away mid-body.
    const onClose = (): void => settle({ kind: 'aborted' });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
