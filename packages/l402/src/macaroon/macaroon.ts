import { createHmac, hash as oneShotHash, timingSafeEqual } from 'node:crypto';
import { ValidationError } from '@payable/core';
import { decodeBase64Strict, encodeBase64Std } from './base64.js';
import {
  caveatSize,
  MAX_CAVEATS,
  MAX_MACAROON_BYTES,
  macaroonSize,
  parseBinaryV2,
  type RawCaveat,
  type RawMacaroon,
  SIGNATURE_BYTES,
  serializeBinaryV2,
} from './binary-v2.js';

/** Bytes given as a UTF-8 string or as raw bytes (root keys, identifiers, caveat ids). */
export type BytesLike = string | Uint8Array;

/**
 * One caveat of a macaroon. First-party caveats have only an `identifier` (the condition, e.g.
 * `services=api:0`); third-party caveats also carry a `location` and a `verificationId`.
 *
 * @example
 * ```ts
 * const [first] = macaroon.caveats;
 * Buffer.from(first.identifier).toString(); // 'services=api:0'
 * ```
 */
export interface MacaroonCaveat {
  /** The caveat id: for a first-party caveat, the condition bytes. A copy. */
  readonly identifier: Uint8Array;
  /** Location of a third-party caveat's discharger; '' for first-party caveats. */
  readonly location: string;
  /** The verification id of a third-party caveat (a copy); `undefined` for first-party caveats. */
  readonly verificationId: Uint8Array | undefined;
  /** `true` when the caveat is third-party (it has a verification id). */
  readonly thirdParty: boolean;
}

/** Options of {@link Macaroon.create}. */
export interface CreateMacaroonOptions {
  /** The root key (secret). A string is taken as UTF-8, as go-macaroon and js-macaroon do. */
  rootKey: BytesLike;
  /** The public identifier (for L402 tokens, see `encodeIdentifier`). A string is UTF-8. */
  identifier: BytesLike;
  /** Location hint; not covered by the signature. Aperture uses `'lsat'`. Default none. */
  location?: string;
}

const KEY_GENERATOR = Buffer.from('macaroons-key-generator', 'utf8');

function toBuffer(value: BytesLike, field: string): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new ValidationError(`${field} must be a string or bytes`, { context: { field, reason: 'type' } });
}

const BLOCK = 64;
const HAS_ONE_SHOT = typeof oneShotHash === 'function';
let inner = Buffer.alloc(BLOCK + 256);
const outer = Buffer.alloc(BLOCK + 32);

/**
 * HMAC-SHA256 (RFC 2104) over `node:crypto`'s one-shot `hash()`: for the short keys and messages of
 * a signature chain, two one-shot hashes cost much less than a `createHmac` object per step. Keys
 * longer than a block, or a Node without `crypto.hash`, go through `createHmac`. The scratch buffers
 * hold key material only during the call and are zeroed before returning.
 */
function hmac(key: Uint8Array, data: Uint8Array): Buffer {
  if (key.length > BLOCK || !HAS_ONE_SHOT) return createHmac('sha256', key).update(data).digest();
  const need = BLOCK + data.length;
  if (inner.length < need) inner = Buffer.alloc(need);
  for (let i = 0; i < BLOCK; i++) {
    const k = i < key.length ? (key[i] as number) : 0;
    inner[i] = k ^ 0x36;
    outer[i] = k ^ 0x5c;
  }
  inner.set(data, BLOCK);
  outer.set(oneShotHash('sha256', inner.subarray(0, need), 'buffer'), BLOCK);
  const mac = oneShotHash('sha256', outer, 'buffer');
  inner.fill(0, 0, need);
  outer.fill(0);
  return mac;
}

/**
 * The key every signature chain starts from: HMAC-SHA256 keyed with `"macaroons-key-generator"`
 * over the root key (libmacaroons, go-macaroon `makeKey`, js-macaroon `makeKey`).
 */
function deriveKey(rootKey: Uint8Array): Buffer {
  return hmac(KEY_GENERATOR, rootKey);
}

function checkLocation(location: string): void {
  if (typeof location !== 'string' || /[\uD800-\uDFFF]/.test(location) || location.includes('\0')) {
    throw new ValidationError('location must be text without NUL or lone surrogates', {
      context: { field: 'location', reason: 'invalid' },
    });
  }
}

