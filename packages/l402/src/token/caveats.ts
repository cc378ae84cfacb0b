import { ERROR_STATUS, type ErrorCode, ValidationError } from '@payable/core';
import type { MacaroonCaveat } from '../macaroon/macaroon.js';

/**
 * A first-party caveat in Aperture's `condition=value` form.
 *
 * @example
 * ```ts
 * decodeCaveat('services=api:0'); // { condition: 'services', value: 'api:0' }
 * ```
 */
export interface Caveat {
  readonly condition: string;
  readonly value: string;
}

/** The Aperture condition naming the services a token opens. */
export const CONDITION_SERVICES = 'services';
/** Suffix of Aperture's per-service capabilities condition (`<service>_capabilities`). */
export const CAPABILITIES_SUFFIX = '_capabilities';
/** Suffix of Aperture's per-service expiry condition (`<service>_valid_until`, unix seconds). */
export const VALID_UNTIL_SUFFIX = '_valid_until';
/** Payable's path binding: a glob the request path must match. */
export const CONDITION_PATH = 'payable_path';
/** Payable's price binding: the amount in sats the token was paid at. */
export const CONDITION_AMOUNT = 'payable_amount_sats';
/** Payable's merchant (tenant) binding. */
export const CONDITION_MERCHANT = 'payable_merchant';

const RESERVED = new Set([CONDITION_SERVICES, CONDITION_PATH, CONDITION_AMOUNT, CONDITION_MERCHANT]);

/** Service names: what Aperture can decode back unambiguously, and safe in a condition. */
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;
const CAPABILITY = /^[A-Za-z0-9._:/-]{1,128}$/;
const CONDITION = /^[A-Za-z0-9._/-]{1,160}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

function invalid(field: string, message: string): never {
  throw new ValidationError(message, { context: { field, reason: 'invalid' } });
}

/**
 * Encodes a caveat as `condition=value` (Aperture's `EncodeCaveat`).
 *
 * @example
 * ```ts
 * encodeCaveat({ condition: 'api_capabilities', value: 'read' }); // 'api_capabilities=read'
 * ```
 */
export function encodeCaveat(caveat: Caveat): string {
  if (!CONDITION.test(caveat.condition)) invalid('condition', 'a caveat condition is 1-160 of [A-Za-z0-9._/-]');
  if (CONTROL.test(caveat.value)) invalid('value', 'a caveat value must not contain control characters');
  return `${caveat.condition}=${caveat.value}`;
}

/**
 * Decodes `condition=value` at the first `=` (Aperture's `DecodeCaveat`); `null` when there is no
 * `=` or the condition is empty.
 *
 * @example
 * ```ts
 * decodeCaveat('payable_path=/api/*'); // { condition: 'payable_path', value: '/api/*' }
 * ```
 */
export function decodeCaveat(text: string): Caveat | null {
  const eq = text.indexOf('=');
  if (eq <= 0) return null;
  return { condition: text.slice(0, eq), value: text.slice(eq + 1) };
}

/** One service of a `services` caveat. */
export interface ServiceGrant {
  name: string;
  /** Aperture's tier (0 = base tier). Default 0. */
  tier?: number;
}

function serviceName(name: string): string {
  if (typeof name !== 'string' || !SERVICE_NAME.test(name)) {
    invalid('service', 'a service name is 1-128 of [A-Za-z0-9._/-], starting with a letter or digit');
  }
  return name;
}

/**
 * `services=name:tier[,name:tier]` (Aperture's services caveat).
 *
 * @example
 * ```ts
 * servicesCaveat([{ name: 'weather' }]); // 'services=weather:0'
 * ```
 */
export function servicesCaveat(services: readonly ServiceGrant[]): string {
  if (services.length === 0) invalid('services', 'a services caveat names at least one service');
  const value = services
    .map((s) => {
      const tier = s.tier ?? 0;
      if (!Number.isInteger(tier) || tier < 0 || tier > 255) invalid('tier', 'a tier is an integer 0-255');
      return `${serviceName(s.name)}:${tier}`;
    })
    .join(',');
  return `${CONDITION_SERVICES}=${value}`;
}

