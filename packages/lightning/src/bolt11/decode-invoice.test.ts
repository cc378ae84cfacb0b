import { isPayableError } from '@payable/core';
import { type DecodedInvoice, decodeInvoice, type InvoiceErrorReason } from '../index.js';
import { bech32 } from '@scure/base';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  baseFields,
  field,
  HASH,
  type InvalidVector,
  rawInvoice,
  SECRET,
  SPEC_PUBLIC_KEY,
  TIMESTAMP,
  type ValidVector,
  vectors,
} from './fixtures/vectors.js';
import { BECH32_ALPHABET, bytesToWords, wordsToBytes } from './words.js';

/** Runs `fn` and returns the ValidationError it throws; fails the test when it throws nothing else. */
function refusal(fn: () => unknown): { reason: InvoiceErrorReason; context: Record<string, unknown>; message: string } {
  try {
    fn();
  } catch (error) {
    if (!isPayableError(error)) throw error;
    expect(error.code).toBe('VALIDATION_ERROR');
    expect(error.httpStatus).toBe(400);
    expect(error.message.length).toBeGreaterThan(10);
    return {
      reason: error.context.reason as InvoiceErrorReason,
      context: error.context as Record<string, unknown>,
      message: error.message,
    };
  }
  throw new Error('expected decodeInvoice to refuse the invoice');
}

const reasonOf = (invoice: string): InvoiceErrorReason => refusal(() => decodeInvoice(invoice)).reason;

/** A stable text form of a decoded invoice, for equality (bigint-safe). */
const serialize = (decoded: DecodedInvoice): string =>
  JSON.stringify(decoded, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value));

/** The 51-byte-per-hop hex of an `r` field, rebuilt from the decoded hops. */
function routeHintHex(hops: DecodedInvoice['routeHints'][number]): string {
  const hex = (value: number, bytes: number) => value.toString(16).padStart(bytes * 2, '0');
  return hops
    .map((hop) => {
      const [block, tx, output] = hop.shortChannelId.split('x').map(Number) as [number, number, number];
      return (
        hop.pubkey +
        hex(block, 3) +
        hex(tx, 3) +
        hex(output, 2) +
        hex(hop.feeBaseMsat, 4) +
        hex(hop.feeProportionalMillionths, 4) +
        hex(hop.cltvExpiryDelta, 2)
      );
    })
    .join('');
}

// Every key a valid vector may carry, and whether the test below asserts it. A key added to the file
// later makes the "no unhandled fields" assertion fail, so it cannot be silently ignored.
const ASSERTED_KEYS = new Set([
  'invoice',
  'network',
  'amount_msat',
  'timestamp',
  'payment_hash',
  'payment_secret',
  'description',
  'description_hash',
  'expiry_seconds',
  'expiry_is_default',
  'min_final_cltv_expiry_delta',
  'min_final_cltv_is_default',
  'feature_bits_set',
  'fallback',
  'route_hints_hex',
  'must_ignore_fields',
  'payment_metadata_hex',
  'payee_pubkey',
  'UNCERTAIN',
]);
// Provenance and prose, not decoded fields (observed_npm_behaviour is checked in the cross-check test).
const PROSE_KEYS = new Set(['id', 'spec_title', 'verified_by', 'observed_npm_behaviour']);

