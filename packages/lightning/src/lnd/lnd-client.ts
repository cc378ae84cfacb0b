import { ValidationError } from '@payable/core';
import { LndResponseError, mapLndError } from './map-error.js';
import { type FetchLike, tlsFetch } from './tls-fetch.js';

/**
 * How an LND REST client connects (the connection part of `LndProviderOptions`).
 *
 * @example
 * ```ts
 * const options: LndClientOptions = { url: 'https://127.0.0.1:8080', macaroon: hex, tlsCert, timeoutMs: 5000 };
 * ```
 */
export interface LndClientOptions {
  /** The REST endpoint, e.g. `https://127.0.0.1:8080` (LND's `restlisten`). */
  url: string;
  /** The macaroon: hex, or its bytes (the content of `invoice.macaroon`). */
  macaroon: string | Uint8Array;
  /** LND's `tls.cert` (PEM), to trust its self-signed certificate. */
  tlsCert?: string | Buffer;
  /** A `fetch` to use instead of the global one (with `tlsCert`, Payable's own HTTPS fetch is used). */
  fetch?: FetchLike;
  /** How long a request may take, in ms (the stream: until it is established). Default 10 000. */
  timeoutMs?: number;
}

function macaroonHex(macaroon: string | Uint8Array): string {
  if (macaroon instanceof Uint8Array) return Buffer.from(macaroon).toString('hex');
  const text = typeof macaroon === 'string' ? macaroon.trim() : '';
  if (text === '' || text.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(text)) {
    throw new ValidationError(
      'LndProvider macaroon must be hex (xxd -ps -u -c 1000 invoice.macaroon) or the bytes of the macaroon file.',
      { context: { field: 'macaroon', reason: 'not_hex' } },
    );
  }
  return text.toLowerCase();
}

function retryAfterOf(response: Response): number | null {
  const value = response.headers.get('retry-after');
  if (value === null) return null;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

async function errorOf(response: Response): Promise<LndResponseError> {
  const text = await response.text().catch(() => '');
  let code: number | null = null;
  let message = text.slice(0, 500) || response.statusText || `HTTP ${response.status}`;
  try {
    const parsed = JSON.parse(text) as { code?: unknown; message?: unknown; error?: unknown };
    if (typeof parsed.code === 'number') code = parsed.code;
    if (typeof parsed.message === 'string') message = parsed.message;
    else if (typeof parsed.error === 'string') message = parsed.error;
  } catch {
    // not JSON: keep the text
  }
  return new LndResponseError(response.status, code, message, retryAfterOf(response));
}

/**
 * LND's REST API over `fetch`: the macaroon in `Grpc-Metadata-macaroon` (hex), JSON bodies, a
 * timeout per request, errors mapped to Payable codes, and the newline-delimited JSON streams.
 */
export class LndClient {
  readonly #base: string;
  readonly #macaroon: string;
  readonly #fetch: FetchLike;
  readonly #timeoutMs: number;

  constructor(options: LndClientOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new ValidationError('LndProvider url must be an absolute URL, e.g. https://127.0.0.1:8080.', {
        context: { field: 'url', reason: 'invalid' },
      });
    }
    this.#base = url.toString().replace(/\/+$/, '');
    this.#macaroon = macaroonHex(options.macaroon);
    this.#fetch =
      options.fetch ?? (options.tlsCert !== undefined ? tlsFetch(options.tlsCert) : (u, init) => fetch(u, init));
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  #headers(json: boolean): Record<string, string> {
    return {
      'Grpc-Metadata-macaroon': this.#macaroon,
      accept: 'application/json',
      ...(json ? { 'content-type': 'application/json' } : {}),
    };
  }

  /** One request; the parsed JSON answer, or a mapped Payable error. */
  async request<T>(op: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new DOMException('LND request timed out', 'TimeoutError')),
      this.#timeoutMs,
    );
    try {
      const response = await this.#fetch(`${this.#base}${path}`, {
        method,
        headers: this.#headers(body !== undefined),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: controller.signal,
      });
      if (!response.ok) throw await errorOf(response);
      const text = await response.text();
      return (text === '' ? {} : JSON.parse(text)) as T;
    } catch (error) {
      throw mapLndError(error, { op });
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Open a newline-delimited JSON stream (`GET`) and yield each parsed object until the stream
   * ends or `signal` aborts. `onOpen` runs once the answer's headers arrived.
   */
  async *stream(op: string, path: string, signal: AbortSignal, onOpen?: () => void): AsyncGenerator<unknown> {
    const controller = new AbortController();
    const stop = () => controller.abort(signal.reason);
    if (signal.aborted) return;
    signal.addEventListener('abort', stop, { once: true });
    const timer = setTimeout(
      () => controller.abort(new DOMException('LND stream did not open in time', 'TimeoutError')),
      this.#timeoutMs,
    );
    try {
      let response: Response;
      try {
        response = await this.#fetch(`${this.#base}${path}`, {
          method: 'GET',
          headers: this.#headers(false),
          signal: controller.signal,
        });
        if (!response.ok) throw await errorOf(response);
      } catch (error) {
        if (signal.aborted) return;
        throw mapLndError(error, { op });
      } finally {
        clearTimeout(timer);
      }
      if (!response.body) throw mapLndError(new TypeError('LND sent a stream without a body'), { op });
      onOpen?.();
      const decoder = new TextDecoder();
      let buffered = '';
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffered += decoder.decode(chunk, { stream: true });
          let newline = buffered.indexOf('\n');
          while (newline >= 0) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            if (line !== '') yield JSON.parse(line) as unknown;
            newline = buffered.indexOf('\n');
          }
        }
        const rest = (buffered + decoder.decode()).trim();
        if (rest !== '') yield JSON.parse(rest) as unknown;
      } catch (error) {
        if (signal.aborted) return;
        throw mapLndError(error, { op });
      }
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', stop);
      controller.abort();
    }
  }
}
