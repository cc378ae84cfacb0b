import type { IncomingMessage } from 'node:http';
import { PayloadTooLargeError } from '../errors/classes.js';
import type { PayableError } from '../errors/payable-error.js';

/**
 * What reading a request body gave: its bytes (`undefined` for an empty body), the body being
 * larger than the limit (`size`: the declared `Content-Length` or the bytes seen so far), or
 * nothing to answer because the client went away mid-body.
 *
 * @example
 * ```ts
 * const read: RequestBodyResult = await readRequestBody(req, 1024);
 * if (read.kind === 'too-large') answer413(read.size);
 * ```
 */
export type RequestBodyResult =
  | { kind: 'body'; body: Buffer | undefined }
  | { kind: 'too-large'; size: number }
  | { kind: 'aborted' };

/**
 * Read the raw body of a `node:http` request (Express and Nest requests are ones), at most
 * `limit` bytes. A `Content-Length` over the limit is refused before reading anything; a body that
 * grows past the limit while streaming is refused as soon as it does. In both cases the rest of
 * the body is drained without being buffered, so the client can read the 413 you answer. An empty
 * body is `undefined`; an error or a connection closed before the end is `aborted`. Never rejects.
 *
 * The request stream must not have been read yet (check for a body parser that ran first).
 *
 * @example
 * ```ts
 * const read = await readRequestBody(req, DEFAULT_BODY_LIMIT);
 * if (read.kind === 'aborted') return;
 * if (read.kind === 'too-large') return writeNodeResponse(res, errorResponse(bodyTooLargeError(limit, read.size)), { close: true });
 * const neutral: HttpRequest = { method: req.method ?? 'GET', path, headers: headersOf(req.headers), rawBody: read.body, query };
 * ```
 */
export function readRequestBody(req: IncomingMessage, limit: number): Promise<RequestBodyResult> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.resolve({ kind: 'too-large', size: declared });
  }
  return new Promise<RequestBodyResult>((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: RequestBodyResult): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onAbort);
      resolve(result);
    };
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buf.byteLength;
      if (size > limit) {
        chunks.length = 0;
        settle({ kind: 'too-large', size });
        // Keep draining without buffering, so the client can read the answer.
        req.resume();
        return;
      }
      chunks.push(buf);
    };
    const onEnd = (): void => settle({ kind: 'body', body: size === 0 ? undefined : Buffer.concat(chunks, size) });
    // An error, or 'close' before 'end': the client went away mid-body.
    const onAbort = (): void => settle({ kind: 'aborted' });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onAbort);
  });
}

/**
 * The 413 `PAYLOAD_TOO_LARGE` error of a body over `limit` bytes, as every adapter reports it
 * (`context: { limit, size }`, `size` when known).
 *
 * @example
 * ```ts
 * const response = errorResponse(bodyTooLargeError(1024, 4096)); // 413, "… larger than the limit of 1024 bytes"
 * ```
 */
export function bodyTooLargeError(limit: number, size?: number): PayableError {
  return new PayloadTooLargeError(`Request body is larger than the limit of ${limit} bytes`, {
    context: size === undefined ? { limit } : { limit, size },
  });
}
