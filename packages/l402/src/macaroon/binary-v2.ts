import { ValidationError } from '@payable/core';

/**
 * Field types of the V2 binary format (go-macaroon `packet-v2.go`, js-macaroon `FIELD_*`):
 * end of section 0, location 1, identifier 2, verification id 4, signature 6.
 */
export const FIELD = { EOS: 0, LOCATION: 1, IDENTIFIER: 2, VERIFICATION_ID: 4, SIGNATURE: 6 } as const;

/** The version byte that starts every V2 binary macaroon. */
export const V2_VERSION = 2;
/** Largest serialized macaroon Payable parses or produces (64 KiB). */
export const MAX_MACAROON_BYTES = 64 * 1024;
/** Largest number of caveats Payable parses or adds. */
export const MAX_CAVEATS = 64;
/** Length of a macaroon signature (HMAC-SHA256). */
export const SIGNATURE_BYTES = 32;

/** Why a byte string is not a macaroon; the `context.reason` of the ValidationError. */
export type MacaroonParseReason =
  | 'empty'
  | 'too_large'
  | 'bad_version'
  | 'truncated'
  | 'bad_varint'
  | 'field_order'
  | 'unexpected_field'
  | 'missing_identifier'
  | 'empty_field'
  | 'location_in_first_party_caveat'
  | 'too_many_caveats'
  | 'bad_signature_length'
  | 'trailing_bytes'
  | 'invalid_utf8';

/** One caveat as stored: raw id, location ('' = none), verification id (third-party only). */
export interface RawCaveat {
  readonly id: Buffer;
  readonly location: string;
  readonly vid: Buffer | undefined;
}

/** A macaroon's fields as stored ('' location = none). */
export interface RawMacaroon {
  readonly location: string;
  readonly id: Buffer;
  readonly caveats: readonly RawCaveat[];
  readonly sig: Buffer;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function fail(reason: MacaroonParseReason, detail: string, extra: Record<string, unknown> = {}): never {
  throw new ValidationError(`Invalid macaroon: ${detail}`, { context: { field: 'macaroon', reason, ...extra } });
}

/** Decodes UTF-8 strictly (a location must be text); invalid sequences are a parse error. */
function text(bytes: Buffer, start: number, end: number): string {
  // ASCII (every location seen in practice, e.g. 'lsat') needs no decoder: it is its own latin1.
  for (let i = start; i < end; i++) {
    if ((bytes[i] as number) >= 0x80) {
      try {
        return utf8.decode(bytes.subarray(start, end));
      } catch {
        return fail('invalid_utf8', 'a location is not valid UTF-8');
      }
    }
  }
  if (end - start > 16) return bytes.toString('latin1', start, end);
  let ascii = '';
  for (let i = start; i < end; i++) ascii += String.fromCharCode(bytes[i] as number);
  return ascii;
}

// The parser's cursor. Parsing is synchronous and calls out to nothing, so one module-level cursor
// serves every call (no per-call reader or packet objects).
const EMPTY = Buffer.alloc(0);
let buf: Buffer = EMPTY;
let pos = 0;
/** The packet just read by `readPacket`: its field type and the bounds of its data. */
let packetType = 0;
let packetStart = 0;
let packetEnd = 0;

/** Reads a canonical (minimal) LEB128 unsigned varint of at most 31 bits, like go-macaroon. */
function uvarint(): number {
  let value = 0;
  let shift = 0;
  for (let i = 0; i < 5; i++) {
    if (pos >= buf.length) fail('truncated', 'varint extends past the end of the data');
    const byte = buf[pos++] as number;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) {
      if (i > 0 && byte === 0) fail('bad_varint', 'varint is not minimally encoded');
      if (value > 0x7fffffff) fail('bad_varint', 'varint value out of range');
      return value;
    }
    shift += 7;
  }
  return fail('bad_varint', 'varint is too long');
}

/** One packet: field type (varint) then, unless EOS, payload length (varint) and payload. */
function readPacket(): void {
  if (pos === buf.length) fail('truncated', 'section extends past the end of the data');
  packetType = uvarint();
  if (packetType === FIELD.EOS) {
    packetStart = pos;
    packetEnd = pos;
    return;
  }
  const len = uvarint();
  if (len > buf.length - pos) fail('truncated', 'field data extends past the end of the data');
  packetStart = pos;
  pos += len;
  packetEnd = pos;
}

// The fields of the section just read by `readSection` (start -1: absent). Field types must
// strictly increase within a section, so a section holds each type at most once.
let locStart = -1;
let locEnd = 0;
let idStart = -1;
let idEnd = 0;
let vidStart = -1;
let vidEnd = 0;

/**
 * Reads packets up to an EOS; field types must strictly increase within the section and be
 * allowed (`caveat`: location, identifier, verification id; else location, identifier). Returns
 * the number of packets.
 */
function readSection(caveat: boolean): number {
  locStart = -1;
  idStart = -1;
  vidStart = -1;
  let count = 0;
  let previous = -1;
  for (;;) {
    readPacket();
    const type = packetType;
    if (type === FIELD.EOS) return count;
    if (type <= previous) fail('field_order', 'fields out of order', { fieldType: type });
    if (type === FIELD.LOCATION) {
      locStart = packetStart;
      locEnd = packetEnd;
    } else if (type === FIELD.IDENTIFIER) {
      idStart = packetStart;
      idEnd = packetEnd;
    } else if (type === FIELD.VERIFICATION_ID && caveat) {
      vidStart = packetStart;
      vidEnd = packetEnd;
    } else {
      fail('unexpected_field', `unexpected field type ${type}`, { fieldType: type });
    }
    // go-macaroon and js-macaroon never write an empty location or verification id: such a
    // packet is not a canonical encoding, so refuse it (serialize(deserialize(b)) is always b).
    if ((type === FIELD.LOCATION || type === FIELD.VERIFICATION_ID) && packetStart === packetEnd) {
      fail('empty_field', `empty field of type ${type}`, { fieldType: type });
    }
    previous = type;
    count += 1;
  }
}

