import { type LightningDetails, ProviderError } from '@payable/core';
import { decodeInvoice } from '../bolt11/decode-invoice.js';

/** What a provider reads from the BOLT-11 invoice a hosted service issued. */
export interface InvoiceFacts {
  lightning: LightningDetails;
  /** When the invoice stops being payable (`timestamp + expiry`). */
  expiresAt: Date;
  amountMsat: bigint | null;
}

/**
 * Decodes the BOLT-11 invoice a service returned (checking its signature) and builds the payment's
 * Lightning details: the payment hash and amount come from the invoice itself, never from the
 * service's other fields. `preimage` and `quote` are `null` (hosted services do not reveal the
 * preimage; Payable locks quotes itself). An invoice that does not decode is a `PROVIDER_ERROR`.
 */
export function invoiceFacts(
  paymentRequest: string,
  amountPaidMsat: bigint | null,
  scope: { provider: string; label: string; providerId: string },
): InvoiceFacts {
  let decoded: ReturnType<typeof decodeInvoice>;
  try {
    decoded = decodeInvoice(paymentRequest);
  } catch (error) {
    throw new ProviderError(`${scope.label} returned a Lightning invoice that does not decode.`, {
      context: { provider: scope.provider, providerId: scope.providerId, reason: 'bad_invoice' },
      cause: error,
    });
  }
  return {
    lightning: {
      paymentRequest,
      paymentHash: decoded.paymentHash,
      amountMsat: decoded.amountMsat === null ? null : decoded.amountMsat.toString(),
      amountPaidMsat: amountPaidMsat === null ? null : amountPaidMsat.toString(),
      preimage: null,
      quote: null,
    },
    expiresAt: new Date((decoded.timestamp + decoded.expiry) * 1000),
    amountMsat: decoded.amountMsat,
  };
}
