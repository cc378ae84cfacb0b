import type { PayableEventType, PaymentStatus } from '@payable/core';

/**
 * Lightning Enable payment statuses and the Payable payment status of each (`unpaid` and
 * `pending` before payment; an unknown status is `pending`).
 *
 * @example
 * ```ts
 * LIGHTNING_ENABLE_PAYMENT_STATUS.paid; // 'succeeded'
 * ```
 */
export const LIGHTNING_ENABLE_PAYMENT_STATUS = {
  unpaid: 'pending',
  pending: 'pending',
  processing: 'processing',
  paid: 'succeeded',
  underpaid: 'underpaid',
  expired: 'expired',
  refunded: 'refunded',
} as const satisfies Record<string, PaymentStatus>;

/**
 * The Payable event type of a Lightning Enable webhook, by its `status` (the webhook has no event
 * type of its own). Any other status is `unknown` and carries no object.
 *
 * @example
 * ```ts
 * LIGHTNING_ENABLE_EVENT_TYPES.paid; // 'payment.succeeded'
 * ```
 */
export const LIGHTNING_ENABLE_EVENT_TYPES = {
  paid: 'payment.succeeded',
  processing: 'payment.processing',
  expired: 'payment.expired',
  underpaid: 'payment.underpaid',
  refunded: 'refund.succeeded',
} as const satisfies Record<string, PayableEventType>;

/** The Payable status of a Lightning Enable payment status. */
export function lightningEnableStatus(status: string): PaymentStatus {
  return Object.hasOwn(LIGHTNING_ENABLE_PAYMENT_STATUS, status)
    ? LIGHTNING_ENABLE_PAYMENT_STATUS[status as keyof typeof LIGHTNING_ENABLE_PAYMENT_STATUS]
    : 'pending';
}
