// Full L402 verification per second: ours against the `macaroon` library (js-macaroon, a test
// oracle only), from the Authorization header to a decision. Run: npx vitest bench --run
// packages/l402/bench/verify.bench.ts
//
// The work of each side is in verify-work.ts, shared with `pnpm bench` (bench/l402.ts), which
// measures the same two functions interleaved in rounds on one core and stores the figures.
import { bench, describe, expect } from 'vitest';
import { createVerifyWork, LIBRARY } from './verify-work.js';

const work = createVerifyWork();
expect(work.ours()).toBe(true);
expect(work.theirs()).toBe(true);

describe('L402 full verification (header → decision)', () => {
  const options = { time: 3000, warmupTime: 500 };
  bench(
    '@payable/l402 parseAuthorization + verifyL402Token',
    () => {
      if (!work.ours()) throw new Error('verification failed');
    },
    options,
  );
  bench(
    `${LIBRARY} importMacaroon + verify + preimage`,
    () => {
      if (!work.theirs()) throw new Error('verification failed');
    },
    options,
  );
});
