export {
  type EncryptionKeyMaterial,
  NodeEncryptionDriver,
  type NodeEncryptionDriverOptions,
} from './encryption/node-encryption-driver.js';
export type { EncryptionDriver } from './encryption/types.js';
export type { Clock } from './clock/types.js';
export {
  EncryptionInvalidCiphertextError,
  EncryptionKeyRequiredError,
  EndpointUrlForbiddenError,
  ERROR_CODES,
  ERROR_STATUS,
  type ErrorCode,
  type ErrorContext,
  IdempotencyConflictError,
  IdempotencyInProgressError,
  InternalError,
  InvalidWebhookPayloadError,
  InvalidWebhookSignatureError,
  isPayableError,
  L402AmountMismatchError,
  L402InvalidPreimageFormatError,
  L402InvalidTokenError,
  L402MerchantMismatchError,
  L402PathNotAllowedError,
  L402PreimageMismatchError,
  L402TokenExpiredError,
  L402TokenUsedError,
  NotFoundError,
  OutboxStorageRequiredError,
  PayableError,
  type PayableErrorClass,
  type PayableErrorOptions,
  PayloadTooLargeError,
  PaymentRequiredError,
  ProviderCapabilityNotSupportedError,
  ProviderError,
  ProviderUnavailableError,
  RateLimitedError,
  StorageUnavailableError,
  UnauthorizedError,
  ValidationError,
  WebhookProviderAmbiguousError,
  WebhookProviderUnknownError,
  WebhookStorageRequiredError,
} from './errors/index.js';
export type { LogFields, Logger } from './logger/types.js';
export type { JsonValue } from './provider/types.js';
export { SyncQueueDriver, type SyncQueueDriverOptions } from './queue/sync-queue.js';
export {
  type DispatchOptions,
  type FailedJob,
  type JobContext,
  type JobHandler,
  JOB_NAMES,
  type QueueDriver,
  type QueueRetryOptions,
} from './queue/types.js';
export { createHttpHandler } from './http/create-http-handler.js';
export { createNodeListener, type NodeListenerOptions, type NodeRequestListener } from './http/node-listener.js';
export { headersOf, queryOf, splitRequestUrl } from './http/node-request.js';
export { bodyTooLargeError, type RequestBodyResult, readRequestBody } from './http/read-body.js';
export { errorResponse, writeNodeResponse } from './http/responses.js';
export {
  DEFAULT_BODY_LIMIT,
  type HttpHandler,
  type HttpHandlerOptions,
  type HttpHooks,
  type HttpRequest,
  type HttpResponse,
} from './http/types.js';
export type {
  AnyRecord,
  CheckoutRecord,
  CheckoutStatus,
  CustomerRecord,
  InvoiceRecord,
  InvoiceStatus,
  LightningDetails,
  LightningQuote,
  Metadata,
  Page,
  PaymentRecord,
  PaymentStatus,
  RecordBase,
  RecordByKind,
  RecordKind,
  RefundRecord,
  RefundStatus,
  SubscriptionRecord,
  SubscriptionStatus,
} from './records/types.js';
export { MemoryStorageDriver } from './storage/memory-storage.js';
export type {
  ClaimedWebhookEvent,
  ClaimOptions,
  ClaimWithoutPayload,
  DeliveryPatch,
  DeliveryQuery,
  DeliveryStatus,
  EndpointPatch,
  EndpointQuery,
  EndpointStatus,
  Lease,
  OutboxPatch,
  OutboxStatus,
  ProviderRef,
  RecordQuery,
  StorageDriver,
  StorageSession,
  StoredDelivery,
  StoredDeliveryAttempt,
  StoredEndpoint,
  StoredIdempotencyKey,
  StoredL402RootKey,
  StoredL402SpentToken,
  StoredOutboxMessage,
  StoredWebhookEvent,
  WebhookEventPatch,
  WebhookEventQuery,
  WebhookEventStatus,
  WebhookScheme,
} from './storage/types.js';
export { newId } from './util/ids.js';
export { SystemClock } from './clock/system-clock.js';
export { noopLogger } from './logger/noop-logger.js';
export { createPayable } from './facade/create-payable.js';
export {
  OPERATION_CAPABILITY,
  type CancelSubscriptionOptions,
  type ChargeInput,
  type CheckoutInput,
  type CustomerInput,
  type DomainEvent,
  type ExecutableOperation,
  type HealthReport,
  type InvoiceQuery,
  type OperationName,
  type OperationOptions,
  type OperationResponse,
  type OutboxRelay,
  type OutboxSubscriber,
  type Payable,
  type PayableHooks,
  type PayableOptions,
  type PaymentQuery,
  type ProviderMap,
  type ReceiveInput,
  type ReceiveResult,
  type RefundInput,
  type SubscribeInput,
  type WebhookEventView,
  type WebhookHandler,
  type WebhookHandlerEvent,
  type WebhooksApi,
} from './facade/types.js';
export {
  CAPABILITIES,
  EVENT_TYPES,
  type Capability,
  type CapabilitiesOf,
  type NormalizedEvent,
  type PayableEventType,
  type PaymentProvider,
  type ProviderChargeInput,
  type ProviderCheckout,
  type ProviderCheckoutInput,
  type ProviderContext,
  type ProviderCustomer,
  type ProviderCustomerInput,
  type ProviderHealth,
  type ProviderInvoice,
  type ProviderInvoiceQuery,
  type ProviderNamesWith,
  type ProviderObject,
  type ProviderPayment,
  type ProviderRefund,
  type ProviderRefundInput,
  type ProviderSubscribeInput,
  type ProviderSubscription,
  type WebhookVerifyInput,
} from './provider/types.js';
export { canTransition } from './records/transitions.js';
export { isKnownCurrency } from './validation/schemas.js';
export { hmacSha256Hex, timingSafeEqualString } from './util/timing-safe.js';
export { reviveDates } from './records/serialize.js';
export { toWebhookEventView } from './webhooks/inbox.js';
export type {
  LightningApi,
  LightningListener,
  LightningListenOptions,
  LightningOptions,
  ListenBackoff,
  RateQuote,
  RateSource,
} from './lightning/types.js';
export { FixedRateSource, lockQuote } from './lightning/rates.js';
export {
  LIGHTNING_UNDERPAYMENT_TOLERANCE_PPM,
  type LightningEventState,
  lightningEventId,
  lightningSettlementStatus,
  verifyPreimage,
} from './lightning/settlement.js';
export { DEFAULT_LIGHTNING_EXPIRY_SECONDS, isLightningInvoiceDue } from './lightning/lightning-service.js';
export { settleCursorName } from './lightning/listener.js';
export type { SettlementStreamOptions, SettlementUpdate } from './provider/types.js';
export type {
  DeliveryAttemptView,
  DeliveryDetail,
  DeliveryView,
  EndpointCreateInput,
  EndpointScope,
  EndpointsApi,
  EndpointUpdateInput,
  EndpointView,
  EndpointWithSecret,
  OutboundOptions,
} from './outbound/types.js';
export {
  createEndpoints,
  DEFAULT_RETRY_SCHEDULE_MS,
  type EndpointsOptions,
} from './outbound/endpoints-service.js';
export {
  generateWebhookSecret,
  signWebhook,
  type SignWebhookInput,
  type VerifyWebhookInput,
  verifyWebhook,
  type WebhookSignatureFailureReason,
} from './outbound/signing.js';
export { type UrlForbiddenReason, UrlGuard, type UrlGuardOptions } from './outbound/url-guard.js';
export { type SendResult, type SendWebhookInput, sendWebhook } from './outbound/sender.js';
export {
  type CircuitBreakerOptions,
  type CircuitPermit,
  type CircuitState,
  type CircuitTransition,
  CircuitBreaker,
  DEFAULT_CIRCUIT_BREAKER,
} from './resilience/circuit-breaker.js';
export {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  type RetryOptions,
  type RetryPolicy,
  withRetries,
} from './resilience/retry.js';
export { isTransientFailure } from './resilience/transient.js';
export type { ResilienceOptions } from './resilience/types.js';
export {
  MemoryRateLimiter,
  type MemoryRateLimiterOptions,
  type RateLimitDecision,
  type RateLimiter,
  type RateLimitPolicy,
  rateLimitHeaders,
} from './resilience/rate-limit.js';
export {
  type RedisEvalClient,
  RedisRateLimiter,
  type RedisRateLimiterOptions,
} from './resilience/redis-rate-limit-store.js';
export {
  DEFAULT_RATE_LIMIT_POLICIES,
  type HttpRateLimitOptions,
  type RateLimitGroup,
} from './http/types.js';
