import { secp256k1 } from '@noble/curves/secp256k1';
import { MAX_INVOICE_LENGTH, ROUTE_HINT_HOP_BYTES, TAG } from './decode-invoice.js';
import { invalid } from './errors.js';
import { isKnownFallbackVersion, isValidFallbackProgram, parseFallbackAddress } from './fallback.js';
import { featureBitsToWords, isUnknownRequiredBit, MAX_FEATURE_BIT } from './features.js';
import { formatAmount, MAX_AMOUNT_MSAT, NETWORK_PREFIX } from './hrp.js';
import { type RawField, rawDataWords, signRawInvoice } from './raw-invoice.js';
import type { EncodeInvoiceInput, FallbackInput, InvoiceNetwork, RouteHint } from './types.js';
import { bytesToWords, fromHex, toHex, uintToWords } from './words.js';

/** The most bytes a variable-length field can hold: 1023 words of 5 bits. */
const MAX_FIELD_BYTES = 639;
/** The most hops one `r` field holds (12 × 51 = 612 bytes). */
const MAX_HOPS_PER_HINT = Math.floor(MAX_FIELD_BYTES / ROUTE_HINT_HOP_BYTES);
const DEFAULT_FEATURES = [8, 14, 17] as const;
const PAYMENT_METADATA_OPTIONAL = 49;

/**
 * Writes and signs a BOLT-11 invoice (for simulators and tests): the shortest amount text, minimal
 * field lengths, a deterministic low-S signature (RFC 6979). Fields are written in the order
 * `s p d|h n x c f… r… m 9`. Whatever it writes, {@link decodeInvoice} reads back unchanged.
 *
 * @param privateKey the node's 32-byte secp256k1 key, as bytes or 64 hex characters.
 * @throws {ValidationError} `VALIDATION_ERROR` with `context.field` naming the input and `context.reason`.
 * @example
 * ```ts
 * const paymentRequest = encodeInvoice(
 *   { network: 'regtest', amountMsat: 250_000_000n, timestamp: 1_700_000_000,
 *     paymentHash: sha256Hex(preimage), paymentSecret: randomHex(32), description: 'Order #42', expiry: 900 },
 *   nodePrivateKey,
 * ); // 'lnbcrt2500u1p...'
 * ```
 */
