// Every vector of shared/vectors/macaroon-vectors.json, official and derived, as a test.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decodeIdentifier,
  encodeIdentifier,
  l402FailureToError,
  Macaroon,
  parseAuthorization,
  verifyCaveats,
  verifyL402Token,
  verifyPreimage,
} from '../index.js';
import { thrown } from '../../test/support/thrown.js';

interface Vectors {
  format: { field_types: Record<string, number> };
  libmacaroons_readme: {
    root_key_utf8: string;
    identifier_utf8: string;
    location: string;
    caveats: string[];
    signature_chain_hex: string[];
    final_signature_hex: string;
    v2_binary_base64url: string;
    v1_serialized_no_caveats_from_readme: string;
    signature_without_key_derivation_hex_NEGATIVE: string;
  };
  js_macaroon_binary_tests: {
    vectors: {
      root_key_utf8: string;
      identifier_utf8: string;
      location: string;
      caveats: string[];
      v2_binary_base64url: string;
      v2_binary_hex: string;
      signature_hex: string;
    }[];
  };
  go_macaroon_v2_with_third_party: {
    root_key_utf8: string;
    identifier_utf8: string;
    location: string;
    final_signature_hex: string;
  };
  l402_derived: {
    root_key_hex: string;
    preimage_hex: string;
    payment_hash_hex: string;
    token_id_hex: string;
    identifier_hex: string;
    caveats: string[];
    signature_chain_hex: string[];
    signature_hex: string;
    v2_binary_hex: string;
    token_base64_std: string;
    token_base64url_nopad: string;
    authorization_header: string;
    negative_cases: { case: string; preimage_hex?: string; signature_hex?: string }[];
  };
}

// A copy of shared/vectors/macaroon-vectors.json (same content, formatted by Biome), kept beside the test for CI.
const VECTORS_PATH = new URL('./macaroon-vectors.json', import.meta.url);
const vectors = JSON.parse(readFileSync(VECTORS_PATH, 'utf8')) as Vectors;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function build(rootKey: string | Uint8Array, identifier: string | Uint8Array, location: string, caveats: string[]) {
  const chain: string[] = [];
  let m = Macaroon.create({ rootKey, identifier, location });
  chain.push(hex(m.signature));
  for (const c of caveats) {
    m = m.addFirstPartyCaveat(c);
    chain.push(hex(m.signature));
  }
  return { m, chain };
}

describe('vectors – format', () => {
  it('field tags are location 1, identifier 2, verification id 4, signature 6, EOS 0', () => {
    const { m } = build('k', 'id', 'loc', ['c']);
    const bytes = Buffer.from(m.serialize());
    // 02 | 01 03 "loc" | 02 02 "id" | 00 | 02 01 "c" | 00 | 00 | 06 20 sig
    expect([...bytes.subarray(0, 14)]).toEqual([2, 1, 3, 108, 111, 99, 2, 2, 105, 100, 0, 2, 1, 99]);
    expect([...bytes.subarray(14, 18)]).toEqual([0, 0, 6, 32]);
    expect(bytes.length).toBe(18 + 32);
    expect(vectors.format.field_types).toEqual({
      EOS: 0,
      location: 1,
      identifier: 2,
      verification_id: 4,
      signature: 6,
    });
  });
});

