import { createHash, randomBytes } from 'node:crypto';
import {
  isPayableError,
  L402AmountMismatchError,
  L402InvalidPreimageFormatError,
  L402InvalidTokenError,
  L402MerchantMismatchError,
  L402PathNotAllowedError,
  L402PreimageMismatchError,
  L402TokenExpiredError,
} from '@payable/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  amountCaveat,
  type CaveatContext,
  capabilitiesCaveat,
  decodeIdentifier,
  type L402ErrorCode,
  l402FailureToError,
  Macaroon,
  merchantCaveat,
  mintL402Token,
  parseAuthorization,
  pathCaveat,
  rootKeyId,
  servicesCaveat,
  validUntilCaveat,
  verifyCaveats,
  verifyL402Token,
} from '../index.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const NOW_S = NOW.getTime() / 1000;
const preimage = randomBytes(32);
const paymentHash = createHash('sha256').update(preimage).digest();
const context: CaveatContext = {
  now: NOW,
  service: 'weather',
  path: '/api/weather/today',
  amountSats: 10,
  merchantId: 'acme',
};
const caveats = [
  servicesCaveat([{ name: 'weather' }]),
  capabilitiesCaveat('weather', ['read']),
  validUntilCaveat('weather', NOW_S + 3600),
  pathCaveat('/api/weather/*'),
  amountCaveat(10),
  merchantCaveat('acme'),
];
const minted = mintL402Token({ paymentHash, caveats });
const header = `L402 ${minted.macaroon.toBase64()}:${preimage.toString('hex')}`;

function verifyHeader(h: string, ctx: CaveatContext = context) {
  const credential = parseAuthorization(h);
  if (credential === null) return null;
  return verifyL402Token(credential, { rootKey: minted.rootKey, context: ctx });
}

describe('mintL402Token', () => {
  it('mints an Aperture-shaped token: location lsat, version-0 identifier with the payment hash, a fresh 32-byte root key', () => {
    expect(minted.macaroon.location).toBe('lsat');
    expect(minted.rootKey).toHaveLength(32);
    const id = decodeIdentifier(minted.macaroon.identifier);
    expect(id.paymentHash).toEqual(paymentHash);
    expect(minted.identifier).toEqual(id);
    expect(minted.rootKeyId).toBe(rootKeyId(minted.macaroon.identifier));
    expect(minted.macaroon.caveats.map((c) => Buffer.from(c.identifier).toString())).toEqual(caveats);
    const other = mintL402Token({ paymentHash });
    expect(other.rootKey).not.toEqual(minted.rootKey);
    expect(other.identifier.tokenId).not.toEqual(minted.identifier.tokenId);
  });

  it('refuses a root key shorter than 16 bytes and a malformed payment hash', () => {
    expect(() => mintL402Token({ paymentHash, rootKey: randomBytes(8) })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_ERROR' }),
    );
    expect(() => mintL402Token({ paymentHash: 'abc' })).toThrow(expect.objectContaining({ code: 'VALIDATION_ERROR' }));
  });
});

