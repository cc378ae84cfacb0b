import type { L402Response } from './types.js';

/** The part of a `node:http` `ServerResponse` the paywall writes to (Express's `res` is one). */
export interface NodeResponseLike {
  statusCode: number;
  readonly headersSent: boolean;
  setHeader(name: string, value: string | readonly string[]): unknown;
  end(body: string): unknown;
}

/** The JSON text of a paywall response's body. */
export function responseText(response: L402Response): string {
  return JSON.stringify(response.body);
}

/**
 * Writes a paywall response to a Node response: status, headers (a list is sent as repeated
 * header lines), `Content-Length`, the JSON body. Does nothing once headers were sent.
 *
 * @example
 * ```ts
 * writeL402Response(res, result.response);
 * ```
 */
export function writeL402Response(res: NodeResponseLike, response: L402Response): void {
  if (res.headersSent) return;
  const body = responseText(response);
  res.statusCode = response.status;
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  res.setHeader('content-length', String(Buffer.byteLength(body, 'utf8')));
  res.end(body);
}
