import { createServer } from 'node:net';
import { type Environment, Paddle } from '@paddle/paddle-node-sdk';
import { isPayableError, NotFoundError, type PayableError, type ProviderContext } from '@payable/core';
import { afterAll, describe, expect, it } from 'vitest';
import { mapPaddleError, PaddleProvider } from '../src/index.js';
import { PaddleSimulator } from './simulator/paddle-simulator.js';

const sim = await PaddleSimulator.start();
afterAll(() => sim.close());

const ctx: ProviderContext = { idempotencyKey: null, tenantId: null };
const provider = new PaddleProvider({ paddle: sim.sdk(), webhookSecret: 'pdl_ntfset_test' });

async function caught(run: () => Promise<unknown>): Promise<PayableError> {
  try {
    await run();
  } catch (error) {
    if (isPayableError(error)) return error;
    throw new Error(`expected a PayableError, got ${String(error)}`);
  }
  throw new Error('expected a rejection');
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('Paddle errors → Payable errors', () => {
  it('404 not_found → NOT_FOUND with the Paddle code', async () => {
    const error = await caught(() => provider.getCustomer('ctm_01doesnotexist0000000000000', ctx));
    expect(error).toMatchObject({
      code: 'NOT_FOUND',
      httpStatus: 404,
      context: { provider: 'paddle', op: 'getCustomer', providerCode: 'not_found', providerType: 'request_error' },
    });
    expect(
      (await caught(() => provider.cancelSubscription('sub_01doesnotexist0000000000000', { atPeriodEnd: false }, ctx)))
        .code,
    ).toBe('NOT_FOUND');
  });

  it('429 too_many_requests → PROVIDER_UNAVAILABLE with Retry-After as context.retryAfter', async () => {
    sim.failNext({ method: 'POST', path: /^\/customers$/ }, { status: 429, retryAfter: 7, detail: 'Slow down.' });
    const error = await caught(() =>
      provider.createCustomer({ email: 'rl@example.test', name: null, metadata: {} }, ctx),
    );
    expect(error).toMatchObject({
      code: 'PROVIDER_UNAVAILABLE',
      httpStatus: 503,
      context: { providerCode: 'too_many_requests', retryAfter: 7 },
    });
    // The next call goes through: nothing was created by the refused one.
    const customer = await provider.createCustomer({ email: 'rl@example.test', name: null, metadata: {} }, ctx);
    expect(customer.email).toBe('rl@example.test');
  });

  it('500 internal_error (api_error) → PROVIDER_UNAVAILABLE', async () => {
    sim.failNext({ path: /^\/transactions/ }, { status: 500 });
    const error = await caught(() =>
      provider.listInvoices({ customerProviderId: null, subscriptionProviderId: null, limit: 5 }, ctx),
    );
    expect(error).toMatchObject({
      code: 'PROVIDER_UNAVAILABLE',
      context: { providerCode: 'internal_error', providerType: 'api_error' },
    });
    expect(error.context.retryAfter).toBeUndefined();
  });

  it('a 502 with an HTML body (a proxy in front of Paddle) → PROVIDER_UNAVAILABLE invalid_response', async () => {
    sim.failNext({ path: /^\/customers\// }, { status: 502, rawBody: '<html><body>Bad Gateway</body></html>' });
    const error = await caught(() => provider.getCustomer('ctm_01whatever000000000000000000', ctx));
    expect(error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', context: { reason: 'invalid_response' } });
  });

  it('400 request_error → PROVIDER_ERROR with the code, documentation URL and field errors', async () => {
    const error = await caught(() =>
      provider.createCheckout(
        {
          mode: 'payment',
          amount: 100,
          currency: 'XXX',
          priceId: null,
          successUrl: 'https://a.test',
          cancelUrl: 'https://a.test',
          customerProviderId: null,
          metadata: {},
        },
        ctx,
      ),
    );
    expect(error).toMatchObject({
      code: 'PROVIDER_ERROR',
      httpStatus: 502,
      context: { providerCode: 'bad_request', providerType: 'request_error', errors: [{ field: 'currency_code' }] },
    });
    expect(error.context.documentationUrl).toMatch(/^https:\/\/developer\.paddle\.com\//);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('connection refused → PROVIDER_UNAVAILABLE reason network', async () => {
    const port = await closedPort();
    // Point an SDK at a port nobody listens on (the same way the simulator is reached).
    const unreachable = new PaddleProvider({
      paddle: new Paddle('pdl_sdbx_apikey_x', { environment: `http://127.0.0.1:${port}` as unknown as Environment }),
      webhookSecret: 'pdl_ntfset_test',
    });
    for (const run of [
      () => unreachable.getCustomer('ctm_01x', ctx),
      () => unreachable.createCustomer({ email: 'a@b.test', name: null, metadata: {} }, ctx),
      () => unreachable.listInvoices({ customerProviderId: null, subscriptionProviderId: null, limit: 1 }, ctx),
    ]) {
      const error = await caught(run);
      expect(error).toMatchObject({
        code: 'PROVIDER_UNAVAILABLE',
        context: { reason: 'network', networkCode: 'ECONNREFUSED' },
      });
    }
  });

  it('mapPaddleError – a PayableError passes through; anything unknown is PROVIDER_ERROR, never raw', () => {
    const own = new NotFoundError('gone');
    expect(mapPaddleError(own, 'op')).toBe(own);
    const odd = mapPaddleError(new RangeError('weird'), 'getCustomer');
    expect(odd).toMatchObject({ code: 'PROVIDER_ERROR', context: { provider: 'paddle', op: 'getCustomer' } });
    expect(odd.cause).toBeInstanceOf(RangeError);
    expect(mapPaddleError('a string', 'x').code).toBe('PROVIDER_ERROR');
  });
});
