import { type PayableError, ProviderError } from '@payable/core';
import { asObject, type HttpResponseError, str } from '../common/http.js';
import { mapHttpError, type ResponseReading } from '../common/map-http-error.js';

function readOpenNode(error: HttpResponseError): ResponseReading {
  const body = asObject(error.json);
  if (!body) return error.text !== '' && error.text.length < 300 ? { message: error.text } : {};
  return { message: str(body.message) ?? str(body.error), providerCode: str(body.code) };
}

/**
 * Maps anything an OpenNode API call throws to a Payable error; the raw error is kept as `cause`.
 *
 * | OpenNode answer | Payable error |
 * |---|---|
 * | 401 | `PROVIDER_ERROR`, `context.reason = 'authentication'` (a development key on the live API, or the reverse, is the usual cause) |
 * | 403 | `PROVIDER_ERROR`, `context.reason = 'permission'` (the key is not an Invoices key) |
 * | 404 | `NOT_FOUND` |
 * | 400 / 422 | `PROVIDER_ERROR` with OpenNode's message |
 * | 429, 5xx, refused connection, timeout | `PROVIDER_UNAVAILABLE` (503, retry later; `retryAfter` when given) |
 */
export function mapOpenNodeError(error: unknown, scope: { op: string; environment: string }): PayableError {
  return mapHttpError(
    error,
    { provider: 'opennode', label: 'OpenNode', op: scope.op },
    {
      read: readOpenNode,
      authAdvice: `Check the OpenNodeProvider apiKey and environment ("${scope.environment}"): development keys work only with dev-api.opennode.com, live keys only with api.opennode.com.`,
      special(response, reading, facts) {
        if (response.status !== 403) return undefined;
        return new ProviderError(
          `OpenNode refused ${scope.op} for this API key${reading.message ? `: ${reading.message}` : ''}. ` +
            'Create an API key with the Invoices permission (OpenNode dashboard → Developers → API keys).',
          { context: { ...facts, reason: 'permission' }, cause: response },
        );
      },
    },
  );
}
