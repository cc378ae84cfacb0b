import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isPayableError, NodeEncryptionDriver, PayableError } from '../index.js';

const STRING_KEY = 'zT3q0m9Yv8Gx1hKc4wB7nR2pL6sD5fJa0eUiOyQbXtM=';
const RAW_KEY = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');

/** Runs `fn` and returns the thrown error (fails the test when nothing is thrown). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

function expectInvalid(fn: () => unknown, reason?: string): void {
  const error = thrown(fn);
  expect(isPayableError(error)).toBe(true);
  expect(error).toMatchObject({ code: 'ENCRYPTION_INVALID_CIPHERTEXT', httpStatus: 500 });
  if (reason !== undefined) expect((error as PayableError).context.reason).toBe(reason);
}

function expectKeyRequired(fn: () => unknown): PayableError {
  const error = thrown(fn);
  expect(isPayableError(error)).toBe(true);
  expect(error).toBeInstanceOf(PayableError);
  expect(error).toMatchObject({ code: 'ENCRYPTION_KEY_REQUIRED', httpStatus: 500 });
  return error as PayableError;
}

/** Splits a ciphertext into its four documented parts, decoding the binary ones. */
function parts(ciphertext: string): { version: string; kid: string; nonce: Buffer; body: Buffer } {
  const [version, kid, nonce, body] = ciphertext.split('.') as [string, string, string, string];
  return { version, kid, nonce: Buffer.from(nonce, 'base64url'), body: Buffer.from(body, 'base64url') };
}

function join(version: string, kid: string, nonce: Buffer, body: Buffer): string {
  return `${version}.${kid}.${nonce.toString('base64url')}.${body.toString('base64url')}`;
}

describe('NodeEncryptionDriver – round trip', () => {
  it('decrypt(encrypt(x, aad), aad) returns x for any unicode plaintext and aad', () => {
    const enc = new NodeEncryptionDriver({ key: STRING_KEY });
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (plaintext, aad) => {
        const c = enc.encrypt(plaintext, aad);
        expect(typeof c).toBe('string');
        expect(enc.decrypt(c, aad)).toBe(plaintext);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips with a 32-byte raw key (Buffer and plain Uint8Array)', () => {
    for (const key of [RAW_KEY, new Uint8Array(RAW_KEY)]) {
      const enc = new NodeEncryptionDriver({ key });
      const c = enc.encrypt('ada@example.com', 'customer:cus_1:email');
      expect(enc.decrypt(c, 'customer:cus_1:email')).toBe('ada@example.com');
    }
    // Buffer and Uint8Array with the same bytes are the same key.
    const c = new NodeEncryptionDriver({ key: RAW_KEY }).encrypt('x', 'a');
    expect(new NodeEncryptionDriver({ key: new Uint8Array(RAW_KEY) }).decrypt(c, 'a')).toBe('x');
  });

  it('a new driver with the same string key decrypts (the derivation is deterministic)', () => {
    const c = new NodeEncryptionDriver({ key: STRING_KEY }).encrypt('{"id":"evt_1"}', 'webhook:evt_1');
    expect(new NodeEncryptionDriver({ key: STRING_KEY }).decrypt(c, 'webhook:evt_1')).toBe('{"id":"evt_1"}');
  });

  it('round-trips a large payload', () => {
    const enc = new NodeEncryptionDriver({ key: STRING_KEY });
    const big = 'é€😀'.repeat(200_000);
    expect(enc.decrypt(enc.encrypt(big, 'p'), 'p')).toBe(big);
  });

  it('the caller mutating its key buffer afterwards does not change the driver key', () => {
    const mine = Buffer.from(RAW_KEY);
    const enc = new NodeEncryptionDriver({ key: mine });
    const c = enc.encrypt('secret', 'a');
    mine.fill(0);
    expect(enc.decrypt(c, 'a')).toBe('secret');
  });
});

describe('NodeEncryptionDriver – format', () => {
  it('encrypt returns v1.<kid>.<12-byte nonce>.<ciphertext+16-byte tag> in base64url', () => {
    const enc = new NodeEncryptionDriver({ key: RAW_KEY });
    const c = enc.encrypt('hello', 'aad');
    expect(c).toMatch(/^v1\.k1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    const { nonce, body } = parts(c);
    expect(nonce.length).toBe(12);
    expect(body.length).toBe(Buffer.byteLength('hello') + 16);
  });

  it('is readable with plain node:crypto following the documented format (raw key)', () => {
    const c = new NodeEncryptionDriver({ key: RAW_KEY }).encrypt('ünïcode ✓', 'customer:cus_1:name');
    const { kid, nonce, body } = parts(c);
    const decipher = createDecipheriv('aes-256-gcm', RAW_KEY, nonce, { authTagLength: 16 });
    decipher.setAAD(Buffer.from(`v1.${kid}.customer:cus_1:name`, 'utf8'));
    decipher.setAuthTag(body.subarray(body.length - 16));
    const plain = Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]);
    expect(plain.toString('utf8')).toBe('ünïcode ✓');
  });

  it('derives string keys with HKDF-SHA256, salt "payable/encryption/v1", info "aes-256-gcm key"', () => {
    const derived = Buffer.from(hkdfSync('sha256', STRING_KEY, 'payable/encryption/v1', 'aes-256-gcm key', 32));
    const c = new NodeEncryptionDriver({ key: derived }).encrypt('same key', 'a');
    expect(new NodeEncryptionDriver({ key: STRING_KEY }).decrypt(c, 'a')).toBe('same key');
  });

  it('encrypting the same plaintext twice gives different ciphertexts (fresh nonce)', () => {
    const enc = new NodeEncryptionDriver({ key: STRING_KEY });
    const a = enc.encrypt('same', 'aad');
    const b = enc.encrypt('same', 'aad');
    expect(a).not.toBe(b);
    expect(parts(a).nonce.equals(parts(b).nonce)).toBe(false);
    const nonces = new Set(Array.from({ length: 2000 }, () => parts(enc.encrypt('same', 'aad')).nonce.toString('hex')));
    expect(nonces.size).toBe(2000);
  });
});

