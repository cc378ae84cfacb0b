import type { Clock } from '../clock/types.js';
import type { EncryptionDriver } from '../encryption/types.js';
import type { Logger } from '../logger/types.js';
import type { Capability, JsonValue, PayableEventType, PaymentProvider, ProviderNamesWith } from '../provider/types.js';
import type { QueueDriver } from '../queue/types.js';
import type {
  CheckoutRecord,
  CustomerRecord,
  InvoiceRecord,
  Metadata,
  Page,
  PaymentRecord,
  RefundRecord,
  SubscriptionRecord,
} from '../records/types.js';
import type { StorageDriver, WebhookEventStatus } from '../storage/types.js';
import type { LightningApi, LightningOptions } from '../lightning/types.js';
import type { EndpointsApi, OutboundOptions } from '../outbound/types.js';

/** The `providers` map given to `createPayable`: registered name → provider. */
export type ProviderMap = Record<string, PaymentProvider>;

/** Options every operation takes. */
export interface OperationOptions<Name extends string = string> {
  /** Which registered provider; defaults to the only one or `defaultProvider`. */
  provider?: Name;
  /** Makes the operation safe to retry: same key + same input → the stored result. Up to 255 chars. */
  idempotencyKey?: string;
  /** The tenant (merchant) the operation is for; `null`/absent in single-tenant apps. */
  tenantId?: string | null;
}

/** Input of `payable.charge`. `amount` is an integer in the currency's minor unit. */
export interface ChargeInput {
  amount: number;
  currency: string;
  /** Payable's customer id (or the provider's, when Payable has no record of it). */
  customerId?: string;
  description?: string;
  metadata?: Metadata;
  /** Seconds until the payment expires (Lightning invoices: exactly the invoice expiry; default 3600). */
  expiresIn?: number;
  /** `false` to authorize only, where the provider supports it. Default `true`. */
  capture?: boolean;
  /**
   * Lightning only: SHA-256 (64 hex) of a description given out of band, committed to in the
   * invoice instead of `description` (LNURL-pay).
   */
  descriptionHash?: string;
}

/** Input of `payable.refund`. No `amount` refunds the rest of the payment. */
export interface RefundInput {
  paymentId: string;
  amount?: number;
  reason?: string;
  metadata?: Metadata;
}

/** Input of `payable.createCustomer`. */
export interface CustomerInput {
  email?: string;
  name?: string;
  metadata?: Metadata;
}

/** Input of `payable.createCheckout`: an amount, or a price (subscription mode). */
export type CheckoutInput =
  | {
      amount: number;
      currency: string;
      successUrl: string;
      cancelUrl: string;
      customerId?: string;
      metadata?: Metadata;
    }
  | {
      priceId: string;
      successUrl: string;
      cancelUrl: string;
      customerId?: string;
      metadata?: Metadata;
    };

/** Input of `payable.subscribe`. */
export interface SubscribeInput {
  customerId: string;
  priceId: string;
  trialDays?: number;
  metadata?: Metadata;
}

/** Options of `payable.cancelSubscription`. */
export interface CancelSubscriptionOptions<Name extends string = string> extends OperationOptions<Name> {
  /** Cancel at the end of the paid period instead of now. */
  atPeriodEnd?: boolean;
}

/** Query of `payable.listInvoices`. */
export interface InvoiceQuery {
  customerId?: string;
  subscriptionId?: string;
  limit?: number;
}

/** Query of `payable.listPayments`. */
export interface PaymentQuery {
  customerId?: string;
  status?: string;
  provider?: string;
  limit?: number;
  cursor?: string | null;
  tenantId?: string | null;
}

/** A domain event: the body of outbox deliveries and what `payable.on` handlers receive. */
export interface DomainEvent {
  /** Stable id receivers deduplicate on. */
  id: string;
  type: string;
  createdAt: string;
  tenantId: string | null;
  data: JsonValue;
}

