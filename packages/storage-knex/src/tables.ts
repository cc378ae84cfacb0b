import { ValidationError, type RecordKind } from '@payable/core';

/**
 * The prefix every Payable table name starts with unless `tablePrefix` says otherwise.
 *
 * @example
 * ```ts
 * `${DEFAULT_TABLE_PREFIX}webhook_events`; // 'payable_webhook_events'
 * ```
 */
export const DEFAULT_TABLE_PREFIX = 'payable_';

/** Lower-case letters, digits and `_`, not starting with a digit, at most 24 characters (or empty). */
const PREFIX_PATTERN = /^(?:[a-z_][a-z0-9_]{0,23})?$/;

/**
 * The names of every table Payable keeps, after the prefix is applied.
 *
 * @example
 * ```ts
 * const { webhookEvents } = tableNames();
 * const pending = await knex(webhookEvents).where({ status: 'pending' }).count();
 * ```
 */
export interface TableNames {
  /** Billing records, one table per kind: `payable_customers`, `payable_payments`, … */
  records: Readonly<Record<RecordKind, string>>;
  /** The webhook inbox: `payable_webhook_events`. */
  webhookEvents: string;
  /** The transactional outbox: `payable_outbox`. */
  outbox: string;
  /** Idempotency keys and their stored responses: `payable_idempotency_keys`. */
  idempotencyKeys: string;
  /** Named leases for per-object serialization across processes: `payable_locks`. */
  locks: string;
  /** Durable stream positions (e.g. a Lightning node's settle index): `payable_cursors` (schema v3). */
  cursors: string;
  /** L402 payment hashes already redeemed (replay protection): `payable_l402_spent_tokens`. */
  l402SpentTokens: string;
  /** L402 macaroon root keys: `payable_l402_root_keys`. */
  l402RootKeys: string;
  /** Outbound webhook endpoints an app registered: `payable_webhook_endpoints` (schema v4). */
  endpoints: string;
  /** One domain event to one endpoint, (endpoint, event) unique: `payable_webhook_deliveries` (schema v4). */
  deliveries: string;
  /** The delivery log, one row per attempt: `payable_webhook_delivery_attempts` (schema v4). */
  deliveryAttempts: string;
  /** The migrations applied to this schema: `payable_schema_version`. */
  schemaVersion: string;
}

/**
 * The table names for `prefix` (default `payable_`), after checking the prefix is a safe SQL
 * identifier fragment (lower-case letters, digits, `_`, at most 24 characters).
 *
 * @example
 * ```ts
 * tableNames('billing_').records.payment; // 'billing_payments'
 * ```
 */
export function tableNames(prefix: string = DEFAULT_TABLE_PREFIX): TableNames {
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw new ValidationError(
      'tablePrefix must be lower-case letters, digits or "_", not start with a digit, and be at most 24 characters.',
      { context: { field: 'tablePrefix', reason: 'invalid' } },
    );
  }
  return {
    records: Object.freeze({
      customer: `${prefix}customers`,
      payment: `${prefix}payments`,
      refund: `${prefix}refunds`,
      subscription: `${prefix}subscriptions`,
      invoice: `${prefix}invoices`,
      checkout: `${prefix}checkouts`,
    }),
    webhookEvents: `${prefix}webhook_events`,
    outbox: `${prefix}outbox`,
    idempotencyKeys: `${prefix}idempotency_keys`,
    locks: `${prefix}locks`,
    cursors: `${prefix}cursors`,
    l402SpentTokens: `${prefix}l402_spent_tokens`,
    l402RootKeys: `${prefix}l402_root_keys`,
    endpoints: `${prefix}webhook_endpoints`,
    deliveries: `${prefix}webhook_deliveries`,
    deliveryAttempts: `${prefix}webhook_delivery_attempts`,
    schemaVersion: `${prefix}schema_version`,
  };
}

/** Every table name of `tables`, records first, the schema-version table last. */
export function allTables(tables: TableNames): string[] {
  return [
    ...Object.values(tables.records),
    tables.webhookEvents,
    tables.outbox,
    tables.idempotencyKeys,
    tables.locks,
    tables.cursors,
    tables.l402SpentTokens,
    tables.l402RootKeys,
    tables.endpoints,
    tables.deliveries,
    tables.deliveryAttempts,
    tables.schemaVersion,
  ];
}
