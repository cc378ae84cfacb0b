import { createHash, hash as oneShotHash, timingSafeEqual } from 'node:crypto';
import {
  isPayableError,
  L402InvalidPreimageFormatError,
  L402PreimageMismatchError,
  type PayableError,
  ValidationError,
} from '@payable/core';
import { decodeBase64Strict } from '../macaroon/base64.js';
import { Macaroon, macaroonFromOwnedBytes, macaroonInternals } from '../macaroon/macaroon.js';
import { bytes32, L402_IDENTIFIER_BYTES } from './identifier.js';

/** The two authentication schemes: `L402` (current) and `LSAT` (its former name). */
export type L402Scheme = 'L402' | 'LSAT';

/**
 * A credential from an `Authorization: L402 <macaroon>[,<macaroon>...]:<preimage>` header.
 *
 * @example
 * ```ts
 * const credential = parseAuthorization(req.headers.authorization);
 * credential?.macaroon.identifier;
 * ```
 */
export interface L402Credential {
  readonly scheme: L402Scheme;
  /** The token (the first macaroon). */
  readonly macaroon: Macaroon;
  /** Every macaroon of the header, the token first (others would be discharges; see the docs). */
  readonly macaroons: readonly Macaroon[];
  /** The 32-byte preimage. */
  readonly preimage: Buffer;
  /** The preimage as 64 lowercase hex characters. */
  readonly preimageHex: string;
}

/** Longest header value looked at (a 64 KiB macaroon in base64 plus the rest); longer → ignored. */
const MAX_HEADER_CHARS = 96 * 1024;
const LOWER_HEX64 = /^[0-9a-f]{64}$/;
const HEX = /^[0-9a-fA-F]*$/;
const BASE64ISH = /^[A-Za-z0-9+/_-]+={0,2}$/;

function formatError(reason: string, detail: string, length: number): PayableError {
  return new L402InvalidPreimageFormatError(`Invalid preimage format: must be exactly 64 hex characters${detail}`, {
    context: { field: 'preimage', reason, length },
  });
}

/**
 * Reads a preimage given as text: exactly 64 lowercase hex characters (Aperture's and Lightning
 * Enable's rule). Otherwise throws `L402InvalidPreimageFormatError` whose message says what the
 * value looks like: base64, uppercase hex, `0x`-prefixed, the wrong length, or the payment hash.
 */
function readPreimage(text: string, paymentHash: Uint8Array | null): Buffer {
  const length = text.length;
  if (LOWER_HEX64.test(text)) {
    const bytes = Buffer.from(text, 'hex');
    if (paymentHash !== null && sameBytes(bytes, paymentHash)) {
      throw new L402InvalidPreimageFormatError(
        'Invalid preimage format: this is the payment hash, not the preimage (the hash is sha256 of the preimage; send the preimage your wallet returned after paying)',
        { context: { field: 'preimage', reason: 'payment_hash', length } },
      );
    }
    return bytes;
  }
  if (length === 0) throw formatError('empty', '; nothing follows the ":"', 0);
  if (length === 64 && HEX.test(text)) {
    if (paymentHash !== null && sameBytes(Buffer.from(text, 'hex'), paymentHash)) {
      throw new L402InvalidPreimageFormatError('Invalid preimage format: this is the payment hash, not the preimage', {
        context: { field: 'preimage', reason: 'payment_hash', length },
      });
    }
    throw formatError('uppercase', ' in lowercase; send it lowercased', length);
  }
  if (/^0x/i.test(text) && HEX.test(text.slice(2))) throw formatError('0x_prefix', '; remove the 0x prefix', length);
  if (/\s/.test(text)) throw formatError('whitespace', '; remove whitespace and newlines', length);
  if (HEX.test(text)) {
    throw formatError('length', `; got ${length} hex characters (a preimage is 32 bytes, 64 hex characters)`, length);
  }
  if (BASE64ISH.test(text)) {
    const decoded = decodeBase64Strict(text);
    if (decoded !== null && decoded.length === 32) {
      throw formatError(
        'base64',
        '; this looks like base64 (some wallets return it so): decode it to hex first',
        length,
      );
    }
  }
  throw formatError('not_hex', `; got ${length} characters that are not hex`, length);
}

/**
 * Whether `bytes` equals the 32-byte payment hash (not a secret comparison: it only tells a client
 * that it sent the payment hash instead of the preimage).
 */
function sameBytes(bytes: Uint8Array, paymentHash: Uint8Array): boolean {
  if (bytes.length !== paymentHash.length) return false;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== paymentHash[i]) return false;
  return true;
}