/** What a `payable.on` handler receives for a processed webhook. */
export interface WebhookHandlerEvent {
  /** Payable's stored event id. */
  eventId: string;
  provider: string;
  tenantId: string | null;
  type: PayableEventType;
  providerType: string;
  /** The provider's event id. */
  providerEventId: string;
  /** The parsed raw body as the provider sent it. */
  payload: JsonValue;
  /** The billing record the event was applied to, if any. */
  record: JsonValue | null;
}

/** A handler registered with `payable.on`. */
export type WebhookHandler = (event: WebhookHandlerEvent) => void | Promise<void>;

/** What `payable.webhooks.receive` returns. */
export interface ReceiveResult {
  eventId: string;
  duplicate: boolean;
  status: WebhookEventStatus;
}

/** A stored webhook event as `payable.webhooks.get` returns it (the raw payload is not included). */
export interface WebhookEventView {
  id: string;
  tenantId: string | null;
  provider: string;
  providerEventId: string;
  type: PayableEventType;
  providerType: string;
  status: WebhookEventStatus;
  attempts: number;
  lastError: string | null;
  receivedAt: Date;
  updatedAt: Date;
  processedAt: Date | null;
}

/** Input of `payable.webhooks.receive`: what an adapter hands over. */
export interface ReceiveInput {
  provider?: string;
  tenantId?: string | null;
  /** The exact bytes received (a Buffer or string; a parsed object is refused). */
  rawBody: unknown;
  /** Request headers, names lowercased. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Overrides the provider's signature header name. */
  signatureHeader?: string;
}

/** The webhook inbox. */
export interface WebhooksApi {
  /** Verify, store (deduplicated) and dispatch for processing. Resolves once durably stored. */
  receive(input: ReceiveInput): Promise<ReceiveResult>;
  /** A stored event, or `NOT_FOUND`. */
  get(eventId: string): Promise<WebhookEventView>;
  /** Process the event again (safe: state transitions are monotonic). */
  replay(eventId: string): Promise<WebhookEventView>;
  /** Process one stored event now (what the `webhook.process` job runs). */
  process(eventId: string): Promise<WebhookEventView>;
  /** Re-dispatch events left `pending` (queue down, crashed process). Returns how many. */
  sweep(options?: { olderThanMs?: number; limit?: number }): Promise<number>;
  /** Events, oldest first. */
  list(query?: {
    status?: WebhookEventStatus;
    limit?: number;
    cursor?: string | null;
  }): Promise<Page<WebhookEventView>>;
}

/** A subscriber to the outbox: receives each domain event at least once. */
export type OutboxSubscriber = (event: DomainEvent) => void | Promise<void>;

/** The outbox relay returned by `payable.outbox()`. */
export interface OutboxRelay {
  /** Register a subscriber; returns a function that removes it. */
  subscribe(subscriber: OutboxSubscriber): () => void;
  /** Claim and deliver pending messages once; returns how many were delivered. */
  dispatchOnce(options?: { limit?: number }): Promise<number>;
  /** Keep dispatching every `intervalMs` until `stop()`. */
  start(options?: { intervalMs?: number }): void;
  stop(): Promise<void>;
}

/** Reachability of each part, for `GET /health`. */
export interface HealthReport {
  ok: boolean;
  storage: { ok: boolean; driver: string | null; error?: string };
  queue: { ok: boolean; driver: string; error?: string };
  providers: Record<string, { ok: boolean; details?: Record<string, unknown>; warnings?: string[] }>;
}

/** Hooks for observability: attach tracing or metrics without touching the core. */
export interface PayableHooks {
  onEvent?: (event: { name: string; durationMs?: number; fields: Record<string, unknown> }) => void;
  onError?: (error: unknown, fields: Record<string, unknown>) => void;
}

