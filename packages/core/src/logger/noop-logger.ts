import type { Logger } from './types.js';

const noop = (): void => {};

/**
 * A logger that drops everything: the default when `createPayable` gets no logger.
 *
 * @example
 * ```ts
 * createPayable({ providers, logger: noopLogger });
 * ```
 */
export const noopLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
