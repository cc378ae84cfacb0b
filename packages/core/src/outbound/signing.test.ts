import { createHmac, timingSafeEqual } from 'node:crypto';
import fc from 'fast-check';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { describe, expect, it } from 'vitest';
import { isPayableError, type PayableError } from '../errors/index.js';
import { generateWebhookSecret, signWebhook, type VerifyWebhookInput, verifyWebhook } from './signing.js';
import type { WebhookScheme } from '../storage/types.js';

// The test vector published with the Standard Webhooks reference libraries (and svix's docs).
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const BODY = JSON.stringify({
  id: 'evt_01JD3X0Q9M5R8V7T6S5K4J3H2G',
  type: 'payment.succeeded',
  createdAt: '2026-01-02T03:04:05.000Z',
  tenantId: null,
  data: { amount: 1999, currency: 'EUR' },
});
const ID = 'evt_01JD3X0Q9M5R8V7T6S5K4J3H2G';

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A fresh secret and the headers signing BODY with it now, under `scheme`. */
function signedNow(scheme: WebhookScheme): { secret: string; headers: Record<string, string> } {
  const secret = generateWebhookSecret();
  return { secret, headers: signWebhook({ scheme, id: ID, timestamp: nowSeconds(), body: BODY, secrets: [secret] }) };
}

function refusal(fn: () => unknown): PayableError {
  try {
    fn();
  } catch (error) {
    expect(isPayableError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'INVALID_WEBHOOK_SIGNATURE', httpStatus: 400 });
    return error as PayableError;
  }
  throw new Error('expected verifyWebhook to refuse');
}

function expectRefused(input: VerifyWebhookInput, reason: string): void {
  expect(refusal(() => verifyWebhook(input)).context.reason).toBe(reason);
}