/** Options of `createPayable`. */
export interface PayableOptions<P extends ProviderMap = ProviderMap> {
  providers: P;
  /** Where state lives. Webhooks, idempotency and the outbox need it. */
  storage?: StorageDriver;
  /** Where work runs; default `SyncQueueDriver` (inline). */
  queue?: QueueDriver;
  /** Encrypts raw webhook payloads and customer PII at rest. */
  encryption?: EncryptionDriver;
  clock?: Clock;
  logger?: Logger;
  hooks?: PayableHooks;
  /** The provider used when an operation names none and several are registered. */
  defaultProvider?: keyof P & string;
  idempotency?: {
    /** How long keys are kept (default 24 h). */
    retentionMs?: number;
    /** How long an in-progress lock holds before a retry may take over (default 90 s). */
    lockTimeoutMs?: number;
  };
  webhooks?: {
    /** How long a claimed event stays claimed before another worker may take it (default 60 s). */
    leaseMs?: number;
    /** Age after which the sweeper re-dispatches a `pending` event (default 60 s). */
    staleAfterMs?: number;
    /** Attempts before an event processed outside a queue job is marked failed (default 3). */
    maxAttempts?: number;
    /** How long a dispatch may hold up the HTTP answer before the sweeper is left to it (default 1000 ms). */
    dispatchTimeoutMs?: number;
    /** How often this process sweeps stale events and purges expired idempotency keys (default 60 s; 0 = never). */
    sweepIntervalMs?: number;
    /** Called when an event fails its final attempt. */
    onFailed?: (event: WebhookEventView, error: Error) => void | Promise<void>;
  };
  /** `false` in web-only processes: do not register the queue workers here (default `true`). */
  worker?: boolean;
  /** Lightning: the rate source that prices fiat charges in satoshis. */
  lightning?: LightningOptions;
  outbox?: {
    /** Attempts before a message is marked dead (default 10). */
    maxAttempts?: number;
    leaseMs?: number;
  };
  /** Outbound webhooks: SSRF guard, timeouts, retry schedule, secret rotation. */
  outbound?: OutboundOptions;
  /**
   * Resilience of provider calls. Transient failures (5xx, timeouts, connection errors) of reads
   * and of calls carrying an idempotency key the provider honours are retried with exponential
   * backoff and jitter; a per-provider circuit breaker opens after consecutive transient failures
   * and answers `PROVIDER_UNAVAILABLE` (503, `context.retryAfterSeconds`) without calling the
   * provider until `openMs` has passed, then lets one trial call through.
   */
  resilience?: {
    /** Retries after the first attempt (0–10). Default 2; 0 turns retries off. */
    retries?: number;
    /** Delay before the first retry, before jitter, in ms. Default 200 (doubling each retry). */
    retryBaseMs?: number;
    /** Largest delay between retries, in ms. Default 2000. */
    retryMaxMs?: number;
    /** The circuit breaker per provider; `false` turns it off. Default `{ failureThreshold: 5, openMs: 30_000 }`. */
    breaker?: { failureThreshold?: number; openMs?: number } | false;
  };
}

/** Operation names and the capability each needs. */
export type OperationName =
  | 'charge'
  | 'refund'
  | 'createCustomer'
  | 'getCustomer'
  | 'createCheckout'
  | 'subscribe'
  | 'cancelSubscription'
  | 'listInvoices';

/**
 * The operations `payable.execute` runs (the mutating ones). The input of `cancelSubscription`
 * is `{ id, atPeriodEnd? }`.
 */
export type ExecutableOperation =
  | 'charge'
  | 'refund'
  | 'createCustomer'
  | 'createCheckout'
  | 'subscribe'
  | 'cancelSubscription';

/** What `payable.execute` returns. */
export interface OperationResponse {
  /** 201 for a create, 200 otherwise, or the stored error status of a replayed failure. */
  status: number;
  /** The exact JSON body. */
  body: string;
  /** `true` when this is the stored response of an earlier request with the same idempotency key. */
  replayed: boolean;
}

