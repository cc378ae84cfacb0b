import { createHmac } from 'node:crypto';
import { InvalidWebhookSignatureError, timingSafeEqualString } from '@payable/core';

/**
 * The header Paddle signs its webhooks in, lower case (as the core hands headers over).
 *
 * @example
 * ```ts
 * const header = request.headers[PADDLE_SIGNATURE_HEADER]; // 'ts=1767225600;h1=…'
 * ```
 */
export const PADDLE_SIGNATURE_HEADER = 'paddle-signature';

/**
 * The default signature tolerance in seconds, both directions. Paddle's own SDK allows five
 * seconds, which refuses genuine deliveries whenever a server clock drifts or a queue in front of
 * the app holds a request for a moment; 300 s is the common choice among webhook senders and
 * still bounds replays.
 *
 * @example
 * ```ts
 * new PaddleProvider({ ...options, toleranceSeconds: PADDLE_DEFAULT_TOLERANCE_SECONDS * 2 });
 * ```
 */
export const PADDLE_DEFAULT_TOLERANCE_SECONDS = 300;

/**
 * At most this many `h1` signatures are accepted in one header (Paddle sends several while a
 * secret is rotated); a header with more is refused as malformed.
 *
 * @example
 * ```ts
 * parsePaddleSignatureHeader(`ts=1;${'h1=ab;'.repeat(PADDLE_MAX_SIGNATURES + 1)}`); // null
 * ```
 */
export const PADDLE_MAX_SIGNATURES = 8;

/** Headers longer than this are refused before parsing. */
const MAX_HEADER_LENGTH = 2048;

/**
 * A parsed `Paddle-Signature` header: its timestamp and every `h1` signature it carries.
 *
 * @example
 * ```ts
 * const parts: PaddleSignatureParts = { timestamp: 1767225600, signatures: ['ab12…'] };
 * ```
 */
export interface PaddleSignatureParts {
  /** `ts`, unix seconds. */
  timestamp: number;
  /** The `h1` values, lower case, in header order. */
  signatures: string[];
}

/**
 * Parses `ts=<unix seconds>;h1=<hex>[;h1=<hex>…]`. Unknown keys (a future `h2`) are ignored.
 * Returns `null` when the header has no `ts` or more than one, a `ts` that is not digits, no
 * `h1`, more than {@link PADDLE_MAX_SIGNATURES} of them, or is unreasonably long.
 *
 * @example
 * ```ts
 * parsePaddleSignatureHeader('ts=1767225600;h1=ab12;h1=cd34');
 * // { timestamp: 1767225600, signatures: ['ab12', 'cd34'] }
 * ```
 */
export function parsePaddleSignatureHeader(value: string): PaddleSignatureParts | null {
  if (value.length > MAX_HEADER_LENGTH) return null;
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim();
    const val = part.slice(eq + 1).trim();
    if (key === 'ts') {
      if (timestamp !== null || !/^\d{1,12}$/.test(val)) return null;
      timestamp = Number(val);
    } else if (key === 'h1') {
      if (!/^[0-9a-fA-F]{1,128}$/.test(val)) return null;
      signatures.push(val.toLowerCase());
      if (signatures.length > PADDLE_MAX_SIGNATURES) return null;
    }
  }
  if (timestamp === null || signatures.length === 0) return null;
  return { timestamp, signatures };
}

/**
 * The hex HMAC-SHA256 Paddle puts in `h1`: keyed with the endpoint's secret key, over
 * `<ts>:<raw body>` (the exact bytes received).
 *
 * @example
 * ```ts
 * paddleSignatureHex('pdl_ntfset_…', rawBody, 1767225600); // '5c0f…' (64 hex digits)
 * ```
 */
export function paddleSignatureHex(secret: string, rawBody: string | Uint8Array, timestampSeconds: number): string {
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : Buffer.from(rawBody);
  return createHmac('sha256', secret)
    .update(Buffer.concat([Buffer.from(`${timestampSeconds}:`, 'utf8'), body]))
    .digest('hex');
}

