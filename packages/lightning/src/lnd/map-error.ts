import {
  isPayableError,
  NotFoundError,
  type PayableError,
  ProviderError,
  ProviderUnavailableError,
} from '@payable/core';

/**
 * The seconds Payable advises waiting before retrying an unavailable node that named no `Retry-After`.
 *
 * @example
 * ```ts
 * error.context.retryAfter ?? LND_DEFAULT_RETRY_AFTER_SECONDS;
 * ```
 */
export const LND_DEFAULT_RETRY_AFTER_SECONDS = 5;

/**
 * An error answer of LND's REST API: the HTTP status and the gRPC status it carries
 * (`{ code, message }`, from grpc-gateway). `mapLndError` turns it into a Payable error.
 *
 * @example
 * ```ts
 * mapLndError(new LndResponseError(503, 14, 'unavailable', null), { op: 'charge' }).code; // 'PROVIDER_UNAVAILABLE'
 * ```
 */
export class LndResponseError extends Error {
  constructor(
    readonly status: number,
    readonly grpcCode: number | null,
    readonly lndMessage: string,
    readonly retryAfter: number | null,
  ) {
    super(`LND answered ${status}: ${lndMessage}`);
    this.name = 'LndResponseError';
  }
}

/**
 * What {@link mapLndError} knows about the call that failed.
 *
 * @example
 * ```ts
 * const scope: LndErrorScope = { op: 'getPayment' };
 * ```
 */
export interface LndErrorScope {
  /** The provider operation, e.g. `'charge'`, `'getPayment'`, `'subscribeSettlements'`. */
  op: string;
}

function isTimeout(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

function networkCode(error: unknown): string | null {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

/**
 * Maps anything a call to LND throws to a Payable error, so a raw fetch or LND error never reaches
 * a caller; the original is kept as `cause`, and nothing secret (the macaroon) is in `context`.
 *
 * | LND answer | Payable error |
 * |---|---|
 * | 503 / 502 / 504, gRPC `UNAVAILABLE` (14), wallet locked or starting | `PROVIDER_UNAVAILABLE`, `context.retryAfter` (seconds) |
 * | a timeout, a refused or reset connection | `PROVIDER_UNAVAILABLE`, `context.reason: 'timeout' \| 'unreachable'` |
 * | an untrusted TLS certificate | `PROVIDER_ERROR`, `reason: 'tls'` (pass `tlsCert`) |
 * | 429, gRPC `RESOURCE_EXHAUSTED` (8) | `PROVIDER_UNAVAILABLE`, `reason: 'rate_limited'` |
 * | 404, `unable to locate invoice` | `NOT_FOUND` |
 * | macaroon missing or refused, `permission denied` | `PROVIDER_ERROR`, `reason: 'authentication' \| 'permission'` |
 * | any other 4xx | `PROVIDER_ERROR`, `reason: 'rejected'`, `context.lndMessage` |
 * | any other 5xx | `PROVIDER_ERROR`, `reason: 'node_error'` |
 *
 * @example
 * ```ts
 * try { await client.request('POST', '/v1/invoices', body); }
 * catch (error) { throw mapLndError(error, { op: 'charge' }); }
 * ```
 */
export function mapLndError(error: unknown, scope: LndErrorScope): PayableError {
  if (isPayableError(error)) return error;
  const base = { provider: 'lnd', op: scope.op };
  if (error instanceof LndResponseError) {
    const { status, grpcCode, lndMessage } = error;
    const facts = { ...base, status, ...(grpcCode === null ? {} : { grpcCode }), lndMessage };
    const message = lndMessage.toLowerCase();
    const unavailable = (reason: string, text: string) => {
      const retryAfter = error.retryAfter ?? LND_DEFAULT_RETRY_AFTER_SECONDS;
      return new ProviderUnavailableError(`${text} Retry in ${retryAfter} s.`, {
        context: { ...facts, reason, retryAfter },
        cause: error,
      });
    };
    if (status === 429 || grpcCode === 8) return unavailable('rate_limited', 'LND is rate limiting requests.');
    if (status === 502 || status === 503 || status === 504 || grpcCode === 14) {
      return unavailable('unavailable', 'The LND node is unavailable.');
    }
    if (/wallet locked|still in the process of starting|not yet ready|server is not active/.test(message)) {
      return unavailable('not_ready', 'The LND node is not ready (starting, or its wallet is locked).');
    }
    if (status === 404 || grpcCode === 5 || /unable to locate invoice|there are no existing invoices/.test(message)) {
      return new NotFoundError(`LND has no such invoice (${scope.op}).`, { context: facts, cause: error });
    }
    if (/permission denied/.test(message) || status === 403 || grpcCode === 7) {
      return new ProviderError(
        `The LND macaroon may not do ${scope.op}: bake one with invoices:read invoices:write (and info:read offchain:read for health).`,
        { context: { ...facts, reason: 'permission' }, cause: error },
      );
    }
    if (/macaroon|verification failed/.test(message) || status === 401 || grpcCode === 16) {
      return new ProviderError(
        'LND refused the macaroon: check the LndProvider macaroon (hex, or the bytes of invoice.macaroon) belongs to this node.',
        { context: { ...facts, reason: 'authentication' }, cause: error },
      );
    }
    if (status >= 400 && status < 500) {
      return new ProviderError(`LND refused ${scope.op}: ${lndMessage}`, {
        context: { ...facts, reason: 'rejected' },
        cause: error,
      });
    }
    return new ProviderError(`LND failed during ${scope.op}: ${lndMessage}`, {
      context: { ...facts, reason: 'node_error' },
      cause: error,
    });
  }
  if (isTimeout(error)) {
    return new ProviderUnavailableError(
      `LND did not answer ${scope.op} in time. Retry in ${LND_DEFAULT_RETRY_AFTER_SECONDS} s.`,
      { context: { ...base, reason: 'timeout', retryAfter: LND_DEFAULT_RETRY_AFTER_SECONDS }, cause: error },
    );
  }
  const code = networkCode(error);
  if (code !== null && /CERT|SELF_SIGNED|TLS|SSL/.test(code)) {
    return new ProviderError(
      `The LND node's TLS certificate is not trusted (${code}): pass LndProvider({ tlsCert }) the node's tls.cert, and connect with a host name or IP the certificate lists.`,
      { context: { ...base, reason: 'tls', code }, cause: error },
    );
  }
  if (error instanceof TypeError || code !== null) {
    return new ProviderUnavailableError(
      `The LND node could not be reached (${code ?? 'connection failed'}). Retry in ${LND_DEFAULT_RETRY_AFTER_SECONDS} s.`,
      {
        context: {
          ...base,
          reason: 'unreachable',
          retryAfter: LND_DEFAULT_RETRY_AFTER_SECONDS,
          ...(code ? { code } : {}),
        },
        cause: error,
      },
    );
  }
  return new ProviderError(`LND failed during ${scope.op}.`, { context: base, cause: error });
}
