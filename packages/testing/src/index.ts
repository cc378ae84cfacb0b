export { TestClock, type TestClockDuration } from './clock/test-clock.js';
export {
  type QueueConformanceContext,
  type QueueConformanceDriver,
  type QueueConformanceOptions,
  queueConformance,
} from './conformance/queue.js';
export { waitFor } from './wait-for.js';
export {
  type ProviderConformanceContext,
  type ProviderConformanceOptions,
  type ProviderSandbox,
  providerConformance,
  type SandboxDelivery,
} from './conformance/provider.js';
export type {
  DeliveryAttempt,
  DeliveryChaos,
  DeliveryReport,
  DeliveryTarget,
  SignedDelivery,
} from './fake-provider/fake-delivery.js';
export {
  FAKE_DEFAULT_CAPABILITIES,
  FAKE_DEFAULT_PRICE,
  type FakeCall,
  type FakeCapability,
  type FakeChargeOutcome,
  type FakeDefaultCapability,
  type FakeEventOptions,
  type FakeEventSubject,
  type FakeOperation,
  type FakePrice,
  FakeProvider,
  type FakeProviderOptions,
  type FakeSignOptions,
  type FakeTimestamp,
  type FakeVerifyInput,
} from './fake-provider/fake-provider.js';
export { fakeSandbox } from './fake-provider/fake-sandbox.js';
export {
  FAKE_DEFAULT_TOLERANCE_SECONDS,
  FAKE_SIGNATURE_HEADER,
  FAKE_WEBHOOK_SECRET,
  fakeSignatureValue,
} from './fake-provider/fake-signature.js';
export { type StorageConformanceOptions, storageConformance } from './conformance/storage.js';
export {
  fixtureTime,
  makeCheckout,
  makeCustomer,
  makeDelivery,
  makeDeliveryAttempt,
  makeEndpoint,
  makeIdempotencyKey,
  makeInvoice,
  makeOutboxMessage,
  makePayment,
  makeRecord,
  makeRefund,
  makeSubscription,
  makeWebhookEvent,
  RECORD_KINDS,
} from './conformance/storage/fixtures.js';
export {
  type HttpConformanceContext,
  type HttpConformanceMakeServer,
  type HttpConformanceOptions,
  type HttpConformanceServer,
  type HttpConformanceSetup,
  httpConformance,
} from './conformance/http.js';
export {
  type LndSimChannel,
  type LndSimInvoiceState,
  type LndSimPayOptions,
  type LndSimRequest,
  LndSimulator,
  type LndSimulatorEncodeInvoice,
  type LndSimulatorInvoiceFields,
  type LndSimulatorOptions,
} from './lnd-simulator/lnd-simulator.js';
export {
  type ReceivedWebhook,
  type ReceiverReply,
  startWebhookReceiver,
  type WebhookReceiver,
  type WebhookReceiverOptions,
} from './webhook-receiver/webhook-receiver.js';