describe('decodeInvoice – specification vectors (valid)', () => {
  test.each(vectors.valid.map((vector) => [vector.id, vector] as const))('%s – decodes every field', (_id, vector) => {
    const v: ValidVector = vector;
    expect(Object.keys(v).filter((key) => !ASSERTED_KEYS.has(key) && !PROSE_KEYS.has(key))).toEqual([]);
    const decoded = decodeInvoice(v.invoice);

    const [, networkName, prefix] = /^bitcoin-(mainnet|testnet) \((\w+)\)$/.exec(v.network) ?? [];
    expect(decoded.prefix).toBe(prefix);
    expect(decoded.network).toBe(networkName === 'mainnet' ? 'bitcoin' : 'testnet');
    expect(decoded.amountMsat).toBe(v.amount_msat === null ? null : BigInt(v.amount_msat));
    expect(decoded.timestamp).toBe(v.timestamp);
    expect(decoded.paymentHash).toBe(v.payment_hash);
    expect(decoded.paymentSecret).toBe(v.payment_secret);
    expect(decoded.description).toBe(v.description);
    expect(decoded.descriptionHash).toBe(v.description_hash);
    expect(decoded.expiry).toBe(v.expiry_seconds);
    expect(decoded.expiry === vectors.default_expiry_seconds).toBe(v.expiry_is_default);
    expect(decoded.minFinalCltvExpiry).toBe(v.min_final_cltv_expiry_delta);
    expect(decoded.minFinalCltvExpiry === vectors.default_min_final_cltv_expiry_delta).toBe(
      v.min_final_cltv_is_default,
    );
    expect(decoded.features.bits).toEqual(v.feature_bits_set);
    expect(decoded.routeHints.map(routeHintHex)).toEqual(v.route_hints_hex ?? []);
    expect(decoded.metadata).toBe(v.payment_metadata_hex);
    expect(decoded.payee).toBe(v.payee_pubkey);
    expect(decoded.payeeSource).toBe('recovered');

    if (v.must_ignore_fields) {
      // valid-13. The file lists the skipped p/h/s/n fields of the wrong length and the unknown `2`
      // field; it lists the `f` field of version 19 as a fallback, but the specification says readers
      // skip `f` fields of versions 19–31 ("fallback address type 19 (ignored)" in its breakdown), so
      // the decoder reports it among the ignored fields and returns no fallback.
      const ignored = decoded.ignoredFields.map((f) => `${f.tag}:${f.dataLength}`);
      expect(ignored.filter((f) => !f.startsWith('f:'))).toEqual(v.must_ignore_fields);
      expect(decoded.ignoredFields).toContainEqual({ tag: 'f', dataLength: 33, reason: 'unknown_fallback_version' });
      expect(v.fallback).toEqual([{ version: 19, hex: '0000000000000000000000000000000000000000' }]);
      expect(decoded.fallbacks).toEqual([]);
    } else {
      expect(decoded.ignoredFields).toEqual([]);
      expect(decoded.fallbacks.map(({ version, hex }) => ({ version, hex }))).toEqual(v.fallback ?? []);
      // The specification's titles name the fallback address; the decoder derives the same one.
      const address = /address (\S+)/.exec(v.spec_title)?.[1];
      expect(decoded.fallbacks.map((f) => f.address)).toEqual(address ? [address] : []);
    }

    if (v.UNCERTAIN) {
      // valid-15: the specification states no payee for its high-S vector; the requirement is only that
      // the invoice is accepted (recovery must allow high-S). Plain ECDSA recovery with the stated
      // recovery id yields the key in the file, not the signing key: assert both facts.
      expect(decoded.payee).not.toBe(SPEC_PUBLIC_KEY);
      expect(BigInt(`0x${decoded.signature.s}`)).toBeGreaterThan(
        0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n,
      );
    } else {
      expect(decoded.payee).toBe(SPEC_PUBLIC_KEY);
    }
  });
});

// The file's reject codes are the vector author's labels; the decoder's reasons are Payable's stable
// codes (see INVOICE_ERROR_REASONS). This table is the mapping, with the extra context each carries.
const REASON_FOR_VECTOR: Record<string, { reason: InvoiceErrorReason; context?: Record<string, unknown> }> = {
  unknown_even_feature_bit: { reason: 'unknown_required_feature', context: { bits: [100] } },
  bad_checksum: { reason: 'bad_checksum' },
  no_separator: { reason: 'no_separator' },
  mixed_case: { reason: 'mixed_case' },
  signature_not_recoverable: { reason: 'bad_signature' },
  too_short: { reason: 'too_short' },
  invalid_multiplier: { reason: 'bad_amount', context: { detail: 'invalid_multiplier' } },
  sub_msat_precision: { reason: 'bad_amount', context: { detail: 'sub_millisatoshi' } },
  missing_payment_secret: { reason: 'missing_payment_secret' },
  high_s_with_n_field: { reason: 'high_s_signature' },
};

describe('decodeInvoice – specification vectors (invalid)', () => {
  test.each(vectors.invalid.map((vector) => [vector.id, vector.reject_code, vector] as const))(
    '%s – refused (%s)',
    (_id, _code, vector) => {
      const v: InvalidVector = vector;
      const expected = REASON_FOR_VECTOR[v.reject_code];
      expect(expected).toBeDefined();
      const error = refusal(() => decodeInvoice(v.invoice));
      expect(error.reason).toBe(expected?.reason);
      expect(error.context).toMatchObject({ field: 'paymentRequest', ...expected?.context });
    },
  );
});

