// The `9` field: a big-endian bit vector, bit 0 the least significant bit of the last word.
import type { FeatureState, InvoiceFeatures } from './types.js';

/** The features BOLT 9 allows in invoices, by their even (required) bit. */
const KNOWN_FEATURES = {
  varOnionOptin: 8,
  paymentSecret: 14,
  basicMpp: 16,
  routeBlinding: 24,
  paymentMetadata: 48,
} as const;

const KNOWN_BITS = new Set<number>(Object.values(KNOWN_FEATURES).flatMap((even) => [even, even + 1]));

/** The highest bit a `9` field can hold (1023 words of 5 bits). */
export const MAX_FEATURE_BIT = 1023 * 5 - 1;

/** Set bits of a feature field, ascending. */
export function wordsToFeatureBits(words: ArrayLike<number>, start: number, end: number): number[] {
  const bits: number[] = [];
  for (let i = end - 1; i >= start; i--) {
    const word = words[i] as number;
    const base = (end - 1 - i) * 5;
    for (let j = 0; j < 5; j++) if ((word >> j) & 1) bits.push(base + j);
  }
  return bits;
}

/** The shortest word vector with exactly `bits` set (no leading zero words). */
export function featureBitsToWords(bits: readonly number[]): number[] {
  if (bits.length === 0) return [];
  const length = Math.floor(Math.max(...bits) / 5) + 1;
  const words = new Array<number>(length).fill(0);
  for (const bit of bits) {
    const index = length - 1 - Math.floor(bit / 5);
    words[index] = (words[index] as number) | (1 << (bit % 5));
  }
  return words;
}

/** Whether `bit` is an even bit this decoder does not know: an invoice with one must be refused. */
export function isUnknownRequiredBit(bit: number): boolean {
  return bit % 2 === 0 && !KNOWN_BITS.has(bit);
}

function state(bits: ReadonlySet<number>, even: number): FeatureState {
  if (bits.has(even)) return 'required';
  if (bits.has(even + 1)) return 'optional';
  return 'absent';
}

/** The decoded view of a set of feature bits. */
export function describeFeatures(bits: readonly number[]): InvoiceFeatures {
  const sorted = [...new Set(bits)].sort((a, b) => a - b);
  const set = new Set(sorted);
  return {
    bits: sorted,
    varOnionOptin: state(set, KNOWN_FEATURES.varOnionOptin),
    paymentSecret: state(set, KNOWN_FEATURES.paymentSecret),
    basicMpp: state(set, KNOWN_FEATURES.basicMpp),
    routeBlinding: state(set, KNOWN_FEATURES.routeBlinding),
    paymentMetadata: state(set, KNOWN_FEATURES.paymentMetadata),
    unknownBits: sorted.filter((bit) => !KNOWN_BITS.has(bit)),
  };
}