/** The payment hash of an L402 identifier (a view, not a copy), or null when the identifier is not one. */
function paymentHashOf(macaroon: Macaroon): Uint8Array | null {
  const id = macaroonInternals(macaroon).id;
  if (id.length !== L402_IDENTIFIER_BYTES || id[0] !== 0 || id[1] !== 0) return null;
  return id.subarray(2, 34);
}

function deserialize(text: string): Macaroon | null {
  const bytes = decodeBase64Strict(text);
  if (bytes === null) return null;
  try {
    // `bytes` is a fresh buffer no one else holds: the macaroon can keep it without a copy.
    return macaroonFromOwnedBytes(bytes);
  } catch (error) {
    if (isPayableError(error)) return null;
    throw error;
  }
}

function parseOne(value: unknown): L402Credential | null {
  if (typeof value !== 'string' || value.length > MAX_HEADER_CHARS) return null;
  const v = value.trim();
  let space = -1;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x20 || c === 0x09) {
      space = i;
      break;
    }
  }
  if (space <= 0) return null;
  const scheme = v.slice(0, space).toUpperCase();
  if (scheme !== 'L402' && scheme !== 'LSAT') return null;
  const rest = v.slice(space + 1).trim();
  const colon = rest.lastIndexOf(':');
  if (colon <= 0) return null;
  const macaroons: Macaroon[] = [];
  const list = rest.slice(0, colon);
  for (const part of list.includes(',') ? list.split(',') : [list]) {
    const m = deserialize(part.trim());
    if (m === null) return null;
    macaroons.push(m);
  }
  const first = macaroons[0] as Macaroon;
  const preimageText = rest.slice(colon + 1);
  const preimage = readPreimage(preimageText, paymentHashOf(first));
  // readPreimage accepted exactly 64 lowercase hex characters: the text is the preimage's hex.
  return { scheme, macaroon: first, macaroons, preimage, preimageHex: preimageText };
}

/**
 * Parses `Authorization: L402 <base64 macaroon>[,<base64 macaroon>...]:<hex preimage>` (and the
 * `LSAT` scheme; scheme names are case-insensitive). Macaroons may be standard or URL-safe base64,
 * padded or not. The `token="…"`/`macaroon="…"` parameter style is not accepted here: Aperture's
 * server reads only `<scheme> <token>:<preimage>` (those parameters belong to `WWW-Authenticate`).
 *
 * Returns `null` when there is no usable L402 credential (no header, another scheme, no `:`, a
 * macaroon that does not decode): the paywall answers with a fresh 402 challenge. Throws
 * `L402InvalidPreimageFormatError` when the credential is well formed but the preimage is not 64
 * lowercase hex characters; the message says when it looks like base64 or is the payment hash.
 * With several header values, the first usable one wins.
 *
 * @example
 * ```ts
 * const credential = parseAuthorization(req.headers.authorization);
 * if (credential === null) return sendChallenge();
 * ```
 */
export function parseAuthorization(header: string | readonly string[] | null | undefined): L402Credential | null {
  if (typeof header === 'string') return parseOne(header);
  if (!Array.isArray(header)) return null;
  for (const value of header as readonly unknown[]) {
    const credential = parseOne(value);
    if (credential !== null) return credential;
  }
  return null;
}

const HAS_ONE_SHOT = typeof oneShotHash === 'function';
/** Receives sha256(preimage) for the comparison (a public value: the payment hash when it matches). */
const digestScratch = Buffer.alloc(32);

/** sha256(preimage) == paymentHash, compared in constant time. */
export function preimageMatches(preimage: Uint8Array, paymentHash: Uint8Array): boolean {
  if (preimage.byteLength !== 32 || paymentHash.byteLength !== 32) return false;
  if (!HAS_ONE_SHOT) return timingSafeEqual(createHash('sha256').update(preimage).digest(), paymentHash);
  // A 'binary' (latin1) string digest is much cheaper to get from `hash()` than a Buffer.
  const digest = oneShotHash('sha256', preimage, 'binary');
  for (let i = 0; i < 32; i++) digestScratch[i] = digest.charCodeAt(i);
  return timingSafeEqual(digestScratch, paymentHash);
}

/**
 * Checks that `sha256(preimage)` equals the payment hash (constant-time). The preimage is 32 bytes
 * or 64 lowercase hex characters (else `L402InvalidPreimageFormatError`); a mismatch throws
 * `L402PreimageMismatchError` ("Preimage does not match payment hash").
 *
 * @example
 * ```ts
 * verifyPreimage(credential.preimageHex, decodeIdentifier(credential.macaroon.identifier).paymentHash);
 * ```
 */
