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

// ---- hosted Lightning providers: BTCPay Server, OpenNode, Lightning Enable -------------------
/** BTCPay Server (Greenfield API) provider, its capabilities, event and status tables. */
export {
  BTCPAY_CAPABILITIES,
  BTCPAY_DEFAULT_LIGHTNING_METHOD,
  BTCPAY_SIGNATURE_HEADER,
  type BtcpayCapability,
  BtcpayProvider,
  type BtcpayProviderOptions,
} from './btcpay/btcpay-provider.js';
export { BTCPAY_EVENT_TYPES, type BtcpayEventType, btcpayInvoiceStatus } from './btcpay/events.js';
export { BTCPAY_REQUIRED_PERMISSIONS } from './btcpay/map-error.js';
/** OpenNode provider, its capabilities, environments, event and status tables. */
export {
  OPENNODE_BASE_URLS,
  OPENNODE_CAPABILITIES,
  OPENNODE_SIGNATURE_FIELD,
  type OpenNodeCapability,
  OpenNodeProvider,
  type OpenNodeProviderOptions,
} from './opennode/opennode-provider.js';
export { OPENNODE_CHARGE_STATUS, OPENNODE_EVENT_TYPES } from './opennode/events.js';
/** Lightning Enable provider, its capabilities, event and status tables. */
export {
  LIGHTNING_ENABLE_BASE_URL,
  LIGHTNING_ENABLE_CAPABILITIES,
  LIGHTNING_ENABLE_SIGNATURE_HEADER,
  type LightningEnableCapability,
  LightningEnableProvider,
  type LightningEnableProviderOptions,
} from './lightning-enable/lightning-enable-provider.js';
export { LIGHTNING_ENABLE_EVENT_TYPES, LIGHTNING_ENABLE_PAYMENT_STATUS } from './lightning-enable/events.js';
/** Exact decimal ↔ minor-unit conversion the hosted providers use (no floats). */
export {
  btcDecimalToMsat,
  currencyDecimals,
  decimalToMinorUnits,
  jsonNumberToDecimal,
  minorUnitsToDecimal,
} from './common/decimal-amount.js';

// ---- LND: REST provider, hold invoices, settlement stream ----------------------------------
/** LND provider over its REST API, its capabilities, hold-invoice input, error map and HTTPS fetch. */
export {
  LND_CAPABILITIES,
  type LndCapability,
  type LndHoldInvoiceInput,
  LndProvider,
  type LndProviderOptions,
} from './lnd/lnd-provider.js';
export type { LndClientOptions } from './lnd/lnd-client.js';
export {
  type LndInvoice,
  lndInvoiceToPayment,
  lndPaymentStatus,
  lndStreamUpdate,
} from './lnd/lnd-invoice.js';
export {
  LND_DEFAULT_RETRY_AFTER_SECONDS,
  type LndErrorScope,
  LndResponseError,
  mapLndError,
} from './lnd/map-error.js';
export { type FetchLike, tlsFetch } from './lnd/tls-fetch.js';
