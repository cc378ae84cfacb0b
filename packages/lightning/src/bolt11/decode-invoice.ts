import { secp256k1 } from '@noble/curves/secp256k1';
import { sha256 } from '@noble/hashes/sha2';
import { bech32 } from '@scure/base';
import { invalid } from './errors.js';
import { fallbackAddress, isKnownFallbackVersion, isValidFallbackProgram } from './fallback.js';
import { describeFeatures, isUnknownRequiredBit, wordsToFeatureBits } from './features.js';
import { parseHrp } from './hrp.js';
import type {
  DecodedInvoice,
  FallbackAddress,
  IgnoredField,
  IgnoredFieldReason,
  RouteHint,
  RouteHintHop,
} from './types.js';
import { BECH32_ALPHABET, toHex, wordsToBigInt, wordsToBytes, wordsToBytesPadded } from './words.js';

/**
 * The longest invoice accepted (and written): far above what a QR code carries (4,296 characters),
 * low enough that a hostile string costs little to refuse.
 */
export const MAX_INVOICE_LENGTH = 8192;

/** Expiry readers assume when an invoice has no `x` field, in seconds. */
export const DEFAULT_EXPIRY_SECONDS = 3600;

/** `min_final_cltv_expiry_delta` readers assume when an invoice has no `c` field, in blocks. */
export const DEFAULT_MIN_FINAL_CLTV_EXPIRY = 18;

/** Tagged field types (the value of the field's first 5-bit word). */
export const TAG = {
  paymentHash: 1, // p
  routeHint: 3, // r
  features: 5, // 9
  expiry: 6, // x
  fallback: 9, // f
  description: 13, // d
  paymentSecret: 16, // s
  payeeNodeKey: 19, // n
  descriptionHash: 23, // h
  minFinalCltvExpiry: 24, // c
  metadata: 27, // m
} as const;

/** 35-bit timestamp. */
export const TIMESTAMP_WORDS = 7;
/** 520-bit signature: 64 bytes + recovery id. */
export const SIGNATURE_WORDS = 104;
/** Bytes of one route hint hop: pubkey 33, scid 8, fee base 4, fee rate 4, cltv delta 2. */
export const ROUTE_HINT_HOP_BYTES = 51;

const FIELD = 'paymentRequest';
const utf8 = new TextDecoder('utf-8', { fatal: true });
const ALPHABET_SET = new Set(BECH32_ALPHABET);

/**
 * Decodes and checks a BOLT-11 payment request: bech32 checksum, prefix and amount, every tagged
 * field, the required `p`, `s` and `d`/`h` fields, the feature bits, and the signature (the payee is
 * recovered from it, or verified against the `n` field with a low-S signature required). A leading
 * `lightning:` URI scheme is accepted; upper case is accepted, mixed case is not.
 *
 * @throws {ValidationError} `VALIDATION_ERROR` with `context.reason` one of
 *   {@link INVOICE_ERROR_REASONS} (`bad_checksum`, `missing_payment_secret`, ...).
 * @example
 * ```ts
 * const invoice = decodeInvoice('lnbc2500u1pvjluez...');
 * invoice.amountMsat; // 250000000n
 * invoice.paymentHash; // '0001020304...'
 * ```
 */
