import { L402PathNotAllowedError } from '@payable/core';
import { describe, expect, it } from 'vitest';
import {
  amountCaveat,
  type CaveatContext,
  type CaveatSatisfier,
  capabilitiesCaveat,
  decodeCaveat,
  encodeCaveat,
  l402FailureToError,
  Macaroon,
  merchantCaveat,
  pathCaveat,
  pathMatches,
  servicesCaveat,
  validUntilCaveat,
  verifyCaveats,
} from '../index.js';
import { thrown } from '../../test/support/thrown.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const NOW_S = NOW.getTime() / 1000;
const ctx: CaveatContext = { now: NOW, service: 'weather', path: '/api/weather/today', amountSats: 10 };
const base = ['services=weather:0', `weather_valid_until=${NOW_S + 3600}`, 'payable_amount_sats=10'];

describe('caveats – encoding and builders', () => {
  it('encode/decode condition=value, split at the first "="', () => {
    expect(encodeCaveat({ condition: 'a_b', value: 'x=y' })).toBe('a_b=x=y');
    expect(decodeCaveat('a_b=x=y')).toEqual({ condition: 'a_b', value: 'x=y' });
    expect(decodeCaveat('no equals')).toBeNull();
    expect(decodeCaveat('=value')).toBeNull();
    expect(thrown(() => encodeCaveat({ condition: 'a=b', value: '' })).code).toBe('VALIDATION_ERROR');
    expect(thrown(() => encodeCaveat({ condition: 'a', value: 'x\ny' })).code).toBe('VALIDATION_ERROR');
  });

  it('builders write the Aperture forms and Payable caveats', () => {
    expect(servicesCaveat([{ name: 'weather' }, { name: 'maps', tier: 2 }])).toBe('services=weather:0,maps:2');
    expect(capabilitiesCaveat('weather', ['read', 'write'])).toBe('weather_capabilities=read,write');
    expect(validUntilCaveat('weather', new Date(1893456000_999))).toBe('weather_valid_until=1893456000');
    expect(validUntilCaveat('weather', 1893456000)).toBe('weather_valid_until=1893456000');
    expect(pathCaveat('/api/premium/*')).toBe('payable_path=/api/premium/*');
    expect(amountCaveat(50)).toBe('payable_amount_sats=50');
    expect(merchantCaveat('acme')).toBe('payable_merchant=acme');
  });

  it('builders refuse values that would not decode back', () => {
    for (const fn of [
      () => servicesCaveat([]),
      () => servicesCaveat([{ name: 'a,b' }]),
      () => servicesCaveat([{ name: 'a:b' }]),
      () => servicesCaveat([{ name: 'a', tier: 256 }]),
      () => capabilitiesCaveat('weather', []),
      () => capabilitiesCaveat('weather', ['a,b']),
      () => validUntilCaveat('weather', 1.5),
      () => pathCaveat('api/*'),
      () => pathCaveat('/a b'),
      () => amountCaveat(-1),
      () => amountCaveat(1.5),
      () => merchantCaveat(''),
    ]) {
      expect(thrown(fn).code).toBe('VALIDATION_ERROR');
    }
  });
});

