import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createNodeListener,
  createPayable,
  MemoryStorageDriver,
  type Payable,
  type PaymentProvider,
} from '@payable/core';

/** A Payable app on a real HTTP server: MemoryStorageDriver, the inline queue, all routes. */
export interface PayableApp<P extends Record<string, PaymentProvider>> {
  payable: Payable<P>;
  /** Base URL of the routes, without a trailing slash. */
  url: string;
  token: string;
  close(): Promise<void>;
}

/**
 * Starts `createPayable({ providers, storage: MemoryStorageDriver })` behind `createNodeListener`.
 * `providers` may be a function of the app's base URL (for a provider that needs its webhook URL).
 */
export async function startPayableApp<P extends Record<string, PaymentProvider>>(
  providers: P | ((url: string) => P),
): Promise<PayableApp<P>> {
  const token = 'lightning-e2e-token';
  let listener: ReturnType<typeof createNodeListener> | null = null;
  const server = createServer((req, res) => {
    if (listener) listener(req, res);
    else res.writeHead(503).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const payable = createPayable({
    providers: typeof providers === 'function' ? providers(url) : providers,
    storage: new MemoryStorageDriver(),
  });
  listener = createNodeListener(payable, { authorize: (req) => req.headers.authorization === `Bearer ${token}` });
  return {
    payable,
    url,
    token,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await payable.close();
    },
  };
}

/** A URL nothing listens on (a port opened and closed again). */
export async function refusedUrl(): Promise<string> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** A `fetch` that never answers (until the request's own timeout aborts it). */
export function hangingFetch(input: string, init: RequestInit): Promise<Response> {
  void input;
  return new Promise((_resolve, reject) => {
    init.signal?.addEventListener('abort', () => reject(init.signal?.reason));
  });
}