/**
 * `<service>_capabilities=a,b` (Aperture's capabilities caveat).
 *
 * @example
 * ```ts
 * capabilitiesCaveat('weather', ['read']); // 'weather_capabilities=read'
 * ```
 */
export function capabilitiesCaveat(service: string, capabilities: readonly string[]): string {
  if (capabilities.length === 0) invalid('capabilities', 'a capabilities caveat names at least one capability');
  for (const c of capabilities) {
    if (typeof c !== 'string' || !CAPABILITY.test(c))
      invalid('capabilities', 'a capability is 1-128 of [A-Za-z0-9._:/-]');
  }
  return `${serviceName(service)}${CAPABILITIES_SUFFIX}=${capabilities.join(',')}`;
}

/**
 * `<service>_valid_until=<unix seconds>` (Aperture's timeout caveat). A `Date` is rounded down to
 * the second.
 *
 * @example
 * ```ts
 * validUntilCaveat('weather', new Date(Date.now() + 3600_000));
 * ```
 */
export function validUntilCaveat(service: string, until: Date | number): string {
  const seconds = until instanceof Date ? Math.floor(until.getTime() / 1000) : until;
  if (!Number.isSafeInteger(seconds)) invalid('validUntil', 'valid_until is a Date or an integer of unix seconds');
  return `${serviceName(service)}${VALID_UNTIL_SUFFIX}=${seconds}`;
}

/**
 * `payable_path=<glob>`: the request path must match. `*` matches any characters but `/`; a
 * pattern ending in `/*` also matches anything below that prefix, at any depth.
 *
 * @example
 * ```ts
 * pathCaveat('/api/premium/*'); // opens /api/premium/a and /api/premium/a/b, not /api/premium
 * ```
 */
export function pathCaveat(glob: string): string {
  if (
    typeof glob !== 'string' ||
    !glob.startsWith('/') ||
    glob.length > 1024 ||
    /\s/.test(glob) ||
    CONTROL.test(glob)
  ) {
    invalid('path', 'a path glob starts with "/" and has no whitespace (at most 1024 characters)');
  }
  return `${CONDITION_PATH}=${glob}`;
}

/**
 * `payable_amount_sats=<n>`: the price the token was paid at; an endpoint of another price refuses it.
 *
 * @example
 * ```ts
 * amountCaveat(50); // 'payable_amount_sats=50'
 * ```
 */
export function amountCaveat(sats: number): string {
  if (!Number.isSafeInteger(sats) || sats < 0) invalid('amountSats', 'an amount is a non-negative integer of sats');
  return `${CONDITION_AMOUNT}=${sats}`;
}

/**
 * `payable_merchant=<id>`: binds a token to one merchant (tenant).
 *
 * @example
 * ```ts
 * merchantCaveat('acme'); // 'payable_merchant=acme'
 * ```
 */
export function merchantCaveat(merchantId: string): string {
  if (
    typeof merchantId !== 'string' ||
    merchantId.length === 0 ||
    merchantId.length > 256 ||
    CONTROL.test(merchantId)
  ) {
    invalid('merchantId', 'a merchant id is 1-256 characters without control characters');
  }
  return `${CONDITION_MERCHANT}=${merchantId}`;
}

/**
 * What a request offers the caveats: the checks a token's caveats are evaluated against.
 *
 * @example
 * ```ts
 * const context: CaveatContext = { now: clock.now(), service: 'weather', path: req.path, amountSats: 50 };
 * ```
 */
export interface CaveatContext {
  /** The current time (from the Clock port). */
  now: Date;
  /** The service being accessed (Aperture's target service). */
  service: string;
  /** The capability the endpoint requires, if any. */
  capability?: string;
  /** The request path (query string ignored). Required when the token has a path caveat. */
  path?: string;
  /** The endpoint's price in sats. When given, the token must state the same price. */
  amountSats?: number;
  /** The merchant (tenant) id. When given, the token must name the same merchant. */
  merchantId?: string | null;
  /** Anything extra custom satisfiers need. */
  extra?: Readonly<Record<string, unknown>>;
}