export function encodeInvoice(input: EncodeInvoiceInput, privateKey: Uint8Array | string): string {
  const key = typeof privateKey === 'string' ? fromHex(privateKey) : privateKey;
  if (!(key instanceof Uint8Array) || key.length !== 32 || !secp256k1.utils.isValidSecretKey(key)) {
    invalid('privateKey', 'bad_private_key', 'The private key must be a valid 32-byte secp256k1 key.');
  }
  if (typeof input !== 'object' || input === null) {
    invalid('input', 'bad_network', 'encodeInvoice needs an input object.');
  }
  const network: InvoiceNetwork = input.network;
  if (!Object.hasOwn(NETWORK_PREFIX, network)) {
    invalid('network', 'bad_network', 'network must be bitcoin, testnet, signet or regtest.');
  }

  let hrp = NETWORK_PREFIX[network];
  if (input.amountMsat !== undefined && input.amountMsat !== null) {
    const amount = input.amountMsat;
    const msat = typeof amount === 'bigint' ? amount : Number.isSafeInteger(amount) ? BigInt(amount) : -1n;
    if (msat <= 0n || msat > MAX_AMOUNT_MSAT) {
      invalid('amountMsat', 'bad_amount', 'amountMsat must be a positive integer of at most 21 million bitcoin.');
    }
    hrp += formatAmount(msat);
  }

  if (!isUint(input.timestamp, 2 ** 35 - 1)) {
    invalid('timestamp', 'bad_timestamp', 'timestamp must be whole seconds since 1970 (35 bits).');
  }

  const fields: RawField[] = [];
  const bytesField = (type: number, bytes: Uint8Array): void => {
    fields.push({ type, words: bytesToWords(bytes) });
  };
  bytesField(TAG.paymentSecret, hash32(input.paymentSecret, 'paymentSecret', 'bad_payment_secret'));
  bytesField(TAG.paymentHash, hash32(input.paymentHash, 'paymentHash', 'bad_payment_hash'));

  const hasDescription = input.description !== undefined;
  const hasHash = input.descriptionHash !== undefined;
  if (hasDescription && hasHash) {
    invalid('description', 'both_descriptions', 'Give description or descriptionHash, not both.');
  }
  if (!hasDescription && !hasHash) {
    invalid('description', 'missing_description', 'An invoice needs a description or a descriptionHash.');
  }
  if (hasDescription) {
    const text = input.description as unknown;
    if (typeof text !== 'string' || /\p{Cs}/u.test(text)) {
      invalid('description', 'bad_description', 'description must be a string of valid Unicode.');
    }
    const bytes = new TextEncoder().encode(text);
    if (bytes.length > MAX_FIELD_BYTES) {
      invalid(
        'description',
        'description_too_long',
        `description is ${bytes.length} UTF-8 bytes; at most ${MAX_FIELD_BYTES} fit (use descriptionHash).`,
      );
    }
    bytesField(TAG.description, bytes);
  } else {
    bytesField(TAG.descriptionHash, hash32(input.descriptionHash, 'descriptionHash', 'bad_description_hash'));
  }

  if (input.payeeNodeKey !== undefined && input.payeeNodeKey !== false) {
    const derived = secp256k1.getPublicKey(key, true);
    if (typeof input.payeeNodeKey === 'string' && input.payeeNodeKey.toLowerCase() !== toHex(derived)) {
      invalid('payeeNodeKey', 'payee_mismatch', 'payeeNodeKey is not the public key of the signing private key.');
    }
    bytesField(TAG.payeeNodeKey, derived);
  }

  if (input.expiry !== undefined) {
    if (!isUint(input.expiry))
      invalid('expiry', 'bad_expiry', 'expiry must be a non-negative whole number of seconds.');
    fields.push({ type: TAG.expiry, words: uintToWords(input.expiry) });
  }
  if (input.minFinalCltvExpiry !== undefined) {
    if (!isUint(input.minFinalCltvExpiry)) {
      invalid('minFinalCltvExpiry', 'bad_min_final_cltv_expiry', 'minFinalCltvExpiry must be a non-negative integer.');
    }
    fields.push({ type: TAG.minFinalCltvExpiry, words: uintToWords(input.minFinalCltvExpiry) });
  }

  for (const fallback of input.fallbacks ?? []) {
    const { version, program } = fallbackProgram(network, fallback);
    fields.push({ type: TAG.fallback, words: [version, ...bytesToWords(program)] });
  }

  for (const hint of input.routeHints ?? []) bytesField(TAG.routeHint, routeHintBytes(hint));

  if (input.metadata !== undefined) {
    const bytes = fromHex(input.metadata);
    if (!bytes || bytes.length > MAX_FIELD_BYTES) {
      invalid('metadata', 'bad_metadata', `metadata must be hex of at most ${MAX_FIELD_BYTES} bytes.`);
    }
    bytesField(TAG.metadata, bytes);
  }

  const bits =
    input.features ??
    (input.metadata !== undefined ? [...DEFAULT_FEATURES, PAYMENT_METADATA_OPTIONAL] : DEFAULT_FEATURES);
  if (!Array.isArray(bits) || !bits.every((bit) => isUint(bit, MAX_FEATURE_BIT))) {
    invalid('features', 'bad_feature_bits', `features must be a list of bit numbers from 0 to ${MAX_FEATURE_BIT}.`);
  }
  const unknownRequired = bits.filter(isUnknownRequiredBit);
  if (unknownRequired.length > 0) {
    invalid(
      'features',
      'unknown_required_feature',
      `Feature bit(s) ${unknownRequired.join(', ')} are even (required) and unknown: readers would refuse the invoice.`,
      { bits: unknownRequired },
    );
  }
  const featureWords = featureBitsToWords([...new Set(bits)]);
  if (featureWords.length > 0) fields.push({ type: TAG.features, words: featureWords });

  const invoice = signRawInvoice(hrp, rawDataWords(input.timestamp, fields), key);
  if (invoice.length > MAX_INVOICE_LENGTH) {
    invalid('input', 'too_long', `The invoice would be ${invoice.length} characters; at most ${MAX_INVOICE_LENGTH}.`);
  }
  return invoice;
}

