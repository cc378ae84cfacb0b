const HRP = /^ln(bcrt|bc|tbs|tb|sb)(?:(\d+)([munp]?))?$/;
const MSAT_PER: Record<string, bigint> = {
  '': 100_000_000_000n,
  m: 100_000_000n,
  u: 100_000n,
  n: 100n,
};

/**
 * The amount a BOLT-11 invoice asks for, in millisatoshis, read from its human-readable part
 * (`lnbc2500u1…` → 250 000 000 msat): `null` when the invoice names no amount, `undefined` when the
 * text is not a BOLT-11 invoice. This is what a wallet pays; it does not check the signature.
 *
 * @example
 * ```ts
 * invoiceAmountMsat('lnbcrt100n1p...'); // 10_000n (10 sats)
 * ```
 */
export function invoiceAmountMsat(invoice: string): bigint | null | undefined {
  if (typeof invoice !== 'string' || invoice.length > 8192) return undefined;
  let text = invoice.trim();
  if (/^lightning:/i.test(text)) text = text.slice('lightning:'.length);
  const lower = text.toLowerCase();
  if (text !== lower && text !== text.toUpperCase()) return undefined;
  const separator = lower.lastIndexOf('1');
  if (separator < 3) return undefined;
  const match = HRP.exec(lower.slice(0, separator));
  if (match === null) return undefined;
  const [, , digits, multiplier = ''] = match;
  if (digits === undefined) return null;
  const amount = BigInt(digits);
  if (multiplier === 'p') {
    // Pico-bitcoin: 0.1 msat each; only whole millisatoshis are valid.
    return amount % 10n === 0n ? amount / 10n : undefined;
  }
  return amount * (MSAT_PER[multiplier] as bigint);
}