/** The codes a caveat failure maps to. */
export type CaveatErrorCode = Extract<
  ErrorCode,
  | 'L402_TOKEN_EXPIRED'
  | 'L402_PATH_NOT_ALLOWED'
  | 'L402_AMOUNT_MISMATCH'
  | 'L402_MERCHANT_MISMATCH'
  | 'L402_INVALID_TOKEN'
>;

/** Why caveat verification failed (finer than the code). */
export type CaveatFailureReason =
  | 'expired'
  | 'path_not_allowed'
  | 'path_missing_in_context'
  | 'amount_mismatch'
  | 'amount_missing_in_token'
  | 'amount_missing_in_context'
  | 'merchant_mismatch'
  | 'merchant_missing_in_token'
  | 'merchant_missing_in_context'
  | 'service_not_allowed'
  | 'capability_not_allowed'
  | 'widening'
  | 'malformed'
  | 'unknown_caveat'
  | 'third_party'
  | 'refused';

/**
 * A failed check: the Payable error code (and its HTTP status), a reason, a message safe to show the
 * caller, and details such as `{ allowed, requested }`.
 */
export interface CaveatFailure {
  readonly ok: false;
  readonly code: CaveatErrorCode;
  readonly httpStatus: number;
  readonly reason: CaveatFailureReason;
  readonly message: string;
  /** The offending caveat's text, when one caveat is to blame. */
  readonly caveat?: string;
  readonly details: Readonly<Record<string, unknown>>;
}

/** Every caveat held. `expiresAt` is the earliest `<service>_valid_until` of the target service. */
export interface CaveatSuccess {
  readonly ok: true;
  readonly caveats: readonly Caveat[];
  readonly expiresAt: Date | null;
}

/** The result of {@link verifyCaveats}. */
export type CaveatVerification = CaveatSuccess | CaveatFailure;

/**
 * A satisfier for a caveat condition of your own (Aperture's `Satisfier`). `satisfy` answers `true`
 * to accept, or `false` / a message to refuse (with `code`, default `L402_INVALID_TOKEN`).
 * `satisfyPrevious`, when given, is called for each repeated caveat with the one before it, to
 * refuse a later caveat that widens an earlier one.
 *
 * @example
 * ```ts
 * const region: CaveatSatisfier = {
 *   condition: 'region',
 *   satisfy: (c, ctx) => c.value === ctx.extra?.region || 'wrong region',
 * };
 * ```
 */
export interface CaveatSatisfier {
  readonly condition: string;
  readonly code?: CaveatErrorCode;
  satisfyPrevious?(previous: Caveat, current: Caveat): boolean;
  satisfy(caveat: Caveat, context: CaveatContext): boolean | string;
}

/** Options of {@link verifyCaveats}. */
export interface VerifyCaveatsOptions {
  /** Accept (and ignore) caveats no satisfier knows, as Aperture does. Default `false`: refused. */
  allowUnknownCaveats?: boolean;
  /** Satisfiers for extra conditions; built-in conditions cannot be overridden. */
  satisfiers?: readonly CaveatSatisfier[];
}

function failure(
  code: CaveatErrorCode,
  reason: CaveatFailureReason,
  message: string,
  caveat?: string,
  details: Record<string, unknown> = {},
): CaveatFailure {
  return { ok: false, code, httpStatus: ERROR_STATUS[code], reason, message, caveat, details };
}

const NO_SATISFIERS: ReadonlyMap<string, CaveatSatisfier> = new Map();
/** Up to this many accepted caveats, the previous one of a condition is found by a scan. */
const SCAN_LIMIT = 16;

