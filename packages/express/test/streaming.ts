import { request as httpRequest } from 'node:http';

/**
 * POSTs `chunks` with `Transfer-Encoding: chunked` (no Content-Length) and resolves with the
 * answer as soon as it arrives, without ending the request body: an adapter that waits for the
 * whole body before enforcing its limit never answers (the promise rejects after `timeoutMs`).
 */
export function postChunksWithoutEnding(
  url: string,
  chunks: readonly string[],
  timeoutMs = 5000,
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms while the body was still streaming`));
    }, timeoutMs);
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8'), headers: res.headers });
      });
    });
    // The server may close the connection after its answer while we still write: not a failure.
    req.on('error', () => {});
    for (const chunk of chunks) req.write(chunk);
  });
}
