import { describe, expect, it } from 'vitest';
import { timingSafeEqualString } from './timing-safe.js';

describe('timingSafeEqualString', () => {
  const sig = '957a081a40e94e1641d5ddb16f0d2facdc135a90f326c11e40970e7da4d67676';

  it('equal strings are equal', () => {
    expect(timingSafeEqualString(sig, `${sig}`)).toBe(true);
    expect(timingSafeEqualString('', '')).toBe(true);
    expect(timingSafeEqualString('prïce 🙂', 'prïce 🙂')).toBe(true);
  });

  it('a difference anywhere, a prefix, a longer string or another case is unequal', () => {
    expect(timingSafeEqualString(sig, `${sig.slice(0, -1)}7`)).toBe(false);
    expect(timingSafeEqualString(sig, `0${sig.slice(1)}`)).toBe(false);
    expect(timingSafeEqualString(sig, sig.slice(0, 32))).toBe(false);
    expect(timingSafeEqualString(sig, `${sig}0`)).toBe(false);
    expect(timingSafeEqualString(sig, sig.toUpperCase())).toBe(false);
    expect(timingSafeEqualString('', sig)).toBe(false);
  });
});
