import { createHmac, randomBytes } from 'node:crypto';
import { InvalidWebhookSignatureError, ValidationError } from '../errors/index.js';
import type { DomainEvent } from '../facade/types.js';
import type { WebhookScheme } from '../storage/types.js';
import { timingSafeEqualString } from '../util/timing-safe.js';

const SECRET_PREFIX = 'whsec_';
const DEFAULT_TOLERANCE_SECONDS = 300;

/**
 * Why `verifyWebhook` refused a delivery (`InvalidWebhookSignatureError#context.reason`).
 *
 * @example
 * ```ts
 * if (isPayableError(e) && e.context.reason === 'timestamp_out_of_tolerance') logger.warn({ reason: e.context.reason }, 'clock skew or replay');
 * ```
 */
export type WebhookSignatureFailureReason =
  | 'missing_headers'
  | 'timestamp_out_of_tolerance'
  | 'no_matching_signature'
  | 'malformed_header'
  | 'invalid_json';

/**
 * Input of {@link signWebhook}.
 *
 * @example
 * ```ts
 * const input: SignWebhookInput = { scheme: 'standard-webhooks', id: event.id, timestamp: 1674087231, body, secrets: [secret] };
 * ```
 */
export interface SignWebhookInput {
  scheme: WebhookScheme;
  /** The message id receivers deduplicate on (the event id). No `.`, spaces or control characters. */
  id: string;
  /** Unix seconds of this attempt. */
  timestamp: number;
  /** The exact body that is sent. */
  body: string;
  /** One or more secrets; during a rotation both the new and the old secret sign. */
  secrets: string[];
}

/**
 * Input of {@link verifyWebhook}.
 *
 * @example
 * ```ts
 * const input: VerifyWebhookInput = { payload: req.body, headers: req.headers, secret: process.env.PAYABLE_WEBHOOK_SECRET! };
 * ```
 */
export interface VerifyWebhookInput {
  /** The raw request body, exactly as received (never re-serialized JSON). */
  payload: string | Uint8Array;
  /** The request headers, names in any case (Node's `req.headers` works as is). */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The endpoint's secret, or several (any one of them verifying is enough). */
  secret: string | string[];
  /** Default `standard-webhooks`. */
  scheme?: WebhookScheme;
  /** How far the signature's timestamp may be from now, both ways, in seconds. Default 300. */
  toleranceSeconds?: number;
  /** The current time (tests). Default: the system clock. */
  now?: Date;
}

/**
 * A new endpoint signing secret: `whsec_` followed by the base64 of 32 random bytes, the format the
 * Standard Webhooks libraries (and svix) accept as is.
 *
 * @example
 * ```ts
 * generateWebhookSecret(); // 'whsec_Q2hhbmdlIG1lIHRvIDMyIHJhbmRvbSBieXRlcyBwbGVhc2U='
 * ```
 */
export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

function standardKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return Buffer.from(encoded, 'base64');
}

function standardSignature(key: Buffer, id: string, timestamp: string, body: string | Uint8Array): string {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
}

function payableSignature(secret: string, timestamp: string, body: string | Uint8Array): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

// Printable ASCII without space and '.', so `id.timestamp.body` stays unambiguous and the id is a
// valid header value.
const ID_PATTERN = /^[\x21-\x2d\x2f-\x7e]+$/;

/**
 * Signs an outbound webhook: the headers to send with `body`, lowercase names.
 *
 * - `standard-webhooks`: `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64>`
 *   (HMAC-SHA256 over `id.timestamp.body`, keyed with the base64-decoded part of the `whsec_` secret),
 *   as the Standard Webhooks specification says; several secrets give several space-separated signatures.
 * - `payable-v1`: `payable-signature: t=<timestamp>,v1=<hex>` (HMAC-SHA256 over `{t}.{body}`, keyed with
 *   the secret string's UTF-8 bytes; one `v1=` per secret, in the order given), plus `webhook-id` and
 *   `webhook-timestamp` so receivers can deduplicate.
 *
 * @throws ValidationError when the id, timestamp or secrets are unusable.
 * @example
 * ```ts
 * const headers = signWebhook({ scheme: 'standard-webhooks', id: event.id, timestamp: Math.floor(Date.now() / 1000), body, secrets: [secret] });
 * // { 'webhook-id': 'evt_…', 'webhook-timestamp': '1674087231', 'webhook-signature': 'v1,K5oZ…' }
 * ```
 */