export function verifyPreimage(preimage: string | Uint8Array, paymentHash: string | Uint8Array): void {
  const hash = bytes32(paymentHash, 'paymentHash');
  let bytes: Buffer;
  if (typeof preimage === 'string') {
    bytes = readPreimage(preimage, hash);
  } else if (preimage instanceof Uint8Array && preimage.byteLength === 32) {
    bytes = Buffer.from(preimage);
  } else {
    throw formatError('length', ' (32 bytes)', preimage instanceof Uint8Array ? preimage.byteLength * 2 : 0);
  }
  if (!preimageMatches(bytes, hash)) {
    throw new L402PreimageMismatchError('Preimage does not match payment hash', {
      context: { field: 'preimage', reason: 'mismatch' },
    });
  }
}

/** What a challenge carries: the token and the invoice that pays for it. */
export interface ChallengeInput {
  /** The token, or its base64. */
  macaroon: Macaroon | string;
  /** The BOLT-11 payment request. */
  invoice: string;
}

const INVOICE = /^[A-Za-z0-9]{1,8192}$/;
const B64_HEADER = /^[A-Za-z0-9+/_-]+={0,2}$/;

function challengeParts(input: ChallengeInput): { macaroon: string; invoice: string } {
  const macaroon = input.macaroon instanceof Macaroon ? input.macaroon.toBase64() : input.macaroon;
  if (typeof macaroon !== 'string' || !B64_HEADER.test(macaroon)) {
    throw new ValidationError('challenge macaroon must be a Macaroon or base64', {
      context: { field: 'macaroon', reason: 'invalid' },
    });
  }
  if (typeof input.invoice !== 'string' || !INVOICE.test(input.invoice)) {
    throw new ValidationError('challenge invoice must be a BOLT-11 payment request', {
      context: { field: 'invoice', reason: 'invalid' },
    });
  }
  return { macaroon, invoice: input.invoice };
}

/**
 * One `WWW-Authenticate` value: `<scheme> macaroon="<base64>", invoice="<bolt11>"` (Aperture's form).
 *
 * @example
 * ```ts
 * formatChallenge('L402', { macaroon, invoice }); // 'L402 macaroon="AgEE…", invoice="lnbc…"'
 * ```
 */
export function formatChallenge(scheme: L402Scheme, input: ChallengeInput): string {
  if (scheme !== 'L402' && scheme !== 'LSAT') {
    throw new ValidationError('scheme must be L402 or LSAT', { context: { field: 'scheme', reason: 'invalid' } });
  }
  const { macaroon, invoice } = challengeParts(input);
  return `${scheme} macaroon="${macaroon}", invoice="${invoice}"`;
}

/**
 * The two `WWW-Authenticate` values of a 402: `LSAT …` first (older clients), then `L402 …`.
 *
 * @example
 * ```ts
 * res.status(402).setHeader('WWW-Authenticate', buildChallengeHeaders({ macaroon, invoice }));
 * ```
 */
export function buildChallengeHeaders(input: ChallengeInput): string[] {
  return [formatChallenge('LSAT', input), formatChallenge('L402', input)];
}

/**
 * A parsed L402 challenge.
 *
 * @example
 * ```ts
 * const challenge = parseChallenge(response.headers);
 * if (challenge) await wallet.payInvoice(challenge.invoice);
 * ```
 */
export interface L402Challenge {
  readonly scheme: L402Scheme;
  /** The token's base64, as sent. */
  readonly token: string;
  /** The token, decoded. */
  readonly macaroon: Macaroon;
  /** The BOLT-11 payment request. */
  readonly invoice: string;
  /** The `version` parameter, when the server sent one. */
  readonly version?: string;
}

/** Where `parseChallenge` reads `WWW-Authenticate` from. */
export type ChallengeHeadersInput =
  | string
  | readonly string[]
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

interface RawChallenge {
  scheme: string;
  params: Map<string, string>;
  duplicate: boolean;
}

