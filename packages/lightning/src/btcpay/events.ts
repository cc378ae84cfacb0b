import type { PayableEventType, PaymentStatus } from '@payable/core';

/**
 * BTCPay webhook event types and the Payable event each becomes. Any other type (`InvoiceCreated`,
 * payout and payment-request events, …) is `unknown` and changes no payment.
 *
 * `InvoicePaymentSettled` says that *one payment* to the invoice settled, not that the invoice is
 * paid in full (BTCPay sends `InvoiceSettled` for that), so it is `payment.processing`; the invoice
 * is re-fetched anyway, so a fully paid invoice reads `succeeded` whichever event arrives first.
 * `InvoiceExpired` with `partiallyPaid: true` is `payment.underpaid`.
 *
 * @example
 * ```ts
 * BTCPAY_EVENT_TYPES.InvoiceSettled; // 'payment.succeeded'
 * ```
 */
export const BTCPAY_EVENT_TYPES = {
  InvoiceSettled: 'payment.succeeded',
  InvoiceExpired: 'payment.expired',
  InvoiceInvalid: 'payment.failed',
  InvoiceReceivedPayment: 'payment.processing',
  InvoiceProcessing: 'payment.processing',
  InvoicePaymentSettled: 'payment.processing',
} as const satisfies Record<string, PayableEventType>;

/** A BTCPay webhook event type Payable maps. */
export type BtcpayEventType = keyof typeof BTCPAY_EVENT_TYPES;

/** The payment status each Payable event type of a BTCPay webhook stands for (before the re-fetch). */
export const BTCPAY_EVENT_STATUS: Record<
  (typeof BTCPAY_EVENT_TYPES)[BtcpayEventType] | 'payment.underpaid',
  PaymentStatus
> = {
  'payment.succeeded': 'succeeded',
  'payment.expired': 'expired',
  'payment.underpaid': 'underpaid',
  'payment.failed': 'failed',
  'payment.processing': 'processing',
};

/**
 * The Payable status of a BTCPay invoice, from its `status` and `additionalStatus`:
 *
 * | `status` | `additionalStatus` | Payable |
 * |---|---|---|
 * | `New` | any | `pending` |
 * | `Processing` | any | `processing` (paid, waiting for confirmations) |
 * | `Settled` | any (`PaidOver`, `Marked`, …) | `succeeded` |
 * | `Expired` | `PaidPartial` | `underpaid` |
 * | `Expired` | other | `expired` |
 * | `Invalid` | any | `failed` |
 *
 * An unknown status is `pending`.
 *
 * @example
 * ```ts
 * btcpayInvoiceStatus('Settled', 'None'); // 'succeeded'
 * btcpayInvoiceStatus('Expired', 'PaidPartial'); // 'underpaid'
 * ```
 */
export function btcpayInvoiceStatus(status: string, additionalStatus?: string | null): PaymentStatus {
  switch (status) {
    case 'Processing':
      return 'processing';
    case 'Settled':
    case 'Complete': // pre-Greenfield name
    case 'Confirmed':
      return 'succeeded';
    case 'Expired':
      return additionalStatus === 'PaidPartial' ? 'underpaid' : 'expired';
    case 'Invalid':
      return 'failed';
    default:
      return 'pending';
  }
}
