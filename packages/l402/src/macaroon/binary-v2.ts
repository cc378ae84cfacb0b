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
function text(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return fail('invalid_utf8', 'a location is not valid UTF-8');
  }
}

/** A cursor over the input; every read is bounds-checked. */
class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  /** Reads a canonical (minimal) LEB128 unsigned varint of at most 31 bits, like go-macaroon. */
  uvarint(): number {
    let value = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.buf.length) fail('truncated', 'varint extends past the end of the data');
      const byte = this.buf[this.pos++] as number;
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

  bytes(n: number): Buffer {
    if (n > this.remaining) fail('truncated', 'field data extends past the end of the data');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

interface Packet {
  type: number;
  data: Buffer;
}

/** One packet: field type (varint) then, unless EOS, payload length (varint) and payload. */
function readPacket(r: Reader): Packet {
  if (r.remaining === 0) fail('truncated', 'section extends past the end of the data');
  const type = r.uvarint();
  if (type === FIELD.EOS) return { type, data: EMPTY };
  const len = r.uvarint();
  return { type, data: r.bytes(len) };
}

const EMPTY = Buffer.alloc(0);

/** Reads packets up to an EOS; field types must strictly increase within the section. */
function readSection(r: Reader, allowed: readonly number[]): Packet[] {
  const packets: Packet[] = [];
  let previous = -1;
  for (;;) {
    const p = readPacket(r);
    if (p.type === FIELD.EOS) return packets;
    if (p.type <= previous) fail('field_order', 'fields out of order', { fieldType: p.type });
    if (!allowed.includes(p.type)) fail('unexpected_field', `unexpected field type ${p.type}`, { fieldType: p.type });
    // go-macaroon and js-macaroon never write an empty location or verification id: such a
    // packet is not a canonical encoding, so refuse it (serialize(deserialize(b)) is always b).
    if ((p.type === FIELD.LOCATION || p.type === FIELD.VERIFICATION_ID) && p.data.length === 0) {
      fail('empty_field', `empty field of type ${p.type}`, { fieldType: p.type });
    }
    previous = p.type;
    packets.push(p);
  }
}

const HEADER_FIELDS = [FIELD.LOCATION, FIELD.IDENTIFIER];
const CAVEAT_FIELDS = [FIELD.LOCATION, FIELD.IDENTIFIER, FIELD.VERIFICATION_ID];

/**
 * Parses the V2 binary format exactly as go-macaroon writes it:
 * `0x02 [loc] id EOS ( [loc] id [vid] EOS )* EOS sig`. Strict: refuses anything the libraries
 * would not have written (wrong version, truncation, out-of-order or unknown fields, non-minimal
 * varints, empty location/vid packets, a location on a first-party caveat, oversize input,
 * too many caveats, a signature that is not 32 bytes, trailing bytes). Throws `ValidationError`
 * with `context.reason`; never anything else.
 */
export function parseBinaryV2(input: Uint8Array): RawMacaroon {
  if (input.byteLength === 0) fail('empty', 'no data');
  if (input.byteLength > MAX_MACAROON_BYTES) {
    fail('too_large', `larger than ${MAX_MACAROON_BYTES} bytes`, { limit: MAX_MACAROON_BYTES });
  }
  // One copy of the caller's bytes: every field is a view into it, so the macaroon cannot change
  // under us when the caller reuses its buffer.
  const buf = Buffer.from(input);
  const version = buf[0] as number;
  if (version !== V2_VERSION) {
    fail('bad_version', `version byte ${version} (only the V2 binary format, version 2, is supported)`, { version });
  }
  const r = new Reader(buf);
  r.pos = 1;
  const header = readSection(r, HEADER_FIELDS);
  let location = '';
  let i = 0;
  if (header[0]?.type === FIELD.LOCATION) {
    location = text(header[0].data);
    i = 1;
  }
  const idPacket = header[i];
  if (idPacket === undefined || idPacket.type !== FIELD.IDENTIFIER) fail('missing_identifier', 'no identifier');
  const caveats: RawCaveat[] = [];
  for (;;) {
    const section = readSection(r, CAVEAT_FIELDS);
    if (section.length === 0) break;
    if (caveats.length >= MAX_CAVEATS)
      fail('too_many_caveats', `more than ${MAX_CAVEATS} caveats`, { limit: MAX_CAVEATS });
    let j = 0;
    let cavLocation = '';
    if (section[0]?.type === FIELD.LOCATION) {
      cavLocation = text(section[0].data);
      j = 1;
    }
    const cid = section[j];
    if (cid === undefined || cid.type !== FIELD.IDENTIFIER) fail('missing_identifier', 'a caveat has no identifier');
    const vid = section[j + 1];
    if (vid === undefined && cavLocation !== '') {
      fail('location_in_first_party_caveat', 'a first-party caveat carries a location');
    }
    caveats.push({ id: cid.data, location: cavLocation, vid: vid?.data });
  }
  const sig = readPacket(r);
  if (sig.type !== FIELD.SIGNATURE) fail('unexpected_field', 'expected the signature field', { fieldType: sig.type });
  if (sig.data.length !== SIGNATURE_BYTES) {
    fail('bad_signature_length', `signature is ${sig.data.length} bytes, not ${SIGNATURE_BYTES}`);
  }
  if (r.remaining !== 0) fail('trailing_bytes', `${r.remaining} bytes after the signature`);
  return { location, id: idPacket.data, caveats, sig: sig.data };
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