function satisfierMap(satisfiers: readonly CaveatSatisfier[]): ReadonlyMap<string, CaveatSatisfier> {
  const map = new Map<string, CaveatSatisfier>();
  for (const s of satisfiers) {
    if (
      RESERVED.has(s.condition) ||
      s.condition.endsWith(CAPABILITIES_SUFFIX) ||
      s.condition.endsWith(VALID_UNTIL_SUFFIX)
    ) {
      throw new ValidationError(`caveat condition ${s.condition} is built in and cannot be overridden`, {
        context: { field: 'satisfiers', reason: 'reserved_condition', condition: s.condition },
      });
    }
    map.set(s.condition, s);
  }
  return map;
}

function malformed(condition: string, text: string): CaveatFailure {
  return failure('L402_INVALID_TOKEN', 'malformed', `Token has a malformed ${condition} caveat`, text);
}

function widening(condition: string, text: string): CaveatFailure {
  return failure('L402_INVALID_TOKEN', 'widening', `Token's ${condition} caveat widens an earlier one`, text);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function caveatText(input: string | Uint8Array | MacaroonCaveat): string | null | 'third_party' {
  if (typeof input === 'string') return input;
  if (input instanceof Uint8Array) {
    try {
      return utf8.decode(input);
    } catch {
      return null;
    }
  }
  if (input.thirdParty) return 'third_party';
  return caveatText(input.identifier);
}

/** Whether `text` matches `^-?(0|[1-9][0-9]{0,15})$` (`^(0|[1-9][0-9]{0,15})$` unless `signed`). */
function isInteger(text: string, signed: boolean): boolean {
  const start = signed && text.charCodeAt(0) === 0x2d ? 1 : 0;
  const digits = text.length - start;
  if (digits < 1 || digits > 16) return false;
  if (text.charCodeAt(start) === 0x30) return digits === 1;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** Whether `text[start, end)` is a tier: `^(0|[1-9][0-9]{0,2})$`, at most 255. */
function isTier(text: string, start: number, end: number): boolean {
  const digits = end - start;
  if (digits < 1 || digits > 3) return false;
  if (text.charCodeAt(start) === 0x30) return digits === 1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
    value = value * 10 + (c - 0x30);
  }
  return value <= 255;
}

/**
 * The service names of a `services` value, `name:tier[,name:tier...]`, in order (a name may repeat);
 * `null` when malformed (an item without exactly one `:`, an empty name, a tier not 0-255).
 */
function parseServices(value: string): string[] | null {
  if (value === '') return null;
  const names: string[] = [];
  const length = value.length;
  let start = 0;
  for (;;) {
    let end = value.indexOf(',', start);
    if (end === -1) end = length;
    const colon = value.indexOf(':', start);
    if (colon === -1 || colon >= end) return null;
    const second = value.indexOf(':', colon + 1);
    if (second !== -1 && second < end) return null;
    if (colon === start || !isTier(value, colon + 1, end)) return null;
    names.push(value.slice(start, colon));
    if (end === length) return names;
    start = end + 1;
  }
}

function parseList(value: string): string[] | null {
  const items = value.split(',');
  for (let i = 0; i < items.length; i++) if (items[i] === '') return null;
  return items;
}

/** Whether `path[start, end)` is a dot segment: `^(?:\.|%2e){1,2}$`, case-insensitively. */
function isDotSegment(path: string, start: number, end: number): boolean {
  let units = 0;
  let i = start;
  while (i < end) {
    if (units === 2) return false;
    const c = path.charCodeAt(i);
    if (c === 0x2e) {
      i += 1;
    } else if (
      c === 0x25 &&
      i + 3 <= end &&
      path.charCodeAt(i + 1) === 0x32 &&
      (path.charCodeAt(i + 2) | 0x20) === 0x65
    ) {
      i += 3;
    } else {
      return false;
    }
    units += 1;
  }
  return units > 0;
}

/**
 * Matches the path segment `seg[s0, sEnd)` against the glob segment `glob[g0, gEnd)` (`*` = any
 * run of characters).
 */
function segmentMatches(glob: string, g0: number, gEnd: number, seg: string, s0: number, sEnd: number): boolean {
  // Iterative wildcard matching with single backtrack point: O(len(glob) * len(seg)) worst case.
  let g = g0;
  let s = s0;
  let star = -1;
  let mark = 0;
  while (s < sEnd) {
    const gc = g < gEnd ? glob.charCodeAt(g) : -1;
    if (gc !== -1 && gc !== 0x2a && gc === seg.charCodeAt(s)) {
      g++;
      s++;
    } else if (gc === 0x2a) {
      star = g++;
      mark = s;
    } else if (star !== -1) {
      g = star + 1;
      s = ++mark;
    } else {
      return false;
    }
  }
  while (g < gEnd && glob.charCodeAt(g) === 0x2a) g++;
  return g === gEnd;
}

/**
 * Whether a request path matches a `payable_path` glob. `*` matches any characters but `/`; a glob
 * ending in `/*` matches anything below its prefix at any depth. Paths with `.`/`..` segments (also
 * percent-encoded) never match, so a path cannot climb out of its prefix after the check.
 *
 * @example
 * ```ts
 * pathMatches('/api/premium/*', '/api/premium/reports/2024'); // true
 * pathMatches('/api/premium/*', '/api/premium/../admin');    // false
 * ```
 */
export function pathMatches(glob: string, requestPath: string): boolean {
  // The path ends at the first '?' or '#'; segments are split at '/', without building arrays.
  let end = requestPath.length;
  for (let i = 0; i < end; i++) {
    const c = requestPath.charCodeAt(i);
    if (c === 0x3f || c === 0x23) {
      end = i;
      break;
    }
  }
  if (end === 0 || requestPath.charCodeAt(0) !== 0x2f || glob.charCodeAt(0) !== 0x2f) return false;
  let segs = 1;
  let from = 0;
  for (let i = 0; i <= end; i++) {
    if (i === end || requestPath.charCodeAt(i) === 0x2f) {
      if (isDotSegment(requestPath, from, i)) return false;
      if (i < end) segs += 1;
      from = i + 1;
    }
  }
  let globSegs = 1;
  for (let i = 0; i < glob.length; i++) if (glob.charCodeAt(i) === 0x2f) globSegs += 1;
  const deep = glob.endsWith('/*');
  if (deep) {
    if (segs < globSegs) return false;
  } else if (segs !== globSegs) {
    return false;
  }
  const fixed = deep ? globSegs - 1 : globSegs;
  let g = 0;
  let p = 0;
  for (let k = 0; k < fixed; k++) {
    let gEnd = glob.indexOf('/', g);
    if (gEnd === -1) gEnd = glob.length;
    let pEnd = requestPath.indexOf('/', p);
    if (pEnd === -1 || pEnd > end) pEnd = end;
    if (!segmentMatches(glob, g, gEnd, requestPath, p, pEnd)) return false;
    g = gEnd + 1;
    p = pEnd + 1;
  }
  return true;
}

/**
 * Verifies a token's first-party caveats against a request, in token order, and returns the first
 * failure with the Payable error code it maps to (or success with the token's expiry).
 *
 * Built in (Aperture-compatible): `services=name:tier,...` must name `context.service`;
 * `<service>_capabilities=a,b` must include `context.capability` (when the endpoint names one);
 * `<service>_valid_until=<unix s>` must be later than `now` (→ `L402_TOKEN_EXPIRED`). Payable's own:
 * `payable_path` (→ `L402_PATH_NOT_ALLOWED`), `payable_amount_sats` (→ `L402_AMOUNT_MISMATCH`),
 * `payable_merchant` (→ `L402_MERCHANT_MISMATCH`). Every caveat must hold, and a repeated services,
 * capabilities or valid_until caveat must be at least as narrow as the one before it (a widening
 * one makes the token invalid, as in Aperture). Malformed, third-party and unknown caveats →
 * `L402_INVALID_TOKEN` (unknown ones are accepted with `allowUnknownCaveats` or a satisfier).
 * Does not check the signature: call it on a macaroon whose signature verified.
 *
 * @example
 * ```ts
 * const result = verifyCaveats(macaroon.caveats, { now: new Date(), service: 'weather', path: '/api/w', amountSats: 10 });
 * if (!result.ok) throw caveatFailureToError(result);
 * ```
 */
export function verifyCaveats(
  caveats: readonly (string | Uint8Array | MacaroonCaveat)[],
  context: CaveatContext,
  options: VerifyCaveatsOptions = {},
): CaveatVerification {
  const custom = options.satisfiers?.length ? satisfierMap(options.satisfiers) : NO_SATISFIERS;
  const nowMs = context.now.getTime();
  const parsed: Caveat[] = [];
  // The latest accepted caveat of each condition: found by scanning `parsed` while it is short,
  // through a map once it is not (a token has few caveats; a long list must not cost n²).
  let previous: Map<string, Caveat> | null = null;
  let expiresAtSeconds: number | null = null;
  let sawAmount = false;
  let sawMerchant = false;

  for (const input of caveats) {
    const text = caveatText(input);
    if (text === 'third_party') {
      return failure(
        'L402_INVALID_TOKEN',
        'third_party',
        'Token has a third-party caveat; Payable does not accept them',
      );
    }
    if (text === null) return failure('L402_INVALID_TOKEN', 'malformed', 'Token has a caveat that is not UTF-8 text');
    const caveat = decodeCaveat(text);
    if (caveat === null) {
      if (options.allowUnknownCaveats) continue;
      return failure('L402_INVALID_TOKEN', 'malformed', 'Token has a caveat not of the form condition=value', text);
    }
    const { condition, value } = caveat;
    let prev: Caveat | undefined;
    if (previous !== null) {
      prev = previous.get(condition);
    } else if (parsed.length <= SCAN_LIMIT) {
      for (let i = parsed.length - 1; i >= 0; i--) {
        if ((parsed[i] as Caveat).condition === condition) {
          prev = parsed[i];
          break;
        }
      }
    } else {
      previous = new Map();
      for (const c of parsed) previous.set(c.condition, c);
      prev = previous.get(condition);
    }
    if (condition === CONDITION_SERVICES) {
      const services = parseServices(value);
      if (services === null) return malformed(condition, text);
      if (prev !== undefined) {
        const before = new Set(parseServices(prev.value));
        for (const name of services) if (!before.has(name)) return widening(condition, text);
      }
      if (!services.includes(context.service)) {
        return failure(
          'L402_INVALID_TOKEN',
          'service_not_allowed',
          `Token not valid for service '${context.service}'`,
          text,
          {
            allowed: [...new Set(services)],
            requested: context.service,
          },
        );
      }
    } else if (condition.endsWith(CAPABILITIES_SUFFIX) && condition.length > CAPABILITIES_SUFFIX.length) {
      const service = condition.slice(0, -CAPABILITIES_SUFFIX.length);
      const list = parseList(value);
      if (list === null) return malformed(condition, text);
      if (prev !== undefined) {
        const before = new Set(parseList(prev.value) ?? []);
        if (list.some((c) => !before.has(c))) return widening(condition, text);
      }
      if (service === context.service && context.capability !== undefined && !list.includes(context.capability)) {
        return failure(
          'L402_INVALID_TOKEN',
          'capability_not_allowed',
          `Token not valid for capability '${context.capability}' of service '${service}'`,
          text,
          { allowed: list, requested: context.capability },
        );
      }
    } else if (condition.endsWith(VALID_UNTIL_SUFFIX) && condition.length > VALID_UNTIL_SUFFIX.length) {
      const service = condition.slice(0, -VALID_UNTIL_SUFFIX.length);
      if (!isInteger(value, true)) return malformed(condition, text);
      const seconds = Number(value);
      if (prev !== undefined && seconds > Number(prev.value)) return widening(condition, text);
      if (service === context.service) {
        expiresAtSeconds = expiresAtSeconds === null ? seconds : Math.min(expiresAtSeconds, seconds);
        // Aperture: valid while now is before the expiry instant.
        if (!(nowMs < seconds * 1000)) {
          const at = new Date(seconds * 1000);
          return failure('L402_TOKEN_EXPIRED', 'expired', `L402 token has expired (at ${isoOr(at, value)})`, text, {
            expiredAt: isoOr(at, value),
          });
        }
      }
    } else if (condition === CONDITION_PATH) {
      if (!value.startsWith('/')) return malformed(condition, text);
      if (context.path === undefined) {
        return failure(
          'L402_PATH_NOT_ALLOWED',
          'path_missing_in_context',
          'Token is bound to a path but the request has none',
          text,
          {
            allowed: value,
          },
        );
      }
      if (!pathMatches(value, context.path)) {
        return failure(
          'L402_PATH_NOT_ALLOWED',
          'path_not_allowed',
          `Token not valid for path '${context.path}'. Token is bound to '${value}'`,
          text,
          { allowed: value, requested: context.path },
        );
      }
    } else if (condition === CONDITION_AMOUNT) {
      if (!isInteger(value, false)) return malformed(condition, text);
      sawAmount = true;
      if (context.amountSats === undefined) {
        return failure(
          'L402_AMOUNT_MISMATCH',
          'amount_missing_in_context',
          'Token states a price but the endpoint has none',
          text,
        );
      }
      if (Number(value) !== context.amountSats) {
        return failure(
          'L402_AMOUNT_MISMATCH',
          'amount_mismatch',
          `Token was paid at ${value} sats; this endpoint costs ${context.amountSats} sats`,
          text,
          { paidSats: Number(value), priceSats: context.amountSats },
        );
      }
    } else if (condition === CONDITION_MERCHANT) {
      if (value === '') return malformed(condition, text);
      sawMerchant = true;
      if (context.merchantId === undefined || context.merchantId === null) {
        return failure(
          'L402_MERCHANT_MISMATCH',
          'merchant_missing_in_context',
          'Token requires merchant context but none was provided',
          text,
        );
      }
      if (value !== context.merchantId) {
        return failure('L402_MERCHANT_MISMATCH', 'merchant_mismatch', 'Token not valid for this merchant', text);
      }
    } else {
      const satisfier = custom.get(condition);
      if (satisfier === undefined) {
        if (options.allowUnknownCaveats) continue;
        return failure('L402_INVALID_TOKEN', 'unknown_caveat', `Token has an unknown caveat '${condition}'`, text);
      }
      const code = satisfier.code ?? 'L402_INVALID_TOKEN';
      if (prev !== undefined && satisfier.satisfyPrevious !== undefined && !satisfier.satisfyPrevious(prev, caveat)) {
        return failure(code, 'widening', `Token's ${condition} caveat widens an earlier one`, text);
      }
      const verdict = satisfier.satisfy(caveat, context);
      if (verdict !== true) {
        const message =
          typeof verdict === 'string' && verdict !== '' ? verdict : `Token's ${condition} caveat refused the request`;
        return failure(code, 'refused', message, text);
      }
    }
    previous?.set(condition, caveat);
    parsed.push(caveat);
  }

  if (context.amountSats !== undefined && !sawAmount) {
    return failure(
      'L402_AMOUNT_MISMATCH',
      'amount_missing_in_token',
      'Token does not state the price it was paid at',
      undefined,
      {
        priceSats: context.amountSats,
      },
    );
  }
  if (context.merchantId !== undefined && context.merchantId !== null && !sawMerchant) {
    return failure('L402_MERCHANT_MISMATCH', 'merchant_missing_in_token', 'Token missing required merchant caveat');
  }
  const expiresAt = expiresAtSeconds === null ? null : new Date(expiresAtSeconds * 1000);
  // An expiry beyond what a Date can hold (year 275760) is no expiry in practice.
  return {
    ok: true,
    caveats: parsed,
    expiresAt: expiresAt === null || Number.isNaN(expiresAt.getTime()) ? null : expiresAt,
  };
}

function isoOr(date: Date, fallback: string): string {
  return Number.isNaN(date.getTime()) ? fallback : date.toISOString();
}
