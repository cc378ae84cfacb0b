import { promises as dns, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { EndpointUrlForbiddenError } from '../errors/index.js';

/**
 * Options of {@link UrlGuard}.
 *
 * @example
 * ```ts
 * const options: UrlGuardOptions = { allowPrivateNetworks: false, requireHttps: true, dnsServers: ['10.0.0.2:53'] };
 * ```
 */
export interface UrlGuardOptions {
  /** Allow loopback, private, link-local… addresses and `localhost` names (development, tests). Default `false`. */
  allowPrivateNetworks?: boolean;
  /** Refuse `http:` URLs. Default: `process.env.NODE_ENV === 'production'`. */
  requireHttps?: boolean;
  /** DNS servers (`host` or `host:port`) to resolve names with instead of the system resolver. */
  dnsServers?: string[];
}

/**
 * Why a URL was refused (`EndpointUrlForbiddenError#context.reason`).
 *
 * @example
 * ```ts
 * if (e.context.reason === 'forbidden_address') logger.warn({ address: e.context.address }, 'endpoint refused');
 * ```
 */
export type UrlForbiddenReason =
  | 'invalid_url'
  | 'scheme_not_allowed'
  | 'credentials_in_url'
  | 'https_required'
  | 'forbidden_hostname'
  | 'forbidden_address'
  | 'unresolvable';

// Ranges (by ipaddr.js's names) that are fine to connect to. Everything else (loopback, private,
// linkLocal, uniqueLocal, carrierGradeNat, unspecified, multicast, broadcast, reserved, teredo…)
// is refused.
const ALLOWED_RANGE = 'unicast';
// IPv6 ranges that embed an IPv4 address: the embedded address decides.
const IPV4_IN_IPV6: Parameters<typeof ipaddr.subnetMatch>[1] = {
  // ::ffff:a.b.c.d (IPv4-mapped) and ::ffff:0:a.b.c.d (RFC 6145): the last 32 bits.
  last32: [
    ipaddr.parseCIDR('::ffff:0:0/96') as [ipaddr.IPv6, number],
    ipaddr.parseCIDR('::ffff:0:0:0/96') as [ipaddr.IPv6, number],
  ],
  // 64:ff9b::a.b.c.d (NAT64, RFC 6052): the last 32 bits.
  nat64: [ipaddr.parseCIDR('64:ff9b::/96') as [ipaddr.IPv6, number]],
  // 2002:AABB:CCDD::/48 (6to4): bits 16–48.
  sixToFour: [ipaddr.parseCIDR('2002::/16') as [ipaddr.IPv6, number]],
  // ::/8 holds the unspecified, loopback and deprecated IPv4-compatible (::a.b.c.d) addresses.
  ietfReserved: [ipaddr.parseCIDR('::/8') as [ipaddr.IPv6, number]],
};

function ipv4FromParts(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

/** The ipaddr.js range of an address, or `null` when it may be connected to. */
function forbiddenRange(address: ipaddr.IPv4 | ipaddr.IPv6): string | null {
  if (address.kind() === 'ipv4') {
    const range = (address as ipaddr.IPv4).range();
    return range === ALLOWED_RANGE ? null : range;
  }
  const v6 = address as ipaddr.IPv6;
  const parts = v6.parts;
  const embedding = ipaddr.subnetMatch(v6, IPV4_IN_IPV6, 'none');
  if (embedding === 'last32' || embedding === 'nat64') {
    const inner = forbiddenRange(ipv4FromParts(parts[6] ?? 0, parts[7] ?? 0));
    return inner === null ? null : `${v6.range()}(${inner})`;
  }
  if (embedding === 'sixToFour') {
    const inner = forbiddenRange(ipv4FromParts(parts[1] ?? 0, parts[2] ?? 0));
    return inner === null ? null : `6to4(${inner})`;
  }
  const range = v6.range();
  if (range !== ALLOWED_RANGE) return range;
  return embedding === 'ietfReserved' ? 'reserved' : null;
}

function isLocalhostName(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost') || host === 'localhost.localdomain';
}

function redact(url: string): string {
  return url.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^/?#]*@/, '$1');
}

function forbidden(
  message: string,
  context: { url: string; reason: UrlForbiddenReason; host?: string; address?: string; range?: string },
  cause?: unknown,
): InstanceType<typeof EndpointUrlForbiddenError> {
  return new EndpointUrlForbiddenError(message, cause === undefined ? { context } : { context, cause });
}

function isMissingName(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOTFOUND' || code === 'ENODATA' || code === 'ENONAME' || code === 'NXDOMAIN';
}

interface Resolved {
  address: string;
  family: 4 | 6;
}

/**
 * The SSRF guard of outbound webhooks. `check(url)` refuses URLs that are not `http(s)`, carry
 * credentials, are `http:` when HTTPS is required, name `localhost`, or point, directly or through
 * DNS, at a loopback, private, link-local, unique-local, CGNAT, unspecified, multicast, broadcast or
 * reserved address (IPv4-mapped and other IPv4-embedding IPv6 forms included) — a name is refused
 * when ANY of its addresses is. `lookup` is a `net.LookupFunction` for `http.request` that resolves
 * again at connect time and only hands over addresses that pass, so the address connected to is an
 * address checked (DNS rebinding is caught).
 *
 * Every refusal is an `EndpointUrlForbiddenError` (400 `ENDPOINT_URL_FORBIDDEN`) whose message says
 * why, with `context: { url (credentials removed), reason, host?, address?, range? }`.
 *
 * @example
 * ```ts
 * const guard = new UrlGuard({ requireHttps: true });
 * await guard.check('https://orders.example.com/hooks'); // throws ENDPOINT_URL_FORBIDDEN for http://10.0.0.5/
 * http.request(url, { method: 'POST', lookup: guard.lookup });
 * ```
 */
export class UrlGuard {
  readonly allowPrivateNetworks: boolean;
  readonly requireHttps: boolean;
  readonly #resolver: dns.Resolver | null;

  constructor(options: UrlGuardOptions = {}) {
    this.allowPrivateNetworks = options.allowPrivateNetworks ?? false;
    this.requireHttps = options.requireHttps ?? process.env.NODE_ENV === 'production';
    if (options.dnsServers !== undefined && options.dnsServers.length > 0) {
      this.#resolver = new dns.Resolver({ timeout: 3000, tries: 2 });
      this.#resolver.setServers(options.dnsServers);
    } else {
      this.#resolver = null;
    }
  }

  /**
   * Checks a URL: its form, then every address its host resolves to (or the IP literal itself).
   *
   * @throws EndpointUrlForbiddenError with `context.reason` (`invalid_url`, `scheme_not_allowed`,
   *   `credentials_in_url`, `https_required`, `forbidden_hostname`, `forbidden_address`, `unresolvable`).
   * @example
   * ```ts
   * await new UrlGuard().check('http://169.254.169.254/latest/meta-data'); // ENDPOINT_URL_FORBIDDEN
   * ```
   */
  async check(url: string): Promise<void> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (cause) {
      throw forbidden(
        'The endpoint URL is not a valid absolute URL.',
        { url: redact(url), reason: 'invalid_url' },
        cause,
      );
    }
    const username = parsed.username;
    const password = parsed.password;
    parsed.username = '';
    parsed.password = '';
    const shown = parsed.toString();
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw forbidden(`The endpoint URL scheme "${parsed.protocol}" is not allowed; use https:// (or http://).`, {
        url: shown,
        reason: 'scheme_not_allowed',
      });
    }
    if (username !== '' || password !== '') {
      throw forbidden('The endpoint URL must not carry credentials (user:password@).', {
        url: shown,
        reason: 'credentials_in_url',
      });
    }
    if (this.requireHttps && parsed.protocol !== 'https:') {
      throw forbidden('The endpoint URL must use https://.', { url: shown, reason: 'https_required' });
    }
    await this.#resolveAllowed(parsed.hostname, shown);
  }

  /**
   * A `net.LookupFunction` for `http.request` / `https.request`: resolves the name (with the
   * configured DNS servers when given), fails with an `EndpointUrlForbiddenError` when any address is
   * forbidden, and returns only checked addresses.
   *
   * @example
   * ```ts
   * https.request(url, { method: 'POST', lookup: guard.lookup, agent: false });
   * ```
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    const opts: LookupOptions = typeof options === 'object' && options !== null ? options : {};
    this.#resolveAllowed(hostname, hostname).then(
      (resolved) => {
        const family = opts.family === 'IPv4' ? 4 : opts.family === 'IPv6' ? 6 : opts.family;
        const usable = family === 4 || family === 6 ? resolved.filter((r) => r.family === family) : resolved;
        if (usable.length === 0) {
          const error: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
          error.code = 'ENOTFOUND';
          callback(error, opts.all ? [] : '', 0);
          return;
        }
        if (opts.all) callback(null, usable satisfies LookupAddress[]);
        else callback(null, usable[0]?.address ?? '', usable[0]?.family ?? 4);
      },
      (error: NodeJS.ErrnoException) => callback(error, opts.all ? [] : '', 0),
    );
  };

  async #resolveAllowed(rawHost: string, url: string): Promise<Resolved[]> {
    const host = rawHost
      .replace(/^\[(.*)\]$/, '$1')
      .toLowerCase()
      .replace(/\.+$/, '');
    if (host === '') throw forbidden('The endpoint URL has no host.', { url, reason: 'invalid_url' });
    if (isIP(host) !== 0) {
      const family = isIP(host) as 4 | 6;
      this.#assertAllowed(host, url, host);
      return [{ address: host, family }];
    }
    if (!this.allowPrivateNetworks && isLocalhostName(host)) {
      throw forbidden(`The endpoint host "${host}" is a local name.`, { url, reason: 'forbidden_hostname', host });
    }
    let resolved: Resolved[];
    try {
      resolved = await this.#resolve(host);
    } catch (cause) {
      if (isMissingName(cause)) {
        throw forbidden(`The endpoint host "${host}" does not resolve.`, { url, reason: 'unresolvable', host }, cause);
      }
      throw cause;
    }
    if (resolved.length === 0) {
      throw forbidden(`The endpoint host "${host}" does not resolve.`, { url, reason: 'unresolvable', host });
    }
    for (const entry of resolved) this.#assertAllowed(entry.address, url, host);
    return resolved;
  }

  #assertAllowed(address: string, url: string, host: string): void {
    if (this.allowPrivateNetworks) return;
    const range = forbiddenRange(ipaddr.parse(address));
    if (range === null) return;
    const via = host === address ? '' : ` (the host "${host}" resolves to it)`;
    throw forbidden(`The endpoint address ${address} is ${range}, not a public address${via}.`, {
      url,
      reason: 'forbidden_address',
      host,
      address,
      range,
    });
  }

  async #resolve(host: string): Promise<Resolved[]> {
    const resolver = this.#resolver;
    if (resolver === null) {
      const all = await dns.lookup(host, { all: true, verbatim: true });
      return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
    }
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
    const out: Resolved[] = [];
    const failures: unknown[] = [];
    if (v4.status === 'fulfilled') out.push(...v4.value.map((address) => ({ address, family: 4 as const })));
    else failures.push(v4.reason);
    if (v6.status === 'fulfilled') out.push(...v6.value.map((address) => ({ address, family: 6 as const })));
    else failures.push(v6.reason);
    // A real failure (timeout, SERVFAIL) of either family fails the lookup: an answer we could not
    // see might be a forbidden one. "No such record" of one family is fine.
    const hard = failures.find((f) => !isMissingName(f));
    if (hard !== undefined) throw hard;
    if (out.length === 0 && failures.length > 0) throw failures[0];
    return out;
  }
}