describe('verifyCaveats – Aperture conditions', () => {
  it('a token for the service, in time, at the price passes and reports its expiry', () => {
    const result = verifyCaveats(base, ctx);
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.expiresAt?.getTime()).toBe((NOW_S + 3600) * 1000);
      expect(result.caveats.map((c) => c.condition)).toEqual([
        'services',
        'weather_valid_until',
        'payable_amount_sats',
      ]);
    }
  });

  it('services: another service → L402_INVALID_TOKEN (401)', () => {
    const result = verifyCaveats(base, { ...ctx, service: 'maps' });
    expect(result).toMatchObject({
      ok: false,
      code: 'L402_INVALID_TOKEN',
      httpStatus: 401,
      reason: 'service_not_allowed',
    });
  });

  it('services: a later list must be a subset (narrowing works, widening is refused)', () => {
    const narrowed = ['services=weather:0,maps:0', 'services=weather:0', 'payable_amount_sats=10'];
    expect(verifyCaveats(narrowed, ctx).ok).toBe(true);
    expect(verifyCaveats(narrowed, { ...ctx, service: 'maps' })).toMatchObject({ reason: 'service_not_allowed' });
    const widened = ['services=weather:0', 'services=weather:0,maps:0', 'payable_amount_sats=10'];
    expect(verifyCaveats(widened, { ...ctx, service: 'maps' })).toMatchObject({
      ok: false,
      code: 'L402_INVALID_TOKEN',
      reason: 'service_not_allowed',
    });
    expect(verifyCaveats(widened, ctx)).toMatchObject({ ok: false, code: 'L402_INVALID_TOKEN', reason: 'widening' });
  });

  it('services: malformed values are L402_INVALID_TOKEN', () => {
    for (const bad of [
      'services=',
      'services=weather',
      'services=weather:x',
      'services=:0',
      'services=weather:0,',
      'services=a:1:2',
    ]) {
      expect(verifyCaveats([bad], ctx)).toMatchObject({ ok: false, code: 'L402_INVALID_TOKEN', reason: 'malformed' });
    }
  });

  it('capabilities: the endpoint capability must be listed; later lists only narrow; other services are not evaluated', () => {
    const caps = [...base, 'weather_capabilities=read,write', 'maps_capabilities=none'];
    expect(verifyCaveats(caps, { ...ctx, capability: 'read' }).ok).toBe(true);
    expect(verifyCaveats(caps, ctx).ok).toBe(true); // the endpoint names no capability
    expect(verifyCaveats(caps, { ...ctx, capability: 'admin' })).toMatchObject({
      code: 'L402_INVALID_TOKEN',
      reason: 'capability_not_allowed',
      details: { allowed: ['read', 'write'], requested: 'admin' },
    });
    const narrowed = [...caps, 'weather_capabilities=read'];
    expect(verifyCaveats(narrowed, { ...ctx, capability: 'write' })).toMatchObject({
      reason: 'capability_not_allowed',
    });
    const widened = [...base, 'weather_capabilities=read', 'weather_capabilities=read,write'];
    expect(verifyCaveats(widened, { ...ctx, capability: 'read' })).toMatchObject({ reason: 'widening' });
    expect(verifyCaveats([...base, 'weather_capabilities='], ctx)).toMatchObject({ reason: 'malformed' });
  });

  it('valid_until: now at or after the instant → L402_TOKEN_EXPIRED (401); a later, earlier value wins', () => {
    const expired = ['services=weather:0', `weather_valid_until=${NOW_S}`, 'payable_amount_sats=10'];
    const result = verifyCaveats(expired, ctx);
    expect(result).toMatchObject({ ok: false, code: 'L402_TOKEN_EXPIRED', httpStatus: 401, reason: 'expired' });
    if (!result.ok) expect(result.details.expiredAt).toBe(NOW.toISOString());
    const narrowed = [...base, `weather_valid_until=${NOW_S - 1}`];
    expect(verifyCaveats(narrowed, ctx)).toMatchObject({ code: 'L402_TOKEN_EXPIRED' });
    const stillValid = [...base, `weather_valid_until=${NOW_S + 60}`];
    const ok = verifyCaveats(stillValid, ctx);
    expect(ok.ok && ok.expiresAt?.getTime()).toBe((NOW_S + 60) * 1000);
  });

  it('a widening caveat is refused after many others, and repeated narrowing ones pass', () => {
    const many = [...base, ...Array.from({ length: 30 }, () => 'payable_path=/api/*')];
    expect(verifyCaveats([...many, `weather_valid_until=${NOW_S + 1800}`], ctx)).toMatchObject({
      ok: true,
      expiresAt: new Date((NOW_S + 1800) * 1000),
    });
    expect(verifyCaveats([...many, `weather_valid_until=${NOW_S + 7200}`], ctx)).toMatchObject({
      ok: false,
      reason: 'widening',
    });
    expect(verifyCaveats([...many, 'services=weather:0,maps:0'], ctx)).toMatchObject({ ok: false, reason: 'widening' });
  });

  it('valid_until: a later value beyond an earlier one is refused as widening, even while the first holds', () => {
    const widened = [...base, `weather_valid_until=${NOW_S + 7200}`];
    expect(verifyCaveats(widened, ctx)).toMatchObject({ ok: false, code: 'L402_INVALID_TOKEN', reason: 'widening' });
  });

  it("valid_until: another service's expiry does not expire this one; malformed values are refused", () => {
    expect(verifyCaveats([...base, `maps_valid_until=${NOW_S - 10}`], ctx).ok).toBe(true);
    for (const bad of [
      'weather_valid_until=',
      'weather_valid_until=12x',
      'weather_valid_until=01',
      'weather_valid_until=1e9',
    ]) {
      expect(verifyCaveats([...base, bad], ctx)).toMatchObject({ code: 'L402_INVALID_TOKEN', reason: 'malformed' });
    }
  });
});

