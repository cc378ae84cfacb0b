import { createHmac } from 'node:crypto';
import { timingSafeEqualString } from '@payable/core';
import { invalidSignature } from '../common/webhook.js';

/** The most `v1` signatures one header may carry (several during a secret rotation). */
const MAX_SIGNATURES = 8;

/**
 * Checks `X-LightningEnable-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`: the HMAC-SHA256 of
 * `<t>.<raw body>` with `secret` must equal one of the `v1` values (constant-time), and `t` must be
 * within `toleranceSeconds` of `now` in both directions. Returns the signature time; throws
 * `INVALID_WEBHOOK_SIGNATURE` with a stable `context.reason` otherwise.
 */
export function verifyLightningEnableSignature(
  header: string,
  payload: Buffer,
  secret: string,
  now: Date,
  toleranceSeconds: number,
): Date {
  let timestamp: string | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const trimmed = part.trim();
    const eq = trimmed.indexOf('=');
    if (eq < 0) continue;
    const key = trimmed.slice(0, eq);
    const value = trimmed.slice(eq + 1).trim();
    if (key === 't' && timestamp === undefined) timestamp = value;
    else if (key === 'v1' && value !== '') signatures.push(value.toLowerCase());
  }
  if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp) || signatures.length === 0) {
    throw invalidSignature(
      'lightning-enable',
      'The X-LightningEnable-Signature header is not "t=<timestamp>,v1=<signature>".',
      'malformed_header',
    );
  }
  if (signatures.length > MAX_SIGNATURES) {
    throw invalidSignature(
      'lightning-enable',
      'The signature header carries too many v1 signatures.',
      'too_many_signatures',
    );
  }
  const seconds = Number(timestamp);
  const age = now.getTime() / 1000 - seconds;
  if (Math.abs(age) > toleranceSeconds) {
    throw invalidSignature(
      'lightning-enable',
      `The webhook signature time is ${Math.round(Math.abs(age))} s ${age > 0 ? 'old' : 'ahead'}, beyond the ${toleranceSeconds} s tolerance: a replay, or a clock out of sync.`,
      'timestamp_outside_tolerance',
    );
  }
  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(payload).digest('hex');
  let matched = false;
  for (const candidate of signatures) if (timingSafeEqualString(candidate, expected)) matched = true;
  if (!matched) {
    throw invalidSignature(
      'lightning-enable',
      'No v1 signature matches: check the webhook secret, that the raw body reaches Payable, and that nothing re-serialized it.',
      'mismatch',
    );
  }
  return new Date(seconds * 1000);
}
