import { type PayableError, ProviderError } from '@payable/core';
import { asObject, type HttpResponseError, str } from '../common/http.js';
import { mapHttpError, type ResponseReading } from '../common/map-http-error.js';

/** The Greenfield permissions the BTCPay provider needs on its store. */
export const BTCPAY_REQUIRED_PERMISSIONS = ['btcpay.store.cancreateinvoice', 'btcpay.store.canviewinvoices'] as const;

function readBtcpay(error: HttpResponseError): ResponseReading {
  // 422: a list of { path, message }; other errors: { code, message, missingPermission? }.
  if (Array.isArray(error.json)) {
    const errors = error.json
      .map((entry) => asObject(entry))
      .filter((entry): entry is Record<string, unknown> => entry !== null)
      .map((entry) => ({ path: str(entry.path) ?? null, message: str(entry.message) ?? null }));
    const message = errors.map((e) => (e.path ? `${e.path}: ${e.message ?? 'invalid'}` : (e.message ?? ''))).join('; ');
    return { message: message || undefined, providerCode: 'validation-error', context: { errors } };
  }
  const body = asObject(error.json);
  if (!body) return {};
  const missingPermission = str(body.missingPermission);
  return {
    message: str(body.message),
    providerCode: str(body.code),
    ...(missingPermission === undefined ? {} : { context: { missingPermission } }),
  };
}

/**
 * Maps anything a BTCPay Greenfield call throws to a Payable error; the raw error is kept as
 * `cause` and never reaches a caller.
 *
 * | BTCPay answer | Payable error |
 * |---|---|
 * | 403 `missing-permission` | `PROVIDER_ERROR`, `context.reason = 'missing_permission'`, `context.missingPermission`, a message naming the permission (`btcpay.store.cancreateinvoice`, …) to give the API key |
 * | 401 | `PROVIDER_ERROR`, `context.reason = 'authentication'` |
 * | 404 (`invoice-not-found`, …) | `NOT_FOUND` |
 * | 422 (validation) | `PROVIDER_ERROR`, `context.errors` (`[{ path, message }]`) |
 * | 429, 5xx, refused connection, timeout | `PROVIDER_UNAVAILABLE` (503, retry later; `retryAfter` when given) |
 */
export function mapBtcpayError(error: unknown, scope: { op: string; storeId: string }): PayableError {
  return mapHttpError(
    error,
    { provider: 'btcpay', label: 'BTCPay Server', op: scope.op },
    {
      read: readBtcpay,
      authAdvice:
        'Check the BtcpayProvider apiKey (BTCPay Server → Account → API Keys); it is sent as "Authorization: token <apiKey>".',
      special(response, reading, facts) {
        if (response.status !== 403) return undefined;
        const missing = typeof facts.missingPermission === 'string' ? facts.missingPermission : undefined;
        const needed =
          missing ?? `${BTCPAY_REQUIRED_PERMISSIONS.join(', ')} (and btcpay.store.cancreatelightninginvoice)`;
        return new ProviderError(
          `The BTCPay API key lacks the permission ${missing ? `"${missing}"` : needed} for store ${scope.storeId}: ` +
            'in BTCPay Server → Account → API Keys, create a key for this store with btcpay.store.cancreateinvoice and ' +
            'btcpay.store.canviewinvoices (btcpay.store.cancreatelightninginvoice to issue invoices on the store’s own node).' +
            (reading.message ? ` BTCPay said: ${reading.message}` : ''),
          {
            context: {
              ...facts,
              reason: 'missing_permission',
              missingPermission: missing ?? null,
              storeId: scope.storeId,
            },
            cause: response,
          },
        );
      },
    },
  );
}
