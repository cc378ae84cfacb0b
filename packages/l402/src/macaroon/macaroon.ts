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
const SIG_CHARS = SIGNATURE_BYTES;
const HAS_ONE_SHOT = typeof oneShotHash === 'function';
/** Largest HMAC input kept in the shared scratch buffer's reusable views (longer ones get a fresh view). */
const VIEW_LIMIT = BLOCK + 512;

/** The pads of the key-derivation HMAC: its key, "macaroons-key-generator", is a public constant. */
const KEY_GENERATOR_IPAD = pads(KEY_GENERATOR, 0x36);
const KEY_GENERATOR_OPAD = pads(KEY_GENERATOR, 0x5c);

function pads(key: Uint8Array, pad: number): Uint8Array {
  const out = new Uint8Array(BLOCK).fill(pad);
  for (let i = 0; i < key.length; i++) out[i] = (key[i] as number) ^ pad;
  return out;
}

/**
 * HMAC-SHA256 (RFC 2104) chains over `node:crypto`'s one-shot `hash()`, in shared scratch buffers:
 * `inner` holds `key ⊕ ipad ‖ data`, `outer` holds `key ⊕ opad ‖ inner hash`. Digests come back as
 * `'binary'` (latin1) strings, one char per byte (`hash()` returns those several times faster than
 * a Buffer), and each step's digest is the next step's key. Every key is at most 32 bytes (the
 * key-generator constant, then digests), so bytes 32-63 of both pads are the bare pad constants:
 * written once, they stay (they hold nothing secret). A chain (`startChain`, `chainStep`...) ends
 * with `endChain`, which zeroes every other scratch byte written since the last wipe (key pads, root
 * key, digests); callers wrap a chain in `try`/`finally` so that holds on any exit. Without
 * `crypto.hash` (older Node), the steps go through `createHmac`.
 */
let inner = newInner(VIEW_LIMIT);
let innerViews: (Uint8Array | undefined)[] = [];
/** End of the bytes of `inner` written since the last wipe. */
let innerUsed = BLOCK;
const outer = new Uint8Array(BLOCK + SIG_CHARS).fill(0x5c, SIG_CHARS, BLOCK);

function newInner(length: number): Uint8Array {
  return new Uint8Array(length).fill(0x36, SIG_CHARS, BLOCK);
}

/** A view of the first `length` bytes of `inner`, growing it (the old one wiped) when too short. */
function innerView(length: number): Uint8Array {
  if (inner.length < length) {
    const grown = newInner(Math.max(length, inner.length * 2));
    grown.set(inner.subarray(0, SIG_CHARS));
    inner.fill(0);
    inner = grown;
    innerViews = [];
  }
  if (length > VIEW_LIMIT) return new Uint8Array(inner.buffer, 0, length);
  let view = innerViews[length];
  if (view === undefined) {
    view = new Uint8Array(inner.buffer, 0, length);
    innerViews[length] = view;
  }
  return view;
}

/** Writes the pads of a 32-byte key given as a `latin1` digest string (bytes 32-63 are in place). */
function padsFromDigest(key: string): void {
  for (let i = 0; i < SIG_CHARS; i++) {
    const k = key.charCodeAt(i);
    inner[i] = k ^ 0x36;
    outer[i] = k ^ 0x5c;
  }
}

/** HMAC of `data` under the pads already in place; returns the digest as a `latin1` string. */
function padded(data: Uint8Array): string {
  const length = BLOCK + data.length;
  const view = innerView(length);
  inner.set(data, BLOCK);
  if (length > innerUsed) innerUsed = length;
  const innerDigest = oneShotHash('sha256', view, 'binary');
  for (let i = 0; i < SIG_CHARS; i++) outer[BLOCK + i] = innerDigest.charCodeAt(i);
  return oneShotHash('sha256', outer, 'binary');
}

/**
 * The first signature of a chain: `HMAC(HMAC("macaroons-key-generator", rootKey), identifier)`
 * (libmacaroons, go-macaroon `makeKey`, js-macaroon `makeKey`), as a `latin1` string.
 */
