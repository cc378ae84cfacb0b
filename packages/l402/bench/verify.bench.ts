// Full L402 verification per second: ours against the `macaroon` library (js-macaroon, a test
// oracle only). Run: npx vitest bench --run packages/l402/bench/verify.bench.ts
//
// Both sides do the same work per request, from the Authorization header value to a decision:
// split the header, base64-decode and deserialize the V2 binary, recompute the signature chain from
// the root key (with the "macaroons-key-generator" derivation), check every caveat, and check
// sha256(preimage) against the payment hash in the identifier. Ours checks the caveats with
// `verifyCaveats`; the library's `verify` calls a checker per caveat (a set lookup, cheaper than ours).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import { bench, describe, expect } from 'vitest';
import {
  amountCaveat,
  capabilitiesCaveat,
  mintL402Token,
  parseAuthorization,
  pathCaveat,
  servicesCaveat,
  validUntilCaveat,
  verifyL402Token,
} from '../src/index.js';

interface OracleMacaroon {
  readonly identifier: Uint8Array;
  verify(rootKey: Uint8Array, check: (condition: string) => string | null): void;
}
const oracle = createRequire(import.meta.url)('macaroon') as { importMacaroon(input: string): OracleMacaroon };

const preimage = randomBytes(32);
const paymentHash = createHash('sha256').update(preimage).digest();
const now = new Date();
const caveats = [
  servicesCaveat([{ name: 'weather' }]),
  capabilitiesCaveat('weather', ['read']),
  validUntilCaveat('weather', new Date(now.getTime() + 3_600_000)),
  pathCaveat('/api/weather/*'),
  amountCaveat(10),
];
const minted = mintL402Token({ paymentHash, caveats });
const header = `L402 ${minted.macaroon.toBase64()}:${preimage.toString('hex')}`;
const context = { now, service: 'weather', capability: 'read', path: '/api/weather/today', amountSats: 10 };
const known = new Set(caveats);

function ours(): boolean {
  const credential = parseAuthorization(header);
  if (credential === null) return false;
  return verifyL402Token(credential, { rootKey: minted.rootKey, context }).ok;
}

function theirs(): boolean {
  const space = header.indexOf(' ');
  const colon = header.lastIndexOf(':');
  const m = oracle.importMacaroon(header.slice(space + 1, colon));
  m.verify(minted.rootKey, (condition) => (known.has(condition) ? null : 'unknown caveat'));
  const id = m.identifier;
  const digest = createHash('sha256').update(Buffer.from(header.slice(colon + 1), 'hex')).digest();
  return timingSafeEqual(digest, Buffer.from(id.subarray(2, 34)));
}

expect(ours()).toBe(true);
expect(theirs()).toBe(true);

describe('L402 full verification (header → decision)', () => {
  const options = { time: 3000, warmupTime: 500 };
  bench(
    '@payable/l402 parseAuthorization + verifyL402Token',
    () => {
      if (!ours()) throw new Error('verification failed');
    },
    options,
  );
  bench(
    'macaroon@3.0.4 importMacaroon + verify + preimage',
    () => {
      if (!theirs()) throw new Error('verification failed');
    },
    options,
  );
});
