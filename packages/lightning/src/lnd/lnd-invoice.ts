import {
  type Clock,
  lightningEventId,
  type NormalizedEvent,
  type PaymentStatus,
  type ProviderPayment,
  type SettlementUpdate,
} from '@payable/core';

/**
 * An invoice as LND's REST API shows it (`lnrpc.Invoice`): 64-bit integers as strings, bytes as base64.
 *
 * @example
 * ```ts
 * const invoice: LndInvoice = { r_hash: 'n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=', value_msat: '2500000', state: 'OPEN' };
 * ```
 */
export interface LndInvoice {
  memo?: string;
  r_preimage?: string | null;
  r_hash?: string;
  value?: string;
  value_msat?: string;
  settled?: boolean;
  creation_date?: string;
  settle_date?: string;
  payment_request?: string;
  description_hash?: string | null;
  expiry?: string;
  add_index?: string;
  settle_index?: string;
  amt_paid_sat?: string;
  amt_paid_msat?: string;
  state?: 'OPEN' | 'SETTLED' | 'CANCELED' | 'ACCEPTED' | string;
}

/** Base64 bytes (as LND's JSON carries them) to lower-case hex; `null` when empty. Internal. */
export function base64ToHex(value: string | null | undefined): string | null {
  if (!value) return null;
  const hex = Buffer.from(value, 'base64').toString('hex');
  return hex === '' ? null : hex;
}

/** Lower-case hex to base64 (for LND's `bytes` fields). Internal. */
export function hexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

function int(value: string | undefined): bigint {
  return value && /^\d+$/.test(value) ? BigInt(value) : 0n;
}

function stateOf(invoice: LndInvoice): string {
  return invoice.state ?? (invoice.settled ? 'SETTLED' : 'OPEN');
}

/** When the invoice stops being payable: its creation date plus its expiry. Internal. */
export function invoiceExpiresAt(invoice: LndInvoice): Date | null {
  const created = int(invoice.creation_date);
  if (created === 0n) return null;
  return new Date(Number((created + int(invoice.expiry)) * 1000n));
}

/**
 * The payment status of an LND invoice: `OPEN` → pending (expired once its expiry has passed),
 * `ACCEPTED` (a hold invoice's HTLC is held) → processing, `SETTLED` → succeeded (Payable then
 * checks the preimage and the amount paid), `CANCELED` → canceled, or expired when it was canceled
 * at or after its expiry (LND cancels expired invoices itself).
 *
 * @example
 * ```ts
 * lndPaymentStatus({ state: 'ACCEPTED' }, new Date()); // 'processing'
 * ```
 */
export function lndPaymentStatus(invoice: LndInvoice, now: Date): PaymentStatus {
  const expiresAt = invoiceExpiresAt(invoice);
  const expired = expiresAt !== null && now.getTime() >= expiresAt.getTime();
  switch (stateOf(invoice)) {
    case 'SETTLED':
      return 'succeeded';
    case 'ACCEPTED':
      return 'processing';
    case 'CANCELED':
      return expired ? 'expired' : 'canceled';
    default:
      return expired ? 'expired' : 'pending';
  }
}

/**
 * Map an LND invoice to Payable's payment (`providerId` = the payment hash, hex). The preimage is
 * only reported for a settled invoice (the node knows every preimage it issued; only a settlement
 * makes one a receipt). Amounts: `amount` in satoshis, `lightning.amountMsat`/`amountPaidMsat` exact.
 *
 * @example
 * ```ts
 * const payment = lndInvoiceToPayment(await res.json(), new Date()); // { providerId: '9f86…', status: 'pending', ... }
 * ```
 */
export function lndInvoiceToPayment(invoice: LndInvoice, now: Date): ProviderPayment {
  const paymentHash = base64ToHex(invoice.r_hash) ?? '';
  const state = stateOf(invoice);
  const valueMsat = invoice.value_msat ?? String(int(invoice.value) * 1000n);
  const paid = state === 'SETTLED' || state === 'ACCEPTED';
  return {
    providerId: paymentHash,
    status: lndPaymentStatus(invoice, now),
    amount: Number(int(invoice.value) || int(valueMsat) / 1000n),
    currency: 'BTC',
    description: invoice.memo ? invoice.memo : null,
    expiresAt: invoiceExpiresAt(invoice),
    lightning: {
      paymentRequest: invoice.payment_request ?? '',
      paymentHash,
      amountMsat: valueMsat === '0' ? null : valueMsat,
      amountPaidMsat: paid ? (invoice.amt_paid_msat ?? String(int(invoice.amt_paid_sat) * 1000n)) : null,
      preimage: state === 'SETTLED' ? base64ToHex(invoice.r_preimage) : null,
      quote: null,
    },
  };
}

/**
 * The inbox update for one message of LND's invoice stream (`{"result": Invoice}`): settled →
 * `payment.succeeded` (cursor: its settle index), accepted → `payment.processing`, canceled →
 * `payment.canceled` or `payment.expired`; an invoice just added (`OPEN`) is no update (`null`).
 * Event ids are stable: `lnd:<payment_hash>:<settled|accepted|canceled>`.
 *
 * @example
 * ```ts
 * const update = lndStreamUpdate(message.result, line, clock); // { event: { id: 'lnd:9f86…:settled', ... }, cursor: '42' }
 * ```
 */
export function lndStreamUpdate(invoice: LndInvoice, payload: string, clock: Clock): SettlementUpdate | null {
  const state = stateOf(invoice);
  if (state !== 'SETTLED' && state !== 'ACCEPTED' && state !== 'CANCELED') return null;
  const now = clock.now();
  const payment = lndInvoiceToPayment(invoice, now);
  if (!payment.providerId) return null;
  const settled = state === 'SETTLED';
  const settledAt = int(invoice.settle_date);
  const event: NormalizedEvent = {
    id: lightningEventId(
      'lnd',
      payment.providerId,
      settled ? 'settled' : state === 'ACCEPTED' ? 'accepted' : 'canceled',
    ),
    type: settled
      ? 'payment.succeeded'
      : state === 'ACCEPTED'
        ? 'payment.processing'
        : payment.status === 'expired'
          ? 'payment.expired'
          : 'payment.canceled',
    providerType: `invoice.${state}`,
    createdAt: settled && settledAt > 0n ? new Date(Number(settledAt * 1000n)) : now,
    object: { kind: 'payment', ...payment },
  };
  const settleIndex = int(invoice.settle_index);
  return { event, payload, cursor: settled && settleIndex > 0n ? settleIndex.toString() : null };
}