function startChain(rootKey: Uint8Array, identifier: Uint8Array): string {
  if (!HAS_ONE_SHOT) {
    const derived = createHmac('sha256', KEY_GENERATOR).update(rootKey).digest();
    return createHmac('sha256', derived).update(identifier).digest('binary');
  }
  inner.set(KEY_GENERATOR_IPAD);
  outer.set(KEY_GENERATOR_OPAD);
  const derived = padded(rootKey);
  padsFromDigest(derived);
  return padded(identifier);
}

/** One caveat step of a chain: `HMAC(sig, caveatId)`, `sig` a `latin1` digest string. */
function chainStep(sig: string, data: Uint8Array): string {
  if (!HAS_ONE_SHOT) return createHmac('sha256', Buffer.from(sig, 'latin1')).update(data).digest('binary');
  padsFromDigest(sig);
  return padded(data);
}

/**
 * Zeroes the scratch bytes a chain wrote: key pads (bytes 0-31; 32-63 are the constants), the
 * data after them (root key, identifier, caveats), the inner digest.
 */
function endChain(): void {
  for (let i = 0; i < SIG_CHARS; i++) {
    inner[i] = 0;
    outer[i] = 0;
    outer[BLOCK + i] = 0;
  }
  inner.fill(0, BLOCK, innerUsed);
  innerUsed = BLOCK;
}

/** Holds a computed signature for the constant-time comparison; zeroed right after it. */
const expected = Buffer.alloc(SIGNATURE_BYTES);

function checkLocation(location: string): void {
  if (typeof location !== 'string' || /[\uD800-\uDFFF]/.test(location) || location.includes('\0')) {
    throw new ValidationError('location must be text without NUL or lone surrogates', {
      context: { field: 'location', reason: 'invalid' },
    });
  }
}

/** Package-internal read access to a macaroon's fields without copies (not exported publicly). */
let rawOf: (m: Macaroon) => RawMacaroon;
/** Package-internal construction from bytes the caller hands over (not exported publicly). */
let fromOwned: (bytes: Buffer) => Macaroon;

/** The stored fields of a macaroon, for the package's own hot paths. Callers must not mutate them. */
export function macaroonInternals(m: Macaroon): RawMacaroon {
  return rawOf(m);
}

/**
 * {@link Macaroon.deserialize} for a fresh Buffer the caller hands over and never touches again
 * (e.g. just decoded from base64): the macaroon keeps it, without the defensive copy. Same errors.
 * For the package's own hot paths.
 *
 * @example
 * ```ts
 * const m = macaroonFromOwnedBytes(Buffer.from(text, 'base64'));
 * ```
 */
export function macaroonFromOwnedBytes(bytes: Buffer): Macaroon {
  return fromOwned(bytes);
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
    fromOwned = (bytes) => new Macaroon(parseBinaryV2(bytes, true), bytes.byteLength);
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
    let sig: string;
    try {
      sig = startChain(rootKey, id);
    } finally {
      endChain();
    }
    const raw: RawMacaroon = { location, id, caveats: [], sig: Buffer.from(sig, 'latin1') };
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
    return new Macaroon(parseBinaryV2(bytes, true), bytes.byteLength);
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
    let sig: string;
    try {
      sig = chainStep(this.#raw.sig.toString('latin1'), id);
    } finally {
      endChain();
    }
    const raw: RawMacaroon = {
      location: this.#raw.location,
      id: this.#raw.id,
      caveats: [...this.#raw.caveats, added],
      sig: Buffer.from(sig, 'latin1'),
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
    const { caveats, sig: actual } = this.#raw;
    for (let i = 0; i < caveats.length; i++) if ((caveats[i] as RawCaveat).vid !== undefined) return false;
    if (actual.length !== SIGNATURE_BYTES) return false;
    try {
      let sig = startChain(key, this.#raw.id);
      for (let i = 0; i < caveats.length; i++) sig = chainStep(sig, (caveats[i] as RawCaveat).id);
      for (let i = 0; i < SIGNATURE_BYTES; i++) expected[i] = sig.charCodeAt(i);
      return timingSafeEqual(expected, actual);
    } finally {
      endChain();
      expected.fill(0);
    }
  }
}