describe('decodeInvoice – input forms', () => {
  const coffee = vectors.valid[11] as ValidVector; // lnbc25m, features 8, 14, 99

  test('upper case – decodes like lower case', () => {
    expect(serialize(decodeInvoice(coffee.invoice.toUpperCase()))).toBe(serialize(decodeInvoice(coffee.invoice)));
  });

  test('lightning: URI scheme and surrounding whitespace – accepted', () => {
    const decoded = decodeInvoice(`  lightning:${coffee.invoice}\n`);
    expect(decoded.paymentHash).toBe(HASH);
    expect(decodeInvoice(`LIGHTNING:${coffee.invoice.toUpperCase()}`).paymentHash).toBe(HASH);
  });

  test.each([
    ['lntbs', 'signet'],
    ['lnbcrt', 'regtest'],
    ['lntb', 'testnet'],
    ['lnbc', 'bitcoin'],
  ] as const)('prefix %s – network %s', (prefix, network) => {
    const decoded = decodeInvoice(rawInvoice(`${prefix}10u`, baseFields()));
    expect(decoded).toMatchObject({ prefix, network, amountMsat: 1_000_000n });
  });

  test.each([
    ['1', 100_000_000_000n],
    ['21000000', 2_100_000_000_000_000_000n],
    ['25m', 2_500_000_000n],
    ['2500u', 250_000_000n],
    ['1n', 100n],
    ['10p', 1n],
    ['9678785340p', 967_878_534n],
    ['20999999999999999990p', 2_099_999_999_999_999_999n],
  ])('amount %s – %s msat exactly', (amount, msat) => {
    expect(decodeInvoice(rawInvoice(`lnbc${amount}`, baseFields())).amountMsat).toBe(msat);
  });

  test('no amount – amountMsat is null', () => {
    expect(decodeInvoice(rawInvoice('lnbc', baseFields())).amountMsat).toBeNull();
  });

  test('defaults – expiry 3600 s and min_final_cltv_expiry 18 without x and c fields', () => {
    const decoded = decodeInvoice(rawInvoice('lnbc', baseFields()));
    expect(decoded).toMatchObject({ expiry: 3600, minFinalCltvExpiry: 18, routeHints: [], fallbacks: [] });
    expect(decoded.features).toEqual({
      bits: [],
      varOnionOptin: 'absent',
      paymentSecret: 'absent',
      basicMpp: 'absent',
      routeBlinding: 'absent',
      paymentMetadata: 'absent',
      unknownBits: [],
    });
  });

  test('x and c fields – read as big-endian integers', () => {
    const decoded = decodeInvoice(rawInvoice('lnbc', [...baseFields(), field.x(604800), field.c(144)]));
    expect(decoded).toMatchObject({ expiry: 604800, minFinalCltvExpiry: 144 });
  });

  test('features – named states, unknown odd bits ignored and listed', () => {
    // bits 9, 14, 17, 49 and 101: words big-endian, bit 0 the least significant bit of the last word.
    const bits = [9, 14, 17, 49, 101];
    const words = new Array<number>(21).fill(0);
    for (const bit of bits) {
      const index = 20 - Math.floor(bit / 5);
      words[index] = (words[index] ?? 0) | (1 << (bit % 5));
    }
    const decoded = decodeInvoice(rawInvoice('lnbc', [...baseFields(), field.features(words)]));
    expect(decoded.features).toEqual({
      bits,
      varOnionOptin: 'optional',
      paymentSecret: 'required',
      basicMpp: 'optional',
      routeBlinding: 'absent',
      paymentMetadata: 'optional',
      unknownBits: [101],
    });
  });

  test('repeated fields – the first valid one counts, the others are reported', () => {
    const other = 'ff'.repeat(32);
    const decoded = decodeInvoice(
      rawInvoice('lnbc', [
        field.raw(1, new Array(51).fill(0)), // p of the wrong length: skipped
        field.p(HASH),
        field.p(other),
        field.s(SECRET),
        field.d('first'),
        field.d('second'),
        field.x(60),
        field.x(120),
      ]),
    );
    expect(decoded).toMatchObject({ paymentHash: HASH, description: 'first', expiry: 60 });
    expect(decoded.ignoredFields).toEqual([
      { tag: 'p', dataLength: 51, reason: 'wrong_length' },
      { tag: 'p', dataLength: 52, reason: 'duplicate' },
      { tag: 'd', dataLength: 10, reason: 'duplicate' },
      { tag: 'x', dataLength: 2, reason: 'duplicate' },
    ]);
  });

  test('empty description – decodes as ""', () => {
    expect(decodeInvoice(rawInvoice('lnbc', [field.s(SECRET), field.p(HASH), field.d('')])).description).toBe('');
  });

  test('n field – payee verified against it', () => {
    const decoded = decodeInvoice(rawInvoice('lnbc', [...baseFields(), field.n(SPEC_PUBLIC_KEY)]));
    expect(decoded).toMatchObject({ payee: SPEC_PUBLIC_KEY, payeeSource: 'n_field' });
  });

  test('high-S signature without n field – accepted, payee recovered', () => {
    const decoded = decodeInvoice(rawInvoice('lnbc', baseFields(), { highS: true }));
    expect(decoded).toMatchObject({ payee: SPEC_PUBLIC_KEY, payeeSource: 'recovered' });
  });

  test('metadata, route hints and every fallback kind – decoded', () => {
    const hop = `${SPEC_PUBLIC_KEY}0000010000020003000003e8000009c40028`;
    const decoded = decodeInvoice(
      rawInvoice('lnbcrt', [
        ...baseFields(),
        field.f(0, '751e76e8199196d454941c45d1b3a323f1433bd6'),
        field.f(18, '8f55563b9a19f321c211e9b9f38cdf686ea07845'),
        field.f(2, 'abcd'),
        field.r(hop + hop),
        field.m('01fafaf0'),
      ]),
    );
    // Expected addresses computed independently (BIP-173/350 reference algorithm, base58check).
    expect(decoded.fallbacks).toEqual([
      {
        version: 0,
        hex: '751e76e8199196d454941c45d1b3a323f1433bd6',
        address: 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080',
      },
      { version: 18, hex: '8f55563b9a19f321c211e9b9f38cdf686ea07845', address: '2N6K6r2LEitDWRtYY2reSLcSQm2e2W9xEjB' },
      { version: 2, hex: 'abcd', address: 'bcrt1z40xsz44l6p' },
    ]);
    const hopDecoded = {
      pubkey: SPEC_PUBLIC_KEY,
      shortChannelId: '1x2x3',
      feeBaseMsat: 1000,
      feeProportionalMillionths: 2500,
      cltvExpiryDelta: 40,
    };
    expect(decoded.routeHints).toEqual([[hopDecoded, hopDecoded]]);
    expect(decoded.metadata).toBe('01fafaf0');
  });

  test.each([
    [
      'lntb',
      0,
      '1863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262',
      'tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7',
    ],
    [
      'lntbs',
      1,
      '000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433',
      'tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c',
    ],
    ['lnbc', 16, '751e', 'bc1sw50qgdz25j'],
    ['lnbc', 2, '751e76e8199196d454941c45d1b3a323', 'bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs'],
  ] as const)('fallback on %s, witness version %i – BIP-350 address', (prefix, version, hex, address) => {
    const decoded = decodeInvoice(rawInvoice(prefix, [...baseFields(), field.f(version, hex)]));
    expect(decoded.fallbacks).toEqual([{ version, hex, address }]);
  });
});

