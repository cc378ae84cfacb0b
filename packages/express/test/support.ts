import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPayable, type HttpRequest, MemoryStorageDriver, type Payable, SyncQueueDriver } from '@payable/core';
import type { HttpConformanceServer } from '@payable/testing';
import { FakeProvider } from '@payable/testing';

/** Anything with Express's `app.listen(port, host, cb)` (an Express 4 or 5 app). */
export interface Listenable {
  listen(port: number, host: string, callback: () => void): Server;
}

/** Starts `app` on an ephemeral port of 127.0.0.1. */
export async function listen(app: Listenable): Promise<HttpConformanceServer> {
  let server: Server | undefined;
  await new Promise<void>((resolve) => {
    server = app.listen(0, '127.0.0.1', resolve);
  });
  const started = server as Server;
  const { port } = started.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        started.closeAllConnections();
        started.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

export const TOKEN = 'adapter-test-token';

/** A payable on the FakeProvider, memory storage and the inline queue, plus what `authorize` saw. */
export interface TestPayable {
  payable: Payable;
  fake: FakeProvider;
  authorized: HttpRequest[];
  authorize(req: HttpRequest): boolean;
}

export function testPayable(): TestPayable {
  const fake = new FakeProvider();
  const payable = createPayable({
    providers: { fake },
    storage: new MemoryStorageDriver(),
    queue: new SyncQueueDriver(),
  });
  const authorized: HttpRequest[] = [];
  return {
    payable,
    fake,
    authorized,
    authorize(req) {
      authorized.push(req);
      return req.headers.authorization === `Bearer ${TOKEN}`;
    },
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

export async function request(url: string, init: RequestInit = {}): Promise<Reply> {
  const res = await fetch(url, init);
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      json = parsed as Record<string, unknown>;
  } catch {
    // Not JSON: assertions on `json` fail with `text` in view.
  }
  return { status: res.status, headers: res.headers, text, json };
}

export const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