/**
 * Parses the V2 binary format exactly as go-macaroon writes it:
 * `0x02 [loc] id EOS ( [loc] id [vid] EOS )* EOS sig`. Strict: refuses anything the libraries
 * would not have written (wrong version, truncation, out-of-order or unknown fields, non-minimal
 * varints, empty location/vid packets, a location on a first-party caveat, oversize input,
 * too many caveats, a signature that is not 32 bytes, trailing bytes). Throws `ValidationError`
 * with `context.reason`; never anything else.
 *
 * Every field is a view into one copy of `input`; with `owned`, the caller hands over `input` (a
 * Buffer no one else holds or changes) and the fields are views into it, without the copy.
 */
export function parseBinaryV2(input: Uint8Array, owned = false): RawMacaroon {
  if (input.byteLength === 0) fail('empty', 'no data');
  if (input.byteLength > MAX_MACAROON_BYTES) {
    fail('too_large', `larger than ${MAX_MACAROON_BYTES} bytes`, { limit: MAX_MACAROON_BYTES });
  }
  // One copy of the caller's bytes: every field is a view into it, so the macaroon cannot change
  // under us when the caller reuses its buffer.
  const bytes = owned && Buffer.isBuffer(input) ? input : Buffer.from(input);
  const version = bytes[0] as number;
  if (version !== V2_VERSION) {
    fail('bad_version', `version byte ${version} (only the V2 binary format, version 2, is supported)`, { version });
  }
  buf = bytes;
  pos = 1;
  try {
    return parseFields(bytes);
  } finally {
    buf = EMPTY;
  }
}

function parseFields(bytes: Buffer): RawMacaroon {
  readSection(false);
  const location = locStart === -1 ? '' : text(bytes, locStart, locEnd);
  if (idStart === -1) fail('missing_identifier', 'no identifier');
  const id = bytes.subarray(idStart, idEnd);
  const caveats: RawCaveat[] = [];
  for (;;) {
    if (readSection(true) === 0) break;
    if (caveats.length >= MAX_CAVEATS)
      fail('too_many_caveats', `more than ${MAX_CAVEATS} caveats`, { limit: MAX_CAVEATS });
    const cavLocation = locStart === -1 ? '' : text(bytes, locStart, locEnd);
    if (idStart === -1) fail('missing_identifier', 'a caveat has no identifier');
    if (vidStart === -1 && cavLocation !== '') {
      fail('location_in_first_party_caveat', 'a first-party caveat carries a location');
    }
    caveats.push({
      id: bytes.subarray(idStart, idEnd),
      location: cavLocation,
      vid: vidStart === -1 ? undefined : bytes.subarray(vidStart, vidEnd),
    });
  }
  readPacket();
  if (packetType !== FIELD.SIGNATURE) {
    fail('unexpected_field', 'expected the signature field', { fieldType: packetType });
  }
  const sigLength = packetEnd - packetStart;
  if (sigLength !== SIGNATURE_BYTES) {
    fail('bad_signature_length', `signature is ${sigLength} bytes, not ${SIGNATURE_BYTES}`);
  }
  const remaining = bytes.length - pos;
  if (remaining !== 0) fail('trailing_bytes', `${remaining} bytes after the signature`);
  return { location, id, caveats, sig: bytes.subarray(packetStart, packetEnd) };
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size += 1;
  }
  return size;
}

/** Size of one non-EOS packet (field types are all < 128: one byte). */
export function packetSize(dataLength: number): number {
  return 1 + varintSize(dataLength) + dataLength;
}

/** Size of one caveat section, EOS included. */
export function caveatSize(c: RawCaveat): number {
  const loc = c.location === '' ? 0 : packetSize(Buffer.byteLength(c.location));
  const vid = c.vid === undefined ? 0 : packetSize(c.vid.length);
  return loc + packetSize(c.id.length) + vid + 1;
}

/** Size of the whole serialized macaroon. */
export function macaroonSize(m: RawMacaroon): number {
  let size = 1; // version
  if (m.location !== '') size += packetSize(Buffer.byteLength(m.location));
  size += packetSize(m.id.length) + 1;
  for (const c of m.caveats) size += caveatSize(c);
  return size + 1 + packetSize(SIGNATURE_BYTES);
}

/** Serializes to the V2 binary format, byte for byte as go-macaroon's `appendBinaryV2`. */
export function serializeBinaryV2(m: RawMacaroon): Buffer {
  const out = Buffer.allocUnsafe(macaroonSize(m));
  let pos = 0;
  const byte = (b: number) => {
    out[pos++] = b;
  };
  const varint = (n: number) => {
    while (n >= 0x80) {
      byte((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    byte(n);
  };
  const packet = (type: number, data: Uint8Array) => {
    byte(type);
    varint(data.length);
    out.set(data, pos);
    pos += data.length;
  };
  byte(V2_VERSION);
  if (m.location !== '') packet(FIELD.LOCATION, Buffer.from(m.location, 'utf8'));
  packet(FIELD.IDENTIFIER, m.id);
  byte(FIELD.EOS);
  for (const c of m.caveats) {
    if (c.location !== '') packet(FIELD.LOCATION, Buffer.from(c.location, 'utf8'));
    packet(FIELD.IDENTIFIER, c.id);
    if (c.vid !== undefined) packet(FIELD.VERIFICATION_ID, c.vid);
    byte(FIELD.EOS);
  }
  byte(FIELD.EOS);
  packet(FIELD.SIGNATURE, m.sig);
  return out;
}
