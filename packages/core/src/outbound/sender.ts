import { type ClientRequest, type IncomingMessage, request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import { isPayableError } from '../errors/index.js';
import type { UrlGuard } from './url-guard.js';

const DEFAULT_USER_AGENT = 'Payable-Webhooks/1';

/**
 * Input of {@link sendWebhook}.
 *
 * @example
 * ```ts
 * const input: SendWebhookInput = { url, headers, body, guard, timeoutMs: 15_000, maxResponseBytes: 4096 };
 * ```
 */
export interface SendWebhookInput {
  url: string;
  /** The signature headers (from `signWebhook`) and any others; `content-type` is always `application/json`. */
  headers: Record<string, string>;
  /** The exact, already signed body. */
  body: string;
  /** Checks the URL first, then resolves and checks again at connect time. */
  guard: UrlGuard;
  /** Budget of the whole exchange: DNS, connect, request and response. */
  timeoutMs: number;
  /** At most this many bytes of the response body are read; then the connection is closed. */
  maxResponseBytes: number;
  /** Default `Payable-Webhooks/1`. */
  userAgent?: string;
  /** The current time, to turn a `Retry-After` date into a delay. Default: the system clock. */
  now?: () => Date;
}

/**
 * What one delivery attempt gave. `sendWebhook` never throws: every failure is one of these.
 *
 * @example
 * ```ts
 * const r: SendResult = await sendWebhook(input);
 * if (!r.ok && r.errorKind === 'timeout') logger.warn({ durationMs: r.durationMs }, 'receiver too slow');
 * ```
 */
export interface SendResult {
  /** A 2xx answer. */
  ok: boolean;
  /** The response status; `null` when no response came. */
  status: number | null;
  /** From a `Retry-After` header (seconds or an HTTP date), in ms; `null` when absent or unreadable. */
  retryAfterMs: number | null;
  /** The start of the response body (at most `maxResponseBytes`, UTF-8); `null` when no response came. */
  body: string | null;
  durationMs: number;
  /** Why it failed, for the delivery log (never a secret); `null` on success or a plain non-2xx answer. */
  error: string | null;
  /**
   * `forbidden`: the SSRF guard refused the URL or the address resolved at connect time (no request
   * was sent); `timeout`: no response within `timeoutMs`; `connection`: DNS, connect, TLS or reset
   * errors; `redirect`: a 3xx (redirects are not followed); `null` otherwise.
   */
  errorKind: 'forbidden' | 'timeout' | 'connection' | 'redirect' | null;
}

/**
 * Parses a `Retry-After` value (delay-seconds or an HTTP date) into milliseconds from `now`.
 *
 * @example
 * ```ts
 * parseRetryAfter('120', new Date()); // 120000
 * ```
 */
export function parseRetryAfter(value: string | string[] | undefined, now: Date): number | null {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (raw === undefined || raw === '') return null;
  if (/^\d+$/.test(raw)) {
    const seconds = Number(raw);
    return Number.isSafeInteger(seconds * 1000) ? seconds * 1000 : null;
  }
  const at = Date.parse(raw);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now.getTime());
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code !== undefined && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/** A guard refusal is `forbidden`, except a name that does not resolve (yet, or any more): a retryable `connection` failure. */
function refusalKind(error: unknown): 'forbidden' | 'connection' | null {
  if (!isPayableError(error) || error.code !== 'ENDPOINT_URL_FORBIDDEN') return null;
  return error.context.reason === 'unresolvable' ? 'connection' : 'forbidden';
}

/**
 * Sends one webhook: `POST url` with `body` as `application/json`. The guard's `check` runs first
 * and `guard.lookup` resolves the name at connect time, so the address connected to is an address
 * checked. Redirects are not followed (a 3xx is a failure of kind `redirect`). `timeoutMs` bounds the
 * whole exchange; at most `maxResponseBytes` of the response are read, then the socket is closed.
 * Never throws.
 *
 * @example
 * ```ts
 * const guard = new UrlGuard({ requireHttps: true });
 * const headers = signWebhook({ scheme: 'standard-webhooks', id: event.id, timestamp, body, secrets: [secret] });
 * const result = await sendWebhook({ url, headers, body, guard, timeoutMs: 15_000, maxResponseBytes: 4096 });
 * result.ok; // true for a 2xx
 * ```
 */
export function sendWebhook(input: SendWebhookInput): Promise<SendResult> {
  const started = performance.now();
  const now = input.now ?? (() => new Date());
  const cap = Math.max(0, Math.floor(input.maxResponseBytes));

  return new Promise<SendResult>((resolve) => {
    let settled = false;
    let req: ClientRequest | null = null;
    let res: IncomingMessage | null = null;
    const decoder = new TextDecoder('utf-8');
    let bodyText = '';
    let bytesRead = 0;

    const responseResult = (): Omit<SendResult, 'durationMs'> => {
      const status = res?.statusCode ?? null;
      const base = {
        status,
        retryAfterMs: parseRetryAfter(res?.headers['retry-after'], now()),
        body: bodyText,
      };
      if (status !== null && status >= 300 && status < 400) {
        const location = res?.headers.location;
        const to = location === undefined ? '' : ` to ${location.slice(0, 200)}`;
        return { ...base, ok: false, error: `redirect ${status}${to} not followed`, errorKind: 'redirect' };
      }
      const ok = status !== null && status >= 200 && status < 300;
      return { ...base, ok, error: null, errorKind: null };
    };

    const finish = (result: Omit<SendResult, 'durationMs'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Stop reading (a capped or endless body) and free the socket.
      res?.destroy();
      req?.destroy();
      resolve({ ...result, durationMs: Math.round(performance.now() - started) });
    };

    const failure = (errorKind: SendResult['errorKind'], error: string): Omit<SendResult, 'durationMs'> => ({
      ok: false,
      status: null,
      retryAfterMs: null,
      body: null,
      error,
      errorKind,
    });

    const onError = (error: unknown): void => {
      if (settled) return;
      const refused = refusalKind(error);
      if (refused !== null) {
        finish(failure(refused, describe(error)));
        return;
      }
      if (res !== null) {
        // The receiver answered, then the body broke off: the answer stands, with what was read.
        finish(responseResult());
        return;
      }
      finish(failure('connection', describe(error)));
    };

    const timer = setTimeout(() => {
      if (settled) return;
      // Headers arrived and only the body is slow: the answer stands, with what was read.
      if (res !== null) finish(responseResult());
      else finish(failure('timeout', `no response within ${input.timeoutMs} ms`));
    }, input.timeoutMs);

    const start = (): void => {
      const url = new URL(input.url);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(input.headers)) headers[name.toLowerCase()] = value;
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(input.body));
      headers['user-agent'] = input.userAgent ?? headers['user-agent'] ?? DEFAULT_USER_AGENT;
      const options: RequestOptions = {
        method: 'POST',
        headers,
        lookup: input.guard.lookup,
        // A fresh connection per attempt: every attempt resolves and checks the name again.
        agent: false,
      };
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      req = send(url, options, (response) => {
        res = response;
        response.on('error', onError);
        response.on('aborted', () => onError(new Error('response aborted')));
        if (cap === 0) {
          finish(responseResult());
          return;
        }
        response.on('data', (chunk: Buffer) => {
          if (settled) return;
          const room = cap - bytesRead;
          const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
          bytesRead += part.length;
          // `stream: true` holds back a UTF-8 sequence cut at the cap instead of garbling it.
          bodyText += decoder.decode(part, { stream: true });
          if (bytesRead >= cap) finish(responseResult());
        });
        response.on('end', () => {
          if (settled) return;
          bodyText += decoder.decode();
          finish(responseResult());
        });
      });
      req.on('error', onError);
      req.end(input.body);
    };

    input.guard.check(input.url).then(
      () => {
        if (settled) return;
        try {
          start();
        } catch (error) {
          onError(error);
        }
      },
      (error: unknown) => finish(failure(refusalKind(error) ?? 'connection', describe(error))),
    );
  });
}
