import { secp256k1 } from '@noble/curves/secp256k1';
import { isPayableError } from '@payable/core';
import {
  type DecodedInvoice,
  decodeInvoice,
  type EncodeInvoiceInput,
  encodeInvoice,
  type FallbackInput,
  type InvoiceErrorReason,
  type InvoiceNetwork,
  type RouteHint,
} from '../index.js';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { HASH, SECRET, SPEC_PRIVATE_KEY, SPEC_PUBLIC_KEY, vectors } from './fixtures/vectors.js';
import { toHex } from './words.js';

const BASE: EncodeInvoiceInput = {
  network: 'bitcoin',
  timestamp: 1496314658,
  paymentHash: HASH,
  paymentSecret: SECRET,
  description: 'coffee',
};

function refusal(fn: () => unknown): { reason: InvoiceErrorReason; field: unknown; context: Record<string, unknown> } {
  try {
    fn();
  } catch (error) {
    if (!isPayableError(error)) throw error;
    expect(error.code).toBe('VALIDATION_ERROR');
    return {
      reason: error.context.reason as InvoiceErrorReason,
      field: error.context.field,
      context: error.context as Record<string, unknown>,
    };
  }
  throw new Error('expected encodeInvoice to refuse the input');
}

/** The encode input that describes a decoded invoice (x and c only when not the defaults). */
function inputOf(decoded: DecodedInvoice): EncodeInvoiceInput {
  return {
    network: decoded.network,
    amountMsat: decoded.amountMsat,
    timestamp: decoded.timestamp,
    paymentHash: decoded.paymentHash,
    paymentSecret: decoded.paymentSecret,
    ...(decoded.description !== undefined ? { description: decoded.description } : {}),
    ...(decoded.descriptionHash !== undefined ? { descriptionHash: decoded.descriptionHash } : {}),
    ...(decoded.expiry !== 3600 ? { expiry: decoded.expiry } : {}),
    ...(decoded.minFinalCltvExpiry !== 18 ? { minFinalCltvExpiry: decoded.minFinalCltvExpiry } : {}),
    routeHints: decoded.routeHints,
    features: decoded.features.bits,
    fallbacks: decoded.fallbacks.map(({ version, hex }) => ({ version, hex })),
    ...(decoded.metadata !== undefined ? { metadata: decoded.metadata } : {}),
  };
}

/** What a decoded invoice says, without how it was written (signature, skipped fields). */
function meaning(decoded: DecodedInvoice): Omit<DecodedInvoice, 'signature' | 'ignoredFields'> {
  const { signature: _signature, ignoredFields: _ignored, ...rest } = decoded;
  return rest;
}

describe('encodeInvoice – specification vectors', () => {
  // These vectors write their fields in encodeInvoice's order (s p d|h x c f r 9): with the spec's key
  // and RFC 6979 signatures, the encoder must reproduce them character for character.
  const reproducible = new Set(['valid-00', 'valid-01', 'valid-02', 'valid-03', 'valid-05', 'valid-09']);

  test.each(vectors.valid.filter((v) => reproducible.has(v.id)).map((v) => [v.id, v.invoice] as const))(
    '%s – reproduced exactly',
    (_id, invoice) => {
      expect(encodeInvoice(inputOf(decodeInvoice(invoice)), SPEC_PRIVATE_KEY)).toBe(invoice);
    },
  );

  test.each(vectors.valid.map((v) => [v.id, v.invoice] as const))(
    '%s – re-encoded, decodes to the same invoice',
    (id, invoice) => {
      const original = decodeInvoice(invoice);
      const reencoded = decodeInvoice(encodeInvoice(inputOf(original), vectors.signing_private_key));
      // valid-15's payee is whatever its high-S signature recovers to (see the decode test); a
      // re-signed copy names the real signer.
      expect(meaning(reencoded)).toEqual({
        ...meaning(original),
        ...(id === 'valid-15' ? { payee: SPEC_PUBLIC_KEY } : {}),
      });
      expect(BigInt(`0x${reencoded.signature.s}`) <= secp256k1.Point.Fn.ORDER / 2n).toBe(true);
    },
  );
});

