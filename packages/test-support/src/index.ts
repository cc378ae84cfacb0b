import 'reflect-metadata';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { HttpHandlerOptions, Payable } from '@payable/core';
import { payableRouter } from '@payable/express';
import { payablePlugin } from '@payable/fastify';
import { PayableModule } from '@payable/nestjs';
import express from 'express';
import Fastify from 'fastify';

/**
 * Every HTTP adapter a payable can be served on: the Express router, the Fastify plugin, and the
 * Nest module on Nest's Express and Fastify platforms.
 *
 * @example
 * ```ts
 * describe.each(ADAPTERS)('end to end on %s', (adapter) => {
 *   // server = await startAdapterServer(adapter, payable, { prefix: '/payable' });
 * });
 * ```
 */
export const ADAPTERS = ['express', 'fastify', 'nest-express', 'nest-fastify'] as const;

/**
 * One of {@link ADAPTERS}.
 *
 * @example
 * ```ts
 * const adapter: AdapterName = 'nest-fastify';
 * ```
 */
export type AdapterName = (typeof ADAPTERS)[number];

/**
 * A server {@link startAdapterServer} started, listening on an ephemeral port of 127.0.0.1.
 *
 * @example
 * ```ts
 * const res = await fetch(`${server.url}/health`); // `url`: where the Payable routes are, no trailing slash
 * await server.close();
 * ```
 */
export interface AdapterServer {
  /** Base URL of the Payable routes (the `prefix` included), without a trailing slash. */
  url: string;
  /** Stops the server, closing open connections. Does not close the payable. */
  close(): Promise<void>;
}

/**
 * Start an app on one of the {@link ADAPTERS} serving `payable`, the way the adapter's README
 * mounts it, and listen on an ephemeral port of 127.0.0.1. `options` are the adapter's
 * (the core handler's) options; `prefix` is where the routes are mounted:
 *
 * - `express`: `app.use(prefix, payableRouter(payable, options))`, then the app's own
 *   `express.json()` after it (Payable reads its own raw bodies);
 * - `fastify`: `app.register(payablePlugin, { payable, ...options })` (`prefix` is the register prefix);
 * - `nest-express` / `nest-fastify`: an app module importing `PayableModule.forRoot({ payable, ...options })`,
 *   created with `rawBody: true`.
 *
 * @example
 * ```ts
 * const server = await startAdapterServer('fastify', payable, { prefix: '/payable', authorize });
 * await fetch(`${server.url}/webhooks/stripe`, { method: 'POST', headers, body });
 * await server.close();
 * ```
 */
export async function startAdapterServer(
  adapter: AdapterName,
  payable: Payable,
  options: HttpHandlerOptions = {},
): Promise<AdapterServer> {
  const prefix = normalizePrefix(options.prefix);
  switch (adapter) {
    case 'express':
      return startExpress(payable, options, prefix);
    case 'fastify':
      return startFastify(payable, options, prefix);
    case 'nest-express':
    case 'nest-fastify':
      return startNest(adapter, payable, options, prefix);
  }
}

/** `payable/` → `/payable`; none → `''`. */
function normalizePrefix(prefix: string | undefined): string {
  const segments = (prefix ?? '').split('/').filter((s) => s.length > 0);
  return segments.length === 0 ? '' : `/${segments.join('/')}`;
}

async function startExpress(payable: Payable, options: HttpHandlerOptions, prefix: string): Promise<AdapterServer> {
  const { prefix: _mountedBelow, ...routerOptions } = options;
  const app = express();
  app.use(prefix === '' ? '/' : prefix, payableRouter(payable, routerOptions));
  app.use(express.json());
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function startFastify(payable: Payable, options: HttpHandlerOptions, prefix: string): Promise<AdapterServer> {
  const app = Fastify();
  await app.register(payablePlugin, { payable, ...options, prefix });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: `${base}${prefix}`, close: () => app.close() };
}

async function startNest(
  adapter: 'nest-express' | 'nest-fastify',
  payable: Payable,
  options: HttpHandlerOptions,
  prefix: string,
): Promise<AdapterServer> {
  // A fresh app module per server, importing Payable's as an app does.
  class AppModule {}
  Module({ imports: [PayableModule.forRoot({ payable, ...options, prefix })] })(AppModule);
  const platform = adapter === 'nest-express' ? new ExpressAdapter() : new FastifyAdapter();
  const app = await NestFactory.create(AppModule, platform, {
    rawBody: true,
    logger: false,
    forceCloseConnections: true,
    // Throw bootstrap errors instead of exiting the process.
    abortOnError: false,
  });
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer() as { address(): AddressInfo }).address();
  return { url: `http://127.0.0.1:${port}${prefix}`, close: () => app.close() };
}