/**
 * A `Paddle-Signature` header value for `rawBody`, signed as Paddle signs: `ts=<t>;h1=<hex>`, with
 * one `h1` per secret (Paddle sends several while an endpoint's secret is being rotated). For
 * tests and local tools; Paddle signs real deliveries itself.
 *
 * @example
 * ```ts
 * const headers = { 'paddle-signature': signPaddleWebhook(secret, rawBody, Math.floor(Date.now() / 1000)) };
 * signPaddleWebhook([oldSecret, newSecret], rawBody, ts); // 'ts=…;h1=…;h1=…'
 * ```
 */
export function signPaddleWebhook(
  secrets: string | readonly string[],
  rawBody: string | Uint8Array,
  timestampSeconds: number,
): string {
  const list = typeof secrets === 'string' ? [secrets] : secrets;
  const parts = [`ts=${Math.floor(timestampSeconds)}`];
  for (const secret of list) parts.push(`h1=${paddleSignatureHex(secret, rawBody, Math.floor(timestampSeconds))}`);
  return parts.join(';');
}

/**
 * What {@link verifyPaddleSignature} checks.
 *
 * @example
 * ```ts
 * const check: PaddleSignatureCheck = { payload: rawBody, header, headerName: 'paddle-signature',
 *   secrets: [secret], now: new Date(), toleranceSeconds: 300 };
 * ```
 */
export interface PaddleSignatureCheck {
  /** The exact raw body bytes. */
  payload: Uint8Array;
  /** The header value, or `undefined` when the header is missing. */
  header: string | undefined;
  /** The header name, for the error context. */
  headerName: string;
  /** Every secret that may have signed (the current one and, while rotating, the previous ones). */
  secrets: readonly string[];
  now: Date;
  toleranceSeconds: number;
}

/**
 * Verifies a `Paddle-Signature` over the exact raw bytes: some `h1` matches some secret (every
 * pair is compared, each in constant time, with no early exit) and `ts` lies within
 * `toleranceSeconds` of `now`, in the past or in the future. Throws `InvalidWebhookSignatureError`
 * with `context.reason` one of `missing_header`, `malformed_header`, `signature_mismatch`,
 * `timestamp_outside_tolerance`.
 *
 * @example
 * ```ts
 * verifyPaddleSignature({ payload, header: headers['paddle-signature'], headerName: 'paddle-signature',
 *   secrets: [process.env.PADDLE_WEBHOOK_SECRET!], now: new Date(), toleranceSeconds: 300 });
 * ```
 */
export function verifyPaddleSignature(check: PaddleSignatureCheck): void {
  const context = { provider: 'paddle', header: check.headerName };
  if (check.header === undefined || check.header.trim() === '') {
    throw new InvalidWebhookSignatureError(`The ${check.headerName} header is missing.`, {
      context: { ...context, reason: 'missing_header' },
    });
  }
  const parts = parsePaddleSignatureHeader(check.header);
  if (parts === null) {
    throw new InvalidWebhookSignatureError(
      `The ${check.headerName} header is not of the form ts=<seconds>;h1=<hex> (at most ${PADDLE_MAX_SIGNATURES} h1).`,
      { context: { ...context, reason: 'malformed_header' } },
    );
  }
  let matched = false;
  for (const secret of check.secrets) {
    const expected = paddleSignatureHex(secret, check.payload, parts.timestamp);
    for (const candidate of parts.signatures) {
      if (timingSafeEqualString(candidate, expected)) matched = true;
    }
  }
  if (!matched) {
    throw new InvalidWebhookSignatureError(
      'No h1 signature in the header matches the payload and a configured secret.',
      {
        context: { ...context, reason: 'signature_mismatch' },
      },
    );
  }
  const skewSeconds = check.now.getTime() / 1000 - parts.timestamp;
  if (!Number.isFinite(skewSeconds) || Math.abs(skewSeconds) > check.toleranceSeconds) {
    throw new InvalidWebhookSignatureError('The signature timestamp is outside the tolerance.', {
      context: {
        ...context,
        reason: 'timestamp_outside_tolerance',
        toleranceSeconds: check.toleranceSeconds,
        direction: skewSeconds > 0 ? 'past' : 'future',
      },
    });
  }
}
