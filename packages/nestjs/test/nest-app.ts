import type { AddressInfo } from 'node:net';
import type { INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';

/** The Nest HTTP platforms the tests run on. */
export const PLATFORMS = ['express', 'fastify'] as const;
export type Platform = (typeof PLATFORMS)[number];

export interface StartedApp {
  app: INestApplication;
  url: string;
  close(): Promise<void>;
}

/** Create a Nest app of `module` on a platform and listen on an ephemeral port. */
export async function startNestApp(
  platform: Platform,
  module: Type<unknown>,
  options: { rawBody?: boolean } = {},
): Promise<StartedApp> {
  const adapter = platform === 'express' ? new ExpressAdapter() : new FastifyAdapter();
  const app = await NestFactory.create(module, adapter, {
    rawBody: options.rawBody ?? true,
    logger: false,
    forceCloseConnections: true,
    // Throw bootstrap errors instead of exiting the process.
    abortOnError: false,
  });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}
