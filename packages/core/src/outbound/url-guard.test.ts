import type { LookupAddress } from 'node:dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPayableError, type PayableError } from '../errors/index.js';
import { type LocalDns, startLocalDns } from './local-dns.test-helper.js';
import { UrlGuard } from './url-guard.js';

const PUBLIC_V4 = '93.184.216.34';
const PUBLIC_V6 = '2606:2800:220:1:248:1893:25c8:1946';

// Names the local DNS server knows. `flip.test` answers a public address once, then 127.0.0.1.
const ZONE: Record<string, string[]> = {
  'public.test': [PUBLIC_V4, PUBLIC_V6],
  'loopback.test': ['127.0.0.1'],
  'loopback6.test': [PUBLIC_V4, '::1'],
  'private.test': [PUBLIC_V4, '10.1.2.3'],
  'metadata.test': ['169.254.169.254'],
  // dns2 mis-encodes the dotted form, so the zone writes it in hex; resolvers print it dotted.
  'mapped.test': ['::ffff:c0a8:a'],
};

let dns: LocalDns;

beforeAll(async () => {
  dns = await startLocalDns((name, count) => {
    if (name === 'flip.test' || name === 'flip-lookup.test') return count === 0 ? [PUBLIC_V4] : ['127.0.0.1'];
    return ZONE[name] ?? null;
  });
});

afterAll(async () => {
  await dns.close();
});

async function refusal(promise: Promise<unknown>): Promise<PayableError> {
  try {
    await promise;
  } catch (error) {
    expect(isPayableError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'ENDPOINT_URL_FORBIDDEN', httpStatus: 400 });
    return error as PayableError;
  }
  throw new Error('expected the guard to refuse');
}

function lookup(
  guard: UrlGuard,
  hostname: string,
  options: { all?: boolean; family?: number } = {},
): Promise<{ address: string | LookupAddress[]; family?: number | undefined }> {
  return new Promise((resolve, reject) => {
    guard.lookup(hostname, options, (error, address, family) => {
      if (error) reject(error);
      else resolve({ address, family });
    });
  });
}

