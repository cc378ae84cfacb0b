import { existsSync, readFileSync } from 'node:fs';
import { ValidationError } from '@payable/core';
import type { LndProviderOptions } from '@payable/lightning';

/**
 * The real LND node the example talks to, read from the environment: `LND_REST_URL` (LND's
 * `restlisten`, e.g. `https://127.0.0.1:8080`), `LND_MACAROON` (the macaroon as hex, or the path
 * of the macaroon file) and, for LND's self-signed certificate, `LND_TLS_CERT_PATH`. Returns
 * `null` when neither `LND_REST_URL` nor `LND_MACAROON` is set (the example then starts its LND
 * simulator); one without the other is a `VALIDATION_ERROR` naming the missing variable.
 *
 * @example
 * ```ts
 * const node = lndOptionsFromEnv({ LND_REST_URL: 'https://127.0.0.1:8080', LND_MACAROON: '0201036c6e64…' });
 * node?.url; // 'https://127.0.0.1:8080'
 * ```
 */
export function lndOptionsFromEnv(env: NodeJS.ProcessEnv): LndProviderOptions | null {
  const url = env.LND_REST_URL?.trim() ?? '';
  const macaroon = env.LND_MACAROON?.trim() ?? '';
  if (url === '' && macaroon === '') return null;
  if (url === '' || macaroon === '') {
    const missing = url === '' ? 'LND_REST_URL' : 'LND_MACAROON';
    throw new ValidationError(`Set ${missing} too: a real node needs LND_REST_URL and LND_MACAROON.`, {
      context: { field: missing, reason: 'missing' },
    });
  }
  const isHex = /^(?:[0-9a-fA-F]{2})+$/.test(macaroon);
  if (!isHex && !existsSync(macaroon)) {
    throw new ValidationError('LND_MACAROON must be the macaroon as hex, or the path of the macaroon file.', {
      context: { field: 'LND_MACAROON', reason: 'not_hex_or_file' },
    });
  }
  const certPath = env.LND_TLS_CERT_PATH?.trim() ?? '';
  return {
    url,
    macaroon: isHex ? macaroon : readFileSync(macaroon),
    ...(certPath === '' ? {} : { tlsCert: readFileSync(certPath) }),
  };
}
