import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time comparison of two strings. Unequal lengths compare unequal without leaking where
 * they differ (both sides are hashed to a fixed length first).
 *
 * @example
 * ```ts
 * timingSafeEqualString(received, expected);
 * ```
 */
export function timingSafeEqualString(a: string, b: string): boolean {
  const key = 'payable-compare';
  const ha = createHmac('sha256', key).update(a).digest();
  const hb = createHmac('sha256', key).update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

/** Hex HMAC-SHA256 of `data` keyed with `secret` (UTF-8 string or bytes). */
export function hmacSha256Hex(secret: string | Uint8Array, data: string | Uint8Array): string {
  return createHmac('sha256', secret).update(data).digest('hex');
}