describe('NodeEncryptionDriver – decrypt refuses bad input with ENCRYPTION_INVALID_CIPHERTEXT', () => {
  const enc = new NodeEncryptionDriver({ key: STRING_KEY });
  const aad = 'customer:cus_1:email';
  const good = enc.encrypt('ada@example.com', aad);

  it('a single-bit flip anywhere in the nonce, ciphertext or tag', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), fc.nat(), (plaintext, n) => {
        const c = enc.encrypt(plaintext, aad);
        const { version, kid, nonce, body } = parts(c);
        const bytes = Buffer.concat([nonce, body]);
        const bit = n % (bytes.length * 8);
        bytes[bit >> 3] = (bytes[bit >> 3] as number) ^ (1 << (bit & 7));
        const tampered = join(version, kid, bytes.subarray(0, 12), bytes.subarray(12));
        expectInvalid(() => enc.decrypt(tampered, aad), 'authentication_failed');
      }),
      { numRuns: 500 },
    );
  });

  it('tampered ciphertext, nonce and tag bytes (each)', () => {
    const { version, kid, nonce, body } = parts(good);
    const flipped = (b: Buffer, i: number): Buffer => {
      const copy = Buffer.from(b);
      copy[i] = (copy[i] as number) ^ 0xff;
      return copy;
    };
    expectInvalid(() => enc.decrypt(join(version, kid, nonce, flipped(body, 0)), aad), 'authentication_failed');
    expectInvalid(() => enc.decrypt(join(version, kid, flipped(nonce, 11), body), aad), 'authentication_failed');
    expectInvalid(
      () => enc.decrypt(join(version, kid, nonce, flipped(body, body.length - 1)), aad),
      'authentication_failed',
    );
  });

  it('truncated input: missing parts, short nonce, body shorter than a tag, bytes cut off', () => {
    const { version, kid, nonce, body } = parts(good);
    expectInvalid(() => enc.decrypt(good.slice(0, good.lastIndexOf('.')), aad), 'malformed');
    expectInvalid(() => enc.decrypt(`${good.slice(0, good.lastIndexOf('.'))}.`, aad), 'malformed');
    expectInvalid(() => enc.decrypt(join(version, kid, nonce.subarray(0, 8), body), aad), 'truncated');
    expectInvalid(() => enc.decrypt(join(version, kid, nonce, body.subarray(0, 15)), aad), 'truncated');
    for (const cut of [1, 4, 16]) {
      expectInvalid(() => enc.decrypt(join(version, kid, nonce, body.subarray(0, body.length - cut)), aad));
    }
    for (let end = 0; end < good.length; end += 7) {
      expectInvalid(() => enc.decrypt(good.slice(0, end), aad));
    }
  });

  it('a tag shorter than 16 bytes is refused even when it is valid for that length', () => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', RAW_KEY, iv, { authTagLength: 12 });
    cipher.setAAD(Buffer.from(`v1.k1.${aad}`, 'utf8'));
    const ct = Buffer.concat([cipher.update('ada@example.com', 'utf8'), cipher.final()]);
    const shortTag = cipher.getAuthTag();
    expect(shortTag.length).toBe(12);
    const raw = new NodeEncryptionDriver({ key: RAW_KEY });
    expectInvalid(() => raw.decrypt(join('v1', 'k1', iv, Buffer.concat([ct, shortTag])), aad));
    // A 4-byte tag alone (no ciphertext) is too short to even hold a tag.
    const empty = createCipheriv('aes-256-gcm', RAW_KEY, iv, { authTagLength: 4 });
    empty.setAAD(Buffer.from(`v1.k1.${aad}`, 'utf8'));
    empty.final();
    expectInvalid(() => raw.decrypt(join('v1', 'k1', iv, empty.getAuthTag()), aad), 'truncated');
  });

  it('a ciphertext made with another key under the same key id', () => {
    const other = new NodeEncryptionDriver({ key: 'a-completely-different-secret-0123456789' });
    expectInvalid(() => enc.decrypt(other.encrypt('ada@example.com', aad), aad), 'authentication_failed');
  });

  it('an unknown key id (context.kid names it)', () => {
    const other = new NodeEncryptionDriver({ keys: { k9: STRING_KEY }, activeKid: 'k9' });
    const error = thrown(() => enc.decrypt(other.encrypt('x', aad), aad)) as PayableError;
    expect(error.code).toBe('ENCRYPTION_INVALID_CIPHERTEXT');
    expect(error.context).toEqual({ reason: 'unknown_kid', kid: 'k9' });
  });

  it('the key id is authenticated: relabelling to another id holding the same key fails', () => {
    const twin = new NodeEncryptionDriver({ keys: { a: RAW_KEY, b: RAW_KEY }, activeKid: 'a' });
    const c = twin.encrypt('x', aad);
    expect(c.startsWith('v1.a.')).toBe(true);
    expectInvalid(() => twin.decrypt(`v1.b.${c.slice('v1.a.'.length)}`, aad), 'authentication_failed');
  });

  it('the wrong aad (a value moved to another place)', () => {
    expectInvalid(() => enc.decrypt(good, 'customer:cus_2:email'), 'authentication_failed');
    expectInvalid(() => enc.decrypt(good, ''), 'authentication_failed');
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        fc.pre(a !== b);
        expectInvalid(() => enc.decrypt(enc.encrypt('v', a), b), 'authentication_failed');
      }),
      { numRuns: 200 },
    );
  });

  it('an unknown version', () => {
    expectInvalid(() => enc.decrypt(`v2${good.slice(2)}`, aad), 'unknown_version');
    expectInvalid(() => enc.decrypt(`v0${good.slice(2)}`, aad), 'unknown_version');
    expectInvalid(() => enc.decrypt(`V1${good.slice(2)}`, aad), 'malformed');
  });

  it('garbage strings', () => {
    for (const junk of [
      '',
      '.',
      '...',
      'v1...',
      'v1.k1..',
      'ada@example.com',
      'v1.k1.!!!.???',
      'v1.k.1.AAAA.BBBB',
      'v1.k1.AAAA.BBBB.CC',
    ]) {
      expectInvalid(() => enc.decrypt(junk, aad));
    }
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (junk) => {
        expectInvalid(() => enc.decrypt(junk, aad));
      }),
    );
  });

  it('base64url parts that are padded, standard base64 or non-canonical', () => {
    const [v, kid, n, b] = good.split('.') as [string, string, string, string];
    expectInvalid(() => enc.decrypt(`${v}.${kid}.${n}.${b}=`, aad), 'malformed');
    expectInvalid(() => enc.decrypt(`${v}.${kid}.${n}.${b.replace(/-/g, '+').replace(/_/g, '/')}+`, aad), 'malformed');
    // The body is 31 bytes, so its last character has 4 unused low bits. Setting one still decodes to
    // the same bytes, but it is a second spelling of the value and is refused.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    expect(Buffer.from(b, 'base64url').length % 3).toBe(1);
    const last = alphabet.indexOf(b.slice(-1));
    const respelled = `${b.slice(0, -1)}${alphabet[last | 1]}`;
    expect(respelled).not.toBe(b);
    expect(Buffer.from(respelled, 'base64url').equals(Buffer.from(b, 'base64url'))).toBe(true);
    expectInvalid(() => enc.decrypt(`${v}.${kid}.${n}.${respelled}`, aad), 'malformed');
  });

  it('non-string input', () => {
    for (const value of [undefined, null, 42, {}, [], Buffer.from(good), new Uint8Array(4)]) {
      expectInvalid(() => enc.decrypt(value as unknown as string, aad), 'not_a_string');
    }
  });
});

