import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

/**
 * A `fetch` for the subset LND's REST client needs: method, headers, a string body, a signal.
 *
 * @example
 * ```ts
 * const lnd = new LndProvider({ url, macaroon, fetch: (url, init) => fetch(url, init) });
 * ```
 */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/**
 * A `fetch` over `node:https` that trusts `ca` (LND's self-signed `tls.cert`, PEM) instead of the
 * public roots; the response body streams (the invoice subscription needs it). Used by
 * `LndProvider` when it is given `tlsCert`, so no extra HTTP library is needed.
 *
 * @example
 * ```ts
 * const fetch = tlsFetch(readFileSync(`${process.env.HOME}/.lnd/tls.cert`));
 * await fetch('https://127.0.0.1:8080/v1/getinfo', { headers: { 'Grpc-Metadata-macaroon': hex } });
 * ```
 */
export function tlsFetch(ca: string | Buffer): FetchLike {
  return (url, init) =>
    new Promise<Response>((resolve, reject) => {
      const signal = init.signal ?? undefined;
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((value, key) => {
        headers[key] = value;
      });
      const body = typeof init.body === 'string' ? init.body : undefined;
      if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
      const req = httpsRequest(url, { method: init.method ?? 'GET', headers, ca }, (res) => {
        const responseHeaders = new Headers();
        for (const [key, value] of Object.entries(res.headers)) {
          if (Array.isArray(value)) for (const v of value) responseHeaders.append(key, v);
          else if (value !== undefined) responseHeaders.set(key, value);
        }
        const stream = Readable.toWeb(res) as unknown as WebReadableStream<Uint8Array>;
        resolve(
          new Response(stream as unknown as ReadableStream<Uint8Array>, {
            status: res.statusCode ?? 500,
            statusText: res.statusMessage ?? '',
            headers: responseHeaders,
          }),
        );
      });
      const abort = () => req.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      signal?.addEventListener('abort', abort, { once: true });
      req.on('close', () => signal?.removeEventListener('abort', abort));
      req.on('error', (error) => reject(new TypeError('fetch failed', { cause: error })));
      req.end(body);
    });
}
