import {
  EVENT_TYPES,
  InvalidWebhookPayloadError,
  type JsonValue,
  type NormalizedEvent,
  type PayableEventType,
  type ProviderCheckout,
  type ProviderCustomer,
  type ProviderInvoice,
  type ProviderObject,
  type ProviderPayment,
  type ProviderRefund,
  type ProviderSubscription,
} from '@payable/core';

/** The kinds of object a fake event can carry, found from the event type's prefix. */
export type FakeObjectKind = ProviderObject['kind'];

const KINDS: readonly FakeObjectKind[] = ['payment', 'refund', 'customer', 'checkout', 'subscription', 'invoice'];

const PAYMENT_STATUSES = [
  'pending',
  'requires_action',
  'processing',
  'succeeded',
  'failed',
  'canceled',
  'expired',
  'underpaid',
  'partially_refunded',
  'refunded',
] as const;
const REFUND_STATUSES = ['pending', 'succeeded', 'failed', 'canceled'] as const;
const SUBSCRIPTION_STATUSES = ['incomplete', 'trialing', 'active', 'past_due', 'paused', 'unpaid', 'canceled'] as const;
const CHECKOUT_STATUSES = ['open', 'complete', 'expired'] as const;
const INVOICE_STATUSES = ['draft', 'open', 'paid', 'void', 'uncollectible'] as const;

/**
 * The kind of object an event type is about (`'payment.succeeded'` → `'payment'`), or `null` for a
 * type outside Payable's vocabulary.
 *
 * @example
 * ```ts
 * fakeEventKind('refund.succeeded'); // 'refund'
 * fakeEventKind('charge.dispute.created'); // null
 * ```
 */
export function fakeEventKind(type: string): FakeObjectKind | null {
  if (!(EVENT_TYPES as readonly string[]).includes(type)) return null;
  const prefix = type.slice(0, type.indexOf('.'));
  return (KINDS as readonly string[]).includes(prefix) ? (prefix as FakeObjectKind) : null;
}

type JsonObject = { [key: string]: JsonValue };

function put(out: JsonObject, key: string, value: JsonValue | Date | undefined): void {
  if (value === undefined) return;
  out[key] = value instanceof Date ? value.toISOString() : value;
}

/**
 * The `data` of a fake event body for a provider object. Payments carry
 * `{ id, amount, currency, status }` (Lightning payments also `lightning: { paymentRequest, paymentHash,
 * amountMsat, amountPaidMsat, preimage }`), refunds `{ id, paymentId, amount, currency, status }`,
 * customers `{ id, email, name }`, subscriptions `{ id, customerId, priceId, status }`, checkouts
 * `{ id, mode, url, status, amount, currency }`, invoices
 * `{ id, customerId, subscriptionId, amount, amountPaid, currency, status }`; optional fields the
 * object has (metadata, failure codes, dates as ISO strings…) follow.
 *
 * @example
 * ```ts
 * fakeEventData({ kind: 'payment', providerId: 'fake_pay_1', amount: 500, currency: 'USD', status: 'succeeded' });
 * // { id: 'fake_pay_1', amount: 500, currency: 'USD', status: 'succeeded' }
 * ```
 */
export function fakeEventData(object: ProviderObject): JsonObject {
  const out: JsonObject = { id: object.providerId };
  switch (object.kind) {
    case 'payment':
      put(out, 'amount', object.amount);
      put(out, 'currency', object.currency);
      put(out, 'status', object.status);
      put(out, 'amountRefunded', object.amountRefunded);
      put(out, 'customerId', object.customerProviderId);
      put(out, 'description', object.description);
      put(out, 'expiresAt', object.expiresAt);
      put(out, 'failureCode', object.failureCode);
      put(out, 'failureMessage', object.failureMessage);
      put(out, 'nextActionUrl', object.nextActionUrl);
      if (object.lightning) {
        const ln = object.lightning;
        out.lightning = {
          paymentRequest: ln.paymentRequest,
          paymentHash: ln.paymentHash,
          amountMsat: ln.amountMsat,
          amountPaidMsat: ln.amountPaidMsat,
          preimage: ln.preimage,
        };
      }
      break;
    case 'refund':
      put(out, 'paymentId', object.paymentProviderId);
      put(out, 'amount', object.amount);
      put(out, 'currency', object.currency);
      put(out, 'status', object.status);
      put(out, 'reason', object.reason);
      break;
    case 'customer':
      put(out, 'email', object.email);
      put(out, 'name', object.name);
      break;
    case 'subscription':
      put(out, 'customerId', object.customerProviderId);
      put(out, 'priceId', object.priceId);
      put(out, 'status', object.status);
      put(out, 'currentPeriodEnd', object.currentPeriodEnd);
      put(out, 'cancelAtPeriodEnd', object.cancelAtPeriodEnd);
      put(out, 'canceledAt', object.canceledAt);
      put(out, 'trialEnd', object.trialEnd);
      break;
    case 'checkout':
      put(out, 'mode', object.mode);
      put(out, 'url', object.url);
      put(out, 'status', object.status);
      put(out, 'amount', object.amount);
      put(out, 'currency', object.currency);
      put(out, 'customerId', object.customerProviderId);
      put(out, 'paymentId', object.paymentProviderId);
      put(out, 'subscriptionId', object.subscriptionProviderId);
      put(out, 'expiresAt', object.expiresAt);
      break;
    case 'invoice':
      put(out, 'customerId', object.customerProviderId);
      put(out, 'subscriptionId', object.subscriptionProviderId);
      put(out, 'amount', object.amount);
      put(out, 'amountPaid', object.amountPaid);
      put(out, 'currency', object.currency);
      put(out, 'status', object.status);
      put(out, 'hostedUrl', object.hostedUrl);
      break;
  }
  if (object.metadata !== undefined) out.metadata = { ...object.metadata };
  return out;
}

