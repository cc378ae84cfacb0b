// Cross-check against the npm `bolt11@1.4.1` decoder (a dev dependency, used only here). Where both
// accept an invoice they must agree on the payment hash, the amount and the payee. Where bolt11 is
// wrong about the specification's vectors, the tests below name the vectors, so a bolt11 upgrade that
// fixes (or breaks) something shows up here:
//   - valid-13 ("fields which must be ignored"): bolt11 REFUSES it. It reads the `n` fields of the
//     wrong length (52 and 54 words) as the payee key instead of skipping them, then reports
//     "signature pubkey does not match payee pubkey".
//   - invalid-00 (unknown even feature bit 100): bolt11 ACCEPTS it; it does not apply "it's OK to be
//     odd" to the `9` field.
//   - invalid-08 (no `s` field): bolt11 ACCEPTS it; it does not require the payment secret.
import { secp256k1 } from '@noble/curves/secp256k1';
import { decodeInvoice, encodeInvoice, type InvoiceNetwork } from '../index.js';
import { decode as bolt11Decode } from 'bolt11';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { vectors } from './fixtures/vectors.js';
import { toHex } from './words.js';

function tryBolt11(invoice: string): ReturnType<typeof bolt11Decode> | undefined {
  try {
    return bolt11Decode(invoice);
  } catch {
    return undefined;
  }
}

function ours(invoice: string): ReturnType<typeof decodeInvoice> | undefined {
  try {
    return decodeInvoice(invoice);
  } catch {
    return undefined;
  }
}

describe('npm bolt11@1.4.1 – cross-check on the specification vectors', () => {
  test.each(vectors.valid.map((v) => [v.id, v.invoice] as const))('%s – same hash, amount and payee', (id, invoice) => {
    const theirs = tryBolt11(invoice);
    if (id === 'valid-13') {
      expect(theirs).toBeUndefined(); // bolt11's bug, see the top of this file
      return;
    }
    expect(theirs).toBeDefined();
    const mine = decodeInvoice(invoice);
    expect(theirs?.tagsObject.payment_hash).toBe(mine.paymentHash);
    expect(theirs?.millisatoshis ?? null).toBe(mine.amountMsat === null ? null : mine.amountMsat.toString());
    expect(theirs?.payeeNodeKey).toBe(mine.payee);
    expect(theirs?.timestamp).toBe(mine.timestamp);
  });

  test('valid vectors bolt11 refuses – exactly valid-13', () => {
    const refused = vectors.valid.filter((v) => tryBolt11(v.invoice) === undefined).map((v) => v.id);
    expect(refused).toEqual(['valid-13']);
    expect(vectors.valid.find((v) => v.id === 'valid-13')?.observed_npm_behaviour['bolt11@1.4.1']).toMatch(/^reject/);
  });

  test('invalid vectors bolt11 accepts – exactly invalid-00 and invalid-08, which decodeInvoice refuses', () => {
    const accepted = vectors.invalid.filter((v) => tryBolt11(v.invoice) !== undefined).map((v) => v.id);
    expect(accepted).toEqual(['invalid-00', 'invalid-08']);
    for (const id of accepted) {
      const vector = vectors.invalid.find((v) => v.id === id);
      expect(vector?.observed_npm_behaviour['bolt11@1.4.1']).toBe('accept');
      expect(ours(vector?.invoice ?? '')).toBeUndefined();
    }
  });
});

describe('npm bolt11@1.4.1 – cross-check on invoices encodeInvoice writes', () => {
  test('bolt11 reads the same hash, amount, payee, description and expiry', () => {
    const N = secp256k1.Point.Fn.ORDER;
    fc.assert(
      fc.property(
        // bolt11 knows no signet prefix (lntbs), so the cross-check covers the other three networks.
        fc.constantFrom<InvoiceNetwork>('bitcoin', 'testnet', 'regtest'),
        fc.option(fc.bigInt({ min: 1n, max: 2_100_000_000_000_000_000n }), { nil: undefined }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.string({ unit: 'grapheme', maxLength: 60 }),
        fc.nat(1_000_000),
        fc.bigInt({ min: 1n, max: N - 1n }),
        fc.boolean(),
        (network, amountMsat, hash, description, expiry, secret, payeeNodeKey) => {
          const key = Uint8Array.from(Buffer.from(secret.toString(16).padStart(64, '0'), 'hex'));
          const invoice = encodeInvoice(
            {
              network,
              amountMsat,
              timestamp: 1_700_000_000,
              paymentHash: toHex(hash),
              paymentSecret: toHex(hash.slice().reverse()),
              description,
              expiry,
              payeeNodeKey,
            },
            key,
          );
          const theirs = bolt11Decode(invoice);
          expect(theirs.tagsObject.payment_hash).toBe(toHex(hash));
          expect(theirs.tagsObject.payment_secret).toBe(toHex(hash.slice().reverse()));
          expect(theirs.millisatoshis ?? null).toBe(amountMsat === undefined ? null : amountMsat.toString());
          expect(theirs.payeeNodeKey).toBe(toHex(secp256k1.getPublicKey(key, true)));
          expect(theirs.tagsObject.description).toBe(description);
          expect(theirs.tagsObject.expire_time).toBe(expiry);
        },
      ),
      { numRuns: 100 },
    );
  });
});
