/**
 * The small HTTP layer the hosted Lightning providers (BTCPay, OpenNode, Lightning Enable) share:
 * one request with a timeout, the JSON body read once, and two internal error classes their
 * `map-error.ts` turn into Payable errors. Nothing here reaches a caller unmapped.
 */

/** The `fetch` a provider uses (the global one, or one given for proxies and tests). */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** A request to send. */
export interface HttpRequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  /** A JSON body (serialized here) or a ready string. */
  body?: unknown;
  timeoutMs: number;
}

/** A response with its body read: `json` is the parsed body, or `undefined` when it is not JSON. */
export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

/** The request never got an answer: refused, reset, DNS failure, or the timeout passed. */
export class HttpTransportError extends Error {
  constructor(
    readonly reason: 'timeout' | 'connection',
    options: { cause?: unknown } = {},
  ) {
    super(reason === 'timeout' ? 'the request timed out' : 'the connection failed', options);
    this.name = 'HttpTransportError';
  }
}

/** The service answered with a status of 400 or more. */
export class HttpResponseError extends Error {
  readonly status: number;
  readonly json: unknown;
  readonly text: string;
  /** Seconds from a `Retry-After` header, when there is one. */
  readonly retryAfter: number | undefined;

  constructor(result: HttpResult) {
    super(`HTTP ${result.status}`);
    this.name = 'HttpResponseError';
    this.status = result.status;
    this.json = result.json;
    this.text = result.text;
    const header = result.headers.get('retry-after');
    const seconds = header === null ? Number.NaN : Number(header);
    this.retryAfter = Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
  }
}

/**
 * Sends a request and reads the body. Throws {@link HttpTransportError} when there is no answer and
 * {@link HttpResponseError} for a status of 400 or more; returns the result otherwise.
 */
export async function sendRequest(fetchFn: FetchLike, spec: HttpRequestSpec): Promise<HttpResult> {
  const headers: Record<string, string> = { accept: 'application/json', ...spec.headers };
  let body: string | undefined;
  if (spec.body !== undefined) {
    body = typeof spec.body === 'string' ? spec.body : JSON.stringify(spec.body);
    headers['content-type'] ??= 'application/json';
  }
  let response: Response;
  let text: string;
  try {
    response = await fetchFn(spec.url, {
      method: spec.method,
      headers,
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(spec.timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    const name = (error as { name?: unknown } | null)?.name;
    throw new HttpTransportError(name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'connection', {
      cause: error,
    });
  }
  let json: unknown;
  if (text !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  const result: HttpResult = { status: response.status, headers: response.headers, text, json };
  if (response.status >= 400) throw new HttpResponseError(result);
  return result;
}

/** `value` as a plain object, or `null`. */
export function asObject(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

/** `value` when it is a non-empty string, else `undefined`. */
export function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Joins a base URL (with or without a trailing slash) and an absolute path. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}
