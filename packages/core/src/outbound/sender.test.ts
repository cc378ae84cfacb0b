import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDns, startLocalDns } from './local-dns.test-helper.js';
import { sendWebhook } from './sender.js';
import { generateWebhookSecret, signWebhook, verifyWebhook } from './signing.js';
import { UrlGuard } from './url-guard.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

interface TestServer {
  url: string;
  port: number;
  received: Received[];
  /** Resolves when the server saw the client's connection close. */
  closed: Promise<void>;
}

let server: Server | null = null;

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const received: Received[] = [];
  let onClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    onClosed = resolve;
  });
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      handler(req, res);
    });
    res.on('close', onClosed);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/payable`, port, received, closed };
}

afterEach(async () => {
  const s = server;
  server = null;
  if (s) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

const devGuard = new UrlGuard({ allowPrivateNetworks: true, requireHttps: false });
const BODY = JSON.stringify({
  id: 'evt_1',
  type: 'payment.succeeded',
  createdAt: '2026-01-01T00:00:00.000Z',
  tenantId: null,
  data: {},
});

function send(url: string, overrides: Partial<Parameters<typeof sendWebhook>[0]> = {}) {
  return sendWebhook({
    url,
    headers: { 'webhook-id': 'evt_1' },
    body: BODY,
    guard: devGuard,
    timeoutMs: 5000,
    maxResponseBytes: 4096,
    ...overrides,
  });
}

describe('sendWebhook', () => {
  it('sendWebhook – a 2xx is ok; POST, application/json, the signed headers and the exact body arrive', async () => {
    const target = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('thanks');
    });
    const secret = generateWebhookSecret();
    const headers = signWebhook({
      scheme: 'standard-webhooks',
      id: 'evt_1',
      timestamp: Math.floor(Date.now() / 1000),
      body: BODY,
      secrets: [secret],
    });
    const result = await send(target.url, { headers });
    expect(result).toMatchObject({
      ok: true,
      status: 200,
      body: 'thanks',
      error: null,
      errorKind: null,
      retryAfterMs: null,
    });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(target.received).toHaveLength(1);
    const [request] = target.received;
    expect(request).toMatchObject({ method: 'POST', url: '/hooks/payable', body: BODY });
    expect(request?.headers).toMatchObject({
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(BODY)),
      'user-agent': 'Payable-Webhooks/1',
      'webhook-id': 'evt_1',
    });
    expect(verifyWebhook({ payload: request?.body ?? '', headers: request?.headers ?? {}, secret })).toEqual(
      JSON.parse(BODY),
    );
  });

  it('sendWebhook – userAgent option and 204 without body', async () => {
    const target = await serve((_req, res) => {
      res.writeHead(204).end();
    });
    const result = await send(target.url, { userAgent: 'Shop/2' });
    expect(result).toMatchObject({ ok: true, status: 204, body: '', errorKind: null });
    expect(target.received[0]?.headers['user-agent']).toBe('Shop/2');
  });

  it('sendWebhook – a 500 is a failure with its body capped at maxResponseBytes', async () => {
    const target = await serve((_req, res) => {
      res.writeHead(500).end(`${'boom '.repeat(2000)}`);
    });
    const result = await send(target.url, { maxResponseBytes: 100 });
    expect(result).toMatchObject({ ok: false, status: 500, error: null, errorKind: null });
    expect(result.body).toBe('boom '.repeat(20));
  });

  it('sendWebhook – the cap never splits a UTF-8 character', async () => {
    const target = await serve((_req, res) => {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('é'.repeat(100));
    });
    const result = await send(target.url, { maxResponseBytes: 5 });
    expect(result.body).toBe('éé');
  });

  it('sendWebhook – Retry-After in seconds', async () => {
    const target = await serve((_req, res) => {
      res.writeHead(429, { 'retry-after': '120' }).end();
    });
    const result = await send(target.url);
    expect(result).toMatchObject({ ok: false, status: 429, retryAfterMs: 120_000 });
  });

  it('sendWebhook – Retry-After as an HTTP date', async () => {
    const now = new Date('2026-03-01T12:00:00.000Z');
    const target = await serve((_req, res) => {
      res.writeHead(503, { 'retry-after': 'Sun, 01 Mar 2026 12:01:30 GMT' }).end();
    });
    const result = await send(target.url, { now: () => now });
    expect(result).toMatchObject({ ok: false, status: 503, retryAfterMs: 90_000 });
  });

  it('sendWebhook – an unreadable or past Retry-After gives null or 0', async () => {
    const target = await serve((req, res) => {
      res
        .writeHead(503, { 'retry-after': req.headers['x-case'] === 'past' ? 'Thu, 01 Jan 2015 00:00:00 GMT' : 'soon' })
        .end();
    });
    expect((await send(target.url, { headers: { 'x-case': 'garbage' } })).retryAfterMs).toBeNull();
    expect((await send(target.url, { headers: { 'x-case': 'past' } })).retryAfterMs).toBe(0);
  });

  it('sendWebhook – a 301 is not followed: a redirect failure with its status', async () => {
    const target = await serve((req, res) => {
      if (req.url === '/hooks/payable') res.writeHead(301, { location: '/elsewhere' }).end();
      else res.writeHead(200).end('followed');
    });
    const result = await send(target.url);
    expect(result).toMatchObject({ ok: false, status: 301, errorKind: 'redirect' });
    expect(result.error).toContain('/elsewhere');
    expect(target.received.map((r) => r.url)).toEqual(['/hooks/payable']);
  });

  it('sendWebhook – a server that never answers is a timeout', async () => {
    const target = await serve(() => {
      // never answers
    });
    const result = await send(target.url, { timeoutMs: 200 });
    expect(result).toMatchObject({ ok: false, status: null, body: null, errorKind: 'timeout' });
    expect(result.error).toContain('200 ms');
  });

  it('sendWebhook – a refused connection is a connection failure', async () => {
    const target = await serve(() => {});
    const url = target.url;
    const s = server;
    server = null;
    await new Promise<void>((resolve) => s?.close(() => resolve()));
    const result = await send(url);
    expect(result).toMatchObject({ ok: false, status: null, body: null, errorKind: 'connection' });
    expect(result.error).toContain('ECONNREFUSED');
  });

  it('sendWebhook – an endless body is cut at the cap and the connection closed', async () => {
    let timer: NodeJS.Timeout | undefined;
    const target = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = 'a'.repeat(1024);
      const pump = (): void => {
        while (res.write(chunk)) {
          /* fill the buffer */
        }
        timer = setTimeout(pump, 5);
      };
      res.on('close', () => clearTimeout(timer));
      pump();
    });
    const result = await send(target.url, { maxResponseBytes: 3000, timeoutMs: 15_000 });
    expect(result).toMatchObject({ ok: true, status: 200, error: null, errorKind: null });
    expect(result.body).toBe('a'.repeat(3000));
    await target.closed;
    clearTimeout(timer);
  });

  it('sendWebhook – headers then silence: the answer stands with the body read so far', async () => {
    const target = await serve((_req, res) => {
      res.writeHead(202, { 'content-type': 'text/plain' });
      res.write('accepted, still thinking');
    });
    const result = await send(target.url, { timeoutMs: 300 });
    expect(result).toMatchObject({ ok: true, status: 202, body: 'accepted, still thinking', errorKind: null });
  });

  it('sendWebhook – with allowPrivateNetworks false, 127.0.0.1 is forbidden and no request reaches it', async () => {
    const target = await serve((_req, res) => {
      res.writeHead(200).end();
    });
    const result = await send(target.url, { guard: new UrlGuard({ requireHttps: false }) });
    expect(result).toMatchObject({ ok: false, status: null, body: null, errorKind: 'forbidden' });
    expect(result.error).toContain('127.0.0.1');
    expect(target.received).toHaveLength(0);
  });

  it('sendWebhook – never throws: an invalid URL or an http: URL under requireHttps is a forbidden result', async () => {
    await expect(send('not a url')).resolves.toMatchObject({ ok: false, errorKind: 'forbidden' });
    const strict = new UrlGuard({ allowPrivateNetworks: true, requireHttps: true });
    await expect(send('http://127.0.0.1:9/', { guard: strict })).resolves.toMatchObject({ errorKind: 'forbidden' });
  });
});

describe('sendWebhook – DNS at send time (a real local DNS server)', () => {
  let dns: LocalDns;

  beforeAll(async () => {
    dns = await startLocalDns((name, count) => {
      // The first A answer (what check() sees) is public; the connect-time one is 127.0.0.1.
      if (name === 'rebind.test') return count === 0 ? ['93.184.216.34'] : ['127.0.0.1'];
      if (name === 'local.test') return ['127.0.0.1'];
      return null;
    });
  });

  afterAll(async () => {
    await dns.close();
  });

  it('sendWebhook – a name rebound to 127.0.0.1 between check and connect is refused at connect time', async () => {
    const target = await serve((_req, res) => {
      res.writeHead(200).end();
    });
    const guard = new UrlGuard({ requireHttps: false, dnsServers: dns.servers });
    const result = await send(`http://rebind.test:${target.port}/hooks`, { guard });
    expect(result).toMatchObject({ ok: false, status: null, errorKind: 'forbidden' });
    expect(result.error).toContain('127.0.0.1');
    expect(dns.questions.filter((q) => q.name === 'rebind.test' && q.type === 'A')).toHaveLength(2);
    expect(target.received).toHaveLength(0);
  });

  it('sendWebhook – connects to the address the guard resolved (with allowPrivateNetworks)', async () => {
    const target = await serve((_req, res) => {
      res.writeHead(200).end('via dns');
    });
    const guard = new UrlGuard({ allowPrivateNetworks: true, requireHttps: false, dnsServers: dns.servers });
    const result = await send(`http://local.test:${target.port}/hooks`, { guard });
    expect(result).toMatchObject({ ok: true, status: 200, body: 'via dns' });
    expect(target.received[0]?.headers.host).toBe(`local.test:${target.port}`);
  });

  it('sendWebhook – a name that does not resolve is a (retryable) connection failure', async () => {
    const guard = new UrlGuard({ requireHttps: false, dnsServers: dns.servers });
    const result = await send('http://missing.test/hooks', { guard });
    expect(result).toMatchObject({ ok: false, status: null, errorKind: 'connection' });
  });
});