describe('NodeEncryptionDriver – key rotation', () => {
  const OLD = 'old-secret-old-secret-old-secret-0001';
  const NEW = 'new-secret-new-secret-new-secret-0002';

  it('old kid decrypts, the active kid encrypts', () => {
    const before = new NodeEncryptionDriver({ key: OLD });
    expect(before.activeKid).toBe('k1');
    const oldValue = before.encrypt('written before rotation', 'a');

    const rotated = new NodeEncryptionDriver({ keys: { k1: OLD, k2: NEW }, activeKid: 'k2' });
    expect(rotated.activeKid).toBe('k2');
    expect(rotated.kids).toEqual(['k1', 'k2']);
    expect(rotated.decrypt(oldValue, 'a')).toBe('written before rotation');

    const newValue = rotated.encrypt('written after rotation', 'a');
    expect(newValue.startsWith('v1.k2.')).toBe(true);
    expect(rotated.decrypt(newValue, 'a')).toBe('written after rotation');

    // A process still on the old configuration cannot read the new value (unknown kid, not garbage).
    expectInvalid(() => before.decrypt(newValue, 'a'), 'unknown_kid');

    // Once everything is re-encrypted, the old key can be dropped.
    const retired = new NodeEncryptionDriver({ keys: { k2: NEW }, activeKid: 'k2' });
    expect(retired.decrypt(newValue, 'a')).toBe('written after rotation');
    expectInvalid(() => retired.decrypt(oldValue, 'a'), 'unknown_kid');
  });

  it('mixes string and raw keys in one map', () => {
    const enc = new NodeEncryptionDriver({ keys: { 'legacy_2024-01': OLD, current: RAW_KEY }, activeKid: 'current' });
    const c = enc.encrypt('x', 'a');
    expect(c.startsWith('v1.current.')).toBe(true);
    expect(enc.decrypt(c, 'a')).toBe('x');
    expect(
      enc.decrypt(
        new NodeEncryptionDriver({ keys: { 'legacy_2024-01': OLD }, activeKid: 'legacy_2024-01' }).encrypt('y', 'a'),
        'a',
      ),
    ).toBe('y');
    // The same raw key under another kid does not read it: the kid is part of the authenticated data.
    expectInvalid(
      () => new NodeEncryptionDriver({ key: RAW_KEY }).decrypt(`v1.k1.${c.slice('v1.current.'.length)}`, 'a'),
      'authentication_failed',
    );
  });
});