describe('verifyL402Token', () => {
  it('a paid, unexpired token on its path, price and merchant passes', () => {
    const result = verifyHeader(header);
    expect(result).toMatchObject({ ok: true });
    if (result?.ok) {
      expect(result.identifier.paymentHash).toEqual(paymentHash);
      expect(result.expiresAt?.getTime()).toBe((NOW_S + 3600) * 1000);
    }
  });

  it('an unknown root key (or a rotated one) → L402_INVALID_TOKEN', () => {
    const credential = parseAuthorization(header);
    if (credential === null) throw new Error('parse failed');
    expect(verifyL402Token(credential, { rootKey: randomBytes(32), context })).toMatchObject({
      ok: false,
      code: 'L402_INVALID_TOKEN',
      httpStatus: 401,
      reason: 'signature',
      message: 'L402 verification failed',
    });
  });

  it('a forged token with a wrong preimage is L402_INVALID_TOKEN, not a preimage mismatch (signature first)', () => {
    const forged = Macaroon.create({
      rootKey: randomBytes(32),
      identifier: minted.macaroon.identifier,
      location: 'lsat',
    });
    const result = verifyL402Token(
      { macaroon: forged, preimage: randomBytes(32) },
      { rootKey: minted.rootKey, context },
    );
    expect(result).toMatchObject({ ok: false, code: 'L402_INVALID_TOKEN' });
  });

  it('a wrong preimage on a genuine token → L402_PREIMAGE_MISMATCH', () => {
    const result = verifyL402Token(
      { macaroon: minted.macaroon, preimage: randomBytes(32) },
      { rootKey: minted.rootKey, context },
    );
    expect(result).toMatchObject({ ok: false, code: 'L402_PREIMAGE_MISMATCH', httpStatus: 401 });
  });

  it('discharge macaroons, another location and a non-L402 identifier → L402_INVALID_TOKEN', () => {
    const credential = parseAuthorization(
      `L402 ${minted.macaroon.toBase64()},${minted.macaroon.toBase64()}:${preimage.toString('hex')}`,
    );
    if (credential === null) throw new Error('parse failed');
    expect(verifyL402Token(credential, { rootKey: minted.rootKey, context })).toMatchObject({
      reason: 'discharge_unsupported',
    });
    const elsewhere = mintL402Token({ paymentHash, caveats, rootKey: minted.rootKey, location: 'elsewhere' });
    expect(
      verifyL402Token({ macaroon: elsewhere.macaroon, preimage }, { rootKey: minted.rootKey, context }),
    ).toMatchObject({
      code: 'L402_INVALID_TOKEN',
      reason: 'location',
    });
    expect(
      verifyL402Token({ macaroon: elsewhere.macaroon, preimage }, { rootKey: minted.rootKey, context, location: null })
        .ok,
    ).toBe(true);
    const notL402 = Macaroon.create({ rootKey: minted.rootKey, identifier: 'plain id', location: 'lsat' });
    expect(verifyL402Token({ macaroon: notL402, preimage }, { rootKey: minted.rootKey, context })).toMatchObject({
      code: 'L402_INVALID_TOKEN',
      reason: 'identifier',
    });
  });

  it('caveat failures come back with their codes and HTTP statuses', () => {
    const cases: [Partial<CaveatContext>, L402ErrorCode, number][] = [
      [{ now: new Date((NOW_S + 3600) * 1000) }, 'L402_TOKEN_EXPIRED', 401],
      [{ path: '/api/maps' }, 'L402_PATH_NOT_ALLOWED', 403],
      [{ amountSats: 50 }, 'L402_AMOUNT_MISMATCH', 401],
      [{ merchantId: 'globex' }, 'L402_MERCHANT_MISMATCH', 403],
      [{ service: 'maps' }, 'L402_INVALID_TOKEN', 401],
      [{ capability: 'write' }, 'L402_INVALID_TOKEN', 401],
    ];
    for (const [change, code, status] of cases) {
      expect(verifyHeader(header, { ...context, ...change })).toMatchObject({ ok: false, code, httpStatus: status });
    }
  });

  it('l402FailureToError maps every code to its error class', () => {
    const classes = {
      L402_TOKEN_EXPIRED: L402TokenExpiredError,
      L402_PATH_NOT_ALLOWED: L402PathNotAllowedError,
      L402_AMOUNT_MISMATCH: L402AmountMismatchError,
      L402_MERCHANT_MISMATCH: L402MerchantMismatchError,
      L402_INVALID_TOKEN: L402InvalidTokenError,
      L402_PREIMAGE_MISMATCH: L402PreimageMismatchError,
      L402_INVALID_PREIMAGE_FORMAT: L402InvalidPreimageFormatError,
    } as const;
    for (const [code, cls] of Object.entries(classes) as [L402ErrorCode, (typeof classes)[L402ErrorCode]][]) {
      const error = l402FailureToError({ code, reason: 'r', message: 'm', details: { a: 1 } });
      expect(error).toBeInstanceOf(cls);
      expect(error.toJSON()).toEqual({ error: code, message: 'm', context: { reason: 'r', a: 1 } });
    }
  });
});

describe('properties – tampering is refused by full verification', () => {
  it('any single-bit change of the serialized token is refused (parse error, or a failed verification)', () => {
    const bytes = Buffer.from(minted.macaroon.serialize());
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length * 8 - 1 }), (bit) => {
        const changed = Buffer.from(bytes);
        changed[bit >> 3] = (changed[bit >> 3] as number) ^ (1 << (bit & 7));
        const result = verifyHeader(`L402 ${changed.toString('base64')}:${preimage.toString('hex')}`);
        expect(result === null || result.ok === false).toBe(true);
      }),
      { numRuns: bytes.length * 8 },
    );
  });

  it('any single-bit change of a character of the Authorization header is refused (or throws a PayableError)', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 0, max: 6 }), (at, bit) => {
        const i = at % header.length;
        const h = header.slice(0, i) + String.fromCharCode(header.charCodeAt(i) ^ (1 << bit)) + header.slice(i + 1);
        let result: ReturnType<typeof verifyHeader>;
        try {
          result = verifyHeader(h);
        } catch (error) {
          expect(isPayableError(error)).toBe(true);
          return;
        }
        // Only the scheme's letter case may change without effect (scheme names are case-insensitive).
        if (result?.ok) expect(h.slice(0, 4).toUpperCase()).toBe('L402');
        else expect(result === null || result.ok === false).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('any single-bit change of the preimage → L402_PREIMAGE_MISMATCH', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), (bit) => {
        const changed = Buffer.from(preimage);
        changed[bit >> 3] = (changed[bit >> 3] as number) ^ (1 << (bit & 7));
        expect(verifyHeader(`L402 ${minted.macaroon.toBase64()}:${changed.toString('hex')}`)).toMatchObject({
          code: 'L402_PREIMAGE_MISMATCH',
        });
      }),
      { numRuns: 256 },
    );
  });
});