describe('verifyCaveats – Payable caveats', () => {
  it('path: matching passes; another path → L402_PATH_NOT_ALLOWED (403) with allowed/requested', () => {
    const token = [...base, 'payable_path=/api/weather/*'];
    expect(verifyCaveats(token, ctx).ok).toBe(true);
    const result = verifyCaveats(token, { ...ctx, path: '/api/maps/data' });
    expect(result).toMatchObject({
      ok: false,
      code: 'L402_PATH_NOT_ALLOWED',
      httpStatus: 403,
      details: { allowed: '/api/weather/*', requested: '/api/maps/data' },
    });
    if (!result.ok) {
      expect(result.message).toBe("Token not valid for path '/api/maps/data'. Token is bound to '/api/weather/*'");
      const error = l402FailureToError(result);
      expect(error).toBeInstanceOf(L402PathNotAllowedError);
      expect(error.httpStatus).toBe(403);
      expect(error.context).toMatchObject({
        reason: 'path_not_allowed',
        allowed: '/api/weather/*',
        caveat: 'payable_path=/api/weather/*',
      });
    }
    expect(verifyCaveats(token, { ...ctx, path: undefined })).toMatchObject({
      code: 'L402_PATH_NOT_ALLOWED',
      reason: 'path_missing_in_context',
    });
  });

  it('path: every path caveat must hold (a holder can only narrow)', () => {
    const token = [...base, 'payable_path=/api/*', 'payable_path=/api/weather/*'];
    expect(verifyCaveats(token, ctx).ok).toBe(true);
    expect(verifyCaveats(token, { ...ctx, path: '/api/maps' })).toMatchObject({ code: 'L402_PATH_NOT_ALLOWED' });
    const widenedTry = [...base, 'payable_path=/api/weather/*', 'payable_path=/*'];
    expect(verifyCaveats(widenedTry, { ...ctx, path: '/admin' })).toMatchObject({ code: 'L402_PATH_NOT_ALLOWED' });
  });

  it('pathMatches: "*" stays within a segment, a trailing "/*" covers any depth, dot segments never match', () => {
    expect(pathMatches('/api/premium/*', '/api/premium/a')).toBe(true);
    expect(pathMatches('/api/premium/*', '/api/premium/a/b/c')).toBe(true);
    expect(pathMatches('/api/premium/*', '/api/premium/')).toBe(true);
    expect(pathMatches('/api/premium/*', '/api/premium')).toBe(false);
    expect(pathMatches('/api/premium/*', '/api/premiumx/a')).toBe(false);
    expect(pathMatches('/api/pre*', '/api/premium')).toBe(true);
    expect(pathMatches('/api/pre*', '/api/premium/x')).toBe(false);
    expect(pathMatches('/tenants/*/reports', '/tenants/acme/reports')).toBe(true);
    expect(pathMatches('/tenants/*/reports', '/tenants/a/b/reports')).toBe(false);
    expect(pathMatches('/a/*.json', '/a/data.json')).toBe(true);
    expect(pathMatches('/a/*.json', '/a/data.xml')).toBe(false);
    expect(pathMatches('/exact', '/exact')).toBe(true);
    expect(pathMatches('/exact', '/Exact')).toBe(false);
    expect(pathMatches('/exact', '/exact?x=1')).toBe(true);
    for (const sneaky of [
      '/api/premium/../admin',
      '/api/premium/./x',
      '/api/premium/%2e%2e/admin',
      '/api/premium/%2E/x',
    ]) {
      expect(pathMatches('/api/premium/*', sneaky)).toBe(false);
    }
    expect(pathMatches('/*', 'relative')).toBe(false);
  });

  it('pathMatches: the query string and fragment are not part of the path, even with "/" or dot segments', () => {
    expect(pathMatches('/api/*', '/api/x?next=/a/b/c')).toBe(true);
    expect(pathMatches('/api/x', '/api/x?a/b')).toBe(true);
    expect(pathMatches('/api/x', '/api/x#/y')).toBe(true);
    expect(pathMatches('/api/x', '/api/x?../admin')).toBe(true);
    expect(pathMatches('/api/*', '?/api/x')).toBe(false);
    expect(pathMatches('/api/*', '/api/%2e.?x')).toBe(false);
    expect(pathMatches('/api/*', '/api/%2e.%2e')).toBe(true);
    expect(pathMatches('/api/*', '/api/.x')).toBe(true);
    expect(pathMatches('', '/api')).toBe(false);
  });

  it('pathMatches is fast on adversarial patterns', () => {
    const started = performance.now();
    expect(pathMatches(`/${'*a'.repeat(200)}b`, `/${'a'.repeat(1000)}`)).toBe(false);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('amount: another price → L402_AMOUNT_MISMATCH (401); a token without a price is refused where the endpoint has one', () => {
    const result = verifyCaveats(base, { ...ctx, amountSats: 50 });
    expect(result).toMatchObject({
      ok: false,
      code: 'L402_AMOUNT_MISMATCH',
      httpStatus: 401,
      reason: 'amount_mismatch',
      details: { paidSats: 10, priceSats: 50 },
    });
    const noPrice = ['services=weather:0'];
    expect(verifyCaveats(noPrice, ctx)).toMatchObject({
      code: 'L402_AMOUNT_MISMATCH',
      reason: 'amount_missing_in_token',
    });
    expect(verifyCaveats(noPrice, { ...ctx, amountSats: undefined }).ok).toBe(true);
    expect(verifyCaveats(base, { ...ctx, amountSats: undefined })).toMatchObject({
      code: 'L402_AMOUNT_MISMATCH',
      reason: 'amount_missing_in_context',
    });
    expect(verifyCaveats([...base, 'payable_amount_sats=010'], ctx)).toMatchObject({ reason: 'malformed' });
  });

  it('merchant: the three cases of the seed → L402_MERCHANT_MISMATCH (403)', () => {
    const token = [...base, 'payable_merchant=acme'];
    expect(verifyCaveats(token, { ...ctx, merchantId: 'acme' }).ok).toBe(true);
    expect(verifyCaveats(token, { ...ctx, merchantId: 'globex' })).toMatchObject({
      code: 'L402_MERCHANT_MISMATCH',
      httpStatus: 403,
      message: 'Token not valid for this merchant',
    });
    expect(verifyCaveats(token, ctx)).toMatchObject({
      code: 'L402_MERCHANT_MISMATCH',
      message: 'Token requires merchant context but none was provided',
    });
    expect(verifyCaveats(base, { ...ctx, merchantId: 'acme' })).toMatchObject({
      code: 'L402_MERCHANT_MISMATCH',
      message: 'Token missing required merchant caveat',
    });
    expect(verifyCaveats(base, { ...ctx, merchantId: null }).ok).toBe(true);
  });

  it('the first failure in token order is the one reported', () => {
    const pathFirst = [
      'services=weather:0',
      'payable_path=/other/*',
      `weather_valid_until=${NOW_S - 1}`,
      'payable_amount_sats=10',
    ];
    expect(verifyCaveats(pathFirst, ctx)).toMatchObject({ code: 'L402_PATH_NOT_ALLOWED' });
    const expiryFirst = [
      'services=weather:0',
      `weather_valid_until=${NOW_S - 1}`,
      'payable_path=/other/*',
      'payable_amount_sats=10',
    ];
    expect(verifyCaveats(expiryFirst, ctx)).toMatchObject({ code: 'L402_TOKEN_EXPIRED' });
  });
});

describe('verifyCaveats – unknown, malformed, third-party and custom caveats', () => {
  it('unknown caveats are refused by default, ignored with allowUnknownCaveats', () => {
    const token = [...base, 'no equals sign', 'colour=blue'];
    expect(verifyCaveats(token, ctx)).toMatchObject({ code: 'L402_INVALID_TOKEN', reason: 'malformed' });
    expect(verifyCaveats([...base, 'account = 3735928559'], ctx)).toMatchObject({ reason: 'unknown_caveat' });
    expect(verifyCaveats([...base, 'colour=blue'], ctx)).toMatchObject({
      code: 'L402_INVALID_TOKEN',
      reason: 'unknown_caveat',
      caveat: 'colour=blue',
    });
    expect(verifyCaveats(token, ctx, { allowUnknownCaveats: true }).ok).toBe(true);
  });

  it('caveats given as bytes or as macaroon caveats verify the same; non-UTF-8 bytes are malformed', () => {
    let m = Macaroon.create({ rootKey: 'k', identifier: 'id' });
    for (const c of base) m = m.addFirstPartyCaveat(c);
    expect(verifyCaveats(m.caveats, ctx).ok).toBe(true);
    expect(
      verifyCaveats(
        base.map((c) => Buffer.from(c)),
        ctx,
      ).ok,
    ).toBe(true);
    expect(verifyCaveats([...base, Uint8Array.of(0xff, 0x3d, 0x31)], ctx)).toMatchObject({ reason: 'malformed' });
  });

  it('a third-party caveat is L402_INVALID_TOKEN', () => {
    const third = {
      identifier: Buffer.from('cid'),
      location: 'https://x',
      verificationId: Buffer.alloc(8),
      thirdParty: true,
    };
    expect(verifyCaveats([...base, third], ctx)).toMatchObject({ code: 'L402_INVALID_TOKEN', reason: 'third_party' });
  });

  it('extra satisfiers accept, refuse (with their code and message) and guard narrowing', () => {
    const region: CaveatSatisfier = {
      condition: 'region',
      code: 'L402_PATH_NOT_ALLOWED',
      satisfyPrevious: (prev, cur) => cur.value.startsWith(prev.value),
      satisfy: (c, context) =>
        c.value === context.extra?.region || `Token not valid in region ${String(context.extra?.region)}`,
    };
    const token = [...base, 'region=eu'];
    expect(verifyCaveats(token, { ...ctx, extra: { region: 'eu' } }, { satisfiers: [region] }).ok).toBe(true);
    expect(verifyCaveats(token, { ...ctx, extra: { region: 'us' } }, { satisfiers: [region] })).toMatchObject({
      code: 'L402_PATH_NOT_ALLOWED',
      httpStatus: 403,
      reason: 'refused',
      message: 'Token not valid in region us',
    });
    const narrowed = [...base, 'region=eu', 'region=eu-west'];
    expect(verifyCaveats(narrowed, { ...ctx, extra: { region: 'eu-west' } }, { satisfiers: [region] })).toMatchObject({
      reason: 'refused', // the first region=eu still has to hold
    });
    const widened = [...base, 'region=eu-west', 'region=eu'];
    expect(verifyCaveats(widened, { ...ctx, extra: { region: 'eu-west' } }, { satisfiers: [region] })).toMatchObject({
      code: 'L402_PATH_NOT_ALLOWED',
      reason: 'widening',
    });
  });

  it('a satisfier cannot override a built-in condition', () => {
    for (const condition of ['services', 'payable_path', 'weather_valid_until', 'x_capabilities']) {
      const error = thrown(() => verifyCaveats(base, ctx, { satisfiers: [{ condition, satisfy: () => true }] }));
      expect(error.context).toMatchObject({ reason: 'reserved_condition' });
    }
  });
});
