import type { Clock } from '../clock/types.js';
import { SystemClock } from '../clock/system-clock.js';
import { ValidationError } from '../errors/classes.js';
import type { LightningQuote } from '../records/types.js';
import type { RateQuote, RateSource } from './types.js';

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/** The number of minor-unit digits of an ISO 4217 currency (USD 2, JPY 0, KWD 3). */
export function currencyDigits(currency: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

function parseRate(rate: string, currency: string): { units: bigint; scale: number } {
  const match = typeof rate === 'string' ? DECIMAL.exec(rate.trim()) : null;
  const units = match ? BigInt(`${match[1]}${match[2] ?? ''}`) : 0n;
  if (!match || units === 0n) {
    throw new ValidationError(`The rate of ${currency} must be a positive decimal string of sats per unit.`, {
      context: { field: 'satsPerUnit', reason: 'not_a_positive_decimal', currency },
    });
  }
  return { units, scale: match[2]?.length ?? 0 };
}

/**
 * Convert `amount` minor units of `currency` to satoshis at `rate` and lock the quote. Exact:
 * integer math on the decimal digits (`BigInt`), no floats. The result is rounded **up** to a whole
 * satoshi, so the merchant never receives less than the price (the payer pays at most 1 sat more).
 *
 * @example
 * ```ts
 * lockQuote(1999, 'USD', { satsPerUnit: '1052.63', at }); // { fiatAmount: 1999, fiatCurrency: 'USD', sats: 21043, rate: '1052.63', quotedAt: at }
 * ```
 */
export function lockQuote(amount: number, currency: string, rate: RateQuote): LightningQuote {
  const fiatCurrency = currency.toUpperCase();
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new ValidationError('amount must be a positive integer in the minor unit.', {
      context: { field: 'amount', reason: 'not_a_positive_integer' },
    });
  }
  const { units, scale } = parseRate(rate.satsPerUnit, fiatCurrency);
  const denominator = 10n ** BigInt(currencyDigits(fiatCurrency) + scale);
  const numerator = BigInt(amount) * units;
  const sats = (numerator + denominator - 1n) / denominator;
  if (sats > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ValidationError(`${amount} ${fiatCurrency} is more satoshis than Payable can count.`, {
      context: { field: 'amount', reason: 'too_large' },
    });
  }
  return {
    fiatAmount: amount,
    fiatCurrency,
    sats: Number(sats),
    rate: rate.satsPerUnit.trim(),
    quotedAt: new Date(rate.at.getTime()),
  };
}

/**
 * A rate source with fixed rates, for tests and examples: sats per major unit of each currency.
 *
 * @example
 * ```ts
 * const rates = new FixedRateSource({ USD: '1052.63', EUR: '1130' }, { clock });
 * createPayable({ providers: { lnd }, storage, lightning: { rates } });
 * await payable.charge({ amount: 1999, currency: 'USD' }, { provider: 'lnd' }); // 21 043 sats, quote locked
 * ```
 */
export class FixedRateSource implements RateSource {
  readonly #rates: ReadonlyMap<string, string>;
  readonly #clock: Clock;

  constructor(rates: Readonly<Record<string, string>>, options: { clock?: Clock } = {}) {
    const entries = Object.entries(rates).map(([currency, rate]) => {
      parseRate(rate, currency);
      return [currency.toUpperCase(), rate.trim()] as const;
    });
    this.#rates = new Map(entries);
    this.#clock = options.clock ?? new SystemClock();
  }

  quote(fiatCurrency: string): RateQuote {
    const rate = this.#rates.get(fiatCurrency.toUpperCase());
    if (rate === undefined) {
      throw new ValidationError(`No rate for ${fiatCurrency}.`, {
        context: { field: 'currency', reason: 'no_rate', currency: fiatCurrency },
      });
    }
    return { satsPerUnit: rate, at: this.#clock.now() };
  }
}
