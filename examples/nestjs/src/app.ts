import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app-module.js';
import { type ExampleConfig, resolveConfig } from './config.js';

/**
 * The built example: the Nest app (not listening yet) and `close()` (stops Payable, closes SQLite).
 *
 * @example
 * ```ts
 * const { app } = await createApp();
 * await app.listen(3000);
 * ```
 */
export interface ExampleApp {
  app: INestApplication;
  config: ExampleConfig;
  close(): Promise<void>;
}

/**
 * Create the example Nest app. `rawBody: true` is what lets Payable verify webhook signatures over
 * the exact bytes; without it webhook routes answer 400 `INVALID_WEBHOOK_PAYLOAD`.
 *
 * @example
 * ```ts
 * const { app } = await createApp({ sqliteFile: '/tmp/shop.sqlite', apiToken: 's3cret' });
 * await app.listen(0);
 * ```
 */
export async function createApp(
  options: Partial<ExampleConfig> = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<ExampleApp> {
  const config = resolveConfig(options, env);
  const app = await NestFactory.create(AppModule.register(config), {
    rawBody: true,
    // Close idle keep-alive connections on app.close(), so shutdown does not wait for them.
    forceCloseConnections: true,
    logger: env.NODE_ENV === 'test' ? false : ['log', 'warn', 'error'],
  });
  return { app, config, close: () => app.close() };
}