/** A receiver written like the seed's Node example (X-LightningEnable-Signature), for our header. */
function seedStyleReceiverAccepts(payload: string, signatureHeader: string, secret: string, nowSec: number): boolean {
  let timestamp: number | null = null;
  let signature: string | null = null;
  for (const part of signatureHeader.split(',')) {
    const trimmed = part.trim();
    if (trimmed.startsWith('t=')) timestamp = Number.parseInt(trimmed.slice(2), 10);
    else if (trimmed.startsWith('v1=')) signature = trimmed.slice(3);
  }
  if (!timestamp || !signature) return false;
  if (Math.abs(nowSec - timestamp) > 300) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}.${payload}`).digest('hex');
  return signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
}

describe('generateWebhookSecret', () => {
  it('generateWebhookSecret – whsec_ followed by base64 of 32 random bytes, different each time', () => {
    const a = generateWebhookSecret();
    const b = generateWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(a).not.toBe(b);
  });

  it('generateWebhookSecret – the official libraries accept the secret as is', () => {
    const { secret, headers } = signedNow('standard-webhooks');
    expect(new StandardWebhook(secret).verify(BODY, headers)).toEqual(JSON.parse(BODY));
  });
});

describe('standard-webhooks scheme', () => {
  it('signWebhook – reproduces the published test vector', () => {
    const headers = signWebhook({
      scheme: 'standard-webhooks',
      id: VECTOR.id,
      timestamp: VECTOR.timestamp,
      body: VECTOR.body,
      secrets: [VECTOR.secret],
    });
    expect(headers).toEqual({
      'webhook-id': VECTOR.id,
      'webhook-timestamp': String(VECTOR.timestamp),
      'webhook-signature': VECTOR.signature,
    });
  });

  it('verifyWebhook – accepts the published test vector (at its time) and returns the parsed body', () => {
    const event = verifyWebhook({
      payload: VECTOR.body,
      headers: {
        'Webhook-Id': VECTOR.id,
        'WEBHOOK-TIMESTAMP': String(VECTOR.timestamp),
        'webhook-signature': VECTOR.signature,
      },
      secret: VECTOR.secret,
      now: new Date(VECTOR.timestamp * 1000),
    });
    expect(event).toEqual({ test: 2432232314 });
  });

  it('verifyWebhook – the published vector with one changed character of the signature is refused', () => {
    expectRefused(
      {
        payload: VECTOR.body,
        headers: {
          'webhook-id': VECTOR.id,
          'webhook-timestamp': String(VECTOR.timestamp),
          'webhook-signature': VECTOR.signature.replace('g0hM', 'g0hN'),
        },
        secret: VECTOR.secret,
        now: new Date(VECTOR.timestamp * 1000),
      },
      'no_matching_signature',
    );
  });

  it('signWebhook – what we sign verifies with the official standardwebhooks and svix packages', () => {
    const { secret, headers } = signedNow('standard-webhooks');
    expect(new StandardWebhook(secret).verify(BODY, headers)).toEqual(JSON.parse(BODY));
    expect(new SvixWebhook(secret).verify(BODY, headers)).toEqual(JSON.parse(BODY));
    expect(new SvixWebhook(secret).verify(Buffer.from(BODY), headers)).toEqual(JSON.parse(BODY));
  });

  it('signWebhook – the official packages refuse our signature under another secret', () => {
    const headers = signWebhook({
      scheme: 'standard-webhooks',
      id: ID,
      timestamp: nowSeconds(),
      body: BODY,
      secrets: [generateWebhookSecret()],
    });
    const other = generateWebhookSecret();
    expect(() => new StandardWebhook(other).verify(BODY, headers)).toThrow();
    expect(() => new SvixWebhook(other).verify(BODY, headers)).toThrow();
  });

  it('verifyWebhook – accepts what the official standardwebhooks and svix packages sign', () => {
    const secret = generateWebhookSecret();
    const at = new Date(nowSeconds() * 1000);
    for (const signer of [new StandardWebhook(secret), new SvixWebhook(secret)]) {
      const headers = {
        'webhook-id': 'msg_interop',
        'webhook-timestamp': String(nowSeconds()),
        'webhook-signature': signer.sign('msg_interop', at, BODY),
      };
      expect(verifyWebhook({ payload: BODY, headers, secret })).toEqual(JSON.parse(BODY));
    }
  });

  it('signWebhook – during a rotation both secrets sign, space-separated, and either verifies (ours and official)', () => {
    const oldSecret = generateWebhookSecret();
    const newSecret = generateWebhookSecret();
    const headers = signWebhook({
      scheme: 'standard-webhooks',
      id: ID,
      timestamp: nowSeconds(),
      body: BODY,
      secrets: [newSecret, oldSecret],
    });
    expect(headers['webhook-signature']?.split(' ')).toHaveLength(2);
    for (const secret of [oldSecret, newSecret]) {
      expect(verifyWebhook({ payload: BODY, headers, secret })).toEqual(JSON.parse(BODY));
      expect(new StandardWebhook(secret).verify(BODY, headers)).toEqual(JSON.parse(BODY));
      expect(new SvixWebhook(secret).verify(BODY, headers)).toEqual(JSON.parse(BODY));
    }
    expectRefused({ payload: BODY, headers, secret: generateWebhookSecret() }, 'no_matching_signature');
  });

  it('verifyWebhook – a receiver holding several secrets accepts a delivery signed by any one', () => {
    const a = generateWebhookSecret();
    const b = generateWebhookSecret();
    const headers = signWebhook({
      scheme: 'standard-webhooks',
      id: ID,
      timestamp: nowSeconds(),
      body: BODY,
      secrets: [b],
    });
    expect(verifyWebhook({ payload: BODY, headers, secret: [a, b] })).toEqual(JSON.parse(BODY));
  });

  it('verifyWebhook – ignores unknown signature versions (v1a, v2) next to a valid v1', () => {
    const { secret, headers } = signedNow('standard-webhooks');
    const signature = `v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5B== v2,abc ${headers['webhook-signature']}`;
    expect(verifyWebhook({ payload: BODY, headers: { ...headers, 'webhook-signature': signature }, secret })).toEqual(
      JSON.parse(BODY),
    );
    expectRefused(
      { payload: BODY, headers: { ...headers, 'webhook-signature': 'v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw' }, secret },
      'no_matching_signature',
    );
  });

  it('verifyWebhook – tampered body, id or timestamp is refused', () => {
    const secret = generateWebhookSecret();
    const ts = nowSeconds();
    const headers = signWebhook({ scheme: 'standard-webhooks', id: ID, timestamp: ts, body: BODY, secrets: [secret] });
    expectRefused({ payload: BODY.replace('1999', '1998'), headers, secret }, 'no_matching_signature');
    expectRefused({ payload: `${BODY} `, headers, secret }, 'no_matching_signature');
    expectRefused({ payload: BODY, headers: { ...headers, 'webhook-id': `${ID}X` }, secret }, 'no_matching_signature');
    expectRefused(
      { payload: BODY, headers: { ...headers, 'webhook-timestamp': String(ts - 1) }, secret },
      'no_matching_signature',
    );
  });

  it('verifyWebhook – accepts the raw body as bytes', () => {
    const secret = generateWebhookSecret();
    const body = JSON.stringify({ id: 'evt_1', note: 'café ☕' });
    const headers = signWebhook({
      scheme: 'standard-webhooks',
      id: ID,
      timestamp: nowSeconds(),
      body,
      secrets: [secret],
    });
    expect(verifyWebhook({ payload: new TextEncoder().encode(body), headers, secret })).toEqual(JSON.parse(body));
  });

  it('verifyWebhook – repeated header values (arrays) are combined', () => {
    const a = generateWebhookSecret();
    const b = generateWebhookSecret();
    const ts = nowSeconds();
    const first = signWebhook({ scheme: 'standard-webhooks', id: ID, timestamp: ts, body: BODY, secrets: [a] });
    const second = signWebhook({ scheme: 'standard-webhooks', id: ID, timestamp: ts, body: BODY, secrets: [b] });
    const headers = {
      ...first,
      'webhook-signature': [first['webhook-signature'] ?? '', second['webhook-signature'] ?? ''],
    };
    expect(verifyWebhook({ payload: BODY, headers, secret: b })).toEqual(JSON.parse(BODY));
  });

  it('verifyWebhook – missing headers are refused with missing_headers', () => {
    const { secret, headers } = signedNow('standard-webhooks');
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const rest = Object.fromEntries(Object.entries(headers).filter(([k]) => k !== name));
      expectRefused({ payload: BODY, headers: rest, secret }, 'missing_headers');
    }
    expectRefused(
      { payload: BODY, headers: { ...headers, 'webhook-signature': undefined }, secret },
      'missing_headers',
    );
  });

  it('verifyWebhook – malformed timestamp or signature header is refused with malformed_header', () => {
    const { secret, headers } = signedNow('standard-webhooks');
    expectRefused(
      { payload: BODY, headers: { ...headers, 'webhook-timestamp': 'yesterday' }, secret },
      'malformed_header',
    );
    expectRefused({ payload: BODY, headers: { ...headers, 'webhook-timestamp': '-5' }, secret }, 'malformed_header');
    expectRefused(
      { payload: BODY, headers: { ...headers, 'webhook-signature': 'garbage' }, secret },
      'malformed_header',
    );
  });

  it('verifyWebhook – tolerance: 5 minutes both ways by default, configurable', () => {
    const secret = generateWebhookSecret();
    const ts = 1_800_000_000;
    const headers = signWebhook({ scheme: 'standard-webhooks', id: ID, timestamp: ts, body: BODY, secrets: [secret] });
    const at = (seconds: number) => new Date(seconds * 1000);
    expect(verifyWebhook({ payload: BODY, headers, secret, now: at(ts + 300) })).toEqual(JSON.parse(BODY));
    expect(verifyWebhook({ payload: BODY, headers, secret, now: at(ts - 300) })).toEqual(JSON.parse(BODY));
    expectRefused({ payload: BODY, headers, secret, now: at(ts + 301) }, 'timestamp_out_of_tolerance');
    expectRefused({ payload: BODY, headers, secret, now: at(ts - 301) }, 'timestamp_out_of_tolerance');
    expectRefused(
      { payload: BODY, headers, secret, now: at(ts + 61), toleranceSeconds: 60 },
      'timestamp_out_of_tolerance',
    );
    expect(verifyWebhook({ payload: BODY, headers, secret, now: at(ts + 3000), toleranceSeconds: 3600 })).toEqual(
      JSON.parse(BODY),
    );
  });

  it('verifyWebhook – a correctly signed body that is not JSON is refused with invalid_json', () => {
    const secret = generateWebhookSecret();
    const headers = signWebhook({
      scheme: 'standard-webhooks',
      id: ID,
      timestamp: nowSeconds(),
      body: 'not json',
      secrets: [secret],
    });
    expectRefused({ payload: 'not json', headers, secret }, 'invalid_json');
  });

  it('verifyWebhook – the error never carries the secret or the signatures', () => {
    const { secret, headers } = signedNow('standard-webhooks');
    const error = refusal(() => verifyWebhook({ payload: `${BODY}x`, headers, secret }));
    const shown = JSON.stringify(error.toJSON()) + error.message;
    expect(shown).not.toContain(secret.slice(6, 20));
    expect(shown).not.toContain(headers['webhook-signature']?.slice(3, 20));
  });
});

describe('payable-v1 scheme', () => {
  it('signWebhook – t=…,v1=<hex HMAC over "{t}.{body}" keyed with the secret string>, plus webhook-id/timestamp', () => {
    const secret = generateWebhookSecret();
    const ts = 1_800_000_000;
    const headers = signWebhook({ scheme: 'payable-v1', id: ID, timestamp: ts, body: BODY, secrets: [secret] });
    const independent = createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${ts}.${BODY}`).digest('hex');
    expect(headers).toEqual({
      'webhook-id': ID,
      'webhook-timestamp': String(ts),
      'payable-signature': `t=${ts},v1=${independent}`,
    });
  });

  it('signWebhook – a receiver written like the seed example accepts it, and refuses a changed body', () => {
    const secret = 'any-shared-secret-string';
    const ts = nowSeconds();
    const headers = signWebhook({ scheme: 'payable-v1', id: ID, timestamp: ts, body: BODY, secrets: [secret] });
    const header = headers['payable-signature'] ?? '';
    expect(seedStyleReceiverAccepts(BODY, header, secret, ts)).toBe(true);
    expect(seedStyleReceiverAccepts(`${BODY} `, header, secret, ts)).toBe(false);
    expect(seedStyleReceiverAccepts(BODY, header, 'another-secret', ts)).toBe(false);
  });

  it('verifyWebhook – accepts a header computed independently, as the seed describes', () => {
    const secret = generateWebhookSecret();
    const ts = nowSeconds();
    const hex = createHmac('sha256', secret).update(`${ts}.${BODY}`).digest('hex');
    const headers = { 'Payable-Signature': `t=${ts},v1=${hex}` };
    expect(verifyWebhook({ payload: BODY, headers, secret, scheme: 'payable-v1' })).toEqual(JSON.parse(BODY));
    expect(
      verifyWebhook({
        payload: BODY,
        headers: { 'payable-signature': `t=${ts}, v1=${hex.toUpperCase()}` },
        secret,
        scheme: 'payable-v1',
      }),
    ).toEqual(JSON.parse(BODY));
  });

  it('signWebhook – rotation: one v1= per secret, either verifies', () => {
    const oldSecret = generateWebhookSecret();
    const newSecret = generateWebhookSecret();
    const ts = nowSeconds();
    const headers = signWebhook({
      scheme: 'payable-v1',
      id: ID,
      timestamp: ts,
      body: BODY,
      secrets: [newSecret, oldSecret],
    });
    const hex = (s: string) => createHmac('sha256', s).update(`${ts}.${BODY}`).digest('hex');
    expect(headers['payable-signature']).toBe(`t=${ts},v1=${hex(newSecret)},v1=${hex(oldSecret)}`);
    for (const secret of [oldSecret, newSecret]) {
      expect(verifyWebhook({ payload: BODY, headers, secret, scheme: 'payable-v1' })).toEqual(JSON.parse(BODY));
    }
    expectRefused(
      { payload: BODY, headers, secret: generateWebhookSecret(), scheme: 'payable-v1' },
      'no_matching_signature',
    );
  });

  it('verifyWebhook – tampered body or timestamp is refused; unknown keys ignored', () => {
    const secret = generateWebhookSecret();
    const ts = nowSeconds();
    const headers = signWebhook({ scheme: 'payable-v1', id: ID, timestamp: ts, body: BODY, secrets: [secret] });
    const header = headers['payable-signature'] ?? '';
    expectRefused(
      { payload: BODY.replace('EUR', 'USD'), headers, secret, scheme: 'payable-v1' },
      'no_matching_signature',
    );
    expectRefused(
      {
        payload: BODY,
        headers: { 'payable-signature': header.replace(`t=${ts}`, `t=${ts - 1}`) },
        secret,
        scheme: 'payable-v1',
      },
      'no_matching_signature',
    );
    expect(
      verifyWebhook({
        payload: BODY,
        headers: { 'payable-signature': `v0=dead,${header},v2=beef` },
        secret,
        scheme: 'payable-v1',
      }),
    ).toEqual(JSON.parse(BODY));
  });

  it('verifyWebhook – missing, malformed and out-of-tolerance headers get their reasons', () => {
    const secret = generateWebhookSecret();
    const ts = 1_800_000_000;
    const headers = signWebhook({ scheme: 'payable-v1', id: ID, timestamp: ts, body: BODY, secrets: [secret] });
    const header = headers['payable-signature'] ?? '';
    const base = { payload: BODY, secret, scheme: 'payable-v1' as const, now: new Date(ts * 1000) };
    expectRefused({ ...base, headers: { 'webhook-id': ID } }, 'missing_headers');
    expectRefused({ ...base, headers: { 'payable-signature': header.replace(`t=${ts},`, '') } }, 'malformed_header');
    expectRefused(
      { ...base, headers: { 'payable-signature': header.replace(`t=${ts}`, 't=soon') } },
      'malformed_header',
    );
    expectRefused({ ...base, headers: { 'payable-signature': `t=${ts}` } }, 'no_matching_signature');
    expect(verifyWebhook({ ...base, headers, now: new Date((ts + 300) * 1000) })).toEqual(JSON.parse(BODY));
    expect(verifyWebhook({ ...base, headers, now: new Date((ts - 300) * 1000) })).toEqual(JSON.parse(BODY));
    expectRefused({ ...base, headers, now: new Date((ts + 301) * 1000) }, 'timestamp_out_of_tolerance');
    expectRefused({ ...base, headers, now: new Date((ts - 301) * 1000) }, 'timestamp_out_of_tolerance');
  });

  it('verifyWebhook – a payable-v1 delivery is not accepted as standard-webhooks, nor the reverse', () => {
    const secret = generateWebhookSecret();
    const ts = nowSeconds();
    const payable = signWebhook({ scheme: 'payable-v1', id: ID, timestamp: ts, body: BODY, secrets: [secret] });
    const standard = signWebhook({ scheme: 'standard-webhooks', id: ID, timestamp: ts, body: BODY, secrets: [secret] });
    expectRefused({ payload: BODY, headers: payable, secret }, 'missing_headers');
    expectRefused({ payload: BODY, headers: standard, secret, scheme: 'payable-v1' }, 'missing_headers');
  });
});