/** Package-internal read access to a macaroon's fields without copies (not exported publicly). */
let rawOf: (m: Macaroon) => RawMacaroon;

/** The stored fields of a macaroon, for the package's own hot paths. Callers must not mutate them. */
export function macaroonInternals(m: Macaroon): RawMacaroon {
  return rawOf(m);
}

/**
 * An immutable macaroon in the V2 binary format, byte-compatible with go-macaroon, js-macaroon and
 * Lightning Labs' Aperture, on `node:crypto` only.
 *
 * - `sig0 = HMAC(HMAC("macaroons-key-generator", rootKey), identifier)`;
 *   each first-party caveat: `sig = HMAC(sig, caveatId)`.
 * - Third-party caveats are parsed and serialized faithfully, but Payable has no discharge API:
 *   {@link Macaroon.verifySignature} answers `false` for any macaroon that carries one.
 * - Locations are hints and are not signed (as in every macaroon library); callers that care
 *   (the L402 verifier does) compare them.
 *
 * @example
 * ```ts
 * const m = Macaroon.create({ rootKey, identifier, location: 'lsat' })
 *   .addFirstPartyCaveat('services=api:0');
 * const header = m.toBase64();
 * Macaroon.fromBase64(header).verifySignature(rootKey); // true
 * ```
 */
export class Macaroon {
  readonly #raw: RawMacaroon;
  readonly #size: number;

  static {
    rawOf = (m) => m.#raw;
  }

  private constructor(raw: RawMacaroon, size: number) {
    this.#raw = raw;
    this.#size = size;
  }

  /**
   * Mints a macaroon with no caveats, signed with the root key.
   *
   * @example
   * ```ts
   * const m = Macaroon.create({ rootKey: randomBytes(32), identifier: 'id', location: 'lsat' });
   * ```
   */
  static create(options: CreateMacaroonOptions): Macaroon {
    const rootKey = toBuffer(options.rootKey, 'rootKey');
    const id = Buffer.from(toBuffer(options.identifier, 'identifier'));
    const location = options.location ?? '';
    checkLocation(location);
    const raw: RawMacaroon = { location, id, caveats: [], sig: hmac(deriveKey(rootKey), id) };
    const size = macaroonSize(raw);
    if (size > MAX_MACAROON_BYTES) {
      throw new ValidationError(`a macaroon is limited to ${MAX_MACAROON_BYTES} bytes`, {
        context: { field: 'identifier', reason: 'too_large', limit: MAX_MACAROON_BYTES },
      });
    }
    return new Macaroon(raw, size);
  }

  /**
   * Parses the V2 binary format strictly. Throws `ValidationError` (`context.reason` says why:
   * `bad_version`, `truncated`, `field_order`, `trailing_bytes`, `too_large`, ...) for anything that
   * is not a well-formed macaroon; never another kind of error.
   *
   * @example
   * ```ts
   * const m = Macaroon.deserialize(Buffer.from(hex, 'hex'));
   * ```
   */
  static deserialize(bytes: Uint8Array): Macaroon {
    if (!(bytes instanceof Uint8Array)) {
      throw new ValidationError('Invalid macaroon: expected bytes', { context: { field: 'macaroon', reason: 'type' } });
    }
    return new Macaroon(parseBinaryV2(bytes), bytes.byteLength);
  }

  /**
   * Parses a base64 macaroon: standard or URL-safe alphabet, padded or not (what go-macaroon's
   * `Base64Decode` and js-macaroon's `importMacaroon` accept). Invalid base64 or binary → a
   * `ValidationError` (`context.reason` `base64` or a binary parse reason).
   *
   * @example
   * ```ts
   * const m = Macaroon.fromBase64(header.slice('L402 '.length, header.lastIndexOf(':')));
   * ```
   */
  static fromBase64(text: string): Macaroon {
    if (typeof text !== 'string' || text.length > Math.ceil((MAX_MACAROON_BYTES * 4) / 3) + 3) {
      throw new ValidationError('Invalid macaroon: not a base64 string of acceptable size', {
        context: { field: 'macaroon', reason: typeof text === 'string' ? 'too_large' : 'type' },
      });
    }
    const bytes = decodeBase64Strict(text);
    if (bytes === null) {
      throw new ValidationError('Invalid macaroon: not valid base64', {
        context: { field: 'macaroon', reason: 'base64' },
      });
    }
    return Macaroon.deserialize(bytes);
  }

