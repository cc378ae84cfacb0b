/** Structured fields attached to a log line. Never put secrets, card data or PII here. */
export type LogFields = Record<string, unknown>;

/**
 * The logger port: a subset of pino's API, so a pino logger can be passed as it is.
 * Payable never logs secrets, raw webhook bodies or customer PII.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * createPayable({ providers, logger: pino() });
 * ```
 */
export interface Logger {
  debug(fields: LogFields, message?: string): void;
  info(fields: LogFields, message?: string): void;
  warn(fields: LogFields, message?: string): void;
  error(fields: LogFields, message?: string): void;
}
