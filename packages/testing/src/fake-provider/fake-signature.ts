import { createHmac } from 'node:crypto';
import { InvalidWebhookSignatureError, timingSafeEqualString } from '@payable/core';

/** The header `FakeProvider` signs its webhooks in (lower case, as the core hands headers over). */
export const FAKE_SIGNATURE_HEADER = 'x-fake-signature';

/** The webhook secret a `FakeProvider` uses when none is given. A test value: never a real secret. */
export const FAKE_WEBHOOK_SECRET = 'whsec_fake_test_secret';

/** How far (in seconds, both directions) a signature timestamp may be from `now` by default. */
export const FAKE_DEFAULT_TOLERANCE_SECONDS = 300;

/**
 * The signature header value of the fake scheme: `t=<unix seconds>,v1=<hex>` where the hex is
 * HMAC-SHA256 keyed with `secret` over `${t}.${rawBody}` (the Stripe scheme, under another name).
 *
 * @example
 * ```ts
 * fakeSignatureValue('whsec_fake_test_secret', '{"id":"evt_1"}', 1767225600);
 * // 't=1767225600,v1=5c0f…'
 * ```
 */
export function fakeSignatureValue(secret: string, rawBody: string | Uint8Array, timestampSeconds: number): string {
  return `t=${timestampSeconds},v1=${fakeSignatureHex(secret, rawBody, timestampSeconds)}`;
}

function fakeSignatureHex(secret: string, rawBody: string | Uint8Array, timestampSeconds: number): string {
  // HMAC over `${t}.` then the body's bytes, as they are (no copy of the body).
  return createHmac('sha256', secret).update(`${timestampSeconds}.`, 'utf8').update(rawBody).digest('hex');
}

/** A parsed fake signature header: its timestamp and every `v1` signature it carries. */
export interface FakeSignatureParts {
  timestamp: number;
  signatures: string[];
}

/**
 * Parses `t=…,v1=…[,v1=…]`. Unknown keys (a future `v2`) are ignored; several `v1` entries are
 * kept (secret rotation). Returns `null` when there is no integer `t` or no `v1`.
 *
 * @example
 * ```ts
 * parseFakeSignatureHeader('t=1767225600,v1=ab,v1=cd'); // { timestamp: 1767225600, signatures: ['ab', 'cd'] }
 * ```
 */
export function parseFakeSignatureHeader(value: string): FakeSignatureParts | null {
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim();
    const val = part.slice(eq + 1).trim();
    if (key === 't') {
      if (timestamp !== null || !/^\d{1,15}$/.test(val)) return null;
      timestamp = Number(val);
    } else if (key === 'v1' && val.length > 0) {
      signatures.push(val);
    }
  }
  if (timestamp === null || signatures.length === 0) return null;
  return { timestamp, signatures };
}

/** What {@link verifyFakeSignature} checks. */
export interface FakeSignatureCheck {
  payload: Uint8Array;
  /** The header value, or `undefined` when the header is missing. */
  header: string | undefined;
  /** The header name, for the error context. */
  headerName: string;
  secret: string;
  now: Date;
  toleranceSeconds: number;
}

/**
 * Verifies a fake signature over the exact raw bytes: any `v1` matching (compared in constant
 * time) and a timestamp within `toleranceSeconds` of `now`, in the past or the future. Throws
 * `InvalidWebhookSignatureError` with `context.reason` one of `missing_header`, `malformed_header`,
 * `signature_mismatch`, `timestamp_outside_tolerance`.
 *
 * @example
 * ```ts
 * verifyFakeSignature({ payload, header: headers['x-fake-signature'], headerName: 'x-fake-signature',
 *   secret: FAKE_WEBHOOK_SECRET, now: new Date(), toleranceSeconds: 300 });
 * ```
 */
export function verifyFakeSignature(check: FakeSignatureCheck): void {
  const context = { provider: 'fake', header: check.headerName };
  if (check.header === undefined || check.header.trim() === '') {
    throw new InvalidWebhookSignatureError(`The ${check.headerName} header is missing.`, {
      context: { ...context, reason: 'missing_header' },
    });
  }
  const parts = parseFakeSignatureHeader(check.header);
  if (parts === null) {
    throw new InvalidWebhookSignatureError(`The ${check.headerName} header is not of the form t=<seconds>,v1=<hex>.`, {
      context: { ...context, reason: 'malformed_header' },
    });
  }
  const expected = fakeSignatureHex(check.secret, check.payload, parts.timestamp);
  let matched = false;
  for (const candidate of parts.signatures) {
    // Every candidate is compared (no early exit), each in constant time.
    if (timingSafeEqualString(candidate.toLowerCase(), expected)) matched = true;
  }
  if (!matched) {
    throw new InvalidWebhookSignatureError('No signature in the header matches the payload and the secret.', {
      context: { ...context, reason: 'signature_mismatch' },
    });
  }
  const ageSeconds = check.now.getTime() / 1000 - parts.timestamp;
  if (!Number.isFinite(ageSeconds) || Math.abs(ageSeconds) > check.toleranceSeconds) {
    throw new InvalidWebhookSignatureError('The signature timestamp is outside the tolerance.', {
      context: { ...context, reason: 'timestamp_outside_tolerance', toleranceSeconds: check.toleranceSeconds },
    });
  }
}
