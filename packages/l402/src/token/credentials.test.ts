import { createHash, randomBytes } from 'node:crypto';
import { isPayableError, L402InvalidPreimageFormatError, type PayableError } from '@payable/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildChallengeHeaders,
  formatChallenge,
  mintL402Token,
  parseAuthorization,
  parseChallenge,
  servicesCaveat,
  verifyPreimage,
} from '../index.js';
import { thrown } from '../../test/support/thrown.js';

const preimage = randomBytes(32);
const paymentHash = createHash('sha256').update(preimage).digest();
const minted = mintL402Token({ paymentHash, caveats: [servicesCaveat([{ name: 'weather' }])] });
const token = minted.macaroon.toBase64();
const INVOICE = 'lnbcrt100n1pjqz9xyzpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdqqcqzzsxqyz5vq';

describe('parseAuthorization – well-formed credentials', () => {
  it('reads L402 and LSAT (any case), the token and the preimage', () => {
    for (const scheme of ['L402', 'LSAT', 'l402', 'Lsat']) {
      const credential = parseAuthorization(`${scheme} ${token}:${preimage.toString('hex')}`);
      expect(credential?.scheme).toBe(scheme.toUpperCase());
      expect(credential?.preimageHex).toBe(preimage.toString('hex'));
      expect(credential?.preimage).toEqual(preimage);
      expect(Buffer.from(credential?.macaroon.serialize() ?? [])).toEqual(Buffer.from(minted.macaroon.serialize()));
      expect(credential?.macaroons).toHaveLength(1);
    }
  });

  it('accepts URL-safe and unpadded tokens, surrounding whitespace, and several macaroons separated by commas', () => {
    const url = Buffer.from(minted.macaroon.serialize()).toString('base64url');
    expect(
      parseAuthorization(`  L402   ${url}:${preimage.toString('hex')} `)?.macaroon.verifySignature(minted.rootKey),
    ).toBe(true);
    const two = parseAuthorization(`L402 ${token}, ${url}:${preimage.toString('hex')}`);
    expect(two?.macaroons).toHaveLength(2);
  });

  it('takes the first usable value of several (Aperture clients send LSAT and L402)', () => {
    const credential = parseAuthorization([
      'Bearer abc',
      `LSAT ${token}:${preimage.toString('hex')}`,
      `L402 ${token}:${preimage.toString('hex')}`,
    ]);
    expect(credential?.scheme).toBe('LSAT');
  });
});

describe('parseAuthorization – no usable credential → null (the paywall sends a fresh challenge)', () => {
  it.each([
    ['missing', undefined],
    ['null', null],
    ['empty', ''],
    ['another scheme', `Bearer ${token}`],
    ['scheme only', 'L402'],
    ['no colon', `L402 ${token}`],
    ['nothing before the colon', `L402 :${preimage.toString('hex')}`],
    ['not base64', `L402 not*base64:${preimage.toString('hex')}`],
    ['base64 of garbage', `L402 AAAA:${preimage.toString('hex')}`],
    ['an empty macaroon in the list', `L402 ${token},:${preimage.toString('hex')}`],
    ['token= parameter style (Aperture does not read it either)', `L402 token="${token}":${preimage.toString('hex')}`],
    ['oversized', `L402 ${'A'.repeat(200_000)}:${preimage.toString('hex')}`],
  ])('%s', (_label, header) => {
    expect(parseAuthorization(header as string | undefined)).toBeNull();
  });
});