describe('UrlGuard – the SSRF table', () => {
  const guard = () => new UrlGuard({ requireHttps: false, dnsServers: dns.servers });

  it.each([
    ['http://127.0.0.1/hooks', '127.0.0.1', 'loopback'],
    ['http://127.8.9.10/', '127.8.9.10', 'loopback'],
    ['http://[::1]/', '::1', 'loopback'],
    ['http://10.0.0.1/', '10.0.0.1', 'private'],
    ['http://10.255.255.254/', '10.255.255.254', 'private'],
    ['http://172.16.0.1/', '172.16.0.1', 'private'],
    ['http://172.31.255.254/', '172.31.255.254', 'private'],
    ['http://192.168.0.1/', '192.168.0.1', 'private'],
    ['http://192.168.255.254/', '192.168.255.254', 'private'],
    ['http://169.254.169.254/latest/meta-data', '169.254.169.254', 'linkLocal'],
    ['http://169.254.0.1/', '169.254.0.1', 'linkLocal'],
    ['http://[fe80::1]/', 'fe80::1', 'linkLocal'],
    ['http://[fc00::1]/', 'fc00::1', 'uniqueLocal'],
    ['http://[fdff:ffff::1]/', 'fdff:ffff::1', 'uniqueLocal'],
    ['http://0.0.0.0/', '0.0.0.0', 'unspecified'],
    ['http://[::]/', '::', 'unspecified'],
    ['http://100.64.0.1/', '100.64.0.1', 'carrierGradeNat'],
    ['http://224.0.0.1/', '224.0.0.1', 'multicast'],
    ['http://255.255.255.255/', '255.255.255.255', 'broadcast'],
    ['http://240.0.0.1/', '240.0.0.1', 'reserved'],
    ['http://[ff02::1]/', 'ff02::1', 'multicast'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1', 'ipv4Mapped(loopback)'],
    ['http://[::ffff:10.0.0.1]/', '::ffff:a00:1', 'ipv4Mapped(private)'],
    ['http://[64:ff9b::a9fe:a9fe]/', '64:ff9b::a9fe:a9fe', 'rfc6052(linkLocal)'],
    ['http://[2002:c0a8:1::]/', '2002:c0a8:1::', '6to4(private)'],
    ['http://[::7f00:1]/', '::7f00:1', 'reserved'],
    // The URL parser normalizes odd IPv4 forms first: these are 127.0.0.1.
    ['http://2130706433/', '127.0.0.1', 'loopback'],
    ['http://0x7f.1/', '127.0.0.1', 'loopback'],
  ])('check – %s is refused (%s, %s)', async (url, address, range) => {
    const error = await refusal(guard().check(url));
    expect(error.context).toMatchObject({ reason: 'forbidden_address', address, range });
    expect(error.message).toContain(address);
  });

  it.each([
    'http://localhost/',
    'http://LOCALHOST:8080/',
    'http://localhost./',
    'http://api.localhost/',
    'http://a.b.localhost/',
    'http://localhost.localdomain/',
  ])('check – the local name in %s is refused without asking DNS', async (url) => {
    const before = dns.questions.length;
    const error = await refusal(guard().check(url));
    expect(error.context).toMatchObject({ reason: 'forbidden_hostname' });
    expect(dns.questions.length).toBe(before);
  });

  it.each([
    ['http://loopback.test/', '127.0.0.1'],
    ['http://loopback6.test/', '::1'],
    ['http://private.test/', '10.1.2.3'],
    ['https://metadata.test/', '169.254.169.254'],
    ['https://mapped.test/', '::ffff:192.168.0.10'],
  ])(
    'check – %s resolves to a forbidden address (%s) and is refused, even beside a public one',
    async (url, address) => {
      const error = await refusal(guard().check(url));
      expect(error.context).toMatchObject({ reason: 'forbidden_address', address, host: new URL(url).hostname });
      expect(error.message).toContain('resolves');
    },
  );

  it.each([
    `http://${PUBLIC_V4}/hooks`,
    'https://8.8.8.8/',
    'https://172.32.0.1/',
    'https://172.15.255.255/',
    'https://192.169.0.1/',
    'https://100.128.0.1/',
    'https://11.0.0.1/',
    `https://[${PUBLIC_V6}]/`,
    'https://[2606:4700:4700::1111]:8443/x?y=1',
    'https://[::ffff:8.8.8.8]/',
    'https://public.test/hooks',
    'https://PUBLIC.test./hooks',
  ])('check – %s is allowed', async (url) => {
    await expect(guard().check(url)).resolves.toBeUndefined();
  });
});

describe('UrlGuard – URL form', () => {
  it.each([
    ['ftp://example.com/', 'scheme_not_allowed'],
    ['file:///etc/passwd', 'scheme_not_allowed'],
    ['gopher://example.com:70/', 'scheme_not_allowed'],
    ['javascript:alert(1)', 'scheme_not_allowed'],
    ['not a url', 'invalid_url'],
    ['/relative/path', 'invalid_url'],
  ])('check – %s is refused (%s)', async (url, reason) => {
    const error = await refusal(new UrlGuard({ requireHttps: false }).check(url));
    expect(error.context).toMatchObject({ reason });
  });

  it('check – credentials in the URL are refused, and never echoed back', async () => {
    const error = await refusal(
      new UrlGuard({ requireHttps: false }).check('https://alice:s3cr3t@93.184.216.34/hooks'),
    );
    expect(error.context).toMatchObject({ reason: 'credentials_in_url', url: 'https://93.184.216.34/hooks' });
    expect(JSON.stringify(error.toJSON())).not.toContain('s3cr3t');
    const userOnly = await refusal(new UrlGuard({ requireHttps: false }).check('https://token@93.184.216.34/'));
    expect(userOnly.context).toMatchObject({ reason: 'credentials_in_url' });
  });

  it('check – requireHttps refuses http: and accepts https:', async () => {
    const guard = new UrlGuard({ requireHttps: true });
    const error = await refusal(guard.check(`http://${PUBLIC_V4}/`));
    expect(error.context).toMatchObject({ reason: 'https_required', url: `http://${PUBLIC_V4}/` });
    await expect(guard.check(`https://${PUBLIC_V4}/`)).resolves.toBeUndefined();
  });

  it('check – a name that does not resolve is refused as unresolvable', async () => {
    const guard = new UrlGuard({ requireHttps: false, dnsServers: dns.servers });
    const error = await refusal(guard.check('https://nowhere.test/'));
    expect(error.context).toMatchObject({ reason: 'unresolvable', host: 'nowhere.test' });
  });

  it('check – allowPrivateNetworks lets loopback, private and localhost through (still not bad schemes)', async () => {
    const guard = new UrlGuard({ allowPrivateNetworks: true, requireHttps: false, dnsServers: dns.servers });
    await expect(guard.check('http://127.0.0.1:3000/')).resolves.toBeUndefined();
    await expect(guard.check('http://[::1]/')).resolves.toBeUndefined();
    await expect(guard.check('http://10.0.0.1/')).resolves.toBeUndefined();
    await expect(guard.check('http://loopback.test/')).resolves.toBeUndefined();
    await expect(
      new UrlGuard({ allowPrivateNetworks: true, requireHttps: false }).check('http://localhost/'),
    ).resolves.toBeUndefined();
    expect((await refusal(guard.check('file:///etc/passwd'))).context).toMatchObject({ reason: 'scheme_not_allowed' });
  });
});

describe('UrlGuard – lookup (connect time)', () => {
  it('lookup – returns the checked addresses, in both callback shapes', async () => {
    const guard = new UrlGuard({ dnsServers: dns.servers });
    const all = await lookup(guard, 'public.test', { all: true });
    expect(all.address).toEqual(
      expect.arrayContaining([
        { address: PUBLIC_V4, family: 4 },
        { address: PUBLIC_V6, family: 6 },
      ]),
    );
    expect(await lookup(guard, 'public.test', { family: 4 })).toEqual({ address: PUBLIC_V4, family: 4 });
    expect(await lookup(guard, 'public.test', { family: 6 })).toEqual({ address: PUBLIC_V6, family: 6 });
  });

  it('lookup – refuses a name with any forbidden address, with an EndpointUrlForbiddenError', async () => {
    const guard = new UrlGuard({ dnsServers: dns.servers });
    const error = await refusal(lookup(guard, 'private.test', { all: true }));
    expect(error.context).toMatchObject({ reason: 'forbidden_address', address: '10.1.2.3' });
    // Asking for IPv4 only does not hide a forbidden IPv6 address of the name.
    expect((await refusal(lookup(guard, 'loopback6.test', { family: 4 }))).context).toMatchObject({ address: '::1' });
    expect((await refusal(lookup(guard, 'localhost', {}))).context).toMatchObject({ reason: 'forbidden_hostname' });
  });
});

describe('UrlGuard – DNS rebinding (a real local DNS server)', () => {
  it('check – a name that turns into 127.0.0.1 after a first check passed is refused the second time', async () => {
    const guard = new UrlGuard({ requireHttps: false, dnsServers: dns.servers });
    await expect(guard.check('https://flip.test/hooks')).resolves.toBeUndefined();
    const error = await refusal(guard.check('https://flip.test/hooks'));
    expect(error.context).toMatchObject({
      url: 'https://flip.test/hooks',
      reason: 'forbidden_address',
      address: '127.0.0.1',
    });
  });

  it('lookup – the connect-time lookup after a passing check resolves again and refuses the new address', async () => {
    const guard = new UrlGuard({ requireHttps: false, dnsServers: dns.servers });
    await expect(guard.check('https://flip-lookup.test/hooks')).resolves.toBeUndefined();
    const error = await refusal(lookup(guard, 'flip-lookup.test', { all: true }));
    expect(error.context).toMatchObject({ reason: 'forbidden_address', address: '127.0.0.1' });
    const questions = dns.questions.filter((q) => q.name === 'flip-lookup.test' && q.type === 'A');
    expect(questions).toHaveLength(2);
  });
});