export function decodeInvoice(paymentRequest: string): DecodedInvoice {
  if (typeof paymentRequest !== 'string') {
    invalid(FIELD, 'not_a_string', 'Invalid Lightning invoice: expected a string.');
  }
  let text = paymentRequest.trim();
  if (/^lightning:/i.test(text)) text = text.slice('lightning:'.length);
  if (text.length > MAX_INVOICE_LENGTH) {
    invalid(FIELD, 'too_long', `Invalid Lightning invoice: longer than ${MAX_INVOICE_LENGTH} characters.`);
  }
  const lower = text.toLowerCase();
  if (text !== lower && text !== text.toUpperCase()) {
    invalid(FIELD, 'mixed_case', 'Invalid Lightning invoice: it mixes upper and lower case.');
  }
  const separator = lower.lastIndexOf('1');
  if (separator === -1) {
    invalid(FIELD, 'no_separator', 'Invalid Lightning invoice: no "1" separates the prefix from the data.');
  }
  const hrp = lower.slice(0, separator);
  const data = lower.slice(separator + 1);
  if (hrp.length === 0) invalid(FIELD, 'bad_prefix', 'Invalid Lightning invoice: the prefix is empty.');
  for (let i = 0; i < hrp.length; i++) {
    const code = hrp.charCodeAt(i);
    if (code < 33 || code > 126) {
      invalid(FIELD, 'bad_character', 'Invalid Lightning invoice: the prefix holds a character bech32 forbids.');
    }
  }
  for (const char of data) {
    if (!ALPHABET_SET.has(char)) {
      invalid(FIELD, 'bad_character', `Invalid Lightning invoice: "${char}" is not a bech32 character.`);
    }
  }
  if (data.length < 6) invalid(FIELD, 'too_short', 'Invalid Lightning invoice: too short to hold a checksum.');

  let words: readonly number[];
  try {
    words = bech32.decode(lower as `${string}1${string}`, false).words;
  } catch {
    return invalid(
      FIELD,
      'bad_checksum',
      'Invalid Lightning invoice: the bech32 checksum does not match (a mistyped or truncated invoice).',
    );
  }

  const { prefix, network, amountMsat } = parseHrp(hrp);
  if (words.length < TIMESTAMP_WORDS + SIGNATURE_WORDS) {
    invalid(FIELD, 'too_short', 'Invalid Lightning invoice: too short to hold a timestamp and a signature.');
  }
  const signatureStart = words.length - SIGNATURE_WORDS;
  const timestamp = Number(wordsToBigInt(words, 0, TIMESTAMP_WORDS));

  let paymentHash: string | undefined;
  let paymentSecret: string | undefined;
  let description: string | undefined;
  let descriptionHash: string | undefined;
  let payeeKey: Uint8Array | undefined;
  let expiry: number | undefined;
  let minFinalCltvExpiry: number | undefined;
  let metadata: string | undefined;
  let featureBits: number[] | undefined;
  const routeHints: RouteHint[] = [];
  const fallbacks: FallbackAddress[] = [];
  const ignoredFields: IgnoredField[] = [];

  let at = TIMESTAMP_WORDS;
  while (at < signatureStart) {
    if (signatureStart - at < 3) {
      invalid(FIELD, 'truncated_field', 'Invalid Lightning invoice: a tagged field runs into the signature.');
    }
    const type = words[at] as number;
    const length = (words[at + 1] as number) * 32 + (words[at + 2] as number);
    const start = at + 3;
    const end = start + length;
    if (end > signatureStart) {
      invalid(FIELD, 'truncated_field', 'Invalid Lightning invoice: a tagged field runs into the signature.');
    }
    at = end;
    const ignore = (reason: IgnoredFieldReason): void => {
      ignoredFields.push({ tag: BECH32_ALPHABET[type] as string, dataLength: length, reason });
    };
    // Fixed-length fields of the wrong length are skipped; a later valid one may follow. For every
    // single-valued field the first valid one counts (the writer puts the preferred one first).
    const fixed = (expected: number, seen: unknown): boolean => {
      if (length !== expected) ignore('wrong_length');
      else if (seen !== undefined) ignore('duplicate');
      else return true;
      return false;
    };

    switch (type) {
      case TAG.paymentHash:
        if (fixed(52, paymentHash)) paymentHash = toHex(wordsToBytes(words, start, end));
        break;
      case TAG.paymentSecret:
        if (fixed(52, paymentSecret)) paymentSecret = toHex(wordsToBytes(words, start, end));
        break;
      case TAG.descriptionHash:
        if (fixed(52, descriptionHash)) descriptionHash = toHex(wordsToBytes(words, start, end));
        break;
      case TAG.payeeNodeKey:
        if (fixed(53, payeeKey)) {
          payeeKey = wordsToBytes(words, start, end);
          if (!secp256k1.utils.isValidPublicKey(payeeKey, true)) {
            invalid(FIELD, 'bad_payee_key', 'Invalid Lightning invoice: the n field is not a valid public key.');
          }
        }
        break;
      case TAG.description:
        if (description !== undefined) {
          ignore('duplicate');
          break;
        }
        try {
          description = utf8.decode(wordsToBytes(words, start, end));
        } catch {
          invalid(FIELD, 'bad_description', 'Invalid Lightning invoice: the description is not valid UTF-8.');
        }
        break;
      case TAG.expiry:
        if (expiry !== undefined) ignore('duplicate');
        else expiry = safeNumber(wordsToBigInt(words, start, end), 'bad_expiry', 'expiry');
        break;
      case TAG.minFinalCltvExpiry:
        if (minFinalCltvExpiry !== undefined) ignore('duplicate');
        else {
          minFinalCltvExpiry = safeNumber(
            wordsToBigInt(words, start, end),
            'bad_min_final_cltv_expiry',
            'min_final_cltv_expiry',
          );
        }
        break;
      case TAG.metadata:
        if (metadata !== undefined) ignore('duplicate');
        else metadata = toHex(wordsToBytes(words, start, end));
        break;
      case TAG.features:
        if (featureBits !== undefined) ignore('duplicate');
        else featureBits = wordsToFeatureBits(words, start, end);
        break;
      case TAG.routeHint:
        routeHints.push(parseRouteHint(wordsToBytes(words, start, end)));
        break;
      case TAG.fallback: {
        const version = length > 0 ? (words[start] as number) : -1;
        if (!isKnownFallbackVersion(version)) {
          ignore(length > 0 ? 'unknown_fallback_version' : 'wrong_length');
          break;
        }
        const program = wordsToBytes(words, start + 1, end);
        if (!isValidFallbackProgram(version, program)) {
          invalid(
            FIELD,
            'bad_fallback',
            `Invalid Lightning invoice: fallback version ${version} has an invalid ${program.length}-byte program.`,
          );
        }
        fallbacks.push({ version, hex: toHex(program), address: fallbackAddress(network, version, program) });
        break;
      }
      default:
        ignore('unknown_type');
    }
  }

  if (paymentHash === undefined) {
    invalid(FIELD, 'missing_payment_hash', 'Invalid Lightning invoice: it has no payment hash (p field).');
  }
  if (paymentSecret === undefined) {
    invalid(FIELD, 'missing_payment_secret', 'Invalid Lightning invoice: it has no payment secret (s field).');
  }
  if (description === undefined && descriptionHash === undefined) {
    invalid(FIELD, 'missing_description', 'Invalid Lightning invoice: it has neither a description nor its hash.');
  }
  if (description !== undefined && descriptionHash !== undefined) {
    invalid(FIELD, 'both_descriptions', 'Invalid Lightning invoice: it has both a description and a description hash.');
  }
  const unknownRequired = (featureBits ?? []).filter(isUnknownRequiredBit);
  if (unknownRequired.length > 0) {
    invalid(
      FIELD,
      'unknown_required_feature',
      `Invalid Lightning invoice: it requires unknown feature bit(s) ${unknownRequired.join(', ')}.`,
      { bits: unknownRequired },
    );
  }

  // The signature covers the human-readable part (UTF-8) and the data words before the signature,
  // packed into bytes and zero-padded.
  const sigBytes = wordsToBytes(words, signatureStart, words.length);
  const compact = sigBytes.subarray(0, 64);
  const recoveryId = sigBytes[64] as number;
  const hrpBytes = new TextEncoder().encode(hrp);
  const dataBytes = wordsToBytesPadded(words, 0, signatureStart);
  const signed = new Uint8Array(hrpBytes.length + dataBytes.length);
  signed.set(hrpBytes);
  signed.set(dataBytes, hrpBytes.length);
  const messageHash = sha256(signed);
  let signature: ReturnType<typeof secp256k1.Signature.fromBytes>;
  try {
    if (recoveryId > 3) throw new RangeError('recovery id');
    signature = secp256k1.Signature.fromBytes(compact, 'compact');
  } catch {
    return invalid(FIELD, 'bad_signature', 'Invalid Lightning invoice: the signature is malformed.');
  }

  let payee: Uint8Array;
  if (payeeKey !== undefined) {
    if (signature.hasHighS()) {
      invalid(
        FIELD,
        'high_s_signature',
        'Invalid Lightning invoice: with an n field the signature must be low-S (canonical).',
      );
    }
    if (!secp256k1.verify(compact, messageHash, payeeKey, { prehash: false, lowS: true, format: 'compact' })) {
      invalid(FIELD, 'payee_mismatch', 'Invalid Lightning invoice: the signature was not made by the n field key.');
    }
    payee = payeeKey;
  } else {
    try {
      // Recovery accepts high-S signatures, as the specification requires. (@noble/curves 1.x types
      // only the instance method; it takes the message hash as is, no prehashing.)
      payee = signature.addRecoveryBit(recoveryId).recoverPublicKey(messageHash).toBytes(true);
    } catch {
      return invalid(
        FIELD,
        'bad_signature',
        'Invalid Lightning invoice: no public key can be recovered from the signature.',
      );
    }
  }

  return {
    prefix,
    network,
    amountMsat,
    timestamp,
    expiry: expiry ?? DEFAULT_EXPIRY_SECONDS,
    paymentHash,
    paymentSecret,
    ...(description !== undefined ? { description } : {}),
    ...(descriptionHash !== undefined ? { descriptionHash } : {}),
    minFinalCltvExpiry: minFinalCltvExpiry ?? DEFAULT_MIN_FINAL_CLTV_EXPIRY,
    payee: toHex(payee),
    payeeSource: payeeKey !== undefined ? 'n_field' : 'recovered',
    routeHints,
    features: describeFeatures(featureBits ?? []),
    fallbacks,
    ...(metadata !== undefined ? { metadata } : {}),
    signature: { r: toHex(compact.subarray(0, 32)), s: toHex(compact.subarray(32, 64)), recoveryId },
    ignoredFields,
  };
}