describe('encodeInvoice – writing', () => {
  test.each([
    [100_000_000_000n, 'lnbc1'],
    [2_100_000_000_000_000_000n, 'lnbc21000000'],
    [2_500_000_000n, 'lnbc25m'],
    [250_000_000n, 'lnbc2500u'],
    [1_000n, 'lnbc10n'],
    [100n, 'lnbc1n'],
    [1n, 'lnbc10p'],
    [967_878_534n, 'lnbc9678785340p'],
  ])('%s msat – shortest amount text %s', (amountMsat, hrp) => {
    const invoice = encodeInvoice({ ...BASE, amountMsat }, SPEC_PRIVATE_KEY);
    expect(invoice.slice(0, invoice.lastIndexOf('1'))).toBe(hrp);
    expect(decodeInvoice(invoice).amountMsat).toBe(amountMsat);
  });

  test('amount as a safe integer number – same invoice as the bigint', () => {
    expect(encodeInvoice({ ...BASE, amountMsat: 250_000_000 }, SPEC_PRIVATE_KEY)).toBe(
      encodeInvoice({ ...BASE, amountMsat: 250_000_000n }, SPEC_PRIVATE_KEY),
    );
  });

  test.each([
    ['bitcoin', 'lnbc'],
    ['testnet', 'lntb'],
    ['signet', 'lntbs'],
    ['regtest', 'lnbcrt'],
  ] as const)('network %s – prefix %s', (network, prefix) => {
    const decoded = decodeInvoice(encodeInvoice({ ...BASE, network, amountMsat: 1_000n }, SPEC_PRIVATE_KEY));
    expect(decoded).toMatchObject({ network, prefix, amountMsat: 1_000n });
  });

  test('defaults – features 8, 14, 17; no x or c field, read back as 3600 and 18', () => {
    const decoded = decodeInvoice(encodeInvoice(BASE, SPEC_PRIVATE_KEY));
    expect(decoded.features).toMatchObject({
      bits: [8, 14, 17],
      varOnionOptin: 'required',
      paymentSecret: 'required',
      basicMpp: 'optional',
    });
    expect(decoded).toMatchObject({ expiry: 3600, minFinalCltvExpiry: 18, amountMsat: null, payeeSource: 'recovered' });
  });

  test('metadata without explicit features – payment_metadata feature (49) set', () => {
    const decoded = decodeInvoice(encodeInvoice({ ...BASE, metadata: '01fafaf0' }, SPEC_PRIVATE_KEY));
    expect(decoded.metadata).toBe('01fafaf0');
    expect(decoded.features.bits).toEqual([8, 14, 17, 49]);
    expect(decoded.features.paymentMetadata).toBe('optional');
  });

  test('payeeNodeKey – n field written, payee verified against it', () => {
    const withKey = decodeInvoice(encodeInvoice({ ...BASE, payeeNodeKey: true }, SPEC_PRIVATE_KEY));
    expect(withKey).toMatchObject({ payee: SPEC_PUBLIC_KEY, payeeSource: 'n_field' });
    const named = decodeInvoice(encodeInvoice({ ...BASE, payeeNodeKey: SPEC_PUBLIC_KEY }, SPEC_PRIVATE_KEY));
    expect(named).toMatchObject({ payee: SPEC_PUBLIC_KEY, payeeSource: 'n_field' });
  });

  test('private key as hex or bytes – same invoice', () => {
    expect(encodeInvoice(BASE, vectors.signing_private_key)).toBe(encodeInvoice(BASE, SPEC_PRIVATE_KEY));
  });

  test.each([
    ['testnet', 'mk2QpYatsKicvFVuTAQLBryyccRXMUaGHP', 17, '3172b5654f6683c8fb146959d347ce303cae4ca7'],
    ['bitcoin', '1RustyRX2oai4EYYDpQGWvEL62BBGqN9T', 17, '04b61f7dc1ea0dc99424464cc4064dc564d91e89'],
    ['bitcoin', '3EktnHQD7RiAE6uzMj2ZifT9YgRrkSgzQX', 18, '8f55563b9a19f321c211e9b9f38cdf686ea07845'],
    ['bitcoin', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', 0, '751e76e8199196d454941c45d1b3a323f1433bd6'],
    [
      'bitcoin',
      'bc1pptdvg0d2nj99568qn6ssdy4cygnwuxgw2ukmnwgwz7jpqjz2kszse2s3lm',
      1,
      '0adac43daa9c8a5a68e09ea10692b82226ee190e572db9b90e17a410484ab405',
    ],
    ['regtest', 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080', 0, '751e76e8199196d454941c45d1b3a323f1433bd6'],
  ] as const)('fallback address on %s %s – written as version %i', (network, address, version, hex) => {
    const decoded = decodeInvoice(encodeInvoice({ ...BASE, network, fallbacks: [{ address }] }, SPEC_PRIVATE_KEY));
    expect(decoded.fallbacks).toEqual([{ version, hex, address }]);
  });
});

describe('encodeInvoice – refusals', () => {
  const hop = {
    pubkey: SPEC_PUBLIC_KEY,
    shortChannelId: '1x2x3',
    feeBaseMsat: 1,
    feeProportionalMillionths: 2,
    cltvExpiryDelta: 40,
  };
  const cases: Array<[string, Partial<Record<keyof EncodeInvoiceInput, unknown>>, string, InvoiceErrorReason]> = [
    ['unknown network', { network: 'litecoin' }, 'network', 'bad_network'],
    ['zero amount', { amountMsat: 0n }, 'amountMsat', 'bad_amount'],
    ['negative amount', { amountMsat: -5n }, 'amountMsat', 'bad_amount'],
    ['fractional amount', { amountMsat: 1.5 }, 'amountMsat', 'bad_amount'],
    ['amount over 21M BTC', { amountMsat: 2_100_000_000_000_000_001n }, 'amountMsat', 'bad_amount'],
    ['timestamp over 35 bits', { timestamp: 2 ** 35 }, 'timestamp', 'bad_timestamp'],
    ['negative timestamp', { timestamp: -1 }, 'timestamp', 'bad_timestamp'],
    ['short payment hash', { paymentHash: 'abcd' }, 'paymentHash', 'bad_payment_hash'],
    ['non-hex payment secret', { paymentSecret: 'z'.repeat(64) }, 'paymentSecret', 'bad_payment_secret'],
    ['no description', { description: undefined }, 'description', 'missing_description'],
    ['both descriptions', { descriptionHash: HASH }, 'description', 'both_descriptions'],
    [
      'bad description hash',
      { description: undefined, descriptionHash: '00' },
      'descriptionHash',
      'bad_description_hash',
    ],
    ['lone surrogate', { description: 'a\ud800b' }, 'description', 'bad_description'],
    ['640-byte description', { description: 'é'.repeat(320) }, 'description', 'description_too_long'],
    ['negative expiry', { expiry: -1 }, 'expiry', 'bad_expiry'],
    ['fractional cltv', { minFinalCltvExpiry: 1.5 }, 'minFinalCltvExpiry', 'bad_min_final_cltv_expiry'],
    ['empty route hint', { routeHints: [[]] }, 'routeHints', 'bad_route_hint'],
    ['13-hop route hint', { routeHints: [new Array(13).fill(hop)] }, 'routeHints', 'bad_route_hint'],
    [
      'bad hop key',
      { routeHints: [[{ ...hop, pubkey: `04${SPEC_PUBLIC_KEY.slice(2)}` }]] },
      'routeHints',
      'bad_route_hint',
    ],
    ['bad channel id', { routeHints: [[{ ...hop, shortChannelId: '16777216x0x0' }]] }, 'routeHints', 'bad_route_hint'],
    ['fee over 32 bits', { routeHints: [[{ ...hop, feeBaseMsat: 2 ** 32 }]] }, 'routeHints', 'bad_route_hint'],
    ['unknown even feature', { features: [8, 14, 100] }, 'features', 'unknown_required_feature'],
    ['negative feature bit', { features: [-1] }, 'features', 'bad_feature_bits'],
    ['fallback version 19', { fallbacks: [{ version: 19, hex: '00'.repeat(20) }] }, 'fallbacks', 'bad_fallback'],
    ['v0 program of 21 bytes', { fallbacks: [{ version: 0, hex: '00'.repeat(21) }] }, 'fallbacks', 'bad_fallback'],
    [
      'testnet address on mainnet',
      { fallbacks: [{ address: 'mk2QpYatsKicvFVuTAQLBryyccRXMUaGHP' }] },
      'fallbacks',
      'bad_fallback',
    ],
    ['not an address', { fallbacks: [{ address: 'bc1qnotanaddress' }] }, 'fallbacks', 'bad_fallback'],
    ['metadata not hex', { metadata: 'xyz' }, 'metadata', 'bad_metadata'],
    ['metadata of 640 bytes', { metadata: '00'.repeat(640) }, 'metadata', 'bad_metadata'],
    ['payee key of another node', { payeeNodeKey: `02${'d0'.repeat(32)}` }, 'payeeNodeKey', 'payee_mismatch'],
    ['over 8192 characters', { routeHints: new Array(12).fill(new Array(12).fill(hop)) }, 'input', 'too_long'],
  ];

  test.each(cases)('%s – %s', (_name, change, field, reason) => {
    const input = { ...BASE, ...change } as EncodeInvoiceInput;
    const error = refusal(() => encodeInvoice(input, SPEC_PRIVATE_KEY));
    expect(error).toMatchObject({ reason, field });
  });

  test('unknown even feature – names the bits', () => {
    expect(refusal(() => encodeInvoice({ ...BASE, features: [100, 8, 202] }, SPEC_PRIVATE_KEY)).context.bits).toEqual([
      100, 202,
    ]);
  });

  test.each([
    ['too short', new Uint8Array(31)],
    ['zero', new Uint8Array(32)],
    ['the curve order', `${secp256k1.Point.Fn.ORDER.toString(16)}`],
    ['not hex', 'k'.repeat(64)],
  ])('private key %s – bad_private_key, never echoed', (_name, key) => {
    const error = refusal(() => encodeInvoice(BASE, key));
    expect(error).toMatchObject({ reason: 'bad_private_key', field: 'privateKey' });
    expect(JSON.stringify(error.context)).not.toContain(typeof key === 'string' ? key : 'x');
  });
});

describe('encodeInvoice – decode(encode(x)) = x', () => {
  const N = secp256k1.Point.Fn.ORDER;
  const privateKey = fc
    .bigInt({ min: 1n, max: N - 1n })
    .map((k) => Uint8Array.from(Buffer.from(k.toString(16).padStart(64, '0'), 'hex')));
  const hex = (min: number, max = min) => fc.uint8Array({ minLength: min, maxLength: max }).map(toHex);
  const nodeKeys = [1n, 2n, 3n, 0xdeadbeefn].map((k) =>
    toHex(secp256k1.getPublicKey(Uint8Array.from(Buffer.from(k.toString(16).padStart(64, '0'), 'hex')), true)),
  );
  const MAX_MSAT = 2_100_000_000_000_000_000n;
  const amount = fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.bigInt({ min: 1n, max: 21_000_000n }).map((btc) => btc * 100_000_000_000n), // no multiplier
    fc.bigInt({ min: 1n, max: 21_000_000_000n }).map((mbtc) => mbtc * 100_000_000n), // m
    fc.bigInt({ min: 1n, max: 21_000_000_000_000n }).map((ubtc) => ubtc * 100_000n), // u
    fc.bigInt({ min: 1n, max: MAX_MSAT / 100n }).map((nbtc) => nbtc * 100n), // n
    fc.bigInt({ min: 1n, max: MAX_MSAT }), // p
    fc.bigInt({ min: 1n, max: 1_000n }),
  );
  const description = fc
    .oneof(
      fc.string({ unit: 'grapheme', maxLength: 80 }),
      fc.string({ unit: 'binary', maxLength: 120 }),
      fc.constant('ナンセンス 1杯'),
    )
    .filter((text) => Buffer.byteLength(text) <= 639);
  const hop = fc.record({
    pubkey: fc.constantFrom(...nodeKeys),
    shortChannelId: fc
      .tuple(fc.nat(0xffffff), fc.nat(0xffffff), fc.nat(0xffff))
      .map(([block, tx, output]) => `${block}x${tx}x${output}`),
    feeBaseMsat: fc.nat(0xffffffff),
    feeProportionalMillionths: fc.nat(0xffffffff),
    cltvExpiryDelta: fc.nat(0xffff),
  });
  const fallback: fc.Arbitrary<{ version: number; hex: string }> = fc.oneof(
    fc.record({ version: fc.constantFrom(17, 18), hex: hex(20) }),
    fc.record({ version: fc.constant(0), hex: fc.oneof(hex(20), hex(32)) }),
    fc.record({ version: fc.integer({ min: 1, max: 16 }), hex: hex(2, 40) }),
  );
  const features = fc.uniqueArray(
    fc.oneof(
      fc.constantFrom(8, 9, 14, 15, 16, 17, 24, 25, 48, 49),
      fc.nat(400).map((n) => n * 2 + 1),
    ),
    { maxLength: 8 },
  );
  const input = fc.record(
    {
      network: fc.constantFrom<InvoiceNetwork>('bitcoin', 'testnet', 'signet', 'regtest'),
      amountMsat: amount,
      timestamp: fc.nat(2 ** 35 - 1),
      paymentHash: hex(32),
      paymentSecret: hex(32),
      text: fc.oneof(
        description.map((d) => ({ description: d })),
        hex(32).map((h) => ({ descriptionHash: h })),
      ),
      expiry: fc.nat(),
      minFinalCltvExpiry: fc.nat(0xffffff),
      routeHints: fc.array(fc.array(hop, { minLength: 1, maxLength: 3 }), { maxLength: 3 }),
      features,
      fallbacks: fc.array(fallback, { maxLength: 2 }),
      payeeNodeKey: fc.boolean(),
      metadata: hex(0, 64),
    },
    { requiredKeys: ['network', 'timestamp', 'paymentHash', 'paymentSecret', 'text'] },
  );

  test('every written invoice decodes to exactly what was written', () => {
    fc.assert(
      fc.property(input, privateKey, ({ text, ...rest }, key) => {
        const written: EncodeInvoiceInput = { ...rest, ...text };
        const decoded = decodeInvoice(encodeInvoice(written, key));
        const defaultFeatures = written.metadata !== undefined ? [8, 14, 17, 49] : [8, 14, 17];
        expect(meaning(decoded)).toEqual({
          prefix: { bitcoin: 'lnbc', testnet: 'lntb', signet: 'lntbs', regtest: 'lnbcrt' }[written.network],
          network: written.network,
          amountMsat: written.amountMsat ?? null,
          timestamp: written.timestamp,
          expiry: written.expiry ?? 3600,
          paymentHash: written.paymentHash,
          paymentSecret: written.paymentSecret,
          ...text,
          minFinalCltvExpiry: written.minFinalCltvExpiry ?? 18,
          payee: toHex(secp256k1.getPublicKey(key, true)),
          payeeSource: written.payeeNodeKey ? 'n_field' : 'recovered',
          routeHints: written.routeHints ?? [],
          features: expect.objectContaining({
            bits: [...(written.features ?? defaultFeatures)].sort((a, b) => a - b),
          }),
          fallbacks: (written.fallbacks ?? []).map((f: FallbackInput) => expect.objectContaining(f)),
          ...(written.metadata !== undefined ? { metadata: written.metadata } : {}),
        });
        expect(decoded.ignoredFields).toEqual([]);
        // A fallback's derived address reads back to the same program.
        for (const f of decoded.fallbacks) {
          const again = decodeInvoice(
            encodeInvoice({ ...BASE, network: written.network, fallbacks: [{ address: f.address }] }, key),
          );
          expect(again.fallbacks).toEqual([f]);
        }
      }),
      { numRuns: 150 },
    );
  });

  test('route hints of every shape – preserved hop for hop', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(hop, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 4 }),
        (routeHints: RouteHint[]) => {
          const decoded = decodeInvoice(encodeInvoice({ ...BASE, routeHints }, SPEC_PRIVATE_KEY));
          expect(decoded.routeHints).toEqual(routeHints);
        },
      ),
      { numRuns: 50 },
    );
  });
});