describe('NodeEncryptionDriver – key validation (ENCRYPTION_KEY_REQUIRED)', () => {
  it('refuses an empty or whitespace-only string key', () => {
    for (const key of ['', ' ', '   ', '\n', '\t \r\n', '\u00a0\u2003']) {
      expectKeyRequired(() => new NodeEncryptionDriver({ key }));
    }
  });

  it('refuses a missing key (an unset environment variable)', () => {
    expectKeyRequired(() => new NodeEncryptionDriver({ key: undefined }));
    expectKeyRequired(() => new NodeEncryptionDriver({ key: null as unknown as string }));
    expectKeyRequired(() => new NodeEncryptionDriver({} as unknown as { key: string }));
    expectKeyRequired(() => new NodeEncryptionDriver({ key: 42 as unknown as string }));
  });

  it('refuses raw keys that are not exactly 32 bytes', () => {
    for (const size of [0, 16, 31, 33, 64]) {
      expectKeyRequired(() => new NodeEncryptionDriver({ key: new Uint8Array(size) }));
    }
  });

  it('refuses an empty key map, an activeKid not in the map, and an empty key in the map', () => {
    expectKeyRequired(() => new NodeEncryptionDriver({ keys: {}, activeKid: 'k1' }));
    expectKeyRequired(() => new NodeEncryptionDriver({ keys: { k1: STRING_KEY }, activeKid: 'k2' }));
    expectKeyRequired(
      () => new NodeEncryptionDriver({ keys: { k1: STRING_KEY }, activeKid: undefined as unknown as string }),
    );
    const error = expectKeyRequired(
      () => new NodeEncryptionDriver({ keys: { k1: STRING_KEY, k2: '  ' }, activeKid: 'k1' }),
    );
    expect(error.context.kid).toBe('k2');
  });

  it('refuses key ids with unsafe characters (dots, spaces, empty, too long)', () => {
    for (const kid of ['a.b', 'with space', '', 'x'.repeat(65), 'k/1', 'ключ']) {
      expectKeyRequired(() => new NodeEncryptionDriver({ keys: { [kid]: STRING_KEY }, activeKid: kid }));
    }
  });
});