describe('signWebhook input checks', () => {
  it('signWebhook – refuses ids with dots or spaces, bad timestamps and empty secrets', () => {
    const secret = generateWebhookSecret();
    const ok = { scheme: 'standard-webhooks' as const, id: ID, timestamp: 1, body: BODY, secrets: [secret] };
    for (const bad of [
      { id: 'a.b' },
      { id: 'a b' },
      { id: '' },
      { id: 'a\r\nx-evil: 1' },
      { timestamp: 1.5 },
      { timestamp: -1 },
      { secrets: [] },
      { secrets: [''] },
    ]) {
      expect(() => signWebhook({ ...ok, ...bad })).toThrow(expect.objectContaining({ code: 'VALIDATION_ERROR' }));
    }
  });

  it('verifyWebhook – without a secret is a VALIDATION_ERROR, not a signature failure', () => {
    expect(() => verifyWebhook({ payload: BODY, headers: {}, secret: [] })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_ERROR' }),
    );
  });
});

describe('property: any single-bit change of the body is refused', () => {
  const flip = (bytes: Uint8Array, bit: number): Uint8Array => {
    const copy = new Uint8Array(bytes);
    const index = Math.floor(bit / 8) % copy.length;
    copy[index] = (copy[index] ?? 0) ^ (1 << (bit % 8));
    return copy;
  };

  it.each(['standard-webhooks', 'payable-v1'] as const)('%s – verifyWebhook refuses every one-bit flip', (scheme) => {
    const secret = generateWebhookSecret();
    const ts = 1_800_000_000;
    const now = new Date(ts * 1000);
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 200, unit: 'binary' }), fc.nat(), (body, bit) => {
        const headers = signWebhook({ scheme, id: ID, timestamp: ts, body, secrets: [secret] });
        const bytes = new TextEncoder().encode(body);
        const tampered = flip(bytes, bit % (bytes.length * 8));
        const error = refusal(() => verifyWebhook({ payload: tampered, headers, secret, scheme, now }));
        expect(error.context.reason).toBe('no_matching_signature');
      }),
      { numRuns: 300 },
    );
  });
});
