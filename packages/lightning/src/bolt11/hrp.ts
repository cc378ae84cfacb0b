// The human-readable part of an invoice: `ln` + currency prefix + optional amount and multiplier.
import { invalid } from './errors.js';
import type { InvoiceNetwork } from './types.js';

/** The invoice prefix of each network. */
export const NETWORK_PREFIX: Readonly<Record<InvoiceNetwork, string>> = {
  bitcoin: 'lnbc',
  testnet: 'lntb',
  signet: 'lntbs',
  regtest: 'lnbcrt',
};

// Longest first, so `lnbcrt` is not read as `lnbc` + amount `rt`, nor `lntbs` as `lntb` + `s`.
const PREFIXES: ReadonlyArray<readonly [string, InvoiceNetwork]> = [
  ['lnbcrt', 'regtest'],
  ['lntbs', 'signet'],
  ['lnbc', 'bitcoin'],
  ['lntb', 'testnet'],
];

/** Millisatoshis per unit of each multiplier (`''` = whole bitcoin); `p` is handled apart. */
const MSAT_PER_UNIT: ReadonlyArray<readonly [string, bigint]> = [
  ['', 100_000_000_000n],
  ['m', 100_000_000n],
  ['u', 100_000n],
  ['n', 100n],
];

/** 21 million bitcoin, in millisatoshis: no amount can be larger. */
export const MAX_AMOUNT_MSAT = 21_000_000n * 100_000_000_000n;

const FIELD = 'paymentRequest';

/** Parses a lowercase human-readable part into its prefix, network and amount. */
export function parseHrp(hrp: string): { prefix: string; network: InvoiceNetwork; amountMsat: bigint | null } {
  const match = PREFIXES.find(([prefix]) => hrp.startsWith(prefix));
  const rest = match ? hrp.slice(match[0].length) : '';
  if (!match || (rest !== '' && !/^[0-9]/.test(rest))) {
    invalid(
      FIELD,
      'bad_prefix',
      `Invalid Lightning invoice: unknown prefix "${hrp.slice(0, 12)}" (expected lnbc, lntb, lntbs or lnbcrt).`,
    );
  }
  const [prefix, network] = match;
  return { prefix, network, amountMsat: rest === '' ? null : parseAmount(rest) };
}

function badAmount(detail: string, message: string): never {
  return invalid(FIELD, 'bad_amount', `Invalid Lightning invoice amount: ${message}.`, { detail });
}

/** `2500u` → 250000000n millisatoshis, exactly. */
function parseAmount(text: string): bigint {
  const m = /^([0-9]+)([a-z]?)$/.exec(text);
  if (!m) return badAmount('not_a_number', `"${text.slice(0, 32)}" is not a number followed by a multiplier`);
  const digits = m[1] as string;
  const multiplier = m[2] as string;
  if (!/^[munp]?$/.test(multiplier)) {
    return badAmount('invalid_multiplier', `"${multiplier}" is not a multiplier (m, u, n or p)`);
  }
  if (/^0+$/.test(digits)) return badAmount('zero', 'the amount is zero');
  if (digits.startsWith('0')) return badAmount('leading_zero', 'the amount has leading zeros');
  // 2.1e18 msat has 19 digits; 23 digits of pico-bitcoin or more is always over the cap.
  if (digits.length > 23) return badAmount('too_large', 'the amount exceeds 21 million bitcoin');
  const value = BigInt(digits);
  let msat: bigint;
  if (multiplier === 'p') {
    if (!digits.endsWith('0')) {
      return badAmount('sub_millisatoshi', 'a pico-bitcoin amount must end in 0 (a whole number of millisatoshis)');
    }
    msat = value / 10n;
  } else {
    msat = value * (MSAT_PER_UNIT.find(([unit]) => unit === multiplier)?.[1] as bigint);
  }
  if (msat > MAX_AMOUNT_MSAT) return badAmount('too_large', 'the amount exceeds 21 million bitcoin');
  return msat;
}

/** The shortest amount text for `msat` (the largest multiplier that keeps it whole): 250000000n → `2500u`. */
export function formatAmount(msat: bigint): string {
  for (const [unit, perUnit] of MSAT_PER_UNIT) {
    if (msat % perUnit === 0n) return `${msat / perUnit}${unit}`;
  }
  return `${msat * 10n}p`;
}
