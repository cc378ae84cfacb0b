import { createHmac } from 'node:crypto';
import { isPayableError, type PayableError } from '@payable/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PaddleProvider } from './paddle-provider.js';
import {
  PADDLE_MAX_SIGNATURES,
  parsePaddleSignatureHeader,
  signPaddleWebhook,
  verifyPaddleSignature,
} from './paddle-signature.js';

const OLD = 'pdl_ntfset_01old_secret_key';
const NEW = 'pdl_ntfset_01new_secret_key';
const NOW = new Date('2026-03-01T12:00:00Z');
const NOW_S = NOW.getTime() / 1000;
const BODY = JSON.stringify({
  event_id: 'evt_01hv8x2k3m4n5p6q7r8s9t0v1w',
  event_type: 'customer.created',
  occurred_at: '2026-03-01T11:59:58.000Z',
  notification_id: 'ntf_01hv8x2k3m4n5p6q7r8s9t0v1x',
  data: { id: 'ctm_01hv8x2k3m4n5p6q7r8s9t0v1y', email: 'ada@example.test', name: 'Ada', custom_data: null },
});

/** Paddle's documented scheme, computed here independently of the code under test. */
function h1(secret: string, ts: number, body: string = BODY): string {
  return createHmac('sha256', secret).update(`${ts}:${body}`).digest('hex');
}

function provider(options: { webhookSecret?: string; webhookSecrets?: string[]; toleranceSeconds?: number } = {}) {
  return new PaddleProvider({ apiKey: 'pdl_sdbx_apikey_test', environment: 'sandbox', webhookSecret: NEW, ...options });
}

async function verify(p: PaddleProvider, header: string | undefined, body: string = BODY, now: Date = NOW) {
  return p.verifyWebhook({
    payload: Buffer.from(body, 'utf8'),
    headers: header === undefined ? {} : { 'paddle-signature': header },
    now,
  });
}

