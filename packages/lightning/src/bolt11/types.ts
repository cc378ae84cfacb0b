/**
 * The Bitcoin network an invoice is for, from its prefix: `lnbc` → `bitcoin`, `lntb` → `testnet`,
 * `lntbs` → `signet`, `lnbcrt` → `regtest`.
 */
export type InvoiceNetwork = 'bitcoin' | 'testnet' | 'signet' | 'regtest';

/** Whether an invoice sets a feature: `required` (even bit), `optional` (odd bit) or `absent`. */
export type FeatureState = 'required' | 'optional' | 'absent';

/**
 * The invoice's `9` field. `bits` lists every set bit (ascending); the named properties give the
 * features BOLT 9 defines for invoices; `unknownBits` the set bits this decoder does not know (always
 * odd: an unknown even bit makes the invoice invalid).
 */
export interface InvoiceFeatures {
  /** Every set feature bit, ascending, e.g. `[8, 14, 17]`. */
  readonly bits: readonly number[];
  /** Bits 8/9, `var_onion_optin`. */
  readonly varOnionOptin: FeatureState;
  /** Bits 14/15, `payment_secret`. */
  readonly paymentSecret: FeatureState;
  /** Bits 16/17, `basic_mpp`: the payee accepts multi-part payments. */
  readonly basicMpp: FeatureState;
  /** Bits 24/25, `option_route_blinding`. */
  readonly routeBlinding: FeatureState;
  /** Bits 48/49, `option_payment_metadata`. */
  readonly paymentMetadata: FeatureState;
  /** Set bits with no meaning known here (odd, so ignored as the specification requires). */
  readonly unknownBits: readonly number[];
}

/** One hop of a private route hint (an `r` field entry). */
export interface RouteHintHop {
  /** The node at the start of the channel, 33-byte compressed public key in hex. */
  readonly pubkey: string;
  /** The channel, as `block x transaction x output`, e.g. `589390x3312x1`. */
  readonly shortChannelId: string;
  readonly feeBaseMsat: number;
  readonly feeProportionalMillionths: number;
  readonly cltvExpiryDelta: number;
}

/** A route hint: the ordered hops from a public node to the payee (one `r` field). */
export type RouteHint = readonly RouteHintHop[];

/**
 * An on-chain fallback (`f` field). `version` is the witness version (0–16), 17 for P2PKH or 18 for
 * P2SH; `hex` the witness program or the 20-byte hash; `address` the address it encodes on the
 * invoice's network.
 */
export interface FallbackAddress {
  readonly version: number;
  readonly hex: string;
  readonly address: string;
}

/** Why a tagged field was skipped while decoding (the specification requires skipping these). */
export type IgnoredFieldReason = 'unknown_type' | 'wrong_length' | 'unknown_fallback_version' | 'duplicate';

/** A tagged field the decoder skipped: its letter, its `data_length` (in 5-bit words) and why. */
export interface IgnoredField {
  /** The bech32 letter of the field type (`p`, `h`, `2`, ...). */
  readonly tag: string;
  readonly dataLength: number;
  readonly reason: IgnoredFieldReason;
}

/** The 64-byte compact signature (hex `r` and `s`) and the recovery id (0–3). */
export interface InvoiceSignature {
  readonly r: string;
  readonly s: string;
  readonly recoveryId: number;
}

/** A decoded, signature-checked BOLT-11 invoice. Hashes, keys and byte strings are lowercase hex. */
export interface DecodedInvoice {
  /** The raw prefix of the human-readable part: `lnbc`, `lntb`, `lntbs` or `lnbcrt`. */
  readonly prefix: string;
  readonly network: InvoiceNetwork;
  /** The amount in millisatoshis, exact; `null` when the invoice leaves the amount to the payer. */
  readonly amountMsat: bigint | null;
  /** Creation time, seconds since the Unix epoch. */
  readonly timestamp: number;
  /** Seconds after `timestamp` during which the invoice may be paid (3600 when the invoice has no `x`). */
  readonly expiry: number;
  readonly paymentHash: string;
  readonly paymentSecret: string;
  /** The `d` field; exactly one of `description` and `descriptionHash` is present. */
  readonly description?: string;
  /** The `h` field: SHA-256 of a description given out of band. */
  readonly descriptionHash?: string;
  /** `min_final_cltv_expiry_delta` (18 when the invoice has no `c`). */
  readonly minFinalCltvExpiry: number;
  /** The payee node's public key: the `n` field (verified) or recovered from the signature. */
  readonly payee: string;
  /** `n_field` when the invoice carries the payee key, `recovered` when it came from the signature. */
  readonly payeeSource: 'n_field' | 'recovered';
  readonly routeHints: readonly RouteHint[];
  readonly features: InvoiceFeatures;
  readonly fallbacks: readonly FallbackAddress[];
  /** The `m` field (`payment_metadata`), hex. */
  readonly metadata?: string;
  readonly signature: InvoiceSignature;
  /** Tagged fields that were skipped as the specification requires (unknown, wrong length, ...). */
  readonly ignoredFields: readonly IgnoredField[];
}

/** A fallback to encode: an address on the invoice's network, or a raw version and program. */
export type FallbackInput = { readonly address: string } | { readonly version: number; readonly hex: string };

/** What {@link encodeInvoice} writes into an invoice. */
export interface EncodeInvoiceInput {
  readonly network: InvoiceNetwork;
  /** Millisatoshis (a positive integer); omitted or `null` for an "any amount" invoice. */
  readonly amountMsat?: bigint | number | null;
  /** Creation time, seconds since the Unix epoch. */
  readonly timestamp: number;
  /** SHA-256 of the preimage, 64 hex characters. */
  readonly paymentHash: string;
  /** 32 bytes, 64 hex characters. */
  readonly paymentSecret: string;
  /** A description of at most 639 UTF-8 bytes; give this or `descriptionHash`, not both. */
  readonly description?: string;
  /** SHA-256 of a longer description, 64 hex characters. */
  readonly descriptionHash?: string;
  /** Seconds; written as an `x` field when given (readers assume 3600 otherwise). */
  readonly expiry?: number;
  /** Blocks; written as a `c` field when given (readers assume 18 otherwise). */
  readonly minFinalCltvExpiry?: number;
  /** Private routes, one `r` field each (1 to 12 hops per route). */
  readonly routeHints?: readonly RouteHint[];
  /**
   * Feature bits to set. Default: 8 (`var_onion_optin`), 14 (`payment_secret`), 17 (`basic_mpp`,
   * optional), plus 49 (`option_payment_metadata`, optional) when `metadata` is given.
   */
  readonly features?: readonly number[];
  readonly fallbacks?: readonly FallbackInput[];
  /**
   * Include the payee key as an `n` field: `true` for the signing key's public key, or that key in hex
   * (it must match the private key).
   */
  readonly payeeNodeKey?: boolean | string;
  /** `payment_metadata` bytes, hex (at most 639 bytes). */
  readonly metadata?: string;
}
