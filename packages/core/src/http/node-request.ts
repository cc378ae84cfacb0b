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
  // Object.fromEntries defines own properties: a name like `__proto__` cannot reach the prototype.
  return Object.fromEntries(
    Object.entries(headers)
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => [name.toLowerCase(), value]),
  );
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
  const values = new Map<string, string[]>();
  for (const [key, value] of new URLSearchParams(search)) {
    const seen = values.get(key);
    if (seen === undefined) values.set(key, [value]);
    else seen.push(value);
  }
  // Own properties only: keys like `toString` or `__proto__` are values, never Object.prototype's.
  return Object.fromEntries([...values].map(([key, all]) => [key, all.length === 1 ? all[0] : all]));
}
