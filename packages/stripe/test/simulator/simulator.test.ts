import fc from 'fast-check';
import Stripe from 'stripe';
import { afterAll, describe, expect, it } from 'vitest';
import { parseStripeForm, StripeSimulator } from './index.js';

const sim = await StripeSimulator.start();
afterAll(() => sim.close());

async function raw(method: string, path: string, body = '', headers: Record<string, string> = {}) {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${sim.apiKey}`,
      'content-type': 'application/x-www-form-urlencoded',
      ...headers,
    },
    ...(method === 'GET' ? {} : { body }),
  });
  return {
    status: res.status,
    headers: res.headers,
    body: (await res.json()) as Record<string, Record<string, unknown>>,
  };
}

describe('parseStripeForm', () => {
  it('reads nested objects and indexed arrays as Stripe encodes them', () => {
    expect(
      parseStripeForm(
        'mode=payment&line_items[0][price_data][currency]=usd&line_items[0][quantity]=1&line_items[1][price]=p&metadata%5Ba%5D=b&expand[]=x',
      ),
    ).toEqual({
      mode: 'payment',
      line_items: [{ price_data: { currency: 'usd' }, quantity: '1' }, { price: 'p' }],
      metadata: { a: 'b' },
      expand: ['x'],
    });
    expect(parseStripeForm('__proto__[polluted]=1&a[constructor][x]=1')).toEqual({});
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('property: parses back what the Stripe SDK encodes', async () => {
    const key = fc.stringMatching(/^[a-z_]{1,8}$/);
    const leaf = fc.string({ maxLength: 12 });
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.array(tie('node'), { minLength: 1, maxLength: 3 }),
        fc.dictionary(key, tie('node'), { minKeys: 1, maxKeys: 3 }),
      ),
    })).node;
    await fc.assert(
      fc.asyncProperty(fc.dictionary(key, value, { minKeys: 1, maxKeys: 4 }), async (params) => {
        const stripe = sim.client();
        const before = sim.requests.length;
        await stripe.rawRequest('POST', '/v1/customers', params as Record<string, unknown>).catch(() => undefined);
        const seen = sim.requests[before];
        expect(seen?.params).toEqual(params);
      }),
      { numRuns: 40 },
    );
  });
});

describe('StripeSimulator', () => {
  it('answers a wrong key with 401, an unknown route with 404, in Stripe error shape with a request id', async () => {
    const unauthorized = await raw('GET', '/v1/customers/cus_x', '', { authorization: 'Bearer sk_test_nope' });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.body.error?.type).toBe('invalid_request_error');
    const unknown = await raw('GET', '/v1/nothing_here');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('request-id')).toMatch(/^req_/);
    const missing = await raw('GET', '/v1/payment_intents/pi_missing');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({
      type: 'invalid_request_error',
      code: 'resource_missing',
      param: 'intent',
    });
  });

  it('replays a decline for the same key and params; other params under the key are an idempotency_error', async () => {
    const body =
      'amount=1000&currency=usd&payment_method=pm_card_chargeDeclined&confirm=true&automatic_payment_methods[enabled]=true&automatic_payment_methods[allow_redirects]=never';
    const first = await raw('POST', '/v1/payment_intents', body, { 'idempotency-key': 'sim-k1' });
    expect(first.status).toBe(402);
    expect(first.body.error).toMatchObject({
      type: 'card_error',
      code: 'card_declined',
      decline_code: 'generic_decline',
    });
    const again = await raw('POST', '/v1/payment_intents', body, { 'idempotency-key': 'sim-k1' });
    expect(again.status).toBe(402);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const idOf = (reply: typeof first) => (reply.body.error?.payment_intent as { id?: string } | undefined)?.id;
    expect(idOf(again)).toBe(idOf(first));
    expect(idOf(first)).toMatch(/^pi_/);
    const other = await raw('POST', '/v1/payment_intents', body.replace('1000', '1001'), {
      'idempotency-key': 'sim-k1',
    });
    expect(other.status).toBe(400);
    expect(other.body.error?.type).toBe('idempotency_error');
  });

  it('refuses to confirm without a return_url unless redirects are ruled out, as Stripe does', async () => {
    const refused = await raw(
      'POST',
      '/v1/payment_intents',
      'amount=1000&currency=usd&payment_method=pm_card_visa&confirm=true',
    );
    expect(refused.status).toBe(400);
    expect(refused.body.error?.param).toBe('return_url');
    const ok = await raw(
      'POST',
      '/v1/payment_intents',
      'amount=1000&currency=usd&payment_method=pm_card_visa&confirm=true&return_url=https://a.test',
    );
    expect(ok.body.status).toBe('succeeded');
  });

  it('validates currency, amounts and metadata limits', async () => {
    expect((await raw('POST', '/v1/payment_intents', 'amount=1000&currency=USD')).body.error?.param).toBe('currency');
    expect((await raw('POST', '/v1/payment_intents', 'amount=49&currency=usd')).body.error?.code).toBe(
      'amount_too_small',
    );
    const long = `amount=1000&currency=usd&metadata[${'k'.repeat(41)}]=v`;
    expect((await raw('POST', '/v1/payment_intents', long)).status).toBe(400);
  });

  it('signs webhooks so that the SDK verifies them, one v1 per secret', () => {
    const rawBody = sim.event('customer.created', { id: 'cus_1', object: 'customer' });
    const header = sim.sign(rawBody, { secrets: ['whsec_a', 'whsec_b'] });
    expect(header.match(/v1=/g)).toHaveLength(2);
    for (const secret of ['whsec_a', 'whsec_b']) {
      expect(Stripe.webhooks.constructEvent(rawBody, header, secret).type).toBe('customer.created');
    }
  });
});
