import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  bodyTooLargeError,
  errorResponse,
  type RequestBodyResult,
  readRequestBody,
  writeNodeResponse,
} from '@payable/core';
import { afterEach, describe, expect, it } from 'vitest';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** Values in arrival order; `next()` waits for the next one. */
function queue<T>(): { push(value: T): void; next(): Promise<T> } {
  const values: T[] = [];
  const waiting: Array<(value: T) => void> = [];
  return {
    push(value) {
      const waiter = waiting.shift();
      if (waiter === undefined) values.push(value);
      else waiter(value);
    },
    next() {
      return values.length > 0 ? Promise.resolve(values.shift() as T) : new Promise((resolve) => waiting.push(resolve));
    },
  };
}

/**
 * A server reading every request with `readRequestBody(req, limit)`: a body over the limit is
 * answered 413 as the adapters answer it, a body with 200 and its length. `arrivals` yields when a
 * request's headers arrived, `reads` what each read gave.
 */
async function serve(limit: number) {
  const arrivals = queue<void>();
  const reads = queue<RequestBodyResult>();
  const server = createServer((req, res) => {
    arrivals.push();
    void readRequestBody(req, limit).then((read) => {
      reads.push(read);
      if (read.kind === 'too-large') {
        writeNodeResponse(res, errorResponse(bodyTooLargeError(limit, read.size)), { close: true });
      } else if (read.kind === 'body') {
        writeNodeResponse(res, { status: 200, headers: {}, body: String(read.body?.byteLength ?? 0) });
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, arrivals, reads };
}

interface Answer {
  status: number;
  json: unknown;
}

/** A POST whose headers are sent at once and whose body is written chunk by chunk, ended only on demand. */
function startPost(url: string, headers: Record<string, string>) {
  const req = httpRequest(url, { method: 'POST', headers });
  const answer = new Promise<Answer>((resolve) => {
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as unknown });
      });
    });
  });
  // The server may close the connection after its answer while we still write: not a failure.
  req.on('error', () => {});
  req.flushHeaders();
  return {
    answer,
    write: (chunk: string | Buffer) => req.write(chunk),
    end: () => req.end(),
    destroy: () => req.destroy(),
  };
}

describe('readRequestBody', () => {
  it('gives the exact bytes of a body however it is chunked', async () => {
    const { url, reads } = await serve(1024);
    const bytes = Buffer.from('{"note":"Grüße ⚡"}\n', 'utf8');
    const post = startPost(url, { 'transfer-encoding': 'chunked' });
    // Cut inside the two-byte ü and the three-byte ⚡.
    post.write(bytes.subarray(0, 12));
    post.write(bytes.subarray(12, 18));
    post.write(bytes.subarray(18));
    post.end();
    expect(await post.answer).toEqual({ status: 200, json: bytes.length });
    const read = await reads.next();
    expect(read.kind).toBe('body');
    expect(read.kind === 'body' && read.body?.equals(bytes)).toBe(true);
  });

  it('an empty body is undefined', async () => {
    const { url, reads } = await serve(1024);
    const res = await fetch(url, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await reads.next()).toEqual({ kind: 'body', body: undefined });
  });

  it('a body of exactly the limit is read; one byte more is too large', async () => {
    const { url, reads } = await serve(8);
    expect((await fetch(url, { method: 'POST', body: '12345678' })).status).toBe(200);
    expect(await reads.next()).toEqual({ kind: 'body', body: Buffer.from('12345678') });
    expect((await fetch(url, { method: 'POST', body: '123456789' })).status).toBe(413);
    expect(await reads.next()).toEqual({ kind: 'too-large', size: 9 });
  });

  it('refuses a declared Content-Length over the limit before any byte of the body arrives', async () => {
    const { url, reads } = await serve(100);
    const post = startPost(url, { 'content-length': '5000' });
    const answer = await post.answer;
    post.destroy();
    expect(answer.status).toBe(413);
    expect(answer.json).toMatchObject({ error: 'PAYLOAD_TOO_LARGE', context: { limit: 100, size: 5000 } });
    expect(await reads.next()).toEqual({ kind: 'too-large', size: 5000 });
  });

  it('refuses a streamed body as soon as it passes the limit, while the client is still sending', async () => {
    const { url, reads } = await serve(100);
    const post = startPost(url, { 'transfer-encoding': 'chunked' });
    for (let i = 0; i < 3; i++) post.write('x'.repeat(60));
    const answer = await post.answer; // the body was never ended
    post.destroy();
    expect(answer.status).toBe(413);
    const read = await reads.next();
    expect(read.kind).toBe('too-large');
    const size = read.kind === 'too-large' ? read.size : 0;
    expect(size).toBeGreaterThan(100);
    expect(size).toBeLessThanOrEqual(180);
    expect(answer.json).toMatchObject({ error: 'PAYLOAD_TOO_LARGE', context: { limit: 100, size } });
  });

  it('a client that goes away mid-body gives aborted', async () => {
    const { url, arrivals, reads } = await serve(1024);
    const post = startPost(url, { 'content-length': '100' });
    post.write('only ten b');
    await arrivals.next();
    post.destroy();
    expect(await reads.next()).toEqual({ kind: 'aborted' });
  });
});
