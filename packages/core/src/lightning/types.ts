import type { LightningQuote } from '../records/types.js';

/**
 * A price: how many satoshis one major unit of a fiat currency buys, at a time.
 *
 * @example
 * ```ts
 * const quote: RateQuote = { satsPerUnit: '1052.63', at: new Date() }; // 1 USD = 1052.63 sats
 * ```
 */
export interface RateQuote {
  /** Satoshis per one major unit (1 USD, 1 EUR, 1 JPY), a positive decimal string: no floats. */
  satsPerUnit: string;
  /** When the rate was observed. */
  at: Date;
}

/**
 * Where fiat prices for Lightning payments come from: an exchange API, a price oracle, or
 * `FixedRateSource` in tests. Payable quotes once per payment and locks the quote on the record.
 *
 * @example
 * ```ts
 * const rates: RateSource = {
 *   async quote(currency) {
 *     const { satsPerUnit } = await myPriceApi.get(currency); // e.g. '1052.63'
 *     return { satsPerUnit, at: new Date() };
 *   },
 * };
 * createPayable({ providers: { lnd }, storage, lightning: { rates } });
 * ```
 */
export interface RateSource {
  /** The rate of `fiatCurrency` (ISO 4217, upper case). Throw when the currency is not quoted. */
  quote(fiatCurrency: string): Promise<RateQuote> | RateQuote;
}

/**
 * The `lightning` options of `createPayable`.
 *
 * @example
 * ```ts
 * createPayable({ providers: { lnd }, storage, lightning: { rates: new FixedRateSource({ USD: '1052.63' }) } });
 * ```
 */
export interface LightningOptions {
  /** Prices fiat amounts charged on a Lightning provider. Without it, Lightning charges must be in BTC. */
  rates?: RateSource;
}

/**
 * Reconnection backoff of the settlement listener: exponential with jitter, from `initialMs` to `maxMs`.
 *
 * @example
 * ```ts
 * payable.lightning.listen({ backoff: { initialMs: 500, maxMs: 60_000 } });
 * ```
 */
export interface ListenBackoff {
  /** The first delay after a dropped connection, in ms (default 250). */
  initialMs?: number;
  /** The longest delay, in ms (default 30 000). */
  maxMs?: number;
}

/**
 * Options of `payable.lightning.listen()`.
 *
 * @example
 * ```ts
 * payable.lightning.listen({ provider: 'lnd', tenantId: 'merchant-42' });
 * ```
 */
export interface LightningListenOptions {
  /** The registered provider to listen to; default every provider with a settlement stream. */
  provider?: string;
  /** The tenant whose provider this is (`null` in single-tenant apps). */
  tenantId?: string | null;
  backoff?: ListenBackoff;
}

/**
 * A running settlement listener.
 *
 * @example
 * ```ts
 * const listener = payable.lightning.listen();
 * await listener.ready;
 * process.on('SIGTERM', () => void listener.stop());
 * ```
 */
export interface LightningListener {
  /** Resolves once every stream has connected for the first time. */
  readonly ready: Promise<void>;
  /** How many updates were stored in the inbox since it started (duplicates included). */
  readonly received: number;
  /** Stop listening; resolves when every stream has closed. */
  stop(): Promise<void>;
}

/**
 * `payable.lightning`: Lightning-specific operations.
 *
 * @example
 * ```ts
 * payable.lightning.listen();
 * const quote = await payable.lightning.quote(1999, 'USD'); // { sats: 21043, rate: '1052.63', ... }
 * ```
 */
export interface LightningApi {
  /**
   * Subscribe to the settlement stream of providers that have one (LND) and feed every update into
   * the webhook inbox under a stable id (`lnd:<payment_hash>:settled`): dedupe, processing, outbox
   * and handlers as for a webhook. Reconnects with backoff; resumes after the stream position it
   * recorded in storage, so no settlement is missed after a restart and none is applied twice.
   */
  listen(options?: LightningListenOptions): LightningListener;
  /**
   * Mark the pending Lightning payments whose invoice has expired as `expired` (emitting
   * `payment.expired`), for one tenant. Reads already show them expired from the instant of expiry;
   * this persists it without a read. The periodic maintenance runs it for the default tenant.
   * Returns how many changed.
   */
  expire(options?: { tenantId?: string | null; limit?: number }): Promise<number>;
  /** Convert a fiat amount (minor units) to satoshis with the configured rate source, rounding up. */
  quote(amount: number, currency: string): Promise<LightningQuote>;
}
