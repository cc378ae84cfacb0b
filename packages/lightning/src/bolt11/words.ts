// 5-bit word helpers for BOLT-11's data part (bech32 "words").

/** The bech32 alphabet; a word's value is its index. */
export const BECH32_ALPHABET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

function pack(words: ArrayLike<number>, start: number, end: number, pad: boolean): Uint8Array {
  const totalBits = (end - start) * 5;
  const out = new Uint8Array(pad ? Math.ceil(totalBits / 8) : Math.floor(totalBits / 8));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = start; i < end; i++) {
    acc = ((acc << 5) | (words[i] as number)) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if (pad && bits > 0) out[o] = (acc << (8 - bits)) & 0xff;
  return out;
}

/**
 * Bytes packed from `words[start, end)`, dropping the trailing bits that do not fill a byte (the
 * writer's zero padding).
 */
export function wordsToBytes(words: ArrayLike<number>, start = 0, end = words.length): Uint8Array {
  return pack(words, start, end, false);
}

/** Bytes packed from `words[start, end)`, zero-padding the last byte (how BOLT-11 builds the signed data). */
export function wordsToBytesPadded(words: ArrayLike<number>, start = 0, end = words.length): Uint8Array {
  return pack(words, start, end, true);
}

/** 5-bit words for `bytes`, the last word zero-padded. */
export function bytesToWords(bytes: Uint8Array): number[] {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const byte of bytes) {
    acc = ((acc << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push((acc >> bits) & 31);
    }
  }
  if (bits > 0) out.push((acc << (5 - bits)) & 31);
  return out;
}

/** The big-endian unsigned integer in `words[start, end)`. */
export function wordsToBigInt(words: ArrayLike<number>, start = 0, end = words.length): bigint {
  let value = 0n;
  for (let i = start; i < end; i++) value = (value << 5n) | BigInt(words[i] as number);
  return value;
}

/** The big-endian words of a non-negative integer: the fewest words, at least `minWords`. */
export function uintToWords(value: bigint | number, minWords = 1): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  while (v > 0n) {
    out.unshift(Number(v & 31n));
    v >>= 5n;
  }
  while (out.length < minWords) out.unshift(0);
  return out;
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Bytes of an even-length hex string, or `undefined` when it is not hex. */
export function fromHex(hex: string): Uint8Array | undefined {
  if (typeof hex !== 'string' || !HEX_RE.test(hex)) return undefined;
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