describe('vectors – libmacaroons README (official)', () => {
  const v = vectors.libmacaroons_readme;

  it('reproduces the signature chain and the final signature', () => {
    const { m, chain } = build(v.root_key_utf8, v.identifier_utf8, v.location, v.caveats);
    expect(chain).toEqual(v.signature_chain_hex);
    expect(hex(m.signature)).toBe(v.final_signature_hex);
  });

  it('serializes to the V2 binary, which deserializes and verifies', () => {
    const { m } = build(v.root_key_utf8, v.identifier_utf8, v.location, v.caveats);
    expect(Buffer.from(m.serialize()).toString('base64url')).toBe(v.v2_binary_base64url);
    const parsed = Macaroon.fromBase64(v.v2_binary_base64url);
    expect(parsed.location).toBe(v.location);
    expect(Buffer.from(parsed.identifier).toString()).toBe(v.identifier_utf8);
    expect(parsed.caveats.map((c) => Buffer.from(c.identifier).toString())).toEqual(v.caveats);
    expect(parsed.verifySignature(v.root_key_utf8)).toBe(true);
    expect(parsed.verifySignature(`${v.root_key_utf8}!`)).toBe(false);
  });

  it('NEGATIVE: the signature without key derivation is not what we compute', () => {
    const raw = createHmac('sha256', v.root_key_utf8).update(v.identifier_utf8).digest('hex');
    expect(raw).toBe(v.signature_without_key_derivation_hex_NEGATIVE);
    expect(v.signature_chain_hex[0]).not.toBe(raw);
    expect(hex(Macaroon.create({ rootKey: v.root_key_utf8, identifier: v.identifier_utf8 }).signature)).toBe(
      v.signature_chain_hex[0],
    );
  });

  it('refuses the V1 serialization with a parse error (bad_version), not a crash', () => {
    const error = thrown(() => Macaroon.fromBase64(v.v1_serialized_no_caveats_from_readme));
    expect(error.code).toBe('VALIDATION_ERROR');
    expect(error.context.reason).toBe('bad_version');
  });
});

describe('vectors – js-macaroon binary tests (official)', () => {
  for (const [i, v] of vectors.js_macaroon_binary_tests.vectors.entries()) {
    it(`vector ${i}: ${v.caveats.length} caveat(s) — bytes, signature, parse and verify`, () => {
      const { m } = build(v.root_key_utf8, v.identifier_utf8, v.location, v.caveats);
      expect(hex(m.serialize())).toBe(v.v2_binary_hex);
      expect(Buffer.from(m.serialize()).toString('base64url')).toBe(v.v2_binary_base64url);
      expect(hex(m.signature)).toBe(v.signature_hex);
      const parsed = Macaroon.fromBase64(v.v2_binary_base64url);
      expect(hex(parsed.serialize())).toBe(v.v2_binary_hex);
      expect(parsed.verifySignature(v.root_key_utf8)).toBe(true);
      expect(parsed.verifySignature('this is not the key')).toBe(false);
    });
  }
});

describe('vectors – go-macaroon V2 with a third-party caveat (official)', () => {
  const v = vectors.go_macaroon_v2_with_third_party;
  // The third-party caveat of libmacaroons' second example (zero nonce): its verification id is
  // the published one (24 zero bytes of nonce, then the secretbox of the caveat key).
  const vid = Buffer.from(
    'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA027FAuBYhtHwJ58FX6UlVNFtFsGxQHS7uD_w_dedwv4Jjw7UorCREw5rXbRqIKhr',
    'base64url',
  );
  const cid = 'this was how we remind auth of key/pred';
  const bytes = Buffer.concat([
    Buffer.from([2, 1, v.location.length]),
    Buffer.from(v.location),
    Buffer.from([2, v.identifier_utf8.length]),
    Buffer.from(v.identifier_utf8),
    Buffer.from([0, 2, 20]),
    Buffer.from('account = 3735928559'),
    Buffer.from([0, 1, 19]),
    Buffer.from('http://auth.mybank/'),
    Buffer.from([2, cid.length]),
    Buffer.from(cid),
    Buffer.from([4, vid.length]),
    vid,
    Buffer.from([0, 0, 6, 32]),
    Buffer.from(v.final_signature_hex, 'hex'),
  ]);

  it('parses the vid field (tag 4) and round-trips byte for byte', () => {
    const m = Macaroon.deserialize(bytes);
    expect(m.caveats).toHaveLength(2);
    const [first, third] = m.caveats;
    expect(first?.thirdParty).toBe(false);
    expect(third?.thirdParty).toBe(true);
    expect(third?.location).toBe('http://auth.mybank/');
    expect(Buffer.from(third?.identifier ?? []).toString()).toBe(cid);
    expect(hex(third?.verificationId ?? new Uint8Array())).toBe(hex(vid));
    expect(hex(m.signature)).toBe(v.final_signature_hex);
    expect(hex(m.serialize())).toBe(hex(bytes));
  });

  it('the parsed fields reproduce the official signature through the third-party chain step', () => {
    const h = (k: Uint8Array, d: Uint8Array | string) => createHmac('sha256', k).update(d).digest();
    const m = Macaroon.deserialize(bytes);
    const afterFirst = Macaroon.create({ rootKey: v.root_key_utf8, identifier: v.identifier_utf8 }).addFirstPartyCaveat(
      'account = 3735928559',
    ).signature;
    const third = m.caveats[1];
    const vidBytes = third?.verificationId ?? new Uint8Array();
    const sig = h(
      afterFirst,
      Buffer.concat([h(afterFirst, vidBytes), h(afterFirst, third?.identifier ?? new Uint8Array())]),
    );
    expect(sig.toString('hex')).toBe(v.final_signature_hex);
  });

  it('is refused at verification: Payable has no discharge API', () => {
    expect(Macaroon.deserialize(bytes).verifySignature(v.root_key_utf8)).toBe(false);
  });
});

