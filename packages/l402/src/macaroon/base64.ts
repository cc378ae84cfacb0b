/** Characters of the standard base64 alphabet (without padding). */
const STD_BODY = /^[A-Za-z0-9+/]*$/;
/** Characters of the URL-safe base64 alphabet (without padding). */
const URL_BODY = /^[A-Za-z0-9_-]*$/;

/** The 6-bit value of one base64 character of either alphabet (the caller has validated it). */
function sextet(code: number): number {
  if (code >= 65 && code <= 90) return code - 65; // A-Z
  if (code >= 97 && code <= 122) return code - 71; // a-z
  if (code >= 48 && code <= 57) return code + 4; // 0-9
  if (code === 43 || code === 45) return 62; // + -
  return 63; // / _
}

/**
 * Decodes base64 strictly: the standard or the URL-safe alphabet (not a mix of both), padded or
 * not (padding, when present, must be exactly right), no whitespace, and canonical trailing bits
 * (so two different texts never decode to the same bytes). Returns `null` for anything else.
 *
 * @example
 * ```ts
 * decodeBase64Strict('AgE='); // <Buffer 02 01>
 * decodeBase64Strict('AgE');  // the same bytes (unpadded)
 * decodeBase64Strict('A g');  // null
 * ```
 */
export function decodeBase64Strict(text: string): Buffer | null {
  let body = text;
  let padding = 0;
  while (padding < 2 && body.endsWith('=')) {
    body = body.slice(0, -1);
    padding += 1;
  }
  if (padding > 0 && text.length % 4 !== 0) return null;
  const rest = body.length % 4;
  if (rest === 1) return null;
  if (padding === 1 && rest !== 3) return null;
  if (padding === 2 && rest !== 2) return null;
  const std = STD_BODY.test(body);
  if (!std && !URL_BODY.test(body)) return null;
  if (rest !== 0) {
    const last = sextet(body.charCodeAt(body.length - 1));
    // Two trailing chars carry 8 bits (4 unused); three carry 16 bits (2 unused).
    if ((rest === 2 && (last & 0x0f) !== 0) || (rest === 3 && (last & 0x03) !== 0)) return null;
  }
  return Buffer.from(body, std ? 'base64' : 'base64url');
}

/**
 * Encodes bytes as standard base64 with padding (Go's `base64.StdEncoding`, what Aperture writes in
 * `WWW-Authenticate` and `Authorization` headers).
 *
 * @example
 * ```ts
 * encodeBase64Std(Uint8Array.of(2, 1)); // 'AgE='
 * ```
 */
export function encodeBase64Std(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