export function signWebhook(input: SignWebhookInput): Record<string, string> {
  const { scheme, id, timestamp, body, secrets } = input;
  if (!ID_PATTERN.test(id)) {
    throw new ValidationError('A webhook id must be printable ASCII without spaces or dots.', {
      context: { field: 'id', reason: 'invalid' },
    });
  }
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new ValidationError('A webhook timestamp must be a non-negative integer of unix seconds.', {
      context: { field: 'timestamp', reason: 'invalid' },
    });
  }
  if (secrets.length === 0 || secrets.some((s) => typeof s !== 'string' || s.length === 0)) {
    throw new ValidationError('At least one non-empty signing secret is required.', {
      context: { field: 'secrets', reason: 'required' },
    });
  }
  const ts = String(timestamp);
  if (scheme === 'standard-webhooks') {
    const signatures = secrets.map((secret) => {
      const key = standardKey(secret);
      if (key.length === 0) {
        throw new ValidationError('A standard-webhooks secret must be `whsec_` followed by base64.', {
          context: { field: 'secrets', reason: 'invalid' },
        });
      }
      return `v1,${standardSignature(key, id, ts, body)}`;
    });
    return { 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': signatures.join(' ') };
  }
  if (scheme === 'payable-v1') {
    const signatures = secrets.map((secret) => `v1=${payableSignature(secret, ts, body)}`);
    return { 'webhook-id': id, 'webhook-timestamp': ts, 'payable-signature': [`t=${ts}`, ...signatures].join(',') };
  }
  throw new ValidationError(`Unknown webhook signature scheme "${String(scheme)}".`, {
    context: { field: 'scheme', reason: 'unknown' },
  });
}

function refuse(reason: WebhookSignatureFailureReason, scheme: WebhookScheme, message: string): never {
  throw new InvalidWebhookSignatureError(message, { context: { reason, scheme } });
}

function headerValue(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  name: string,
  separator: string,
): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined || key.toLowerCase() !== name) continue;
    const joined = Array.isArray(value) ? value.join(separator) : value;
    return joined.trim() === '' ? undefined : joined.trim();
  }
  return undefined;
}

function parseTimestamp(raw: string, scheme: WebhookScheme): number {
  if (!/^\d{1,15}$/.test(raw)) refuse('malformed_header', scheme, 'The webhook timestamp is not unix seconds.');
  return Number(raw);
}

function checkTolerance(timestamp: number, now: Date, toleranceSeconds: number, scheme: WebhookScheme): void {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) {
    refuse(
      'timestamp_out_of_tolerance',
      scheme,
      `The webhook timestamp is more than ${toleranceSeconds} s away from now (a replay or a skewed clock).`,
    );
  }
}

function verifyStandard(
  payload: string | Uint8Array,
  input: VerifyWebhookInput,
  secrets: string[],
  now: Date,
  tolerance: number,
): void {
  const scheme: WebhookScheme = 'standard-webhooks';
  const id = headerValue(input.headers, 'webhook-id', ',');
  const rawTimestamp = headerValue(input.headers, 'webhook-timestamp', ',');
  const rawSignature = headerValue(input.headers, 'webhook-signature', ' ');
  if (id === undefined || rawTimestamp === undefined || rawSignature === undefined) {
    refuse('missing_headers', scheme, 'The webhook-id, webhook-timestamp and webhook-signature headers are required.');
  }
  const timestamp = parseTimestamp(rawTimestamp, scheme);
  const received: string[] = [];
  let wellFormed = 0;
  for (const part of rawSignature.split(' ')) {
    if (part === '') continue;
    const comma = part.indexOf(',');
    if (comma <= 0 || comma === part.length - 1) continue;
    wellFormed++;
    // Unknown versions (e.g. `v1a,` asymmetric signatures) are ignored.
    if (part.slice(0, comma) === 'v1') received.push(part.slice(comma + 1));
  }
  if (wellFormed === 0)
    refuse('malformed_header', scheme, 'The webhook-signature header holds no `version,signature`.');
  checkTolerance(timestamp, now, tolerance, scheme);
  for (const secret of secrets) {
    const expected = standardSignature(standardKey(secret), id, rawTimestamp, payload);
    for (const signature of received) {
      if (timingSafeEqualString(signature, expected)) return;
    }
  }
  refuse('no_matching_signature', scheme, 'No webhook signature matches the secret.');
}

