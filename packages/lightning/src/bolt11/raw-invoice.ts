// Low-level invoice assembly: tagged fields in, signed bech32 out. Used by encodeInvoice; tests use
// it to build invoices encodeInvoice refuses to write (missing fields, wrong lengths, high-S...).
import { secp256k1 } from '@noble/curves/secp256k1';
import { sha256 } from '@noble/hashes/sha2';
import { bech32 } from '@scure/base';
import { SIGNATURE_WORDS, TIMESTAMP_WORDS } from './decode-invoice.js';
import { bytesToWords, uintToWords, wordsToBytesPadded } from './words.js';

/** One tagged field: its type (0–31) and its data as 5-bit words (at most 1023). */
export interface RawField {
  readonly type: number;
  readonly words: readonly number[];
}

/** Options for signing a raw invoice; the defaults produce a canonical, low-S signature. */
export interface RawSignOptions {
  /** Replace the low-S signature with its high-S twin (and flip the recovery id to match). */
  readonly highS?: boolean;
}

/** The data words (timestamp then tagged fields) of a raw invoice, before the signature. */
export function rawDataWords(timestamp: number, fields: readonly RawField[]): number[] {
  const words = uintToWords(timestamp, TIMESTAMP_WORDS);
  for (const field of fields) {
    words.push(field.type, field.words.length >> 5, field.words.length & 31, ...field.words);
  }
  return words;
}

/**
 * Signs `hrp` + data words with `privateKey` (RFC 6979, deterministic) and returns the bech32 invoice.
 * The inputs are not validated: that is the caller's job.
 */
export function signRawInvoice(
  hrp: string,
  dataWords: readonly number[],
  privateKey: Uint8Array,
  options: RawSignOptions = {},
): string {
  const hrpBytes = new TextEncoder().encode(hrp);
  const dataBytes = wordsToBytesPadded(dataWords);
  const signed = new Uint8Array(hrpBytes.length + dataBytes.length);
  signed.set(hrpBytes);
  signed.set(dataBytes, hrpBytes.length);
  const sig = secp256k1.sign(sha256(signed), privateKey, { prehash: false, lowS: true });
  let compact = sig.toBytes('compact');
  let recovery = sig.recovery;
  if (options.highS) {
    const n = secp256k1.Point.Fn.ORDER;
    const high = new secp256k1.Signature(sig.r, n - sig.s);
    compact = high.toBytes('compact');
    recovery ^= 1;
  }
  const sigBytes = new Uint8Array(65);
  sigBytes.set(compact);
  sigBytes[64] = recovery;
  const sigWords = bytesToWords(sigBytes);
  if (sigWords.length !== SIGNATURE_WORDS) throw new RangeError('signature must be 104 words');
  return bech32.encode(hrp, [...dataWords, ...sigWords], false);
}