describe('parseAuthorization – the preimage must be exactly 64 lowercase hex characters', () => {
  function formatError(p: string): PayableError {
    const error = thrown(() => parseAuthorization(`L402 ${token}:${p}`));
    expect(error).toBeInstanceOf(L402InvalidPreimageFormatError);
    expect(error.code).toBe('L402_INVALID_PREIMAGE_FORMAT');
    expect(error.httpStatus).toBe(401);
    expect(error.message).toMatch(/^Invalid preimage format/);
    return error;
  }

  it('the payment hash instead of the preimage: the message says so', () => {
    const error = formatError(paymentHash.toString('hex'));
    expect(error.message).toContain('this is the payment hash, not the preimage');
    expect(error.context.reason).toBe('payment_hash');
    expect(formatError(paymentHash.toString('hex').toUpperCase()).context.reason).toBe('payment_hash');
  });

  it('base64 instead of hex: the message says so', () => {
    for (const b64 of [preimage.toString('base64'), preimage.toString('base64url')]) {
      const error = formatError(b64);
      expect(error.message).toContain('looks like base64');
      expect(error.context.reason).toBe('base64');
    }
  });

  it('too short, too long, uppercase, 0x prefix, whitespace, empty, not hex', () => {
    const hex = preimage.toString('hex');
    expect(formatError(hex.slice(0, 62)).context).toMatchObject({ reason: 'length', length: 62 });
    expect(formatError(`${hex}00`).context).toMatchObject({ reason: 'length', length: 66 });
    expect(formatError(hex.toUpperCase()).context.reason).toBe('uppercase');
    expect(formatError(`0x${hex}`).context.reason).toBe('0x_prefix');
    expect(formatError(`${hex.slice(0, 32)} ${hex.slice(32)}`).context.reason).toBe('whitespace');
    expect(formatError('').context.reason).toBe('empty');
    expect(formatError('z'.repeat(64)).context.reason).toBe('not_hex');
  });

  it('the error never carries the preimage itself', () => {
    const error = formatError(preimage.toString('base64'));
    expect(JSON.stringify(error.toJSON())).not.toContain(preimage.toString('base64'));
  });
});

describe('verifyPreimage', () => {
  it('accepts sha256(preimage) = payment hash, as hex or bytes', () => {
    expect(() => verifyPreimage(preimage.toString('hex'), paymentHash)).not.toThrow();
    expect(() => verifyPreimage(preimage, paymentHash.toString('hex'))).not.toThrow();
  });

  it('a different preimage → L402_PREIMAGE_MISMATCH (401)', () => {
    const error = thrown(() => verifyPreimage(randomBytes(32).toString('hex'), paymentHash));
    expect(error).toMatchObject({
      code: 'L402_PREIMAGE_MISMATCH',
      httpStatus: 401,
      message: 'Preimage does not match payment hash',
    });
  });

  it('a malformed preimage → L402_INVALID_PREIMAGE_FORMAT; a malformed payment hash → VALIDATION_ERROR', () => {
    expect(thrown(() => verifyPreimage('abc', paymentHash)).code).toBe('L402_INVALID_PREIMAGE_FORMAT');
    expect(thrown(() => verifyPreimage(randomBytes(31), paymentHash)).code).toBe('L402_INVALID_PREIMAGE_FORMAT');
    expect(thrown(() => verifyPreimage(paymentHash.toString('hex'), paymentHash)).context.reason).toBe('payment_hash');
    expect(thrown(() => verifyPreimage(preimage, 'xyz')).code).toBe('VALIDATION_ERROR');
  });

  it('property: any single-bit change of the preimage is refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), (bit) => {
        const changed = Buffer.from(preimage);
        changed[bit >> 3] = (changed[bit >> 3] as number) ^ (1 << (bit & 7));
        expect(thrown(() => verifyPreimage(changed, paymentHash)).code).toBe('L402_PREIMAGE_MISMATCH');
        expect(thrown(() => verifyPreimage(changed.toString('hex'), paymentHash)).code).toBe('L402_PREIMAGE_MISMATCH');
      }),
      { numRuns: 256 },
    );
  });
});