function verifyPayable(
  payload: string | Uint8Array,
  input: VerifyWebhookInput,
  secrets: string[],
  now: Date,
  tolerance: number,
): void {
  const scheme: WebhookScheme = 'payable-v1';
  const header = headerValue(input.headers, 'payable-signature', ',');
  if (header === undefined) refuse('missing_headers', scheme, 'The Payable-Signature header is required.');
  let rawTimestamp: string | undefined;
  const received: string[] = [];
  for (const part of header.split(',')) {
    const item = part.trim();
    const eq = item.indexOf('=');
    if (eq <= 0) continue;
    const key = item.slice(0, eq);
    const value = item.slice(eq + 1);
    if (key === 't') {
      if (rawTimestamp !== undefined) refuse('malformed_header', scheme, 'The Payable-Signature header has two `t=`.');
      rawTimestamp = value;
    } else if (key === 'v1') {
      received.push(value.toLowerCase());
    }
    // Other keys (future versions) are ignored.
  }
  if (rawTimestamp === undefined) refuse('malformed_header', scheme, 'The Payable-Signature header has no `t=`.');
  const timestamp = parseTimestamp(rawTimestamp, scheme);
  checkTolerance(timestamp, now, tolerance, scheme);
  for (const secret of secrets) {
    const expected = payableSignature(secret, rawTimestamp, payload);
    for (const signature of received) {
      if (timingSafeEqualString(signature, expected)) return;
    }
  }
  refuse('no_matching_signature', scheme, 'No webhook signature matches the secret.');
}

/**
 * Verifies a webhook Payable sent (for receivers) over the exact raw body and returns the parsed
 * body. Signatures are compared in constant time; any of several signatures (a secret rotation) or
 * of several secrets is enough; unknown signature versions are ignored; the timestamp must be within
 * `toleranceSeconds` of now, both ways.
 *
 * @throws InvalidWebhookSignatureError with `context.reason`: `missing_headers`, `malformed_header`,
 *   `timestamp_out_of_tolerance`, `no_matching_signature` or `invalid_json`.
 * @throws ValidationError when no secret is given.
 * @example
 * ```ts
 * app.post('/hooks/payable', express.raw({ type: 'application/json' }), (req, res) => {
 *   const event = verifyWebhook({ payload: req.body, headers: req.headers, secret: process.env.PAYABLE_WEBHOOK_SECRET! });
 *   logger.info({ eventId: event.id, type: event.type }, 'payable event');
 *   res.sendStatus(204);
 * });
 * ```
 */
export function verifyWebhook<T = DomainEvent>(input: VerifyWebhookInput): T {
  const scheme = input.scheme ?? 'standard-webhooks';
  const secrets = (Array.isArray(input.secret) ? input.secret : [input.secret]).filter(
    (s) => typeof s === 'string' && s.length > 0,
  );
  if (secrets.length === 0) {
    throw new ValidationError('verifyWebhook needs the endpoint secret.', {
      context: { field: 'secret', reason: 'required' },
    });
  }
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = input.now ?? new Date();
  const payload = input.payload;
  if (typeof payload !== 'string' && !(payload instanceof Uint8Array)) {
    refuse('invalid_json', scheme, 'The webhook payload must be the raw body (a string or bytes), not parsed JSON.');
  }
  if (scheme === 'standard-webhooks') verifyStandard(payload, input, secrets, now, tolerance);
  else if (scheme === 'payable-v1') verifyPayable(payload, input, secrets, now, tolerance);
  else {
    throw new ValidationError(`Unknown webhook signature scheme "${String(scheme)}".`, {
      context: { field: 'scheme', reason: 'unknown' },
    });
  }
  const text = typeof payload === 'string' ? payload : new TextDecoder().decode(payload);
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new InvalidWebhookSignatureError('The webhook body is not valid JSON.', {
      context: { reason: 'invalid_json', scheme },
      cause,
    });
  }
}