/** The capability each operation needs. */
export const OPERATION_CAPABILITY = {
  charge: 'charges',
  refund: 'refunds',
  createCustomer: 'customers',
  getCustomer: 'customers',
  createCheckout: 'checkout',
  subscribe: 'subscriptions',
  cancelSubscription: 'subscriptions',
  listInvoices: 'invoices',
} as const satisfies Record<OperationName, Capability>;

/**
 * The facade `createPayable` returns. Operations whose capability no statically known provider
 * has take a `provider` option of type `never`, so calling them is a type error.
 */
export interface Payable<P extends ProviderMap = ProviderMap> {
  readonly providers: Readonly<P>;
  readonly storage: StorageDriver | null;
  readonly queue: QueueDriver;
  readonly clock: Clock;

  /** Whether `provider` (default: the default provider) has `capability`. */
  supports(capability: Capability, provider?: keyof P & string): boolean;

  charge(input: ChargeInput, options?: OperationOptions<ProviderNamesWith<P, 'charges'>>): Promise<PaymentRecord>;
  refund(input: RefundInput, options?: OperationOptions<ProviderNamesWith<P, 'refunds'>>): Promise<RefundRecord>;
  createCustomer(
    input: CustomerInput,
    options?: OperationOptions<ProviderNamesWith<P, 'customers'>>,
  ): Promise<CustomerRecord>;
  getCustomer(id: string, options?: OperationOptions<ProviderNamesWith<P, 'customers'>>): Promise<CustomerRecord>;
  createCheckout(
    input: CheckoutInput,
    options?: OperationOptions<ProviderNamesWith<P, 'checkout'>>,
  ): Promise<CheckoutRecord>;
  subscribe(
    input: SubscribeInput,
    options?: OperationOptions<ProviderNamesWith<P, 'subscriptions'>>,
  ): Promise<SubscriptionRecord>;
  cancelSubscription(
    id: string,
    options?: CancelSubscriptionOptions<ProviderNamesWith<P, 'subscriptions'>>,
  ): Promise<SubscriptionRecord>;
  listInvoices(
    query?: InvoiceQuery,
    options?: OperationOptions<ProviderNamesWith<P, 'invoices'>>,
  ): Promise<Page<InvoiceRecord>>;
  /**
   * A stored payment, or `NOT_FOUND` (the provider is not asked). A pending Lightning payment read
   * at or after its `expiresAt` is `expired` (and stored so, with a `payment.expired` event).
   */
  getPayment(id: string, options?: { tenantId?: string | null }): Promise<PaymentRecord>;
  listPayments(query?: PaymentQuery): Promise<Page<PaymentRecord>>;

  /**
   * Run a mutating operation and answer in HTTP terms: the status and the exact JSON body the
   * management routes send. A replay of an idempotency key returns the stored status and body byte
   * for byte (`replayed: true`), including stored provider errors. Fresh errors are thrown as
   * `PayableError`s. `input` is validated (`VALIDATION_ERROR` naming the field).
   */
  execute(operation: ExecutableOperation, input: unknown, options?: OperationOptions): Promise<OperationResponse>;

  /** Register a handler for a normalized event type, or `'*'` for all. Returns an unsubscribe. */
  on(type: PayableEventType | '*', handler: WebhookHandler): () => void;
  readonly webhooks: WebhooksApi;
  /** The outbox relay; `OUTBOX_STORAGE_REQUIRED` without storage. */
  outbox(): OutboxRelay;
  /** Lightning: settlement listeners (LND), invoice expiry, fiat quotes. */
  readonly lightning: LightningApi;
  /** Outbound webhooks: the endpoints your other services registered, deliveries and their log. */
  readonly endpoints: EndpointsApi;
  health(): Promise<HealthReport>;
  /** Delete idempotency keys past their retention (also done by the periodic sweep). Returns how many. */
  purgeIdempotencyKeys(): Promise<number>;
  /** Stop relays and the queue. */
  close(): Promise<void>;
}
