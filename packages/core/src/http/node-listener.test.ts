import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNodeListener, type HttpHandler, type HttpRequest } from '@payable/core';
import { afterEach, describe, expect, it } from 'vitest';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** Serves `handler` through createNodeListener; returns the base URL and the requests it received. */
async function serve(
  handler: HttpHandler,
  bodyLimit?: number,
): Promise<{ url: string; port: number; received: HttpRequest[] }> {
  const received: HttpRequest[] = [];
  const recording: HttpHandler = async (req) => {
    received.push(req);
    return handler(req);
  };
  const server = createServer(createNodeListener(recording, bodyLimit === undefined ? {} : { bodyLimit }));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, port, received };
}

const echo: HttpHandler = async (req) => ({
  status: 200,
  headers: { 'content-type': 'application/json; charset=utf-8', 'x-echo': 'yes' },
  body: JSON.stringify({ ok: true, method: req.method }),
});

describe('createNodeListener', () => {
  it('hands the handler the method, the path without query, lowercased headers, the query and the raw bytes', async () => {
    const { url, received } = await serve(echo);
    const bytes = Buffer.from('{"note":"Grüße ⚡"}\n  ', 'utf8');
    const res = await fetch(`${url}/payable/payments/pay%2F1?x=1&x=2&y=3&empty=`, {
      method: 'POST',
      headers: { 'X-Mixed-Case': 'Value', 'content-type': 'application/json' },
      body: bytes,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-echo')).toBe('yes');
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(await res.text())));
    const req = received[0] as HttpRequest;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/payable/payments/pay%2F1');
    expect(req.query).toEqual({ x: ['1', '2'], y: '3', empty: '' });
    expect(req.headers['x-mixed-case']).toBe('Value');
    for (const name of Object.keys(req.headers)) expect(name).toBe(name.toLowerCase());
    expect(Buffer.isBuffer(req.rawBody)).toBe(true);
    expect((req.rawBody as Buffer).equals(bytes)).toBe(true);
    expect(req.ip).toBe('127.0.0.1');
  });

  it('a request without a body gets rawBody undefined', async () => {
    const { url, received } = await serve(echo);
    await fetch(`${url}/health`);
    expect(received[0]?.rawBody).toBeUndefined();
  });

  it('a declared Content-Length over bodyLimit answers 413 PAYLOAD_TOO_LARGE without calling the handler', async () => {
    const { url, received } = await serve(echo, 100);
    const res = await fetch(`${url}/payments`, { method: 'POST', body: 'x'.repeat(101) });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: 'PAYLOAD_TOO_LARGE', context: { limit: 100 } });
    expect(received).toEqual([]);
    const fits = await fetch(`${url}/payments`, { method: 'POST', body: 'x'.repeat(100) });
    expect(fits.status).toBe(200);
  });

  it('a streamed body answers 413 as soon as it passes bodyLimit, before the client finishes sending', async () => {
    const { port, received } = await serve(echo, 1024);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/webhooks/fake',
          headers: { 'transfer-encoding': 'chunked' },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.write(Buffer.alloc(600, 'a'));
      req.write(Buffer.alloc(600, 'b'));
      // The request is never ended: only an early answer resolves this promise.
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'PAYLOAD_TOO_LARGE', context: { limit: 1024 } });
    expect(received).toEqual([]);
  });

  it('a handler that rejects answers 500 INTERNAL_ERROR', async () => {
    const { url } = await serve(async () => {
      throw new Error('secret detail');
    });
    const res = await fetch(`${url}/health`);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: 'INTERNAL_ERROR', message: 'Internal error', context: {} });
    expect(text).not.toContain('secret');
  });
});