describe('vectors – L402 derived', () => {
  const v = vectors.l402_derived;
  const rootKey = Buffer.from(v.root_key_hex, 'hex');
  const context = { now: new Date('2026-01-01T00:00:00Z'), service: 'payable-demo', capability: 'read' };

  it('identifier = version 0 ‖ payment hash ‖ token id (66 bytes)', () => {
    const id = encodeIdentifier({ paymentHash: v.payment_hash_hex, tokenId: v.token_id_hex });
    expect(id.toString('hex')).toBe(v.identifier_hex);
    const decoded = decodeIdentifier(Buffer.from(v.identifier_hex, 'hex'));
    expect(decoded.version).toBe(0);
    expect(decoded.paymentHash.toString('hex')).toBe(v.payment_hash_hex);
    expect(decoded.tokenId.toString('hex')).toBe(v.token_id_hex);
  });

  it('payment hash = sha256(preimage)', () => {
    expect(() => verifyPreimage(v.preimage_hex, v.payment_hash_hex)).not.toThrow();
  });

  it('reproduces the signature chain, binary, std base64 and URL-safe base64', () => {
    const { m, chain } = build(rootKey, Buffer.from(v.identifier_hex, 'hex'), 'lsat', v.caveats);
    expect(chain).toEqual(v.signature_chain_hex);
    expect(hex(m.signature)).toBe(v.signature_hex);
    expect(hex(m.serialize())).toBe(v.v2_binary_hex);
    expect(m.toBase64()).toBe(v.token_base64_std);
    expect(Buffer.from(m.serialize()).toString('base64url')).toBe(v.token_base64url_nopad);
  });

  it('the std and the URL-safe unpadded encodings parse to the same token', () => {
    const a = Macaroon.fromBase64(v.token_base64_std);
    const b = Macaroon.fromBase64(v.token_base64url_nopad);
    expect(hex(a.serialize())).toBe(v.v2_binary_hex);
    expect(hex(b.serialize())).toBe(v.v2_binary_hex);
  });

  it('the Authorization header passes parse, signature, preimage and caveat checks', () => {
    const credential = parseAuthorization(v.authorization_header);
    expect(credential).not.toBeNull();
    if (credential === null) return;
    expect(credential.scheme).toBe('L402');
    expect(credential.preimageHex).toBe(v.preimage_hex);
    expect(credential.macaroon.location).toBe('lsat');
    expect(credential.macaroon.verifySignature(rootKey)).toBe(true);
    expect(() =>
      verifyPreimage(credential.preimage, decodeIdentifier(credential.macaroon.identifier).paymentHash),
    ).not.toThrow();
    const result = verifyL402Token(credential, { rootKey, context });
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.expiresAt?.toISOString()).toBe('2030-01-01T00:00:00.000Z');
  });

  it('NEGATIVE wrong preimage → L402_PREIMAGE_MISMATCH', () => {
    const negative = v.negative_cases.find((c) => c.case === 'wrong preimage');
    const header = v.authorization_header.replace(/:[0-9a-f]{64}$/, `:${negative?.preimage_hex}`);
    const credential = parseAuthorization(header);
    expect(credential).not.toBeNull();
    if (credential === null) return;
    const result = verifyL402Token(credential, { rootKey, context });
    expect(result).toMatchObject({ ok: false, code: 'L402_PREIMAGE_MISMATCH', httpStatus: 401 });
    expect(() => verifyPreimage(negative?.preimage_hex ?? '', v.payment_hash_hex)).toThrow(
      expect.objectContaining({ code: 'L402_PREIMAGE_MISMATCH' }),
    );
  });

  it('NEGATIVE last caveat dropped but signature kept → the chain ends at the previous link → L402_INVALID_TOKEN', () => {
    const bytes = Buffer.from(v.v2_binary_hex, 'hex');
    const lastCaveat = Buffer.concat([
      Buffer.from([2, v.caveats[2]?.length ?? 0]),
      Buffer.from(v.caveats[2] ?? ''),
      Buffer.from([0]),
    ]);
    const at = bytes.indexOf(lastCaveat);
    expect(at).toBeGreaterThan(0);
    const dropped = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + lastCaveat.length)]);
    const m = Macaroon.deserialize(dropped);
    expect(m.caveats).toHaveLength(2);
    expect(hex(m.signature)).toBe(v.signature_hex);
    // What the signature would have to be for two caveats:
    expect(hex(build(rootKey, Buffer.from(v.identifier_hex, 'hex'), 'lsat', v.caveats.slice(0, 2)).m.signature)).toBe(
      v.signature_chain_hex[2],
    );
    expect(m.verifySignature(rootKey)).toBe(false);
    const result = verifyL402Token({ macaroon: m, preimage: Buffer.from(v.preimage_hex, 'hex') }, { rootKey, context });
    expect(result).toMatchObject({ ok: false, code: 'L402_INVALID_TOKEN', reason: 'signature' });
  });

  it('NEGATIVE signature computed with the raw root key (no key derivation) does not verify', () => {
    const negative = v.negative_cases.find((c) => c.case.startsWith('signature computed with raw root key'));
    const raw = v.caveats.reduce(
      (sig, c) => createHmac('sha256', sig).update(c).digest(),
      createHmac('sha256', rootKey).update(Buffer.from(v.identifier_hex, 'hex')).digest(),
    );
    expect(raw.toString('hex')).toBe(negative?.signature_hex);
    const forged = Buffer.from(v.v2_binary_hex, 'hex');
    raw.copy(forged, forged.length - 32);
    expect(Macaroon.deserialize(forged).verifySignature(rootKey)).toBe(false);
  });

  it('NEGATIVE valid_until in the past (now = 1893456000 or later) → L402_TOKEN_EXPIRED', () => {
    const m = Macaroon.fromBase64(v.token_base64_std);
    for (const now of [new Date(1893456000 * 1000), new Date(1893456001 * 1000)]) {
      const result = verifyCaveats(m.caveats, { ...context, now });
      expect(result).toMatchObject({ ok: false, code: 'L402_TOKEN_EXPIRED', httpStatus: 401, reason: 'expired' });
      if (!result.ok) expect(l402FailureToError(result).code).toBe('L402_TOKEN_EXPIRED');
    }
    expect(verifyCaveats(m.caveats, { ...context, now: new Date(1893456000 * 1000 - 1) }).ok).toBe(true);
  });
});
