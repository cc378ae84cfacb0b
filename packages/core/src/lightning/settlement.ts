import { createHash } from 'node:crypto';
import { ProviderError } from '../errors/classes.js';
import type { PayableError } from '../errors/payable-error.js';
import type { LightningDetails, PaymentRecord, PaymentStatus } from '../records/types.js';
import { timingSafeEqualString } from '../util/timing-safe.js';

/**
 * The underpayment Payable forgives, in parts per million of the invoice amount: 1000 ppm = 0.1 %,
 * to absorb millisatoshi rounding along a route. A shortfall of at most this counts as paid.
 *
 * @example
 * ```ts
 * const forgivenMsat = (amountMsat * LIGHTNING_UNDERPAYMENT_TOLERANCE_PPM) / 1_000_000n;
 * ```
 */
export const LIGHTNING_UNDERPAYMENT_TOLERANCE_PPM = 1000n;

const HEX_32 = /^[0-9a-f]{64}$/i;

function toMsat(value: bigint | string | number, field: string): bigint {
  if (typeof value === 'bigint') return value;
  const text = String(value);
  if (!/^\d+$/.test(text)) throw new TypeError(`${field} must be a non-negative integer of millisatoshis`);
  return BigInt(text);
}

/**
 * Whether a Lightning payment of `amountPaidMsat` settles an invoice of `amountMsat`: `'succeeded'`
 * when it pays at least 99.9 % of it (an overpayment is accepted and recorded), `'underpaid'`
 * below that. An invoice without an amount (`null`) is paid by any amount. The one function every
 * Lightning provider's settlement goes through (exact integer math, no floats).
 *
 * @example
 * ```ts
 * lightningSettlementStatus('1000000', '999000'); // 'succeeded' (0.1 % short)
 * lightningSettlementStatus('1000000', '998999'); // 'underpaid'
 * lightningSettlementStatus('1000000', '1500000'); // 'succeeded' (overpaid)
 * ```
 */
export function lightningSettlementStatus(
  amountMsat: bigint | string | number | null,
  amountPaidMsat: bigint | string | number,
): 'succeeded' | 'underpaid' {
  const paid = toMsat(amountPaidMsat, 'amountPaidMsat');
  if (amountMsat === null) return paid > 0n ? 'succeeded' : 'underpaid';
  const amount = toMsat(amountMsat, 'amountMsat');
  const shortfall = amount - paid;
  return shortfall * 1_000_000n <= amount * LIGHTNING_UNDERPAYMENT_TOLERANCE_PPM ? 'succeeded' : 'underpaid';
}

/**
 * Whether `preimage` (64 hex characters) is the preimage of `paymentHash`: `sha256(preimage) ==
 * paymentHash`, compared in constant time. Anything malformed is `false`.
 *
 * @example
 * ```ts
 * verifyPreimage(receipt.preimage, payment.lightning.paymentHash); // true for a genuine receipt
 * ```
 */
export function verifyPreimage(preimage: string, paymentHash: string): boolean {
  if (typeof preimage !== 'string' || typeof paymentHash !== 'string') return false;
  if (!HEX_32.test(preimage) || !HEX_32.test(paymentHash)) return false;
  const derived = createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex');
  return timingSafeEqualString(derived, paymentHash.toLowerCase());
}

/**
 * The state of a Lightning invoice an inbox event reports (the last part of its event id).
 *
 * @example
 * ```ts
 * const state: LightningEventState = 'settled';
 * ```
 */
export type LightningEventState = 'settled' | 'accepted' | 'canceled' | 'expired';

/**
 * The stable inbox event id of a Lightning invoice update: `<provider>:<payment_hash>:<state>`,
 * e.g. `lnd:9f86…08:settled`. The settlement stream and the listener's catch-up both use it, so
 * the same settlement seen twice is stored once.
 *
 * @example
 * ```ts
 * lightningEventId('lnd', paymentHash, 'settled'); // 'lnd:<payment_hash>:settled'
 * ```
 */
export function lightningEventId(provider: string, paymentHash: string, state: LightningEventState): string {
  return `${provider}:${paymentHash.toLowerCase()}:${state}`;
}

const refusals = new WeakSet<object>();

/** Whether `error` is a refused Lightning settlement: retrying cannot change the answer. */
export function isRefusedSettlement(error: unknown): error is PayableError {
  return typeof error === 'object' && error !== null && refusals.has(error);
}

function refuse(reason: 'preimage_mismatch' | 'preimage_missing', paymentHash: string, message: string): PayableError {
  const error = new ProviderError(message, { context: { reason, paymentHash } });
  refusals.add(error);
  return error;
}

/** Whether a status means money arrived (the statuses a settlement moves a payment to). */
function isSettlement(status: PaymentStatus): boolean {
  return status === 'succeeded' || status === 'underpaid';
}

/**
 * Check and complete a Lightning payment about to be written (`incoming`, over `existing` when the
 * record exists). Payable's own settlement rules, whatever the provider says:
 *
 * - a settlement (`succeeded` / `underpaid`) is credited only with a preimage whose SHA-256 is the
 *   payment hash stored when the invoice was created; a mismatch throws `PROVIDER_ERROR`
 *   (`context.reason: 'preimage_mismatch'`), as does a missing preimage when `proof` is
 *   `'preimage'`. The preimage is kept as the receipt (lower-case hex).
 * - the status of a settlement is decided here from the amounts: see {@link lightningSettlementStatus}.
 * - a preimage reported before settlement is not stored (a node knows its own preimages).
 * - the invoice's expiry is never moved: an expired invoice is not extended.
 *
 * Payments without Lightning details are returned unchanged.
 */
export function settleLightningPayment(
  existing: PaymentRecord | null,
  incoming: PaymentRecord,
  proof: 'preimage' | 'none',
): PaymentRecord {
  const stored = existing?.lightning ?? null;
  const reported = incoming.lightning;
  if (!stored && !reported) return incoming;
  const base = (reported ?? stored) as LightningDetails;
  const paymentHash = (stored?.paymentHash ?? base.paymentHash).toLowerCase();
  const expiresAt = existing?.expiresAt ?? incoming.expiresAt;
  if (!isSettlement(incoming.status)) {
    return {
      ...incoming,
      expiresAt,
      lightning: reported
        ? { ...reported, preimage: stored?.preimage ?? null, quote: stored?.quote ?? reported.quote }
        : reported,
    };
  }
  const offered = reported?.preimage ?? null;
  if (offered !== null && !verifyPreimage(offered, paymentHash)) {
    throw refuse(
      'preimage_mismatch',
      paymentHash,
      `Lightning settlement refused: the preimage's SHA-256 is not the payment hash ${paymentHash}. Nothing was credited.`,
    );
  }
  const preimage = offered?.toLowerCase() ?? stored?.preimage ?? null;
  if (preimage === null && proof === 'preimage') {
    throw refuse(
      'preimage_missing',
      paymentHash,
      `Lightning settlement refused: no preimage came with the settlement of ${paymentHash}, and the provider proves settlements with one (settlementProof 'preimage'). Nothing was credited.`,
    );
  }
  const amountMsat = stored?.amountMsat ?? reported?.amountMsat ?? null;
  const amountPaidMsat = reported?.amountPaidMsat ?? stored?.amountPaidMsat ?? null;
  const status = amountPaidMsat === null ? incoming.status : lightningSettlementStatus(amountMsat, amountPaidMsat);
  return {
    ...incoming,
    status,
    expiresAt,
    lightning: { ...base, paymentHash, amountMsat, amountPaidMsat, preimage, quote: stored?.quote ?? base.quote },
  };
}