function safeNumber(value: bigint, reason: 'bad_expiry' | 'bad_min_final_cltv_expiry', name: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    invalid(FIELD, reason, `Invalid Lightning invoice: the ${name} field is too large.`);
  }
  return Number(value);
}

function parseRouteHint(bytes: Uint8Array): RouteHint {
  if (bytes.length === 0 || bytes.length % ROUTE_HINT_HOP_BYTES !== 0) {
    invalid(FIELD, 'bad_route_hint', 'Invalid Lightning invoice: a route hint (r field) has an invalid length.');
  }
  const hops: RouteHintHop[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let o = 0; o < bytes.length; o += ROUTE_HINT_HOP_BYTES) {
    const pubkey = bytes.subarray(o, o + 33);
    if (!secp256k1.utils.isValidPublicKey(pubkey, true)) {
      invalid(FIELD, 'bad_route_hint', 'Invalid Lightning invoice: a route hint names an invalid node key.');
    }
    const block = (view.getUint8(o + 33) << 16) | view.getUint16(o + 34);
    const tx = (view.getUint8(o + 36) << 16) | view.getUint16(o + 37);
    const output = view.getUint16(o + 39);
    hops.push({
      pubkey: toHex(pubkey),
      shortChannelId: `${block}x${tx}x${output}`,
      feeBaseMsat: view.getUint32(o + 41),
      feeProportionalMillionths: view.getUint32(o + 45),
      cltvExpiryDelta: view.getUint16(o + 49),
    });
  }
  return hops;
}