describe('NodeEncryptionDriver – secrets never leak', () => {
  it('errors carry neither the plaintext, the input nor the key', () => {
    const plaintext = 'ada.lovelace@example.com';
    const enc = new NodeEncryptionDriver({ key: STRING_KEY });
    const c = enc.encrypt(plaintext, 'a');
    const errors = [
      thrown(() => enc.decrypt(c, 'b')),
      thrown(() => enc.decrypt(plaintext, 'a')),
      thrown(() => enc.decrypt(`v1.k1.${plaintext}`, 'a')),
      thrown(() => new NodeEncryptionDriver({ key: '' })),
      thrown(() => new NodeEncryptionDriver({ key: RAW_KEY.subarray(0, 31) })),
    ];
    for (const error of errors) {
      expect(isPayableError(error)).toBe(true);
      const text = `${(error as Error).message} ${JSON.stringify(error)} ${String((error as Error).stack)}`;
      expect(text).not.toContain('ada.lovelace');
      expect(text).not.toContain('lovelace');
      expect(text).not.toContain(STRING_KEY);
      expect(text).not.toContain(RAW_KEY.toString('hex').slice(0, 16));
    }
  });

  it('inspecting or serialising the driver shows no key material', () => {
    const enc = new NodeEncryptionDriver({ keys: { k1: STRING_KEY, k2: RAW_KEY }, activeKid: 'k2' });
    const derived = Buffer.from(hkdfSync('sha256', STRING_KEY, 'payable/encryption/v1', 'aes-256-gcm key', 32));
    const shown = `${inspect(enc, { depth: 10, showHidden: true })} ${JSON.stringify(enc)}`;
    for (const secret of [STRING_KEY, RAW_KEY.toString('hex').slice(0, 8), derived.toString('hex').slice(0, 8)]) {
      expect(shown).not.toContain(secret);
    }
    expect(shown).not.toMatch(/<Buffer/);
  });
});

describe('NodeEncryptionDriver – encrypt input', () => {
  it('refuses strings that cannot be encoded as UTF-8 (lone surrogates) instead of altering them', () => {
    const enc = new NodeEncryptionDriver({ key: STRING_KEY });
    for (const bad of ['\uD800', 'a\uDC00b', '\uDBFF\uDBFF']) {
      expect(thrown(() => enc.encrypt(bad, 'a'))).toMatchObject({ code: 'VALIDATION_ERROR' });
      expect(thrown(() => enc.encrypt('ok', bad))).toMatchObject({ code: 'VALIDATION_ERROR' });
    }
    expect(enc.decrypt(enc.encrypt('\uD83D\uDE00', 'a'), 'a')).toBe('😀');
  });
});
