export {
  normalizeStripeEvent,
  STRIPE_EVENT_MAP,
  STRIPE_WEBHOOK_EVENTS,
  type StripeMappedEventType,
} from './events.js';
export {
  mapStripeError,
  STANDARD_DECLINE_CODES,
  type StandardDeclineCode,
  standardDeclineCode,
  type StripeErrorScope,
} from './map-error.js';
export {
  checkStripeTimestamp,
  parseStripeSignatureHeader,
  STRIPE_DEFAULT_MAX_SIGNATURES,
  STRIPE_DEFAULT_TOLERANCE_SECONDS,
  type StripeSignatureFailure,
  type StripeSignatureParts,
} from './signature.js';
export {
  STRIPE_CAPABILITIES,
  STRIPE_DEFAULT_MAX_NETWORK_RETRIES,
  STRIPE_METADATA_KEYS,
  type StripeCapability,
  StripeProvider,
  type StripeProviderOptions,
} from './stripe-provider.js';