describe('attenuation by a holder (no root key)', () => {
  it('a holder narrows expiry, path and capabilities; the token still verifies with the root key and the narrowing holds', () => {
    const narrowed = minted.macaroon
      .addFirstPartyCaveat(validUntilCaveat('weather', NOW_S + 60))
      .addFirstPartyCaveat(pathCaveat('/api/weather/today'));
    expect(narrowed.verifySignature(minted.rootKey)).toBe(true);
    const h = `L402 ${narrowed.toBase64()}:${preimage.toString('hex')}`;
    const ok = verifyHeader(h);
    expect(ok?.ok && ok.expiresAt?.getTime()).toBe((NOW_S + 60) * 1000);
    expect(verifyHeader(h, { ...context, now: new Date((NOW_S + 60) * 1000) })).toMatchObject({
      code: 'L402_TOKEN_EXPIRED',
    });
    expect(verifyHeader(h, { ...context, path: '/api/weather/tomorrow' })).toMatchObject({
      code: 'L402_PATH_NOT_ALLOWED',
    });
  });

  it('a holder cannot widen: a later expiry, an extra service or capability is refused; dropping a caveat breaks the signature', () => {
    for (const widening of [
      validUntilCaveat('weather', NOW_S + 7200),
      servicesCaveat([{ name: 'weather' }, { name: 'maps' }]),
      capabilitiesCaveat('weather', ['read', 'write']),
    ]) {
      const h = `L402 ${minted.macaroon.addFirstPartyCaveat(widening).toBase64()}:${preimage.toString('hex')}`;
      expect(verifyHeader(h, { ...context, capability: 'read' })).toMatchObject({
        ok: false,
        code: 'L402_INVALID_TOKEN',
        reason: 'widening',
      });
    }
    const wider = minted.macaroon.addFirstPartyCaveat(pathCaveat('/*'));
    expect(
      verifyHeader(`L402 ${wider.toBase64()}:${preimage.toString('hex')}`, { ...context, path: '/admin' }),
    ).toMatchObject({
      code: 'L402_PATH_NOT_ALLOWED',
    });
    let dropped = mintL402Token({
      paymentHash,
      caveats: caveats.slice(0, -1),
      rootKey: minted.rootKey,
      tokenId: minted.identifier.tokenId,
    }).macaroon;
    dropped = Macaroon.deserialize(
      Buffer.concat([Buffer.from(dropped.serialize()).subarray(0, -32), Buffer.from(minted.macaroon.signature)]),
    );
    expect(verifyL402Token({ macaroon: dropped, preimage }, { rootKey: minted.rootKey, context })).toMatchObject({
      reason: 'signature',
    });
  });

  it('property: whatever caveats a holder adds, the token verifies with the root key and accepts no request the original refused', () => {
    const added = fc.oneof(
      fc
        .tuple(fc.constantFrom('weather', 'maps'), fc.integer({ min: NOW_S - 100, max: NOW_S + 7200 }))
        .map(([service, seconds]) => validUntilCaveat(service, seconds)),
      fc
        .subarray(['weather', 'maps', 'news'], { minLength: 1 })
        .map((names) => servicesCaveat(names.map((name) => ({ name })))),
      fc.subarray(['read', 'write', 'admin'], { minLength: 1 }).map((c) => capabilitiesCaveat('weather', c)),
      fc.constantFrom('/*', '/api/*', '/api/weather/*', '/api/weather/today', '/api/maps/*').map(pathCaveat),
      fc.constantFrom(10, 50).map(amountCaveat),
      fc.constantFrom('acme', 'globex').map(merchantCaveat),
    );
    const request = fc.record({
      seconds: fc.integer({ min: NOW_S - 100, max: NOW_S + 7200 }),
      service: fc.constantFrom('weather', 'maps'),
      capability: fc.option(fc.constantFrom('read', 'write', 'admin'), { nil: undefined }),
      path: fc.constantFrom('/api/weather/today', '/api/weather/x/y', '/api/maps/a', '/admin'),
      amountSats: fc.constantFrom(10, 50),
      merchantId: fc.constantFrom('acme', 'globex'),
    });
    fc.assert(
      fc.property(fc.array(added, { maxLength: 5 }), request, (extra, r) => {
        let token = minted.macaroon;
        for (const c of extra) token = token.addFirstPartyCaveat(c);
        expect(token.verifySignature(minted.rootKey)).toBe(true);
        const ctx: CaveatContext = { ...r, now: new Date(r.seconds * 1000) };
        const attenuated = verifyL402Token({ macaroon: token, preimage }, { rootKey: minted.rootKey, context: ctx });
        if (attenuated.ok) expect(verifyCaveats(minted.macaroon.caveats, ctx).ok).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
