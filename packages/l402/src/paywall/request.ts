import type { L402Request } from './types.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is encoded
const UNSAFE = /[\u0000-\u0020\u007f*]/g;

/**
 * The request path the paywall binds and checks: the query string and fragment dropped, and the
 * characters a `payable_path` glob cannot hold literally (`*`, whitespace, control characters)
 * percent-encoded, so an exact binding matches exactly that path.
 *
 * @example
 * ```ts
 * normalizeRequestPath('/api/report?id=1'); // '/api/report'
 * ```
 */
export function normalizeRequestPath(path: string): string {
  const raw = typeof path === 'string' ? path : '/';
  const cut = raw.search(/[?#]/);
  const bare = cut === -1 ? raw : raw.slice(0, cut);
  const encoded = bare.replace(UNSAFE, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  return encoded.startsWith('/') ? encoded : `/${encoded}`;
}

/** The first value of a header (names are lowercased in an `L402Request`). */
export function headerOf(req: L402Request, name: string): string | undefined {
  const value = req.headers[name];
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return (value as readonly string[])[0];
  return undefined;
}

/** A Node-style headers object as `L402Request['headers']`: names lowercased, values kept. */
export function lowerHeaders(headers: unknown): Record<string, string | readonly string[] | undefined> {
  const out: Record<string, string | readonly string[] | undefined> = {};
  if (typeof headers !== 'object' || headers === null) return out;
  for (const [key, value] of Object.entries(headers as Record<string, unknown>)) {
    if (typeof value === 'string') out[key.toLowerCase()] = value;
    else if (Array.isArray(value)) out[key.toLowerCase()] = value.filter((v): v is string => typeof v === 'string');
  }
  return out;
}