// ---------------------------------------------------------------------------------------------
// Parsing: every check failing throws INVALID_WEBHOOK_PAYLOAD naming the field.

function invalid(field: string, reason: string): never {
  throw new InvalidWebhookPayloadError(`The fake webhook body has an invalid ${field}: ${reason}.`, {
    context: { provider: 'fake', field, reason },
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class Reader {
  constructor(
    private readonly data: Record<string, unknown>,
    private readonly prefix: string,
  ) {}

  string(key: string): string {
    const v = this.data[key];
    if (typeof v !== 'string' || v === '') invalid(`${this.prefix}.${key}`, 'expected a non-empty string');
    return v;
  }

  nullableString(key: string): string | null {
    const v = this.data[key];
    if (v === null) return null;
    if (typeof v !== 'string') invalid(`${this.prefix}.${key}`, 'expected a string or null');
    return v;
  }

  optionalString(key: string): string | null | undefined {
    return this.data[key] === undefined ? undefined : this.nullableString(key);
  }

  integer(key: string): number {
    const v = this.data[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      invalid(`${this.prefix}.${key}`, 'expected a non-negative integer');
    }
    return v;
  }

  nullableInteger(key: string): number | null {
    return this.data[key] === null ? null : this.integer(key);
  }

  optionalInteger(key: string): number | undefined {
    return this.data[key] === undefined ? undefined : this.integer(key);
  }

  oneOf<T extends string>(key: string, values: readonly T[]): T {
    const v = this.data[key];
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      invalid(`${this.prefix}.${key}`, `expected one of ${values.join(', ')}`);
    }
    return v as T;
  }

  optionalDate(key: string): Date | null | undefined {
    const v = this.data[key];
    if (v === undefined || v === null) return v;
    const date = typeof v === 'string' ? new Date(v) : null;
    if (date === null || Number.isNaN(date.getTime())) invalid(`${this.prefix}.${key}`, 'expected an ISO date');
    return date;
  }

  optionalBoolean(key: string): boolean | undefined {
    const v = this.data[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') invalid(`${this.prefix}.${key}`, 'expected a boolean');
    return v;
  }

  metadata(): Record<string, string> | undefined {
    const v = this.data.metadata;
    if (v === undefined) return undefined;
    if (!isObject(v) || !Object.values(v).every((x) => typeof x === 'string')) {
      invalid(`${this.prefix}.metadata`, 'expected an object of strings');
    }
    return { ...(v as Record<string, string>) };
  }
}

/** Adds the optional fields that are present, leaving absent ones out (not `undefined`). */
function withOptional<T extends object>(base: T, optional: Record<string, unknown>): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(optional)) if (value !== undefined) out[key] = value;
  return out as T;
}

/** The `lightning` object of a fake payment event, when there is one. */
function parseLightning(value: unknown): ProviderPayment['lightning'] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) invalid('data.lightning', 'expected an object');
  const r = new Reader(value, 'data.lightning');
  return {
    paymentRequest: r.string('paymentRequest'),
    paymentHash: r.string('paymentHash'),
    amountMsat: value.amountMsat === undefined ? null : r.nullableString('amountMsat'),
    amountPaidMsat: value.amountPaidMsat === undefined ? null : r.nullableString('amountPaidMsat'),
    preimage: value.preimage === undefined ? null : r.nullableString('preimage'),
    quote: null,
  };
}

