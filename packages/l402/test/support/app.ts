import { request } from 'node:http';
import { createPayable, MemoryStorageDriver, type Payable, type StorageDriver } from '@payable/core';
import { FakeProvider, LndSimulator, TestClock } from '@payable/testing';
import type { L402ChallengeBody } from '../../src/index.js';
import { type ExpressApp, lightningKit } from './deps.js';

/** A payable on a Lightning `FakeProvider` (memory storage unless given) and a test clock. */
export async function fakeLightningPayable(options: { clock?: TestClock; storage?: StorageDriver } = {}) {
  const { encodeInvoice } = await lightningKit();
  const clock = options.clock ?? new TestClock(new Date());
  const fake = new FakeProvider({ capabilities: ['charges', 'webhooks', 'lightning'], encodeInvoice, clock });
  const storage = options.storage ?? new MemoryStorageDriver();
  const payable: Payable = createPayable({
    providers: { fake },
    storage,
    clock,
    webhooks: { sweepIntervalMs: 0 },
  });
  return { fake, payable, storage, clock };
}

/** A payable on an `LndProvider` talking to a started `LndSimulator`. */
export async function lndPayable(options: { clock?: TestClock } = {}) {
  const { encodeInvoice, LndProvider } = await lightningKit();
  const clock = options.clock ?? new TestClock(new Date());
  const sim = new LndSimulator({ encodeInvoice, clock });
  const url = await sim.start();
  const lnd = new LndProvider({ url, macaroon: sim.macaroon, clock });
  const storage = new MemoryStorageDriver();
  const payable: Payable = createPayable({ providers: { lnd }, storage, clock, webhooks: { sweepIntervalMs: 0 } });
  return { sim, lnd, payable, storage, clock };
}

/** Listen on an ephemeral port of 127.0.0.1; the base URL and a close that ends open connections. */
export async function listen(app: ExpressApp): Promise<{ url: string; close(): Promise<void> }> {
  let ready: () => void = () => undefined;
  const listening = new Promise<void>((resolve) => {
    ready = resolve;
  });
  const server = app.listen(0, '127.0.0.1', () => ready());
  await listening;
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** A response and its parsed JSON body. */
export interface JsonResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

/** `fetch` and parse the JSON body (`{}` for an empty one). */
export async function getJson<T = Record<string, unknown>>(
  url: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<JsonResponse<T>> {
  const res = await fetch(url, { method, headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text === '' ? {} : JSON.parse(text)) as T };
}

/** The `Authorization` value for a challenge's token and a preimage. */
export function authorization(challenge: L402ChallengeBody, preimage: string, scheme = 'L402'): string {
  return `${scheme} ${challenge.l402.macaroon}:${preimage}`;
}

/** Every value of one response header, as separate lines on the wire (fetch would join them). */
export function rawHeaderValues(url: string, name: string, headers: Record<string, string> = {}): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const values: string[] = [];
      for (let i = 0; i < res.rawHeaders.length; i += 2) {
        if (res.rawHeaders[i]?.toLowerCase() === name) values.push(res.rawHeaders[i + 1] as string);
      }
      res.resume();
      res.on('end', () => resolve(values));
    });
    req.on('error', reject);
    req.end();
  });
}
