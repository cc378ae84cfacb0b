import { describe, expect, it } from 'vitest';
import { invoiceAmountMsat } from './bolt11-amount.js';

describe('invoiceAmountMsat', () => {
  it('reads the amount of the human-readable part on every network and multiplier (BOLT 11 examples)', () => {
    expect(invoiceAmountMsat('lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqq')).toBe(250_000_000n);
    expect(invoiceAmountMsat('lnbc20m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqq')).toBe(2_000_000_000n);
    expect(invoiceAmountMsat('lnbc9678785340p1pwmna7lpp5gc3xfm08u9qy06djf8dfflhugl6p7lgza6dsjxq454gxhj9t7a0sd8')).toBe(
      967_878_534n,
    );
    expect(invoiceAmountMsat('lntbs100n1pqqqqq')).toBe(10_000n);
    expect(invoiceAmountMsat('LNBCRT100N1PQQQQQ')).toBe(10_000n);
    expect(invoiceAmountMsat('lightning:lnbc1u1pqqqqq')).toBe(100_000n);
    expect(invoiceAmountMsat('lnbc11pqqqqq')).toBe(100_000_000_000n); // 1 BTC, no multiplier
  });

  it('an invoice without amount is null; anything that is not an invoice is undefined', () => {
    expect(invoiceAmountMsat('lnbc1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqq')).toBeNull();
    expect(invoiceAmountMsat('lnbc1p1pqqq')).toBeUndefined(); // 1 pico-bitcoin is not whole msat
    expect(invoiceAmountMsat('lnxx100n1pqqq')).toBeUndefined();
    expect(invoiceAmountMsat('LnBc100n1pqqq')).toBeUndefined(); // mixed case
    expect(invoiceAmountMsat('bitcoin:abc')).toBeUndefined();
    expect(invoiceAmountMsat('')).toBeUndefined();
  });
});
