import type { IncomingMessage } from 'node:http';

/** What reading a request stream gave: its bytes, the body being over the limit, or an aborted request. */
export type StreamReadResult =
  | { kind: 'body'; body: Buffer | undefined }
  | { kind: 'too-large'; size: number }
  | { kind: 'aborted' };

/**
 * Read a request stream nobody consumed (a content type Nest has no parser for), at most `limit`
 * bytes. A `Content-Length` over the limit is refused before reading anything; a body growing past
 * it is refused as soon as it does, and the rest is drained without buffering. An empty body is
 * `undefined`, as the node:http listener sees it.
 *
 * @example
 * ```ts
 * const read = await readStream(req, 1024 * 1024);
 * if (read.kind === 'body') rawBody = read.body;
 * ```
 */
export function readStream(stream: IncomingMessage, limit: number): Promise<StreamReadResult> {
  const declared = Number(stream.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    stream.resume();
    return Promise.resolve({ kind: 'too-large', size: declared });
  }
  return new Promise<StreamReadResult>((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: StreamReadResult): void => {
      if (settled) return;
      settled = true;
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onAbort);
      stream.off('aborted', onAbort);
      resolve(result);
    };
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buf.byteLength;
      if (size > limit) {
        chunks.length = 0;
        // Keep draining (without buffering) so the client can read the answer.
        stream.resume();
        settle({ kind: 'too-large', size });
        return;
      }
      chunks.push(buf);
    };
    const onEnd = (): void => settle({ kind: 'body', body: size === 0 ? undefined : Buffer.concat(chunks, size) });
    const onAbort = (): void => settle({ kind: 'aborted' });
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onAbort);
    stream.on('aborted', onAbort);
  });
}
