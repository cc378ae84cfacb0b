import type { Page } from '../records/types.js';
import type { DeliveryStatus, EndpointStatus, WebhookScheme } from '../storage/types.js';

/**
 * Input of `payable.endpoints.create`.
 *
 * @example
 * ```ts
 * const input: EndpointCreateInput = { url: 'https://orders.example.com/hooks/payable', events: ['payment.*'] };
 * ```
 */
export interface EndpointCreateInput {
  /** Where deliveries go: `https://` (or `http://` outside production). */
  url: string;
  /** Event types: exact (`payment.succeeded`), a prefix pattern (`payment.*`) or `*` for all. */
  events: string[];
  /** Signature scheme; default `standard-webhooks`. */
  scheme?: WebhookScheme;
  description?: string;
  /** The tenant whose events it receives; `null`/absent: every tenant's (single-tenant apps). */
  tenantId?: string | null;
}

/**
 * Input of `payable.endpoints.update`: only the fields given change.
 *
 * @example
 * ```ts
 * await payable.endpoints.update(id, { events: ['payment.succeeded', 'refund.*'], enabled: true });
 * ```
 */
export interface EndpointUpdateInput {
  url?: string;
  events?: string[];
  scheme?: WebhookScheme;
  description?: string | null;
  /** `true` re-enables a disabled endpoint (e.g. after a 410); `false` disables it. */
  enabled?: boolean;
}

/**
 * An endpoint as the API shows it: never its secret.
 *
 * @example
 * ```ts
 * const ep: EndpointView = await payable.endpoints.get('ep_01J…');
 * ep.status; // 'enabled'
 * ```
 */
export interface EndpointView {
  id: string;
  tenantId: string | null;
  url: string;
  events: string[];
  scheme: WebhookScheme;
  description: string | null;
  status: EndpointStatus;
  disabledReason: string | null;
  /** Until when the secret before the last rotation still signs; `null` when none does. */
  previousSecretExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * What `create` and `rotateSecret` return: the endpoint and its signing secret, shown this once.
 *
 * @example
 * ```ts
 * const { id, secret } = await payable.endpoints.create({ url, events: ['*'] });
 * secret; // 'whsec_…': give it to the receiver
 * ```
 */
export interface EndpointWithSecret extends EndpointView {
  /** `whsec_` followed by 32 random bytes in base64. */
  secret: string;
}

/**
 * One attempt of a delivery, as the delivery log shows it.
 *
 * @example
 * ```ts
 * const [first] = (await payable.endpoints.delivery(id)).log;
 * first.responseStatus; // 500
 * ```
 */
export interface DeliveryAttemptView {
  attempt: number;
  startedAt: Date;
  durationMs: number;
  responseStatus: number | null;
  /** The start of the response body (capped). */
  responseBody: string | null;
  error: string | null;
  nextAttemptAt: Date | null;
}

/**
 * A delivery (one event to one endpoint).
 *
 * @example
 * ```ts
 * const page = await payable.endpoints.deliveries('ep_01J…', { status: 'failed' });
 * ```
 */
export interface DeliveryView {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  /** When the next attempt is due; `null` once delivered or failed. */
  nextAttemptAt: Date | null;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

/**
 * A delivery with its attempt log.
 *
 * @example
 * ```ts
 * const d = await payable.endpoints.delivery('dlv_01J…');
 * d.log.length; // attempts so far
 * ```
 */
export interface DeliveryDetail extends DeliveryView {
  log: DeliveryAttemptView[];
}

/**
 * Options every endpoint call takes: the tenant it is scoped to. An endpoint of another tenant is
 * `NOT_FOUND`; absent, any endpoint is visible (single-tenant apps, operators).
 *
 * @example
 * ```ts
 * await payable.endpoints.get(id, { tenantId: 'shop_42' });
 * ```
 */
export interface EndpointScope {
  tenantId?: string | null;
}

/**
 * `payable.endpoints`: the outbound webhook endpoints an app registers, their deliveries and log.
 * Deliveries are sent by the outbox relay (`payable.outbox().start()`), signed, retried on a
 * schedule, at least once; receivers deduplicate on the event id (`webhook-id`).
 *
 * @example
 * ```ts
 * const ep = await payable.endpoints.create({ url: 'https://orders.example.com/hooks', events: ['payment.*'] });
 * payable.outbox().start();
 * ```
 */
export interface EndpointsApi {
  /** Register an endpoint; its URL passes the SSRF guard (`ENDPOINT_URL_FORBIDDEN` otherwise). */
  create(input: EndpointCreateInput): Promise<EndpointWithSecret>;
  /** Endpoints, oldest first. */
  list(
    query?: EndpointScope & { status?: EndpointStatus; limit?: number; cursor?: string | null },
  ): Promise<Page<EndpointView>>;
  get(id: string, scope?: EndpointScope): Promise<EndpointView>;
  update(id: string, input: EndpointUpdateInput, scope?: EndpointScope): Promise<EndpointView>;
  /** Stop deliveries to it (pending ones are kept and resume when it is enabled again). */
  disable(id: string, scope?: EndpointScope): Promise<EndpointView>;
  /**
   * A new secret; the old one keeps signing beside it (two signatures per delivery) for
   * `graceMs` (default `outbound.rotationGraceMs`, 24 h).
   */
  rotateSecret(id: string, options?: EndpointScope & { graceMs?: number }): Promise<EndpointWithSecret>;
  /** An endpoint's deliveries, newest first. */
  deliveries(
    id: string,
    query?: EndpointScope & { status?: DeliveryStatus; limit?: number; cursor?: string | null },
  ): Promise<Page<DeliveryView>>;
  /** A delivery with its attempt log. */
  delivery(deliveryId: string, scope?: EndpointScope): Promise<DeliveryDetail>;
  /** Send a delivery again now (also a delivered or failed one): it becomes due at once. */
  redeliver(deliveryId: string, scope?: EndpointScope): Promise<DeliveryView>;
  /** Send the deliveries that are due now, once; returns how many were delivered (the relay calls it). */
  deliverOnce(options?: { limit?: number }): Promise<number>;
}

/**
 * `createPayable({ outbound })`: how outbound webhooks are delivered.
 *
 * @example
 * ```ts
 * createPayable({ providers, storage, outbound: { allowPrivateNetworks: process.env.NODE_ENV !== 'production' } });
 * ```
 */
export interface OutboundOptions {
  /** Allow loopback and private addresses (development and tests only). Default `false`. */
  allowPrivateNetworks?: boolean;
  /** Require `https://` URLs. Default: `process.env.NODE_ENV === 'production'`. */
  requireHttps?: boolean;
  /** DNS servers (`host` or `host:port`) to resolve endpoint names with, instead of the system resolver. */
  dnsServers?: string[];
  /** Per-attempt timeout in ms. Default 15 000. */
  timeoutMs?: number;
  /** How much of a response body is read and logged, in bytes. Default 4096. */
  maxResponseBytes?: number;
  /**
   * Delays between attempts in ms: retry n waits `retryScheduleMs[n - 1]` (with ±20 % jitter);
   * attempts = length + 1. Default: the Standard Webhooks schedule extended to 10 attempts over
   * about 75 hours (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 24 h, 24 h).
   */
  retryScheduleMs?: number[];
  /** How long a rotated-out secret keeps signing. Default 24 h. */
  rotationGraceMs?: number;
  /** How long a claimed delivery stays claimed. Default 60 s. */
  leaseMs?: number;
  /** Deliveries sent at once per relay round. Default 8. */
  concurrency?: number;
  /** The `user-agent` header. Default `Payable-Webhooks/1`. */
  userAgent?: string;
}