describe('decodeInvoice – refusals', () => {
  const ok = rawInvoice('lnbc', baseFields());

  test('not a string – not_a_string', () => {
    expect(refusal(() => decodeInvoice(42 as unknown as string)).reason).toBe('not_a_string');
  });

  test('over 8192 characters – too_long', () => {
    expect(reasonOf(`lnbc1${'q'.repeat(8200)}`)).toBe('too_long');
  });

  test('a character outside bech32 – bad_character', () => {
    expect(reasonOf(`${ok.slice(0, 20)}b${ok.slice(21)}`)).toBe('bad_character');
    expect(reasonOf(`ln\u00e9c1${ok.slice(5)}`)).toBe('bad_character');
  });

  test('data part under 6 characters – too_short', () => {
    expect(reasonOf('lnbc1qqq')).toBe('too_short');
  });

  test('empty or unknown prefix – bad_prefix', () => {
    expect(reasonOf(`1${ok.slice(5)}`)).toBe('bad_prefix');
    const ltc = bech32.encode('lnltc', bech32.decode(ok as `${string}1${string}`, false).words, false);
    expect(reasonOf(ltc)).toBe('bad_prefix');
    expect(reasonOf(rawInvoice('lnbcx', baseFields()))).toBe('bad_prefix');
    expect(reasonOf(rawInvoice('lnsb10u', baseFields()))).toBe('bad_prefix');
  });

  test.each([
    ['025m', 'leading_zero'],
    ['0', 'zero'],
    ['0p', 'zero'],
    ['21000001', 'too_large'],
    ['21000000000000000010p', 'too_large'],
    ['999999999999999999999999999', 'too_large'],
    ['25mm', 'not_a_number'],
    ['2500x', 'invalid_multiplier'],
    ['15p', 'sub_millisatoshi'],
  ])('amount %s – bad_amount (%s)', (amount, detail) => {
    const error = refusal(() => decodeInvoice(rawInvoice(`lnbc${amount}`, baseFields())));
    expect(error.reason).toBe('bad_amount');
    expect(error.context.detail).toBe(detail);
  });

  test('a field running into the signature – truncated_field', () => {
    // A d field header announcing 5 words, with none left before the signature.
    expect(reasonOf(rawInvoice('lnbc', baseFields(), { trailingWords: [13, 0, 5] }))).toBe('truncated_field');
    // Two words left: not even a whole field header.
    expect(reasonOf(rawInvoice('lnbc', baseFields(), { trailingWords: [13, 0] }))).toBe('truncated_field');
  });

  test('no p field – missing_payment_hash', () => {
    expect(reasonOf(rawInvoice('lnbc', [field.s(SECRET), field.d('x')]))).toBe('missing_payment_hash');
    // A p field of the wrong length is skipped, so it does not count.
    expect(reasonOf(rawInvoice('lnbc', [field.s(SECRET), field.d('x'), field.raw(1, new Array(53).fill(0))]))).toBe(
      'missing_payment_hash',
    );
  });

  test('no s field – missing_payment_secret', () => {
    expect(reasonOf(rawInvoice('lnbc', [field.p(HASH), field.d('x')]))).toBe('missing_payment_secret');
  });

  test('neither d nor h – missing_description; both – both_descriptions', () => {
    expect(reasonOf(rawInvoice('lnbc', [field.s(SECRET), field.p(HASH)]))).toBe('missing_description');
    expect(reasonOf(rawInvoice('lnbc', [...baseFields(), field.h(HASH)]))).toBe('both_descriptions');
  });

  test('description not UTF-8 – bad_description', () => {
    const bytes = Uint8Array.of(0x63, 0xff, 0xfe);
    expect(reasonOf(rawInvoice('lnbc', [field.s(SECRET), field.p(HASH), field.dBytes(bytes)]))).toBe('bad_description');
  });

  test('x or c beyond a safe integer – bad_expiry, bad_min_final_cltv_expiry', () => {
    expect(reasonOf(rawInvoice('lnbc', [...baseFields(), field.x(2n ** 60n)]))).toBe('bad_expiry');
    expect(reasonOf(rawInvoice('lnbc', [...baseFields(), field.c(2n ** 60n)]))).toBe('bad_min_final_cltv_expiry');
  });

  test('r field not a whole number of hops, or a bad node key – bad_route_hint', () => {
    const hop = `${SPEC_PUBLIC_KEY}0000010000020003000003e8000009c40028`;
    expect(reasonOf(rawInvoice('lnbc', [...baseFields(), field.r(hop.slice(0, -2))]))).toBe('bad_route_hint');
    expect(reasonOf(rawInvoice('lnbc', [...baseFields(), field.r(`04${hop.slice(2)}`)]))).toBe('bad_route_hint');
    expect(reasonOf(rawInvoice('lnbc', [...baseFields(), field.raw(3, [])]))).toBe('bad_route_hint');
  });

  test('known fallback version with an invalid program – bad_fallback', () => {
    expect(reasonOf(rawInvoice('lnbc', [...baseFields(), field.f(0, '00'.repeat(21))]))).toBe('bad_fallback');
    expect(reasonOf(rawInvoice('lnbc', [...baseFields(), field.f(17, '00'.repeat(32))]))).toBe('bad_fallback');
    expect(reasonOf(rawInvoice('lnbc', [...baseFields(), field.f(1, '00'.repeat(41))]))).toBe('bad_fallback');
  });

  test('n field not a curve point – bad_payee_key', () => {
    expect(reasonOf(rawInvoice('lnbc', [...baseFields(), field.n(`05${SPEC_PUBLIC_KEY.slice(2)}`)]))).toBe(
      'bad_payee_key',
    );
  });

  test('unknown even feature bit – unknown_required_feature naming the bits', () => {
    const error = refusal(() => decodeInvoice(rawInvoice('lnbc', [...baseFields(), field.features([1, 0, 0, 0, 0])])));
    expect(error.reason).toBe('unknown_required_feature');
    expect(error.context.bits).toEqual([20]);
  });

  test('recovery id above 3, r = 0 or s ≥ n – bad_signature', () => {
    const words = bech32.decode(ok as `${string}1${string}`, false).words;
    const withSignature = (mutate: (sig: Uint8Array) => void) => {
      const sig = wordsToBytes(words, words.length - 104);
      mutate(sig);
      return bech32.encode('lnbc', [...words.slice(0, -104), ...bytesToWords(sig)], false);
    };
    expect(reasonOf(withSignature((sig) => sig.fill(4, 64)))).toBe('bad_signature');
    expect(reasonOf(withSignature((sig) => sig.fill(0, 0, 32)))).toBe('bad_signature');
    expect(reasonOf(withSignature((sig) => sig.fill(0xff, 32, 64)))).toBe('bad_signature');
  });

  test('n field of another key – payee_mismatch', () => {
    const other = '02d0139ce7427d6dfffd26a326c18be754ef1e64672b42694ba5b23ef6e6e7803d';
    expect(reasonOf(rawInvoice('lnbc', [...baseFields(), field.n(other)]))).toBe('payee_mismatch');
  });

  test('n field with a high-S signature – high_s_signature', () => {
    expect(reasonOf(rawInvoice('lnbc', [...baseFields(), field.n(SPEC_PUBLIC_KEY)], { highS: true }))).toBe(
      'high_s_signature',
    );
  });
});