async function reason(run: () => Promise<unknown>): Promise<PayableError> {
  try {
    await run();
  } catch (error) {
    if (isPayableError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('Paddle-Signature verification', () => {
  it('accepts the documented ts=…;h1=HMAC-SHA256(secret, "ts:body") over the raw body', async () => {
    const event = await verify(provider(), `ts=${NOW_S};h1=${h1(NEW, NOW_S)}`);
    expect(event).toMatchObject({ id: 'evt_01hv8x2k3m4n5p6q7r8s9t0v1w', type: 'customer.created' });
    expect(signPaddleWebhook(NEW, BODY, NOW_S)).toBe(`ts=${NOW_S};h1=${h1(NEW, NOW_S)}`);
  });

  it('rotation – any of several h1 may match, wherever it stands in the header', async () => {
    const p = provider();
    const genuine = h1(NEW, NOW_S);
    const stale = h1(OLD, NOW_S);
    // The official SDK keeps only the last h1: a genuine signature first and another after it fails there.
    expect((await verify(p, `ts=${NOW_S};h1=${genuine};h1=${stale}`)).type).toBe('customer.created');
    expect((await verify(p, `ts=${NOW_S};h1=${stale};h1=${genuine}`)).type).toBe('customer.created');
    expect((await verify(p, `ts=${NOW_S};h1=${'0'.repeat(64)};h1=${genuine};h1=${'f'.repeat(64)}`)).type).toBe(
      'customer.created',
    );
    const none = await reason(() => verify(p, `ts=${NOW_S};h1=${stale};h1=${'0'.repeat(64)}`));
    expect(none.context.reason).toBe('signature_mismatch');
  });

  it('rotation – several configured secrets: a delivery signed by any one of them verifies', async () => {
    const p = provider({ webhookSecret: undefined, webhookSecrets: [OLD, NEW] });
    expect((await verify(p, `ts=${NOW_S};h1=${h1(OLD, NOW_S)}`)).type).toBe('customer.created');
    expect((await verify(p, `ts=${NOW_S};h1=${h1(NEW, NOW_S)}`)).type).toBe('customer.created');
    expect((await verify(p, signPaddleWebhook([OLD, NEW], BODY, NOW_S))).type).toBe('customer.created');
    const other = await reason(() => verify(p, `ts=${NOW_S};h1=${h1('pdl_ntfset_other', NOW_S)}`));
    expect(other.code).toBe('INVALID_WEBHOOK_SIGNATURE');
    // webhookSecret and webhookSecrets together are all accepted.
    const both = provider({ webhookSecret: OLD, webhookSecrets: [NEW] });
    expect((await verify(both, `ts=${NOW_S};h1=${h1(OLD, NOW_S)}`)).type).toBe('customer.created');
    expect((await verify(both, `ts=${NOW_S};h1=${h1(NEW, NOW_S)}`)).type).toBe('customer.created');
  });

  it('a per-call secret replaces the configured ones', async () => {
    const p = provider();
    const tenant = 'pdl_ntfset_tenant_b';
    const event = await p.verifyWebhook({
      payload: Buffer.from(BODY),
      headers: { 'paddle-signature': `ts=${NOW_S};h1=${h1(tenant, NOW_S)}` },
      secret: tenant,
      now: NOW,
    });
    expect(event.type).toBe('customer.created');
    const configured = await reason(() =>
      p.verifyWebhook({
        payload: Buffer.from(BODY),
        headers: { 'paddle-signature': `ts=${NOW_S};h1=${h1(NEW, NOW_S)}` },
        secret: tenant,
        now: NOW,
      }),
    );
    expect(configured.context.reason).toBe('signature_mismatch');
    const empty = await reason(() =>
      p.verifyWebhook({
        payload: Buffer.from(BODY),
        headers: {
          'paddle-signature': `ts=${NOW_S};h1=${createHmac('sha256', '').update(`${NOW_S}:${BODY}`).digest('hex')}`,
        },
        secret: '',
        now: NOW,
      }),
    );
    expect(empty).toMatchObject({ code: 'INVALID_WEBHOOK_SIGNATURE', context: { reason: 'empty_secret' } });
  });

  it('tolerance – default 300 s, inclusive, refused one second beyond in the past and in the future', async () => {
    const p = provider();
    const at = (ts: number) => verify(p, `ts=${ts};h1=${h1(NEW, ts)}`);
    expect((await at(NOW_S - 300)).type).toBe('customer.created');
    expect((await at(NOW_S + 300)).type).toBe('customer.created');
    const past = await reason(() => at(NOW_S - 301));
    expect(past.context).toMatchObject({
      reason: 'timestamp_outside_tolerance',
      direction: 'past',
      toleranceSeconds: 300,
    });
    const future = await reason(() => at(NOW_S + 301));
    expect(future.context).toMatchObject({ reason: 'timestamp_outside_tolerance', direction: 'future' });
    expect(future.code).toBe('INVALID_WEBHOOK_SIGNATURE');
  });

  it('tolerance – configurable: 5 s refuses a 6 s old delivery that 3600 s accepts', async () => {
    const ts = NOW_S - 6;
    const header = `ts=${ts};h1=${h1(NEW, ts)}`;
    expect((await reason(() => verify(provider({ toleranceSeconds: 5 }), header))).context.reason).toBe(
      'timestamp_outside_tolerance',
    );
    expect((await verify(provider({ toleranceSeconds: 3600 }), header)).type).toBe('customer.created');
    const hourAhead = NOW_S + 3600;
    expect((await verify(provider({ toleranceSeconds: 3600 }), `ts=${hourAhead};h1=${h1(NEW, hourAhead)}`)).type).toBe(
      'customer.created',
    );
  });

  it('tampered body – one changed, added or removed byte is a signature mismatch', async () => {
    const p = provider();
    const header = `ts=${NOW_S};h1=${h1(NEW, NOW_S)}`;
    for (const body of [BODY.replace('Ada', 'Eve'), `${BODY} `, BODY.slice(0, -1), BODY.replace('"name"', '"Name"')]) {
      const error = await reason(() => verify(p, header, body));
      expect(error).toMatchObject({ code: 'INVALID_WEBHOOK_SIGNATURE', context: { reason: 'signature_mismatch' } });
    }
    // A signature over the same body at another ts does not carry over.
    const moved = await reason(() => verify(p, `ts=${NOW_S - 1};h1=${h1(NEW, NOW_S)}`));
    expect(moved.context.reason).toBe('signature_mismatch');
  });

  it('malformed headers are refused as malformed_header; a missing one as missing_header', async () => {
    const p = provider();
    const sig = h1(NEW, NOW_S);
    const cases = [
      `h1=${sig}`,
      `ts=${NOW_S}`,
      `ts=${NOW_S},h1=${sig}`,
      `ts=abc;h1=${sig}`,
      `ts=-5;h1=${sig}`,
      `ts=${NOW_S};ts=${NOW_S};h1=${sig}`,
      `ts=${NOW_S};h1=not-hex`,
      `ts=${NOW_S};h1=`,
      `ts=${NOW_S};${Array.from({ length: PADDLE_MAX_SIGNATURES + 1 }, () => `h1=${sig}`).join(';')}`,
      `ts=${NOW_S};h1=${sig};pad=${'x'.repeat(3000)}`,
      'garbage',
    ];
    for (const header of cases) {
      const error = await reason(() => verify(p, header));
      expect(error.code, header).toBe('INVALID_WEBHOOK_SIGNATURE');
      expect(error.context.reason, header).toBe('malformed_header');
    }
    for (const header of [undefined, '', '   ']) {
      expect((await reason(() => verify(p, header))).context.reason).toBe('missing_header');
    }
    // Spaces around parts, an upper-case h1 and unknown keys are fine.
    const relaxed = ` ts = ${NOW_S} ; h1 = ${sig.toUpperCase()} ; h2=whatever `;
    expect((await verify(p, relaxed)).type).toBe('customer.created');
  });

  it('signature first: an unsigned non-JSON body is a signature error; a signed one is a payload error', async () => {
    const p = provider();
    expect((await reason(() => verify(p, undefined, 'not json {'))).code).toBe('INVALID_WEBHOOK_SIGNATURE');
    const signed = signPaddleWebhook(NEW, 'not json {', NOW_S);
    expect((await reason(() => verify(p, signed, 'not json {'))).code).toBe('INVALID_WEBHOOK_PAYLOAD');
    expect((await reason(() => verify(p, signPaddleWebhook(NEW, '', NOW_S), ''))).code).toBe('INVALID_WEBHOOK_PAYLOAD');
    const parsed = await reason(() =>
      p.verifyWebhook({ payload: { event_id: 'x' } as unknown as Buffer, headers: {}, now: NOW }),
    );
    expect(parsed.code).toBe('INVALID_WEBHOOK_PAYLOAD');
  });

  it('honours a signature header override, looked up case-insensitively', async () => {
    const event = await provider().verifyWebhook({
      payload: Buffer.from(BODY),
      headers: { 'X-Paddle-Sig': `ts=${NOW_S};h1=${h1(NEW, NOW_S)}` },
      signatureHeader: 'X-Paddle-Sig',
      now: NOW,
    });
    expect(event.type).toBe('customer.created');
  });

  it('parsePaddleSignatureHeader – reads ts and every h1 in order', () => {
    expect(parsePaddleSignatureHeader('ts=1767225600;h1=AB12;h1=cd34')).toEqual({
      timestamp: 1767225600,
      signatures: ['ab12', 'cd34'],
    });
    expect(parsePaddleSignatureHeader('ts=1;h2=ab')).toBeNull();
  });

  it('property – any bytes signed with any secret at any time verify; any flipped bit does not', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1_000_000_000, max: 4_000_000_000 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (secret, bytes, ts, position, bit) => {
          const payload = Buffer.from(bytes);
          const expected = createHmac('sha256', secret)
            .update(Buffer.concat([Buffer.from(`${ts}:`), payload]))
            .digest('hex');
          const header = signPaddleWebhook(secret, payload, ts);
          expect(header).toBe(`ts=${ts};h1=${expected}`);
          const check = {
            header,
            headerName: 'paddle-signature',
            secrets: [secret],
            now: new Date(ts * 1000),
            toleranceSeconds: 0,
          };
          verifyPaddleSignature({ ...check, payload });
          const tampered = Buffer.from(payload);
          const i = position % tampered.length;
          tampered[i] = (tampered[i] ?? 0) ^ (1 << bit);
          expect(() => verifyPaddleSignature({ ...check, payload: tampered })).toThrow(
            expect.objectContaining({
              code: 'INVALID_WEBHOOK_SIGNATURE',
              context: expect.objectContaining({ reason: 'signature_mismatch' }),
            }),
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});
