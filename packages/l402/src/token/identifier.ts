import { createHash } from 'node:crypto';
import { ValidationError } from '@payable/core';

/** The only L402 identifier version (Aperture's `LatestVersion`). */
export const L402_IDENTIFIER_VERSION = 0;
/** Length of a version-0 identifier: uint16 version + 32-byte payment hash + 32-byte token id. */
export const L402_IDENTIFIER_BYTES = 66;

/**
 * The decoded identifier of an L402 macaroon (Aperture's `l402.Identifier`).
 *
 * @example
 * ```ts
 * const { paymentHash, tokenId } = decodeIdentifier(macaroon.identifier);
 * ```
 */
export interface L402Identifier {
  /** Always 0. */
  readonly version: 0;
  /** The invoice's payment hash (32 bytes): sha256(preimage) must equal it. */
  readonly paymentHash: Buffer;
  /** A random 32-byte id that makes each token unique. */
  readonly tokenId: Buffer;
}

/** Input of {@link encodeIdentifier}: 32-byte values as bytes or 64 hex characters. */
export interface EncodeIdentifierInput {
  paymentHash: Uint8Array | string;
  tokenId: Uint8Array | string;
}

const HEX64 = /^[0-9a-fA-F]{64}$/;

/** Reads a 32-byte value given as bytes or as 64 hex characters; anything else is a ValidationError. */
export function bytes32(value: Uint8Array | string, field: string): Buffer {
  if (typeof value === 'string') {
    if (!HEX64.test(value)) {
      throw new ValidationError(`${field} must be 32 bytes (64 hex characters)`, {
        context: { field, reason: 'length' },
      });
    }
    return Buffer.from(value, 'hex');
  }
  if (!(value instanceof Uint8Array) || value.byteLength !== 32) {
    throw new ValidationError(`${field} must be 32 bytes`, { context: { field, reason: 'length' } });
  }
  return Buffer.from(value);
}

/**
 * Encodes a version-0 L402 identifier: `uint16be(0) ‖ paymentHash(32) ‖ tokenId(32)`, the layout
 * Aperture's `EncodeIdentifier` writes (66 bytes).
 *
 * @example
 * ```ts
 * const id = encodeIdentifier({ paymentHash: invoice.paymentHash, tokenId: randomBytes(32) });
 * ```
 */
export function encodeIdentifier(input: EncodeIdentifierInput): Buffer {
  const out = Buffer.alloc(L402_IDENTIFIER_BYTES);
  out.writeUInt16BE(L402_IDENTIFIER_VERSION, 0);
  bytes32(input.paymentHash, 'paymentHash').copy(out, 2);
  bytes32(input.tokenId, 'tokenId').copy(out, 34);
  return out;
}

/**
 * Decodes a version-0 L402 identifier strictly: exactly 66 bytes, version 0. Anything else throws a
 * `ValidationError` with `context.reason` `identifier_length` or `identifier_version`.
 *
 * @example
 * ```ts
 * decodeIdentifier(macaroon.identifier).paymentHash.toString('hex');
 * ```
 */
export function decodeIdentifier(bytes: Uint8Array): L402Identifier {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength < 2) {
    throw new ValidationError('L402 identifier is too short', {
      context: { field: 'identifier', reason: 'identifier_length' },
    });
  }
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = buf.readUInt16BE(0);
  if (version !== L402_IDENTIFIER_VERSION) {
    throw new ValidationError(`unknown L402 identifier version ${version}`, {
      context: { field: 'identifier', reason: 'identifier_version', version },
    });
  }
  if (buf.length !== L402_IDENTIFIER_BYTES) {
    throw new ValidationError(`L402 identifier is ${buf.length} bytes, not ${L402_IDENTIFIER_BYTES}`, {
      context: { field: 'identifier', reason: 'identifier_length', length: buf.length },
    });
  }
  return {
    version: 0,
    paymentHash: Buffer.from(buf.subarray(2, 34)),
    tokenId: Buffer.from(buf.subarray(34, 66)),
  };
}

/**
 * The id a token's root key is stored under: hex sha256 of the identifier bytes (Aperture keys its
 * secrets by `sha256(identifier)` too). Deleting that row revokes the token.
 *
 * @example
 * ```ts
 * const key = rootKeyId(credential.macaroon.identifier);
 * ```
 */
export function rootKeyId(identifier: Uint8Array): string {
  return createHash('sha256').update(identifier).digest('hex');
}