  /** The identifier (a copy). For L402 tokens, decode it with `decodeIdentifier`. */
  get identifier(): Uint8Array {
    return Buffer.from(this.#raw.id);
  }

  /** The location hint ('' when there is none). Not covered by the signature. */
  get location(): string {
    return this.#raw.location;
  }

  /** The caveats in order (fresh copies on each access). */
  get caveats(): readonly MacaroonCaveat[] {
    return this.#raw.caveats.map((c) => ({
      identifier: Buffer.from(c.id),
      location: c.location,
      verificationId: c.vid === undefined ? undefined : Buffer.from(c.vid),
      thirdParty: c.vid !== undefined,
    }));
  }

  /** The signature (a copy, 32 bytes). */
  get signature(): Uint8Array {
    return Buffer.from(this.#raw.sig);
  }

  /**
   * Returns a new macaroon with one more first-party caveat: `sig' = HMAC(sig, caveat)`. Needs no
   * root key, so a holder can attenuate a token; the original is unchanged. A string is UTF-8.
   *
   * @example
   * ```ts
   * const narrower = token.addFirstPartyCaveat('api_valid_until=1767225600');
   * ```
   */
  addFirstPartyCaveat(caveat: BytesLike): Macaroon {
    const id = Buffer.from(toBuffer(caveat, 'caveat'));
    if (this.#raw.caveats.length >= MAX_CAVEATS) {
      throw new ValidationError(`a macaroon is limited to ${MAX_CAVEATS} caveats`, {
        context: { field: 'caveat', reason: 'too_many_caveats', limit: MAX_CAVEATS },
      });
    }
    const added: RawCaveat = { id, location: '', vid: undefined };
    const size = this.#size + caveatSize(added);
    if (size > MAX_MACAROON_BYTES) {
      throw new ValidationError(`a macaroon is limited to ${MAX_MACAROON_BYTES} bytes`, {
        context: { field: 'caveat', reason: 'too_large', limit: MAX_MACAROON_BYTES },
      });
    }
    const raw: RawMacaroon = {
      location: this.#raw.location,
      id: this.#raw.id,
      caveats: [...this.#raw.caveats, added],
      sig: hmac(this.#raw.sig, id),
    };
    return new Macaroon(raw, size);
  }

  /**
   * The V2 binary encoding (a fresh buffer), byte for byte what go-macaroon's `MarshalBinary` and
   * js-macaroon's `exportBinary` produce.
   *
   * @example
   * ```ts
   * const bytes = m.serialize(); // bytes[0] === 2
   * ```
   */
  serialize(): Uint8Array {
    return serializeBinaryV2(this.#raw);
  }

  /**
   * Standard base64 with padding of {@link serialize} (Go's `StdEncoding`, as Aperture writes it in
   * `WWW-Authenticate` and `Authorization`).
   *
   * @example
   * ```ts
   * res.setHeader('WWW-Authenticate', `L402 macaroon="${m.toBase64()}", invoice="${bolt11}"`);
   * ```
   */
  toBase64(): string {
    return encodeBase64Std(serializeBinaryV2(this.#raw));
  }

  /**
   * Recomputes the signature chain from the root key and compares it with the macaroon's signature
   * in constant time (`crypto.timingSafeEqual`). Checks no caveat conditions (see `verifyCaveats`).
   * Returns `false` when the macaroon has a third-party caveat: Payable implements no discharge
   * macaroons, so it cannot honour one.
   *
   * @example
   * ```ts
   * if (!token.verifySignature(rootKey)) return reject('L402_INVALID_TOKEN');
   * ```
   */
  verifySignature(rootKey: BytesLike): boolean {
    const key = toBuffer(rootKey, 'rootKey');
    let sig = hmac(deriveKey(key), this.#raw.id);
    for (const c of this.#raw.caveats) {
      if (c.vid !== undefined) return false;
      sig = hmac(sig, c.id);
    }
    return sig.length === SIGNATURE_BYTES && timingSafeEqual(sig, this.#raw.sig);
  }
}
