export {
  DEFAULT_EXPIRY_SECONDS,
  DEFAULT_MIN_FINAL_CLTV_EXPIRY,
  decodeInvoice,
  MAX_INVOICE_LENGTH,
} from './bolt11/decode-invoice.js';
export { encodeInvoice } from './bolt11/encode-invoice.js';
export { INVOICE_ERROR_REASONS, type InvoiceErrorReason } from './bolt11/errors.js';
export type {
  DecodedInvoice,
  EncodeInvoiceInput,
  FallbackAddress,
  FallbackInput,
  FeatureState,
  IgnoredField,
  IgnoredFieldReason,
  InvoiceFeatures,
  InvoiceNetwork,
  InvoiceSignature,
  RouteHint,
  RouteHintHop,
} from './bolt11/types.js';
