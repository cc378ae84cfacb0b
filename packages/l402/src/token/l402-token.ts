import { randomBytes } from 'node:crypto';
import { ERROR_STATUS, ValidationError } from '@payable/core';
import { type BytesLike, Macaroon, macaroonInternals } from '../macaroon/macaroon.js';
import { type CaveatContext, type CaveatSuccess, type VerifyCaveatsOptions, verifyCaveats } from './caveats.js';
import { preimageMatches } from './credentials.js';
import type { L402Failure } from './errors.js';
import {
  bytes32,
  decodeIdentifier,
  encodeIdentifier,
  L402_IDENTIFIER_BYTES,
  type L402Identifier,
  rootKeyId,
} from './identifier.js';

/** The location Aperture gives its macaroons, and Payable's default. */
export const L402_LOCATION = 'lsat';

/** Options of {@link mintL402Token}. */
export interface MintL402TokenOptions {
  /** The invoice's payment hash (32 bytes or 64 hex characters). */
  paymentHash: Uint8Array | string;
  /** First-party caveats, in order (see `servicesCaveat`, `validUntilCaveat`, `pathCaveat`, ...). */
  caveats?: readonly BytesLike[];
  /** The token's root key. Default: 32 random bytes (one root key per token, as Aperture does). */
  rootKey?: Uint8Array;
  /** The token id. Default: 32 random bytes. */
  tokenId?: Uint8Array | string;
  /** Default `'lsat'`. */
  location?: string;
}

/**
 * A freshly minted token: the macaroon to send, and the root key to store under `rootKeyId`.
 *
 * @example
 * ```ts
 * const { macaroon, rootKey, rootKeyId } = mintL402Token({ paymentHash, caveats });
 * ```
 */
export interface MintedL402Token {
  readonly macaroon: Macaroon;
  /** The secret root key: store it (encrypted) under `rootKeyId`; never send it. */
  readonly rootKey: Buffer;
  /** Hex sha256 of the identifier: the storage key of the root key. */
  readonly rootKeyId: string;
  readonly identifier: L402Identifier;
}

/**
 * Mints an L402 token: identifier `version 0 ‖ paymentHash ‖ random tokenId`, location `lsat`, a
 * fresh random root key, then the caveats.
 *
 * @example
 * ```ts
 * const minted = mintL402Token({
 *   paymentHash: invoice.paymentHash,
 *   caveats: [servicesCaveat([{ name: 'weather' }]), validUntilCaveat('weather', expiresAt), amountCaveat(10)],
 * });
 * await storage.put(minted.rootKeyId, minted.rootKey);
 * ```
 */
export function mintL402Token(options: MintL402TokenOptions): MintedL402Token {
  const rootKey = options.rootKey === undefined ? randomBytes(32) : Buffer.from(options.rootKey);
  if (rootKey.length < 16) {
    throw new ValidationError('an L402 root key is at least 16 bytes (32 recommended)', {
      context: { field: 'rootKey', reason: 'too_short' },
    });
  }
  const tokenId = options.tokenId === undefined ? randomBytes(32) : bytes32(options.tokenId, 'tokenId');
  const id = encodeIdentifier({ paymentHash: options.paymentHash, tokenId });
  let macaroon = Macaroon.create({ rootKey, identifier: id, location: options.location ?? L402_LOCATION });
  for (const caveat of options.caveats ?? []) macaroon = macaroon.addFirstPartyCaveat(caveat);
  return { macaroon, rootKey, rootKeyId: rootKeyId(id), identifier: decodeIdentifier(id) };
}

/** Options of {@link verifyL402Token}. */
export interface VerifyL402TokenOptions extends VerifyCaveatsOptions {
  /** The token's root key (looked up by `rootKeyId(credential.macaroon.identifier)`). */
  rootKey: BytesLike;
  /** The request the caveats are checked against. */
  context: CaveatContext;
  /** The location the token must carry. Default `'lsat'`; `null` accepts any. */
  location?: string | null;
}

