import { type PayableError, ProviderError } from '@payable/core';
import { asObject, type HttpResponseError, str } from '../common/http.js';
import { mapHttpError, type ResponseReading } from '../common/map-http-error.js';

function readLightningEnable(error: HttpResponseError): ResponseReading {
  const body = asObject(error.json);
  if (!body) return {};
  const details = asObject(body.details);
  const retryAfter = typeof details?.retryAfter === 'number' ? details.retryAfter : undefined;
  const context: Record<string, unknown> = {};
  for (const key of ['action_required', 'subscription_status', 'current_plan', 'required_plan', 'feature'] as const) {
    const value = str(body[key]);
    if (value !== undefined) context[key === 'action_required' ? 'actionRequired' : key] = value;
  }
  const error_ = str(body.error);
  const message = str(body.message);
  return {
    message: message && error_ && message !== error_ ? `${error_}: ${message}` : (message ?? error_),
    providerCode: str(body.code) ?? error_,
    context,
    retryAfter,
  };
}

/**
 * Maps anything a Lightning Enable API call throws to a Payable error (the troubleshooting table of
 * the Lightning Enable docs); the raw error is kept as `cause`.
 *
 * | Lightning Enable answer | Payable error |
 * |---|---|
 * | 401 (`API key required`, invalid key) | `PROVIDER_ERROR`, `context.reason = 'authentication'` |
 * | 403 (`Account inactive`, `Subscription required`, `Subscription not active`, `Feature not available`) | `PROVIDER_ERROR`, `context.reason = 'forbidden'`, `context.actionRequired` (`contact_support`, `subscribe`, `update_payment_method`, `upgrade_plan`) |
 * | 404 | `NOT_FOUND` |
 * | 400 / 422 | `PROVIDER_ERROR` with the service's message |
 * | 429 (`RATE_LIMIT_EXCEEDED`) | `PROVIDER_UNAVAILABLE`, `context.reason = 'rate_limited'`, `context.retryAfter` (from `Retry-After` or `details.retryAfter`) |
 * | 502 (OpenNode API error), 503 (circuit breaker open), other 5xx, refused connection, timeout | `PROVIDER_UNAVAILABLE` (retry later) |
 */
export function mapLightningEnableError(error: unknown, scope: { op: string }): PayableError {
  return mapHttpError(
    error,
    { provider: 'lightning-enable', label: 'Lightning Enable', op: scope.op },
    {
      read: readLightningEnable,
      authAdvice:
        'Check the LightningEnableProvider apiKey (sent as X-API-Key): copy it again without whitespace, and use the key of the right environment; a regenerated key invalidates the old one at once.',
      special(response, reading, facts) {
        if (response.status !== 403) return undefined;
        const action = typeof facts.actionRequired === 'string' ? facts.actionRequired : undefined;
        const advice: Record<string, string> = {
          contact_support: 'Contact support@lightningenable.com to reactivate the account.',
          subscribe: 'Subscribe to a paid plan at lightningenable.com.',
          update_payment_method: 'Update the payment method in the Stripe customer portal (/api/stripe/portal).',
          upgrade_plan: 'Upgrade to the plan that includes the feature.',
        };
        return new ProviderError(
          `Lightning Enable refused ${scope.op}${reading.message ? `: ${reading.message}` : ''}.` +
            (action && advice[action] ? ` ${advice[action]}` : ''),
          { context: { ...facts, reason: 'forbidden' }, cause: response },
        );
      },
    },
  );
}
