import { ValidationError } from '@payable/core';
import { describe, expect, it } from 'vitest';
import { LndResponseError, mapLndError } from './map-error.js';

const scope = { op: 'charge' };
const answer = (status: number, grpcCode: number | null, message: string, retryAfter: number | null = null) =>
  mapLndError(new LndResponseError(status, grpcCode, message, retryAfter), scope);

describe('mapLndError', () => {
  it('mapLndError – 503, 502, 504 and gRPC UNAVAILABLE are PROVIDER_UNAVAILABLE with retry advice', () => {
    for (const [status, code] of [
      [503, null],
      [502, null],
      [504, null],
      [500, 14],
    ] as const) {
      const error = answer(status, code, 'unavailable');
      expect(error.code).toBe('PROVIDER_UNAVAILABLE');
      expect(error.httpStatus).toBe(503);
      expect(error.context).toMatchObject({ provider: 'lnd', op: 'charge', reason: 'unavailable', retryAfter: 5 });
      expect(error.message).toMatch(/Retry in 5 s/);
    }
    expect(answer(503, 14, 'busy', 30).context).toMatchObject({ retryAfter: 30 });
  });

  it('mapLndError – a locked or starting node and rate limiting are PROVIDER_UNAVAILABLE', () => {
    expect(answer(500, 2, 'wallet locked, unlock it to enable full RPC access').context).toMatchObject({
      reason: 'not_ready',
    });
    expect(answer(500, 2, 'the RPC server is in the process of starting up, but not yet ready').code).toBe(
      'PROVIDER_UNAVAILABLE',
    );
    expect(answer(429, null, 'slow down').context).toMatchObject({ reason: 'rate_limited' });
  });

  it('mapLndError – an unknown invoice is NOT_FOUND (404, or the older 500 "unable to locate invoice")', () => {
    expect(answer(404, 5, 'unable to locate invoice').code).toBe('NOT_FOUND');
    expect(answer(500, 2, 'unable to locate invoice').code).toBe('NOT_FOUND');
  });

  it('mapLndError – macaroon and permission failures are PROVIDER_ERROR naming the fix', () => {
    const auth = answer(500, 2, 'verification failed: signature mismatch after caveat verification');
    expect(auth.code).toBe('PROVIDER_ERROR');
    expect(auth.context).toMatchObject({ reason: 'authentication' });
    expect(auth.message).toMatch(/macaroon/);
    const permission = answer(500, 2, 'permission denied');
    expect(permission.context).toMatchObject({ reason: 'permission' });
    expect(permission.message).toMatch(/invoices:write/);
  });

  it('mapLndError – other 4xx are PROVIDER_ERROR (rejected), other 5xx PROVIDER_ERROR (node_error)', () => {
    expect(answer(400, 3, 'memo too large').context).toMatchObject({
      reason: 'rejected',
      lndMessage: 'memo too large',
    });
    expect(answer(409, 6, 'invoice with payment hash already exists').context).toMatchObject({ reason: 'rejected' });
    const internal = answer(500, 2, 'database is corrupt');
    expect(internal.code).toBe('PROVIDER_ERROR');
    expect(internal.httpStatus).toBe(502);
    expect(internal.context).toMatchObject({ reason: 'node_error' });
  });

  it('mapLndError – timeouts and network failures are PROVIDER_UNAVAILABLE; untrusted TLS a PROVIDER_ERROR', () => {
    expect(mapLndError(new DOMException('timed out', 'TimeoutError'), scope).context).toMatchObject({
      reason: 'timeout',
      retryAfter: 5,
    });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8080'), { code: 'ECONNREFUSED' });
    expect(mapLndError(new TypeError('fetch failed', { cause: refused }), scope).context).toMatchObject({
      reason: 'unreachable',
      code: 'ECONNREFUSED',
    });
    const selfSigned = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(mapLndError(new TypeError('fetch failed', { cause: selfSigned }), scope).context).toMatchObject({
      reason: 'tls',
    });
  });

  it('mapLndError – a PayableError passes through; anything else is PROVIDER_ERROR with the cause kept', () => {
    const validation = new ValidationError('bad');
    expect(mapLndError(validation, scope)).toBe(validation);
    const odd = new Error('odd');
    const mapped = mapLndError(odd, scope);
    expect(mapped.code).toBe('PROVIDER_ERROR');
    expect(mapped.cause).toBe(odd);
  });
});
