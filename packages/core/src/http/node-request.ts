import type { HttpRequest } from './types.js';

/**
 * A request target (`req.url`) split at its `?`: the path as received (not decoded, not
 * normalized) and the query string without the `?`.
 *
 * @example
 * ```ts
 * splitRequestUrl('/payable/payments?limit=10'); // { path: '/payable/payments', search: 'limit=10' }
 * ```
 */
export function splitRequestUrl(url: string): { path: string; search: string } {
  const q = url.indexOf('?');
  return q === -1 ? { path: url, search: '' } : { path: url.slice(0, q), search: url.slice(q + 1) };
}

/**
 * Request headers as the neutral request holds them: names lowercased, absent values dropped.
 *
 * @example
 * ```ts
 * headersOf({ 'Content-Type': 'application/json', 'x-none': undefined }); // { 'content-type': 'application/json' }
 * ```
 */
export function headersOf(headers: Readonly<Record<string, string | string[] | undefined>>): HttpRequest['headers'] {
  const out: HttpRequest['headers'] = {};
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) continue;
    setOwn(out, name.toLowerCase(), value);
  }
  return out;
}

/**
 * `target[key] = value` as an own property, whatever the key: a `__proto__` key (a header or query
 * key a client sent) is defined, never assigned, so it cannot reach the prototype.
 */
function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

/**
 * A query string parsed as the neutral request holds it: a repeated key gives an array, in order;
 * every key is an own property (`?toString=1`, `?__proto__=1` are plain keys). Every adapter uses
 * it, whatever its framework's own query parser does.
 *
 * @example
 * ```ts
 * queryOf('status=paid&status=failed&limit=10'); // { status: ['paid', 'failed'], limit: '10' }
 * queryOf(new URL(req.url, 'http://localhost').searchParams);
 * ```
 */
export function queryOf(search: string | URLSearchParams): HttpRequest['query'] {
  const query: HttpRequest['query'] = {};
  // Most requests (every webhook) carry no query string.
  if (search === '' || search === '?') return query;
  for (const [key, value] of new URLSearchParams(search)) {
    const seen = Object.hasOwn(query, key) ? query[key] : undefined;
    if (seen === undefined) setOwn(query, key, value);
    else if (Array.isArray(seen)) seen.push(value);
    else setOwn(query, key, [seen, value]);
  }
  return query;
}