/** A token that passed every check. */
export interface L402TokenSuccess {
  readonly ok: true;
  readonly identifier: L402Identifier;
  readonly caveats: CaveatSuccess['caveats'];
  /** Earliest expiry of the token for the target service (`null`: no expiry caveat). */
  readonly expiresAt: Date | null;
}

/** What {@link verifyL402Token} checks: a parsed credential, or a macaroon and preimage of your own. */
export interface L402TokenInput {
  readonly macaroon: Macaroon;
  /** The 32-byte preimage. */
  readonly preimage: Uint8Array;
  /** Every macaroon sent (the token first); more than one is refused. Default `[macaroon]`. */
  readonly macaroons?: readonly Macaroon[];
}

/** The result of {@link verifyL402Token}. */
export type L402TokenVerification = L402TokenSuccess | L402Failure;

function invalidToken(reason: string, message: string): L402Failure {
  return {
    ok: false,
    code: 'L402_INVALID_TOKEN',
    httpStatus: ERROR_STATUS.L402_INVALID_TOKEN,
    reason,
    message,
    details: {},
  };
}

/**
 * Verifies an L402 credential completely, without calling the Lightning node: one macaroon (Payable
 * implements no discharges), the expected location, a version-0 identifier, the signature chain
 * from the root key (constant-time), `sha256(preimage) = paymentHash` (constant-time), then the
 * caveats (see `verifyCaveats`). Returns the first failure as data with its code:
 * `L402_INVALID_TOKEN` (tampered, wrong root key, not an L402 token, bad caveats),
 * `L402_PREIMAGE_MISMATCH`, `L402_TOKEN_EXPIRED`, `L402_PATH_NOT_ALLOWED`, `L402_AMOUNT_MISMATCH`,
 * `L402_MERCHANT_MISMATCH`. The signature is checked before the preimage, so a forged token is
 * always `L402_INVALID_TOKEN`.
 *
 * @example
 * ```ts
 * const credential = parseAuthorization(req.headers.authorization);
 * if (credential === null) return sendChallenge();
 * const rootKey = await keys.get(rootKeyId(credential.macaroon.identifier)); // missing → L402_INVALID_TOKEN
 * const result = verifyL402Token(credential, { rootKey, context: { now: new Date(), service: 'weather', path: req.path, amountSats: 10 } });
 * if (!result.ok) throw l402FailureToError(result);
 * ```
 */
export function verifyL402Token(credential: L402TokenInput, options: VerifyL402TokenOptions): L402TokenVerification {
  const { macaroon } = credential;
  if ((credential.macaroons?.length ?? 1) !== 1) {
    return invalidToken('discharge_unsupported', 'L402 verification failed: discharge macaroons are not supported');
  }
  const location = options.location === undefined ? L402_LOCATION : options.location;
  if (location !== null && macaroon.location !== location) {
    return invalidToken('location', 'L402 verification failed: the token was not issued here');
  }
  const raw = macaroonInternals(macaroon);
  const id = raw.id;
  // What decodeIdentifier accepts (version 0, 66 bytes); the decoded copies are made on success.
  if (id.length !== L402_IDENTIFIER_BYTES || id[0] !== 0 || id[1] !== 0) {
    return invalidToken('identifier', 'L402 verification failed: not an L402 token identifier');
  }
  if (!macaroon.verifySignature(options.rootKey)) {
    return invalidToken('signature', 'L402 verification failed');
  }
  if (!preimageMatches(credential.preimage, id.subarray(2, 34))) {
    return {
      ok: false,
      code: 'L402_PREIMAGE_MISMATCH',
      httpStatus: ERROR_STATUS.L402_PREIMAGE_MISMATCH,
      reason: 'mismatch',
      message: 'Preimage does not match payment hash',
      details: {},
    };
  }
  // The signature check refused third-party caveats, so every caveat here is first-party.
  const caveats = verifyCaveats(
    raw.caveats.map((c) => c.id),
    options.context,
    options,
  );
  if (!caveats.ok) return caveats;
  return { ok: true, identifier: decodeIdentifier(id), caveats: caveats.caveats, expiresAt: caveats.expiresAt };
}
