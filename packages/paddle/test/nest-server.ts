import { createRequire } from 'node:module';
import type { HttpHandlerOptions, Payable } from '@payable/core';
import { PayableModule } from '@payable/nestjs';

/**
 * Starts a NestJS app (Express platform) serving Payable through `PayableModule.forRoot`, for the
 * end-to-end tests. `@nestjs/*` are dependencies of `@payable/nestjs`, not of this package: they
 * are loaded from the nestjs package, the very copy `PayableModule` uses (two copies of
 * `@nestjs/core` would not share their metadata).
 */
const fromNestPackage = createRequire(new URL('../../nestjs/package.json', import.meta.url));
fromNestPackage('reflect-metadata');

interface NestApp {
  listen(port: number, host: string): Promise<unknown>;
  getUrl(): Promise<string>;
  close(): Promise<void>;
}

const { NestFactory } = fromNestPackage('@nestjs/core') as {
  NestFactory: { create(module: unknown, adapter: unknown, options: Record<string, unknown>): Promise<NestApp> };
};
const { ExpressAdapter } = fromNestPackage('@nestjs/platform-express') as { ExpressAdapter: new () => unknown };

/** A Nest app with `PayableModule.forRoot({ payable, ...options, prefix: '/payable' })`, listening. */
export async function startNestServer(
  payable: Payable,
  options: HttpHandlerOptions,
): Promise<{ url: string; close(): Promise<void> }> {
  const app = await NestFactory.create(
    PayableModule.forRoot({ payable, ...options, prefix: '/payable' }),
    new ExpressAdapter(),
    { rawBody: true, logger: false },
  );
  await app.listen(0, '127.0.0.1');
  const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { url: `${base}/payable`, close: () => app.close() };
}
