// decodeInvoice against npm bolt11@1.4.1's decode, on specification invoices of increasing size.
// Run: npx vitest bench --run packages/lightning/bench/bolt11.bench.ts
import { decode as bolt11Decode } from 'bolt11';
import { bench, describe } from 'vitest';
import { vectors } from '../src/bolt11/fixtures/vectors.js';
import { decodeInvoice } from '../src/index.js';

const byId = (id: string): string => {
  const vector = vectors.valid.find((v) => v.id === id);
  if (!vector) throw new Error(`no vector ${id}`);
  return vector.invoice;
};

const cases = [
  ['short (valid-01, 1 cup coffee)', byId('valid-01')],
  ['route hint and fallback (valid-05)', byId('valid-05')],
  ['long description (valid-10)', byId('valid-10')],
] as const;

for (const [name, invoice] of cases) {
  describe(name, () => {
    bench('@payable/lightning decodeInvoice', () => {
      decodeInvoice(invoice);
    });
    bench('bolt11@1.4.1 decode', () => {
      bolt11Decode(invoice);
    });
  });
}
