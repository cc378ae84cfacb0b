import { createHash, timingSafeEqual } from 'node:crypto';
import type { HttpRequest } from '@payable/core';

/** Injection token of the example's {@link ExampleConfig}. */
export const EXAMPLE_CONFIG = 'EXAMPLE_CONFIG';

/**
 * What the example shop is configured with; each value falls back to an environment variable,
 * then a default.
 *
 * @example
 * ```ts
 * const config = resolveConfig({ sqliteFile: '/tmp/shop.sqlite' }, process.env);
 * ```
 */
export interface ExampleConfig {
  /** SQLite file (`PAYABLE_SQLITE_FILE`, default `.data/payable.sqlite`). */
  sqliteFile: string;
  /** Bearer token of the management routes (`PAYABLE_API_TOKEN`, default `dev-token`). */
  apiToken: string;
  /** The fake provider's webhook signing secret (`FAKE_WEBHOOK_SECRET`, default `whsec_example_secret`). */
  webhookSecret: string;
}

/**
 * Fill the configuration from explicit options, then the environment, then the defaults.
 *
 * @example
 * ```ts
 * resolveConfig({}, {}).apiToken; // 'dev-token'
 * ```
 */
export function resolveConfig(
  options: Partial<ExampleConfig> = {},
  env: NodeJS.ProcessEnv = process.env,
): ExampleConfig {
  return {
    sqliteFile: options.sqliteFile ?? env.PAYABLE_SQLITE_FILE ?? '.data/payable.sqlite',
    apiToken: options.apiToken ?? env.PAYABLE_API_TOKEN ?? 'dev-token',
    webhookSecret: options.webhookSecret ?? env.FAKE_WEBHOOK_SECRET ?? 'whsec_example_secret',
  };
}

/**
 * Whether `Authorization: Bearer <token>` carries `token`, compared in constant time.
 *
 * @example
 * ```ts
 * PayableModule.forRoot({ payable, authorize: (req) => hasBearerToken(req, 'dev-token') });
 * ```
 */
export function hasBearerToken(req: HttpRequest, token: string): boolean {
  const header = req.headers.authorization;
  const given = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
  const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
  return given.length > 0 && timingSafeEqual(digest(given), digest(token));
}