function parseObject(kind: FakeObjectKind, data: Record<string, unknown>): ProviderObject {
  const r = new Reader(data, 'data');
  switch (kind) {
    case 'payment': {
      const base: { kind: 'payment' } & ProviderPayment = {
        kind,
        providerId: r.string('id'),
        amount: r.integer('amount'),
        currency: r.string('currency'),
        status: r.oneOf('status', PAYMENT_STATUSES),
      };
      return withOptional(base, {
        amountRefunded: r.optionalInteger('amountRefunded'),
        customerProviderId: r.optionalString('customerId'),
        description: r.optionalString('description'),
        expiresAt: r.optionalDate('expiresAt'),
        failureCode: r.optionalString('failureCode'),
        failureMessage: r.optionalString('failureMessage'),
        nextActionUrl: r.optionalString('nextActionUrl'),
        lightning: parseLightning(data.lightning),
        metadata: r.metadata(),
      });
    }
    case 'refund': {
      const base: { kind: 'refund' } & ProviderRefund = {
        kind,
        providerId: r.string('id'),
        paymentProviderId: r.string('paymentId'),
        amount: r.integer('amount'),
        currency: r.string('currency'),
        status: r.oneOf('status', REFUND_STATUSES),
      };
      return withOptional(base, { reason: r.optionalString('reason'), metadata: r.metadata() });
    }
    case 'customer': {
      const base: { kind: 'customer' } & ProviderCustomer = {
        kind,
        providerId: r.string('id'),
        email: data.email === undefined ? null : r.nullableString('email'),
        name: data.name === undefined ? null : r.nullableString('name'),
      };
      return withOptional(base, { metadata: r.metadata() });
    }
    case 'subscription': {
      const base: { kind: 'subscription' } & ProviderSubscription = {
        kind,
        providerId: r.string('id'),
        customerProviderId: r.nullableString('customerId'),
        priceId: r.string('priceId'),
        status: r.oneOf('status', SUBSCRIPTION_STATUSES),
      };
      return withOptional(base, {
        currentPeriodEnd: r.optionalDate('currentPeriodEnd'),
        cancelAtPeriodEnd: r.optionalBoolean('cancelAtPeriodEnd'),
        canceledAt: r.optionalDate('canceledAt'),
        trialEnd: r.optionalDate('trialEnd'),
        metadata: r.metadata(),
      });
    }
    case 'checkout': {
      const base: { kind: 'checkout' } & ProviderCheckout = {
        kind,
        providerId: r.string('id'),
        mode: r.oneOf('mode', ['payment', 'subscription'] as const),
        url: r.string('url'),
        status: r.oneOf('status', CHECKOUT_STATUSES),
        amount: data.amount === undefined ? null : r.nullableInteger('amount'),
        currency: data.currency === undefined ? null : r.nullableString('currency'),
      };
      return withOptional(base, {
        customerProviderId: r.optionalString('customerId'),
        paymentProviderId: r.optionalString('paymentId'),
        subscriptionProviderId: r.optionalString('subscriptionId'),
        expiresAt: r.optionalDate('expiresAt'),
        metadata: r.metadata(),
      });
    }
    case 'invoice': {
      const base: { kind: 'invoice' } & ProviderInvoice = {
        kind,
        providerId: r.string('id'),
        customerProviderId: r.nullableString('customerId'),
        subscriptionProviderId: r.nullableString('subscriptionId'),
        amount: r.integer('amount'),
        amountPaid: r.integer('amountPaid'),
        currency: r.string('currency'),
        status: r.oneOf('status', INVOICE_STATUSES),
      };
      return withOptional(base, { hostedUrl: r.optionalString('hostedUrl'), metadata: r.metadata() });
    }
  }
}

/**
 * Parses and normalizes a fake event body `{ id, type, created, data }` (already verified).
 * `type` is in Payable's vocabulary; any other string gives type `'unknown'` (its `providerType`
 * kept) and `object: null`. `created` is unix seconds. Throws `InvalidWebhookPayloadError` when the
 * body is not JSON or not of that shape.
 *
 * @example
 * ```ts
 * parseFakeEvent(Buffer.from('{"id":"evt_1","type":"customer.created","created":1767225600,"data":{"id":"fake_cus_1","email":null,"name":null}}'));
 * // { id: 'evt_1', type: 'customer.created', providerType: 'customer.created', createdAt: …, object: { kind: 'customer', … } }
 * ```
 */
export function parseFakeEvent(payload: Uint8Array): NormalizedEvent {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch (cause) {
    throw new InvalidWebhookPayloadError('The fake webhook body is not valid JSON.', {
      context: { provider: 'fake', reason: 'not_json' },
      cause,
    });
  }
  if (!isObject(body)) invalid('body', 'expected a JSON object');
  const r = new Reader(body, 'body');
  const id = r.string('id');
  const providerType = r.string('type');
  const created = r.integer('created');
  if (!isObject(body.data)) invalid('body.data', 'expected an object');
  const kind = fakeEventKind(providerType);
  const type: PayableEventType = kind === null ? 'unknown' : (providerType as PayableEventType);
  return {
    id,
    type,
    providerType,
    createdAt: new Date(created * 1000),
    object: kind === null ? null : parseObject(kind, body.data),
  };
}
