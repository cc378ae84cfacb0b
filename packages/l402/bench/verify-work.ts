// The work of one L402 verification, ours and the `macaroon` library's (js-macaroon, a test oracle
// only), shared by the vitest micro-benchmark (verify.bench.ts) and `pnpm bench` (bench/l402.ts).
//
// Both sides do the same work per request, from the Authorization header value to a decision:
// split the header, base64-decode and deserialize the V2 binary, recompute the signature chain from
// the root key (with the "macaroons-key-generator" derivation), check every caveat, and check
// sha256(preimage) against the payment hash in the identifier. Ours checks the caveats with
// `verifyCaveats` (inside `verifyL402Token`); the library's `verify` calls a checker per caveat (a
// set lookup, cheaper than ours). The root key is in memory on both sides, as in the paywall's
// root-key cache: no database, no Lightning node.
//
// `@payable/l402` is imported by its own name: vitest resolves it to the sources (vitest.config.ts),
// Node (in `pnpm bench`) to the built dist/, which `pnpm bench` builds first.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import {
  amountCaveat,
  capabilitiesCaveat,
  mintL402Token,
  parseAuthorization,
  pathCaveat,
  servicesCaveat,
  validUntilCaveat,
  verifyL402Token,
} from '@payable/l402';

interface OracleMacaroon {
  readonly identifier: Uint8Array;
  verify(rootKey: Uint8Array, check: (condition: string) => string | null): void;
}

const load = createRequire(import.meta.url);
const oracle = load('macaroon') as { importMacaroon(input: string): OracleMacaroon };

/** The library measured against ours, with the installed version (`macaroon@3.0.4`). */
export const LIBRARY = `macaroon@${(load('macaroon/package.json') as { version: string }).version}`;

/** One token and its credential, and a verifier of it per side; each returns whether it passed. */
export interface VerifyWork {
  /** The `Authorization` value both sides verify: `L402 <base64 macaroon>:<hex preimage>`. */
  readonly header: string;
  /** The token's caveats (Aperture's services, capabilities and valid-until; Payable's path and amount). */
  readonly caveats: readonly string[];
  /** `@payable/l402`: `parseAuthorization` + `verifyL402Token`. */
  ours(): boolean;
  /** The library: `importMacaroon` + `verify` + sha256(preimage) against the identifier's payment hash. */
  theirs(): boolean;
}

/**
 * Mint one paid token (random preimage, five caveats, valid for an hour from now) and return both
 * verifiers of its credential.
 *
 * @example
 * ```ts
 * const work = createVerifyWork();
 * work.ours(); // true
 * work.theirs(); // true
 * ```
 */
export function createVerifyWork(): VerifyWork {
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
  const known = new Set<string>(caveats);

  return {
    header,
    caveats,
    ours(): boolean {
      const credential = parseAuthorization(header);
      if (credential === null) return false;
      return verifyL402Token(credential, { rootKey: minted.rootKey, context }).ok;
    },
    theirs(): boolean {
      const space = header.indexOf(' ');
      const colon = header.lastIndexOf(':');
      const m = oracle.importMacaroon(header.slice(space + 1, colon));
      m.verify(minted.rootKey, (condition) => (known.has(condition) ? null : 'unknown caveat'));
      const id = m.identifier;
      const digest = createHash('sha256')
        .update(Buffer.from(header.slice(colon + 1), 'hex'))
        .digest();
      return timingSafeEqual(digest, Buffer.from(id.subarray(2, 34)));
    },
  };
}
