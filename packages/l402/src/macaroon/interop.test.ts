// Interop both ways with js-macaroon (npm `macaroon@3.0.4`), used here as a test oracle only.
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Macaroon, mintL402Token, servicesCaveat, validUntilCaveat } from '../index.js';

interface OracleMacaroon {
  readonly identifier: Uint8Array;
  readonly location: string | null;
  readonly signature: Uint8Array;
  readonly caveats: { identifier: Uint8Array; location?: string; vid?: Uint8Array }[];
  addFirstPartyCaveat(condition: string | Uint8Array): void;
  addThirdPartyCaveat(rootKey: Uint8Array, caveatId: string | Uint8Array, location?: string): void;
  exportBinary(): Uint8Array;
  verify(rootKey: Uint8Array, check: (condition: string) => string | null, discharges?: OracleMacaroon[]): void;
}

interface OracleLibrary {
  newMacaroon(params: {
    identifier: string | Uint8Array;
    location?: string;
    rootKey: string | Uint8Array;
  }): OracleMacaroon;
  importMacaroon(input: string | Uint8Array): OracleMacaroon;
}

const oracle = createRequire(import.meta.url)('macaroon') as OracleLibrary;
// macaroon@3.0.4's exportBinary has a bug: its ByteBuffer compares against an undefined capacity,
// so it doubles its buffer on every append (200 * 2^appends bytes) and throws a RangeError past
// ~24 appends (about 3 caveats with a location). Tests export only small macaroons from it
// (at most 2 first-party caveats), and compare fields and signatures instead of its bytes elsewhere.
const ORACLE_MAX_EXPORT_CAVEATS = 2;
const utf8 = (s: string) => Buffer.from(s, 'utf8');
const accept = () => null;

function oracleVerifies(m: OracleMacaroon, rootKey: Uint8Array): boolean {
  try {
    m.verify(rootKey, accept);
    return true;
  } catch {
    return false;
  }
}

