import { createHmac, hash, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time comparison of two strings. Unequal lengths compare unequal without leaking where
 * they differ (both sides are hashed to a fixed length first, with the one-shot SHA-256 of
 * `crypto.hash`, then compared with `crypto.timingSafeEqual`).
 *
 * @example
 * ```ts
 * timingSafeEqualString(received, expected);
 * ```
 */
export function timingSafeEqualString(a: string, b: string): boolean {
  return timingSafeEqual(hash('sha256', a, 'buffer'), hash('sha256', b, 'buffer')) && a.length === b.length;
}

/** Hex HMAC-SHA256 of `data` keyed with `secret` (UTF-8 string or bytes). */
export function hmacSha256Hex(secret: string | Uint8Array, data: string | Uint8Array): string {
  return createHmac('sha256', secret).update(data).digest('hex');
}