function isTchar(c: number): boolean {
  // RFC 7230 tchar: ALPHA / DIGIT / "!#$%&'*+-.^_`|~"
  return (
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    c === 0x21 ||
    (c >= 0x23 && c <= 0x27) ||
    c === 0x2a ||
    c === 0x2b ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x5e ||
    c === 0x5f ||
    c === 0x60 ||
    c === 0x7c ||
    c === 0x7e
  );
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * Splits a `WWW-Authenticate` value into challenges (RFC 7235: `scheme [params]`, comma-separated,
 * several challenges possibly joined in one value as `fetch` does). Linear; never throws.
 */
function splitChallenges(value: string, out: RawChallenge[]): void {
  const n = value.length;
  let i = 0;
  let current: RawChallenge | null = null;
  while (i < n) {
    const c = value.charCodeAt(i);
    if (isOws(c) || c === 0x2c) {
      i++;
      continue;
    }
    const start = i;
    while (i < n && isTchar(value.charCodeAt(i))) i++;
    if (i === start) {
      // Not a token (token68 characters, stray quotes...): skip to the next comma outside quotes.
      let quoted = false;
      while (i < n && (quoted || value.charCodeAt(i) !== 0x2c)) {
        const ch = value.charCodeAt(i);
        if (ch === 0x22) quoted = !quoted;
        else if (quoted && ch === 0x5c) i++;
        i++;
      }
      continue;
    }
    const name = value.slice(start, i);
    let j = i;
    while (j < n && isOws(value.charCodeAt(j))) j++;
    if (j < n && value.charCodeAt(j) === 0x3d) {
      j++;
      while (j < n && isOws(value.charCodeAt(j))) j++;
      let param = '';
      if (j < n && value.charCodeAt(j) === 0x22) {
        j++;
        let closed = false;
        const parts: string[] = [];
        let from = j;
        while (j < n) {
          const ch = value.charCodeAt(j);
          if (ch === 0x22) {
            closed = true;
            break;
          }
          if (ch === 0x5c && j + 1 < n) {
            parts.push(value.slice(from, j));
            from = j + 1;
            j += 2;
            continue;
          }
          j++;
        }
        if (!closed) return;
        parts.push(value.slice(from, j));
        param = parts.join('');
        j++;
      } else {
        const from = j;
        while (j < n && isTchar(value.charCodeAt(j))) j++;
        param = value.slice(from, j);
      }
      if (current !== null) {
        const key = name.toLowerCase();
        if (current.params.has(key)) current.duplicate = true;
        else current.params.set(key, param);
      }
      i = j;
    } else {
      current = { scheme: name, params: new Map(), duplicate: false };
      out.push(current);
      i = j;
    }
  }
}

function headerValues(headers: ChallengeHeadersInput): string[] {
  if (typeof headers === 'string') return [headers];
  if (Array.isArray(headers)) return headers.filter((h): h is string => typeof h === 'string');
  if (typeof headers !== 'object' || headers === null) return [];
  const getter = (headers as { get?: unknown }).get;
  if (typeof getter === 'function') {
    const value: unknown = getter.call(headers, 'www-authenticate');
    return typeof value === 'string' ? [value] : [];
  }
  const values: string[] = [];
  for (const [key, value] of Object.entries(headers as Record<string, unknown>)) {
    if (key.toLowerCase() !== 'www-authenticate') continue;
    if (typeof value === 'string') values.push(value);
    else if (Array.isArray(value)) for (const v of value) if (typeof v === 'string') values.push(v);
  }
  return values;
}

/**
 * Finds an L402 challenge in `WWW-Authenticate`: either scheme (`L402` preferred over `LSAT`), the
 * token under `macaroon=` (Aperture) or `token=` (the current spec), an optional `version=`, and
 * `invoice=`. Accepts a header value, a list of values, a `fetch` `Headers` (which joins repeated
 * headers with ", ") or a Node headers object. Returns `null` when there is no usable challenge
 * (including a token that does not decode); never throws on any input.
 *
 * @example
 * ```ts
 * const challenge = parseChallenge(res.headers); // { scheme: 'L402', token, macaroon, invoice }
 * ```
 */
export function parseChallenge(headers: ChallengeHeadersInput): L402Challenge | null {
  const challenges: RawChallenge[] = [];
  for (const value of headerValues(headers)) {
    if (value.length <= MAX_HEADER_CHARS) splitChallenges(value, challenges);
  }
  for (const preferred of ['L402', 'LSAT'] as const) {
    for (const ch of challenges) {
      if (ch.scheme.toUpperCase() !== preferred || ch.duplicate) continue;
      const byMacaroon = ch.params.get('macaroon');
      const byToken = ch.params.get('token');
      if (byMacaroon !== undefined && byToken !== undefined && byMacaroon !== byToken) continue;
      const token = byMacaroon ?? byToken;
      const invoice = ch.params.get('invoice');
      if (token === undefined || invoice === undefined || !INVOICE.test(invoice)) continue;
      const macaroon = deserialize(token);
      if (macaroon === null) continue;
      const version = ch.params.get('version');
      return { scheme: preferred, token, macaroon, invoice, ...(version === undefined ? {} : { version }) };
    }
  }
  return null;
}