function isUint(value: unknown, max = Number.MAX_SAFE_INTEGER): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= max;
}

function hash32(
  value: unknown,
  field: string,
  reason: 'bad_payment_hash' | 'bad_payment_secret' | 'bad_description_hash',
): Uint8Array {
  const bytes = typeof value === 'string' ? fromHex(value) : undefined;
  if (bytes?.length !== 32) invalid(field, reason, `${field} must be 32 bytes as 64 hex characters.`);
  return bytes;
}

function fallbackProgram(network: InvoiceNetwork, fallback: FallbackInput): { version: number; program: Uint8Array } {
  if ('address' in fallback) {
    const parsed = typeof fallback.address === 'string' ? parseFallbackAddress(network, fallback.address) : undefined;
    if (!parsed) {
      invalid('fallbacks', 'bad_fallback', `The fallback address is not a valid ${network} address.`);
    }
    return { version: parsed.version, program: fromHex(parsed.hex) as Uint8Array };
  }
  const program = fromHex(fallback.hex);
  if (!isKnownFallbackVersion(fallback.version) || !program || !isValidFallbackProgram(fallback.version, program)) {
    invalid(
      'fallbacks',
      'bad_fallback',
      'A fallback needs a version (0–16 witness, 17 P2PKH, 18 P2SH) and a valid program in hex.',
    );
  }
  return { version: fallback.version, program };
}

function routeHintBytes(hint: RouteHint): Uint8Array {
  if (!Array.isArray(hint) || hint.length === 0 || hint.length > MAX_HOPS_PER_HINT) {
    invalid('routeHints', 'bad_route_hint', `A route hint needs 1 to ${MAX_HOPS_PER_HINT} hops.`);
  }
  const bytes = new Uint8Array(hint.length * ROUTE_HINT_HOP_BYTES);
  const view = new DataView(bytes.buffer);
  hint.forEach((hop, i) => {
    const o = i * ROUTE_HINT_HOP_BYTES;
    const pubkey = typeof hop?.pubkey === 'string' ? fromHex(hop.pubkey) : undefined;
    if (pubkey?.length !== 33 || !secp256k1.utils.isValidPublicKey(pubkey, true)) {
      invalid('routeHints', 'bad_route_hint', 'A route hint hop needs a valid 33-byte compressed node key.');
    }
    const scid = /^(\d+)x(\d+)x(\d+)$/.exec(String(hop.shortChannelId));
    const [block, tx, output] = scid ? [Number(scid[1]), Number(scid[2]), Number(scid[3])] : [-1, -1, -1];
    if (!isUint(block, 0xffffff) || !isUint(tx, 0xffffff) || !isUint(output, 0xffff)) {
      invalid('routeHints', 'bad_route_hint', 'shortChannelId must read "block x tx x output", e.g. "589390x3312x1".');
    }
    if (
      !isUint(hop.feeBaseMsat, 0xffffffff) ||
      !isUint(hop.feeProportionalMillionths, 0xffffffff) ||
      !isUint(hop.cltvExpiryDelta, 0xffff)
    ) {
      invalid('routeHints', 'bad_route_hint', 'Route hint fees must be 32-bit and cltvExpiryDelta 16-bit integers.');
    }
    bytes.set(pubkey, o);
    view.setUint8(o + 33, block >> 16);
    view.setUint16(o + 34, block & 0xffff);
    view.setUint8(o + 36, tx >> 16);
    view.setUint16(o + 37, tx & 0xffff);
    view.setUint16(o + 39, output);
    view.setUint32(o + 41, hop.feeBaseMsat);
    view.setUint32(o + 45, hop.feeProportionalMillionths);
    view.setUint16(o + 49, hop.cltvExpiryDelta);
  });
  return bytes;
}