describe('interop – ours → js-macaroon', () => {
  it('an L402 token we mint imports (base64 and bytes) and verifies in js-macaroon, caveats intact', () => {
    const minted = mintL402Token({
      paymentHash: '66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925',
      caveats: [
        servicesCaveat([{ name: 'weather' }]),
        validUntilCaveat('weather', 1893456000),
        'payable_amount_sats=10',
      ],
    });
    for (const input of [minted.macaroon.toBase64(), minted.macaroon.serialize()]) {
      const theirs = oracle.importMacaroon(input);
      expect(theirs.location).toBe('lsat');
      expect(Buffer.from(theirs.identifier)).toEqual(Buffer.from(minted.macaroon.identifier));
      expect(theirs.caveats.map((c) => Buffer.from(c.identifier).toString())).toEqual([
        'services=weather:0',
        'weather_valid_until=1893456000',
        'payable_amount_sats=10',
      ]);
      const seen: string[] = [];
      theirs.verify(minted.rootKey, (condition) => {
        seen.push(condition);
        return null;
      });
      expect(seen).toHaveLength(3);
      expect(Buffer.from(theirs.signature)).toEqual(Buffer.from(minted.macaroon.signature));
      expect(oracleVerifies(theirs, utf8('another key'))).toBe(false);
    }
  });

  it('property: any macaroon of ours imports into js-macaroon with the same fields and verifies with its root key', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.uint8Array({ minLength: 1, maxLength: 100 }),
        fc.string({ maxLength: 30 }),
        fc.array(fc.string({ minLength: 1, maxLength: 80 }), { maxLength: 8 }),
        (rootKey, identifier, location, caveats) => {
          let ours = Macaroon.create({ rootKey, identifier, location });
          for (const c of caveats) ours = ours.addFirstPartyCaveat(c);
          const theirs = oracle.importMacaroon(ours.serialize());
          expect(oracleVerifies(theirs, rootKey)).toBe(true);
          expect(theirs.location ?? '').toBe(location); // js-macaroon reads a missing location as null
          expect(Buffer.from(theirs.identifier)).toEqual(Buffer.from(identifier));
          expect(theirs.caveats.map((c) => Buffer.from(c.identifier).toString())).toEqual(caveats);
          expect(Buffer.from(theirs.signature)).toEqual(Buffer.from(ours.signature));
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('interop – js-macaroon → ours', () => {
  it('a js-macaroon token with caveats deserializes (exportBinary) and verifies in ours', () => {
    const rootKey = utf8('a root key of theirs');
    const theirs = oracle.newMacaroon({ rootKey, identifier: utf8('their id'), location: 'lsat' });
    theirs.addFirstPartyCaveat('services=weather:0');
    theirs.addFirstPartyCaveat('weather_capabilities=read');
    const ours = Macaroon.deserialize(theirs.exportBinary());
    expect(ours.verifySignature(rootKey)).toBe(true);
    expect(ours.verifySignature(utf8('a root key of ours'))).toBe(false);
    expect(ours.caveats.map((c) => Buffer.from(c.identifier).toString())).toEqual([
      'services=weather:0',
      'weather_capabilities=read',
    ]);
    expect(Buffer.from(ours.signature)).toEqual(Buffer.from(theirs.signature));
    expect(Buffer.from(ours.serialize())).toEqual(Buffer.from(theirs.exportBinary()));
  });

  it('a holder attenuates our token with js-macaroon (no root key): it still verifies in ours', () => {
    const minted = mintL402Token({ paymentHash: Buffer.alloc(32, 1), caveats: ['services=weather:0'] });
    const theirs = oracle.importMacaroon(minted.macaroon.serialize());
    theirs.addFirstPartyCaveat('weather_valid_until=1700000000');
    const back = Macaroon.deserialize(theirs.exportBinary());
    expect(back.caveats).toHaveLength(2);
    expect(back.verifySignature(minted.rootKey)).toBe(true);
  });

  it('property: any js-macaroon macaroon with first-party caveats verifies in ours and round-trips', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.uint8Array({ minLength: 1, maxLength: 100 }),
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 80 }), { maxLength: ORACLE_MAX_EXPORT_CAVEATS }),
        (rootKey, identifier, caveats) => {
          const theirs = oracle.newMacaroon({ rootKey, identifier, location: 'lsat' });
          for (const c of caveats) theirs.addFirstPartyCaveat(c);
          const bytes = theirs.exportBinary();
          const ours = Macaroon.deserialize(bytes);
          expect(ours.verifySignature(rootKey)).toBe(true);
          expect(Buffer.from(ours.serialize())).toEqual(Buffer.from(bytes));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a third-party caveat written by js-macaroon is parsed and re-serialized faithfully, and refused at verification', () => {
    const rootKey = utf8('root');
    // No macaroon location and one caveat only: small enough for the oracle's exportBinary.
    const theirs = oracle.newMacaroon({ rootKey, identifier: utf8('id') });
    theirs.addThirdPartyCaveat(utf8('caveat key'), 'third party id', 'https://auth.example/');
    const bytes = theirs.exportBinary();
    const ours = Macaroon.deserialize(bytes);
    const third = ours.caveats[0];
    expect(third?.thirdParty).toBe(true);
    expect(third?.location).toBe('https://auth.example/');
    expect(Buffer.from(third?.identifier ?? []).toString()).toBe('third party id');
    expect(Buffer.from(third?.verificationId ?? [])).toEqual(Buffer.from(theirs.caveats[0]?.vid ?? []));
    expect(Buffer.from(ours.signature)).toEqual(Buffer.from(theirs.signature));
    expect(Buffer.from(ours.serialize())).toEqual(Buffer.from(bytes));
    expect(Buffer.from(oracle.importMacaroon(ours.serialize()).exportBinary())).toEqual(Buffer.from(bytes));
    expect(ours.verifySignature(rootKey)).toBe(false);
  });
});