describe('challenges – WWW-Authenticate', () => {
  it('builds the LSAT and the L402 values in Aperture form', () => {
    expect(buildChallengeHeaders({ macaroon: minted.macaroon, invoice: INVOICE })).toEqual([
      `LSAT macaroon="${token}", invoice="${INVOICE}"`,
      `L402 macaroon="${token}", invoice="${INVOICE}"`,
    ]);
    expect(formatChallenge('L402', { macaroon: token, invoice: INVOICE })).toBe(
      `L402 macaroon="${token}", invoice="${INVOICE}"`,
    );
  });

  it('refuses values that would break the header', () => {
    expect(thrown(() => formatChallenge('L402', { macaroon: token, invoice: 'lnbc1", x="y' })).code).toBe(
      'VALIDATION_ERROR',
    );
    expect(thrown(() => formatChallenge('L402', { macaroon: 'a"b', invoice: INVOICE })).code).toBe('VALIDATION_ERROR');
    expect(thrown(() => formatChallenge('Bearer' as 'L402', { macaroon: token, invoice: INVOICE })).code).toBe(
      'VALIDATION_ERROR',
    );
  });

  it('parses what it builds, from a list, a fetch Headers (joined) and a Node headers object', () => {
    const values = buildChallengeHeaders({ macaroon: minted.macaroon, invoice: INVOICE });
    const joined = new Headers();
    for (const v of values) joined.append('WWW-Authenticate', v);
    for (const input of [values, joined, { 'www-authenticate': values.join(', ') }, { 'WWW-Authenticate': values }]) {
      const challenge = parseChallenge(input);
      expect(challenge?.scheme).toBe('L402');
      expect(challenge?.token).toBe(token);
      expect(challenge?.invoice).toBe(INVOICE);
      expect(challenge?.macaroon.verifySignature(minted.rootKey)).toBe(true);
    }
  });

  it('accepts both schemes and both parameter names (macaroon=, token=), an optional version, any spacing and order', () => {
    expect(parseChallenge(`LSAT macaroon="${token}", invoice="${INVOICE}"`)?.scheme).toBe('LSAT');
    expect(parseChallenge(`L402 token="${token}", invoice="${INVOICE}"`)?.token).toBe(token);
    expect(parseChallenge(`L402 version="0", token="${token}", invoice="${INVOICE}"`)?.version).toBe('0');
    expect(parseChallenge(`l402 invoice=${INVOICE} ,  macaroon = "${token}"`)?.invoice).toBe(INVOICE);
    expect(
      parseChallenge(`Basic realm="x", Bearer abc/def==, L402 macaroon="${token}", invoice="${INVOICE}"`)?.scheme,
    ).toBe('L402');
    expect(
      parseChallenge([
        `LSAT macaroon="${token}", invoice="${INVOICE}"`,
        `L402 macaroon="${token}", invoice="${INVOICE}"`,
      ])?.scheme,
    ).toBe('L402');
  });

  it('returns null without a usable challenge', () => {
    for (const input of [
      '',
      'Basic realm="x"',
      `L402 macaroon="${token}"`,
      `L402 invoice="${INVOICE}"`,
      `L402 macaroon="AAAA", invoice="${INVOICE}"`,
      `L402 macaroon="${token}", invoice="not an invoice"`,
      `L402 macaroon="${token}", macaroon="${token}", invoice="${INVOICE}"`,
      `L402 macaroon="${token}", token="AAAA", invoice="${INVOICE}"`,
      `L402 macaroon="${token}, invoice="${INVOICE}"`,
      {},
      { get: () => null },
      [],
    ]) {
      expect(parseChallenge(input as string)).toBeNull();
    }
  });
});

describe('fuzzing – header parsers never throw anything but a PayableError', () => {
  const validAuth = `L402 ${token}:${preimage.toString('hex')}`;
  const validChallenge = `L402 macaroon="${token}", invoice="${INVOICE}"`;

  function mutate(text: string, edits: { at: number; kind: number; ch: string }[]): string {
    let out = text;
    for (const e of edits) {
      const i = out.length === 0 ? 0 : e.at % out.length;
      if (e.kind === 0) out = out.slice(0, i) + e.ch + out.slice(i + 1);
      else if (e.kind === 1) out = out.slice(0, i) + e.ch + out.slice(i);
      else out = out.slice(0, i) + out.slice(i + 1);
    }
    return out;
  }

  const edits = fc.array(
    fc.record({
      at: fc.nat(),
      kind: fc.integer({ min: 0, max: 2 }),
      ch: fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }),
    }),
    { maxLength: 6 },
  );

  it('parseAuthorization on mutated and random headers', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          edits.map((e) => mutate(validAuth, e)),
          fc.string({ unit: 'binary', maxLength: 300 }),
        ),
        (header) => {
          try {
            parseAuthorization(header);
            parseAuthorization([header, header]);
          } catch (error) {
            expect(isPayableError(error)).toBe(true);
            expect((error as PayableError).code).toBe('L402_INVALID_PREIMAGE_FORMAT');
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('parseChallenge on mutated and random headers never throws', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          edits.map((e) => mutate(validChallenge, e)),
          fc.string({ unit: 'binary', maxLength: 300 }),
        ),
        (header) => {
          const challenge = parseChallenge(header);
          if (challenge !== null) expect(['L402', 'LSAT']).toContain(challenge.scheme);
          parseChallenge({ 'www-authenticate': [header, validChallenge] });
        },
      ),
      { numRuns: 2000 },
    );
  });
});
