import type { PayableEventType, PaymentStatus } from '@payable/core';

/**
 * OpenNode charge statuses and the Payable payment status of each. An unknown status is `pending`.
 *
 * @example
 * ```ts
 * OPENNODE_CHARGE_STATUS.paid; // 'succeeded'
 * ```
 */
export const OPENNODE_CHARGE_STATUS = {
  unpaid: 'pending',
  processing: 'processing',
  paid: 'succeeded',
  underpaid: 'underpaid',
  expired: 'expired',
  refunded: 'refunded',
} as const satisfies Record<string, PaymentStatus>;

/**
 * The Payable event type of an OpenNode charge callback, by the charge's status. `unpaid` (and any
 * status OpenNode adds later) is `unknown`; `refunded` (an underpaid on-chain charge the payer had
 * returned) is `refund.succeeded`, carrying the payment with status `refunded`.
 *
 * @example
 * ```ts
 * OPENNODE_EVENT_TYPES.paid; // 'payment.succeeded'
 * ```
 */
export const OPENNODE_EVENT_TYPES = {
  paid: 'payment.succeeded',
  processing: 'payment.processing',
  underpaid: 'payment.underpaid',
  expired: 'payment.expired',
  refunded: 'refund.succeeded',
} as const satisfies Record<string, PayableEventType>;

/** The Payable status of an OpenNode charge status. */
export function openNodeChargeStatus(status: string): PaymentStatus {
  return Object.hasOwn(OPENNODE_CHARGE_STATUS, status)
    ? OPENNODE_CHARGE_STATUS[status as keyof typeof OPENNODE_CHARGE_STATUS]
    : 'pending';
}

/** The Payable event type of an OpenNode charge status. */
export function openNodeEventType(status: string): PayableEventType {
  return Object.hasOwn(OPENNODE_EVENT_TYPES, status)
    ? OPENNODE_EVENT_TYPES[status as keyof typeof OPENNODE_EVENT_TYPES]
    : 'unknown';
}