describe('decodeInvoice – properties', () => {
  const isValidationError = (error: unknown) => isPayableError(error) && error.code === 'VALIDATION_ERROR';
  const decodeOrRefuse = (text: string): DecodedInvoice | 'refused' => {
    try {
      return decodeInvoice(text);
    } catch (error) {
      if (!isValidationError(error)) throw error;
      return 'refused';
    }
  };

  test('random strings – only ever a ValidationError, never a crash', () => {
    const bech32ish = fc
      .array(fc.constantFrom(...`${BECH32_ALPHABET}1`.split('')), { maxLength: 400 })
      .map((chars) => chars.join(''));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.string({ unit: 'binary', maxLength: 300 }),
          bech32ish.map((s) => `lnbc${s}`),
          bech32ish.map((s) => `lnbc2500u1${s}`),
        ),
        (text) => {
          decodeOrRefuse(text);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('random data with a valid checksum – only ever a ValidationError, never a crash', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('lnbc', 'lntb', 'lntbs', 'lnbcrt', 'lnbc2500u', 'lnbc10p', 'lnbc0', 'lnx'),
        fc.array(fc.integer({ min: 0, max: 31 }), { maxLength: 600 }),
        (hrp, words) => {
          decodeOrRefuse(bech32.encode(hrp, words, false));
        },
      ),
      { numRuns: 500 },
    );
  });

  test('random tagged fields, correctly signed – decoded or refused, never a crash', () => {
    const lengths = fc.oneof(fc.constantFrom(0, 1, 2, 51, 52, 53, 54, 102), fc.integer({ min: 0, max: 120 }));
    const rawField = fc.record({
      type: fc.integer({ min: 0, max: 31 }),
      words: lengths.chain((n) => fc.array(fc.integer({ min: 0, max: 31 }), { minLength: n, maxLength: n })),
    });
    fc.assert(
      fc.property(fc.array(rawField, { maxLength: 8 }), fc.boolean(), fc.boolean(), (fields, withBase, highS) => {
        const all = withBase ? [...baseFields(), ...fields] : fields;
        const result = decodeOrRefuse(rawInvoice('lnbc', all, { highS }));
        if (withBase && result !== 'refused') {
          expect(result.paymentHash).toBe(HASH);
          expect(result.timestamp).toBe(TIMESTAMP);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('any single-character change to a valid invoice – refused, or decodes differently', () => {
    const originals = vectors.valid.map((v) => ({ text: v.invoice, decoded: serialize(decodeInvoice(v.invoice)) }));
    const replacement = fc.oneof(
      fc.constantFrom(...`${BECH32_ALPHABET}1`.split('')),
      fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZbio'.split('')),
      fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }),
    );
    fc.assert(
      fc.property(fc.nat(originals.length - 1), fc.nat(10_000), replacement, (index, position, char) => {
        const original = originals[index] as { text: string; decoded: string };
        const at = position % original.text.length;
        fc.pre(original.text[at] !== char);
        const mutated = original.text.slice(0, at) + char + original.text.slice(at + 1);
        const result = decodeOrRefuse(mutated);
        if (result !== 'refused') expect(serialize(result)).not.toBe(original.decoded);
      }),
      { numRuns: 1000 },
    );
  });
});
